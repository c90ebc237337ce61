"""Clause ids are `Clause` members, spelt as the ids they stand for."""

from __future__ import annotations

from orchestrator_contract.clauses import CLAUSES, Clause


def test_every_clause_has_its_member() -> None:
    assert set(CLAUSES) == set(Clause)
    for cid, info in CLAUSES.items():
        assert isinstance(cid, Clause) and info.id is cid
        assert cid.name == cid.value.replace("-", "_"), f"{cid.name} does not spell {cid.value}"
        assert str(cid) == f"{cid}" == cid.value and cid == cid.value  # reports and JSON see the id
