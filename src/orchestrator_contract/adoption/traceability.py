"""From each contract clause to the tests that check it, read from the suites' source.

A test checks a clause when its body, or a module-level helper it calls, names the clause: a
`Clause` member (as every `expect(..., Clause.VER_ARITH, ...)` does) or its id in a string
literal. Helpers the suites share count the same way: a function of the scenario steps or the
expectations (`scenarios/steps.py`, `scenarios/expectations.py`) called by name, and a `Scenario`
method called on the `scenario` fixture (`scenario.read(...)`, `self.scenario.settle(...)`), with
what they call in turn. The conformance tests also check every clause that
`scenarios/schemathesis_checks.py` names, through Schemathesis.
`suites/TRACEABILITY.md` is generated from this and a project test keeps it current.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from orchestrator_contract.contract.clauses import CLAUSES, Clause

_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
CHECKS_MODULE = _SCENARIOS / "schemathesis_checks.py"
SHARED_MODULES = (_SCENARIOS / "steps.py", _SCENARIOS / "expectations.py")
SCENARIO_CLASS = "Scenario"
SCENARIO_NAMES = frozenset({"scenario", "_scenario"})  # how the suites hold the `scenario` fixture


# The walkers below are asked about the same helper's nodes once per test that calls it: each
# answer is kept (nodes are hashed by identity; a run builds the table once or twice).
_walked = lru_cache(maxsize=8192)


@_walked
def _clause_literals(node: ast.AST) -> frozenset[str]:
    """The clause ids `node` names: `Clause.X` members and string literals of a clause id."""
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in CLAUSES:
            found.add(n.value)
        elif (
            isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == Clause.__name__
            and n.attr in Clause.__members__
        ):
            found.add(Clause[n.attr].value)
    return frozenset(found)


@_walked
def _called_names(node: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            func = n.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return frozenset(names)


@_walked
def _free_calls(node: ast.AST) -> frozenset[str]:
    """Names called as plain functions: `name(...)`."""
    return frozenset(n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))


@_walked
def _method_calls(node: ast.AST, receivers: frozenset[str]) -> frozenset[str]:
    """Methods called on a receiver named in `receivers`: `scenario.m(...)`, `self.scenario.m(...)`."""
    names: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            receiver = n.func.value
            name = (
                receiver.id
                if isinstance(receiver, ast.Name)
                else receiver.attr
                if isinstance(receiver, ast.Attribute)
                else None
            )
            if name in receivers:
                names.add(n.func.attr)
    return frozenset(names)


class _Shared:
    """The suites' shared helpers: toolkit and expectation functions, `Scenario` methods.

    Each helper's clauses (its own and those of the helpers it calls, transitively) are worked
    out once: a report is written at the end of every run, and the suites call the same few
    helpers hundreds of times."""

    def __init__(self) -> None:
        self.functions: dict[str, ast.AST] = {}
        self.methods: dict[str, ast.AST] = {}
        self._closures: dict[str, frozenset[str]] = {}
        for path in SHARED_MODULES:
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.FunctionDef):
                    self.functions[node.name] = node
                elif isinstance(node, ast.ClassDef) and node.name == SCENARIO_CLASS:
                    self.methods = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef)}

    def clauses_of(self, node: ast.AST, receivers: frozenset[str], visiting: frozenset[str] = frozenset()) -> set[str]:
        """The clauses the shared helpers that `node` calls name (transitively)."""
        calls = [(f"f:{name}", self.functions[name]) for name in _free_calls(node) & self.functions.keys()]
        calls += [(f"m:{name}", self.methods[name]) for name in _method_calls(node, receivers) & self.methods.keys()]
        found: set[str] = set()
        for key, helper in calls:
            if key in visiting:  # a helper that calls itself, directly or not
                continue
            if key not in self._closures:
                inner = self.clauses_of(helper, SCENARIO_NAMES | {"self"}, visiting | {key})
                self._closures[key] = frozenset(_clause_literals(helper) | inner)
            found |= self._closures[key]
        return found


def _helpers(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level functions and classes that are not tests (their clauses count for callers)."""
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("test_"):
            out[node.name] = node
    return out


def _clauses_of(node: ast.AST, helpers: dict[str, ast.AST], shared: _Shared, seen: set[str]) -> set[str]:
    found = set(_clause_literals(node)) | shared.clauses_of(node, SCENARIO_NAMES)
    for name in _called_names(node) & helpers.keys():
        if name not in seen:
            seen.add(name)
            found |= _clauses_of(helpers[name], helpers, shared, seen)
    return found


def _tests(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    tests: list[tuple[str, ast.AST]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            tests.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            tests += [
                (f"{node.name}::{m.name}", m)
                for m in node.body
                if isinstance(m, ast.FunctionDef) and m.name.startswith("test_")
            ]
    return tests


@lru_cache(maxsize=4)
def build(suites: Path) -> dict[str, list[str]]:
    """Clause id -> the suite tests (`file::test`) that check it (worked out once per process: the
    suites do not change while a run reports)."""
    table: dict[str, set[str]] = defaultdict(set)
    schemathesis_clauses = _clause_literals(ast.parse(CHECKS_MODULE.read_text(encoding="utf-8")))
    shared = _Shared()
    for path in sorted(suites.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        helpers = _helpers(tree)
        for name, node in _tests(tree):
            clauses = _clauses_of(node, helpers, shared, set())
            if path.name == "test_conformance.py":
                clauses |= schemathesis_clauses
            for clause in clauses:
                table[clause].add(f"{path.name}::{name}")
    return {cid: sorted(table.get(cid, ())) for cid in CLAUSES}


TABLE_FILE = "TRACEABILITY.md"
_ROW = re.compile(r"^\| `(?P<clause>[A-Z0-9-]+)` \|.*\| (?P<tests>[^|]*) \|$")


def load(suites: Path) -> dict[str, list[str]]:
    """The table as `suites/TRACEABILITY.md` holds it (written by `render`, kept current by a project
    test), for the reports: reading it costs a millisecond, building it from the source most of a
    second. A missing or unreadable file is built afresh."""
    try:
        text = (suites / TABLE_FILE).read_text(encoding="utf-8")
    except OSError:
        return build(suites)
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match and match["clause"] in CLAUSES:
            cell = match["tests"].strip()
            table[match["clause"]] = [] if cell == "**none**" else [t.strip("`") for t in cell.split("<br>")]
    return table if set(table) == set(CLAUSES) else build(suites)


def render(table: dict[str, list[str]]) -> str:
    lines = [
        "# Traceability: contract clause -> tests",
        "",
        "Generated by `orchestrator-contract trace --write` from the suites' source; a project test",
        "fails when it is out of date. Clause texts quote `../shared/CONTRACT.md` (see",
        "`src/orchestrator_contract/contract/clauses.py`); the spec cites the same ids in its descriptions.",
        "",
        "| clause | section | rule | tests |",
        "|---|---|---|---|",
    ]
    for cid, clause in CLAUSES.items():
        tests = table.get(cid, [])
        cell = "<br>".join(f"`{t}`" for t in tests) if tests else "**none**"
        lines.append(f"| `{cid}` | {clause.section} | {clause.text.replace('|', '/')} | {cell} |")
    return "\n".join(lines) + "\n"
