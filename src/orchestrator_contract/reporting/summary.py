"""The run's reports, written from its outcomes (`run.outcomes.OutcomeLog`) and its verdict.

Each test's outcome carries its failure record (the plugin wrote `failures/<id>.json` and the HAR
cassette the moment it failed); `result_from` arranges the outcomes for the writers: the summary
here, `report.html` (`html_report`), `junit.xml` (`junit`). None of them decides anything: the
verdict comes decided (`run.verdict.decide`). Everything written goes through `scrub`: no report
may carry a credential.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator_contract.exchanges.redaction import scrub, scrub_tree  # noqa: F401  (the report writers' one redaction)
from orchestrator_contract.verdict.outcomes import SUITE_ERROR, VIOLATION  # noqa: F401  (the report writers name verdicts so)

if TYPE_CHECKING:
    from orchestrator_contract.exchanges.target_health import TargetFacts
    from orchestrator_contract.verdict.decide import Verdict
    from orchestrator_contract.verdict.outcomes import OutcomeLog

FAILURES_DIR = "failures"
CASSETTES_DIR = "cassettes"
HTML_REPORT = "report.html"
REPRODUCE_MARK = "reproduce (secrets redacted):"  # where a ContractViolation's curl reproduction starts
BASELINE_STATUS = "baseline.json"
COVERAGE_FILE = "coverage.json"


def clear_stale(directory: Path, extra: tuple[str, ...] = ()) -> None:
    """Remove an earlier run's artifacts (only ours), so the reports show this run alone."""
    for pattern in (
        f"{CASSETTES_DIR}/*.har",
        f"{FAILURES_DIR}/*.json",
        HTML_REPORT,
        COVERAGE_FILE,
        BASELINE_STATUS,
        "summary.md",
        "junit.xml",
        *extra,
    ):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


# -- names of per-test artifacts -----------------------------------------------------------------
def artifact_stem(nodeid: str) -> str:
    """A file name for a test's artifacts: readable, filesystem-safe, and unique per node id (a
    hash of the full id keeps two ids that sanitize alike apart, also across xdist workers)."""
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:10]
    readable = re.sub(r"\.py::", "__", nodeid).replace("::", "__")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("._-")[:100]
    return f"{readable}-{digest}"


def record_file(nodeid: str) -> str:
    """Where a test's failure record is, relative to the report directory."""
    return f"{FAILURES_DIR}/{artifact_stem(nodeid)}.json"


def junit_key(nodeid: str) -> str:
    """`classname::name` as pytest's junitxml derives them from a node id."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return f"{'.'.join(names[:-1])}::{names[-1]}"


# -- results -------------------------------------------------------------------------------------
@dataclass
class Failure:
    test: str
    clause: str
    headline: str
    message: str = ""
    record: dict[str, Any] | None = None  # failures/<id>.json
    verdict: str = VIOLATION  # or SUITE_ERROR: the suite could not judge

    @property
    def is_violation(self) -> bool:
        return self.verdict == VIOLATION


@dataclass
class CaseResult:
    """One test as JUnit names it: outcome is passed, failed, error or skipped."""

    classname: str
    name: str
    outcome: str
    seconds: float = 0.0
    message: str = ""
    nodeid: str = ""

    @property
    def key(self) -> str:
        return f"{self.classname}::{self.name}"


@dataclass
class RunResult:
    verdict: Verdict
    tests: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    cases: list[CaseResult] = field(default_factory=list)
    known: list[dict[str, Any]] = field(default_factory=list)  # failure records the baseline covered
    baseline: list[dict[str, Any]] = field(default_factory=list)  # baseline entries (known/fixed/not run)
    coverage: dict[str, Any] = field(default_factory=dict)  # coverage.json
    target: TargetFacts | None = None
    stages: list[str] = field(default_factory=list)  # "breadth: 273 of 273 tests ran", ...

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.errors - self.skipped

    @property
    def violations(self) -> list[Failure]:
        return [f for f in self.failures if f.is_violation]

    @property
    def suite_errors(self) -> list[Failure]:
        return [f for f in self.failures if not f.is_violation]


def read_result(report_dir: Path) -> RunResult:
    """A finished run's result from the outcomes it left (`results.jsonl`), with its verdict decided
    again by the same function: for the benches and `merge`, which read runs they did not make."""
    from orchestrator_contract.verdict.decide import decide
    from orchestrator_contract.verdict.outcomes import read

    log = read(report_dir)
    return result_from(log, decide(log))


def _headline(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("violation:")), lines[0] if lines else "")[:240]


def result_from(
    log: OutcomeLog,
    verdict: Verdict,
    *,
    coverage: dict[str, Any] | None = None,
    baseline: list[dict[str, Any]] | None = None,
) -> RunResult:
    """The outcomes arranged for the report writers."""
    result = RunResult(verdict=verdict, coverage=coverage or {}, baseline=baseline or [], target=log.target)
    for stage in log.stages:
        ran = {o.test for o in log.outcomes if o.stage == stage.stage and o.ran}
        result.stages.append(f"{stage.stage}: {len(ran & set(stage.expected))} of {len(stage.expected)} tests ran")
    from orchestrator_contract.verdict.outcomes import decisive_outcomes

    for outcome in decisive_outcomes(log.outcomes):
        classname, _, name = junit_key(outcome.test).partition("::")
        result.tests += 1
        result.seconds += outcome.duration_s
        record = dict(outcome.record) if outcome.record is not None else None
        case = CaseResult(classname, name, "passed", outcome.duration_s, "", outcome.test)
        if outcome.outcome == "known":
            result.known.append(record or {"test": outcome.test, "clause": outcome.clause, "known": outcome.reason})
            result.skipped += 1
            case.outcome, case.message = "skipped", outcome.reason
        elif outcome.outcome == "failed":
            message = str((record or {}).get("message", "")) or outcome.headline
            headline = outcome.headline or _headline(message)
            result.failures.append(Failure(outcome.test, outcome.clause, headline, message, record, outcome.verdict))
            if outcome.verdict == VIOLATION:
                result.failed += 1
                case.outcome = "failed"
            else:
                result.errors += 1
                case.outcome = "error"
            case.message = message
        elif outcome.outcome == "skipped":
            result.skipped += 1
            result.skip_reasons[outcome.reason[:160]] += 1
            case.outcome, case.message = "skipped", outcome.reason
        result.cases.append(case)
    return result


def rerun_of(failure: Failure) -> str:
    return str((failure.record or {}).get("rerun") or "")


def triage_note(failure: Failure) -> str:
    """` (reproducible)` / ` (intermittent)` once the failure was replayed."""
    label = (failure.record or {}).get("triage")
    return f" ({label})" if label else ""


def failure_groups(result: RunResult) -> dict[tuple[str, str], list[Failure]]:
    """Violations by (clause, operation), each group's smallest example (fewest exchanges) first."""
    groups: dict[tuple[str, str], list[Failure]] = {}
    for f in result.violations:
        groups.setdefault((f.clause, str((f.record or {}).get("operation") or "")), []).append(f)
    for members in groups.values():
        members.sort(
            key=lambda f: (
                int((f.record or {}).get("exchanges") or 10**9),
                str((f.record or {}).get("recorded_at") or ""),
                f.test,
            )
        )
    return dict(sorted(groups.items()))


def coverage_gaps(coverage: dict[str, Any]) -> list[str]:
    """The documented responses a run never observed, as `operation status (problem)`."""
    return [
        f"{g['operation']} {g['status']}" + (f" ({g['problem']})" if g.get("problem") else "")
        for g in coverage.get("gaps", [])
    ]


def _coverage_lines(result: RunResult) -> list[str]:
    if not result.coverage:
        return []
    gaps = coverage_gaps(result.coverage)
    lines = ["## Coverage: what this run exercised", ""]
    lines.append("- documented responses never observed: " + (", ".join(f"`{g}`" for g in gaps) if gaps else "none"))
    clauses = result.coverage.get("clauses", {})
    from orchestrator_contract.contract.clauses import CLAUSES as ALL

    unchecked = [c for c in ALL if not clauses.get(c, {}).get("checks")]
    lines.append("- clauses no check evaluated: " + (", ".join(f"`{c}`" for c in unchecked) if unchecked else "none"))
    lines.append(
        f"- checks evaluated: {sum(v.get('checks', 0) for v in clauses.values())} over {len(clauses)} "
        f"clauses (per clause and per operation: {COVERAGE_FILE}, report.html)"
    )
    return [*lines, ""]


def _baseline_lines(result: RunResult) -> list[str]:
    if not result.baseline and not result.known:
        return []
    lines = [f"## Known violations (the baseline): {len(result.known)} test(s) failed as the baseline expects", ""]
    for record in result.known:
        lines.append(f"- `{record.get('test')}` [{record.get('clause')}]: {record.get('known')}")
    fixed = [e for e in result.baseline if e.get("status") == "fixed"]
    if fixed:
        lines += ["", "Fixed: remove these baseline entries (their tests ran and nothing failed their way):", ""]
        lines += [
            f"- [{e['clause']}] {e.get('test') or ''} {e.get('operation') or ''}: {e['reason']}".replace("  ", " ")
            for e in fixed
        ]
    return [*lines, ""]


def write_summary(result: RunResult, path: Path, *, header: list[str], wall_s: float) -> str:
    lines = [f"# orchestrator-contract run: {result.verdict.line}", ""]
    lines += [f"- {h}" for h in header]
    lines += [
        f"- tests: {result.tests} ({result.passed} passed, {result.failed} failed, "
        f"{result.errors} errors, {result.skipped} skipped)",
        f"- wall time: {wall_s:.1f} s",
    ]
    lines += [f"- stage {stage}" for stage in result.stages]
    lines.append("")
    if result.target is not None:
        lines += [
            "## Target broken",
            "",
            f"{result.target.reason} (clause {result.target.clause}); the run stopped sending to it.",
            "",
            "One of its answers:",
            "",
            "```",
            result.target.example,
            "```",
            "",
        ]
    if result.violations:
        by_clause = Counter(f.clause for f in result.violations)
        lines += ["## Violations by clause", ""]
        lines += [f"- `{clause}`: {count} test(s)" for clause, count in by_clause.most_common()]
        lines += ["", "## Failed tests", ""]
        for f in result.violations:
            lines.append(f"- `{f.test}` [{f.clause}]{triage_note(f)}: {f.headline}")
            if rerun_of(f):
                lines.append(f"  - rerun: `{rerun_of(f)}`")
        groups = failure_groups(result)
        if len(groups) > 1 or any(len(members) > 1 for members in groups.values()):
            lines += ["", "## Failures by clause and operation (smallest example of each)", ""]
            for (clause, operation), members in groups.items():
                smallest = members[0]
                lines.append(
                    f"- [{clause}] {operation or 'no operation'}: {len(members)} test(s); smallest: "
                    f"`{smallest.test}` ({(smallest.record or {}).get('exchanges', '?')} exchanges)"
                )
        lines += [
            "",
            f"Each failure's clause, violation and curl reproduction: {HTML_REPORT} (failures first); "
            f"every HTTP exchange of a failed test: {CASSETTES_DIR}/*.har; seed and example: "
            f"{FAILURES_DIR}/*.json; full messages: junit.xml.",
            "",
        ]
    if result.suite_errors:
        lines += ["## The suite could not judge (suite errors, not contract violations)", ""]
        for f in result.suite_errors:
            lines.append(f"- `{f.test}`: {f.headline}")
            if rerun_of(f):
                lines.append(f"  - rerun: `{rerun_of(f)}`")
        lines += [
            "",
            f"Their tracebacks: {HTML_REPORT} and {FAILURES_DIR}/*.json. Please report them: the "
            "suite, not the server, failed here.",
            "",
        ]
    lines += _coverage_lines(result) if result.target is None else []
    lines += _baseline_lines(result)
    if result.skip_reasons:
        lines += ["## Skipped", ""]
        lines += [f"- {count} x {reason}" for reason, count in result.skip_reasons.most_common()]
        lines.append("")
    text = scrub("\n".join(lines))
    path.write_text(text, encoding="utf-8")
    return text
