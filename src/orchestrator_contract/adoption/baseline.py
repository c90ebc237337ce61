"""Known violations: a baseline file a team keeps in its implementation's repository.

    [[known]]
    clause = "PAGE-SIZE"                                          # required
    test = "test_pagination.py::test_default_page_size_is_50"    # optional: a node id, or its name without parameters
    operation = "listConfigurations"                              # optional: the operationId the failing request hit
    reason = "ORCH-123: the default page size is 20 until v2.3"   # required: why it is accepted for now

A violation is *known* when an entry has its clause and every other field the entry sets matches;
an entry never covers another clause's failure, even in the same test. A known violation is
reported as an expected failure (pytest's xfail: junit.xml shows it skipped with the entry's reason),
so the run passes when every violation is known and fails on any new one. An entry whose tests ran
and none failed its way is *fixed*: the reports say to remove it, so the baseline only shrinks.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator_contract.contract.clauses import CLAUSES
from orchestrator_contract.contract.locations import suites_dir

if TYPE_CHECKING:
    from orchestrator_contract.verdict.outcomes import Outcome


@dataclass(frozen=True)
class Known:
    clause: str
    reason: str
    test: str = ""
    operation: str = ""

    def covers(self, clause: str, nodeid: str, operation: str) -> bool:
        if clause != self.clause:
            return False
        if self.test and self.test not in (nodeid, nodeid.partition("[")[0]):
            return False
        return not self.operation or self.operation == operation

    def applies_to(self, nodeid: str) -> bool:
        """Whether this entry could cover a failure of `nodeid` (its test, when it names one)."""
        return not self.test or self.test in (nodeid, nodeid.partition("[")[0])

    def label(self) -> str:
        where = " ".join(x for x in (self.test, self.operation) if x)
        return f"[{self.clause}]{' ' + where if where else ''}: {self.reason}"


def load(path: Path) -> list[Known]:
    """The entries of a baseline file (ValueError naming the entry that is wrong)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the baseline {path}: {exc}") from None
    entries = []
    for number, raw in enumerate(data.get("known", []), 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("clause"), str) or not raw.get("reason"):
            raise ValueError(f"{path}: known entry {number} needs a clause and a reason")
        if raw["clause"] not in CLAUSES:
            raise ValueError(f"{path}: known entry {number} names unknown clause {raw['clause']!r}")
        unknown = set(raw) - {"clause", "reason", "test", "operation"}
        if unknown:
            raise ValueError(f"{path}: known entry {number} has unknown keys {sorted(unknown)}")
        entries.append(
            Known(raw["clause"], str(raw["reason"]), str(raw.get("test", "")), str(raw.get("operation", "")))
        )
    return entries


def matching(entries: list[Known], clause: str, nodeid: str, operation: str) -> Known | None:
    return next((e for e in entries if e.covers(clause, nodeid, operation)), None)


def statuses(entries: list[Known], outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per entry: known (it covered a failure), fixed (its tests ran, none failed its way: remove
    it) or not run, with the tests it covered."""
    from orchestrator_contract.adoption.traceability import load
    from orchestrator_contract.planning.scheduling import base_id

    trace = load(suites_dir())
    ran = {o.test for o in outcomes if o.ran}
    hits: dict[int, set[str]] = {}
    for outcome in outcomes:
        if outcome.outcome == "known":
            entry = matching(entries, outcome.clause, outcome.test, outcome.operation)
            if entry is not None:
                hits.setdefault(entries.index(entry), set()).add(outcome.test)
    out = []
    for index, entry in enumerate(entries):
        if index in hits:
            status = "known"
        else:
            candidates = set(trace.get(entry.clause, [])) if not entry.test else set()
            relevant = [t for t in ran if entry.applies_to(t) and (entry.test or base_id(t) in candidates)]
            status = "fixed" if relevant else "not run"
        out.append(
            {
                "clause": entry.clause,
                "test": entry.test,
                "operation": entry.operation,
                "reason": entry.reason,
                "status": status,
                "covered": sorted(hits.get(index, set())),
            }
        )
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(records: list[dict[str, Any]], *, source: str) -> str:
    """A baseline that knows every violation of a run (one entry per test and clause)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        f"# Known contract violations, written by `orchestrator-contract baseline` on {stamp} from {source}.",
        "# Keep it in your repository; pass it with `orchestrator-contract run --baseline FILE`. Replace each",
        "# reason with your ticket; remove an entry when the run reports it fixed.",
        "",
    ]
    seen: set[tuple[str, str]] = set()
    for record in sorted(records, key=lambda r: (str(r.get("clause")), str(r.get("test")))):
        if record.get("verdict", "violation") != "violation" or not record.get("clause"):
            continue
        key = (str(record["test"]), str(record["clause"]))
        if key in seen:
            continue
        seen.add(key)
        lines += ["[[known]]", f"clause = {_quote(str(record['clause']))}", f"test = {_quote(str(record['test']))}"]
        if record.get("operation"):
            lines.append(f"operation = {_quote(str(record['operation']))}")
        headline = str(record.get("violation") or "").removeprefix("violation: ")[:160]
        lines += [f"reason = {_quote('TODO (ticket): ' + headline)}", ""]
    return "\n".join(lines)
