"""Clause ids are `Clause` members at every call site, so a mistyped id fails at import, not at run time.

Every clause of `CLAUSES` has its member, spelt as its id. The source of `src/` and `suites/` is
read (not run): no `expect` or `ContractViolation` may name its clause with a string literal shaped
like a clause id, and no other code may spell out a clause id as a string either (a helper's
`clause` argument, a table of clauses). The reference server keeps its own strings (it shares no
code with the suites) except where it imports `contract/clauses.py`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_contract.contract.clauses import CLAUSES, Clause

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "orchestrator_contract"
SHAPE = re.compile(r"[A-Z]+(-[A-Z0-9]+)+")  # what a clause id looks like, mistyped or not
SECTIONS = sorted({member.value.split("-", 1)[0] for member in Clause})
CLAUSE_LIKE = re.compile(rf"(?:{'|'.join(SECTIONS)})(-[A-Z0-9]+)+")  # a section's prefix and the shape
# Call sites in files another branch is rewriting (`client.py`): convert them when that lands.
NOT_YET: dict[str, set[str]] = {"src/orchestrator_contract/exchanges/client.py": {"ERR-429", "GEN-NO-5XX"}}


def sources() -> Iterator[Path]:
    """The suites and the package: all but `contract/clauses.py` (where the members spell the ids) and the
    server's modules that do not import it."""
    yield from sorted((ROOT / "suites").glob("*.py"))
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "contract" / "clauses.py":
            continue
        if "server" in path.relative_to(PACKAGE).parts and "clauses import" not in path.read_text(encoding="utf-8"):
            continue
        yield path


def _clause_argument(call: ast.Call) -> ast.expr | None:
    """The argument `expect(condition, clause, detail)` or `ContractViolation(clause, detail)` names its clause with."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    position = {"expect": 1, "ContractViolation": 0}.get(name)
    if position is None:
        return None
    keyword = next((k.value for k in call.keywords if k.arg == "clause"), None)
    return keyword if keyword is not None else call.args[position] if len(call.args) > position else None


def string_ids(source: str) -> list[tuple[int, str, str]]:
    """(line, literal, why) for every clause id spelt as a string: the clause argument of `expect` or
    `ContractViolation` shaped like an id, or any string literal that is an id of the contract's sections."""
    found: list[tuple[int, str, str]] = []
    at_call_site: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            argument = _clause_argument(node)
            if (
                isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)
                and SHAPE.fullmatch(argument.value)
            ):
                found.append((argument.lineno, argument.value, "clause argument"))
                at_call_site.add(id(argument))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in at_call_site
            and CLAUSE_LIKE.fullmatch(node.value)
        ):
            found.append((node.lineno, node.value, "string literal"))
    return sorted(found)


def test_every_clause_has_its_member() -> None:
    assert set(CLAUSES) == set(Clause)
    for cid, info in CLAUSES.items():
        assert isinstance(cid, Clause) and info.id is cid
        assert cid.name == cid.value.replace("-", "_"), f"{cid.name} does not spell {cid.value}"
        assert str(cid) == f"{cid}" == cid.value and cid == cid.value  # reports and JSON see the id


def test_no_clause_id_is_a_string_at_a_call_site() -> None:
    offenders = []
    for path in sources():
        relative = path.relative_to(ROOT).as_posix()
        for line, literal, why in string_ids(path.read_text(encoding="utf-8")):
            if literal not in NOT_YET.get(relative, set()):
                offenders.append(f"{relative}:{line}: {why} {literal!r}")
    assert offenders == [], "name clauses by their Clause member:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('expect(ok, "VER-ARTIH", "detail")', [(1, "VER-ARTIH", "clause argument")]),
        ('expect(ok, clause="OPS-202", detail="d")', [(1, "OPS-202", "clause argument")]),
        ('raise ContractViolation("NEW-CLAUSE-1", "detail")', [(1, "NEW-CLAUSE-1", "clause argument")]),
        ('violations.ContractViolation("ERR-BODY", "d")', [(1, "ERR-BODY", "clause argument")]),
        ('expect_status(response, 200, "OPS-VISIBLE", "GET")', [(1, "OPS-VISIBLE", "string literal")]),
        ('TABLE = {"etag": "VER-ETAG"}', [(1, "VER-ETAG", "string literal")]),
        ("expect(ok, Clause.VER_ARITH, 'detail')", []),
        ("ContractViolation(first.clause, problem)", []),
        ('headers = {"Content-Type": "UTF-8", "X": "AC-DC"}', []),
        ('"""A docstring naming VER-ARITH and OPS-202."""', []),
    ],
)
def test_the_check_finds_string_ids(source: str, expected: list[tuple[int, str, str]]) -> None:
    assert string_ids(source) == expected
