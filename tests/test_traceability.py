"""Every contract clause is checked by at least one suite test, and the published table is current."""

from __future__ import annotations

from orchestrator_contract.adoption.traceability import build, load, render
from orchestrator_contract.contract.locations import suites_dir


def test_every_clause_is_checked_by_a_suite_test() -> None:
    table = build(suites_dir())
    unchecked = [cid for cid, tests in table.items() if not tests]
    assert not unchecked, f"clauses no suite test checks: {unchecked}"


def test_traceability_document_is_current() -> None:
    published = (suites_dir() / "TRACEABILITY.md").read_text(encoding="utf-8")
    assert published == render(build(suites_dir())), (
        "suites/TRACEABILITY.md is out of date: run `orchestrator-contract trace --write`"
    )


def test_the_reports_read_the_table_as_the_suites_source_builds_it() -> None:
    """The reports read suites/TRACEABILITY.md (fast); it must say what the source says."""
    assert load(suites_dir()) == build(suites_dir())
