"""The results of a run, read back from what the suites left in the report directory.

`junit.xml` is written by pytest when the session ends; `failures/*.json` (and the HAR cassettes
they point at) are written by `pytest_plugin` the moment a test fails. `read_run` merges both, so
the summary and `report.html` survive a missing or truncated junit.xml. Everything written here
goes through `scrub`: no report may carry a credential.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clauses import CLAUSES
from .redaction import scrub, scrub_tree  # noqa: F401  (the report writers' one redaction)

_CLAUSE = re.compile(r"\[([A-Z]+(?:-[A-Z0-9]+)+)\]")
_TESTCASE = re.compile(rb"<testcase\b.*?(?:/>|</testcase>)", re.DOTALL)

FAILURES_DIR = "failures"
CASSETTES_DIR = "cassettes"
HTML_REPORT = "report.html"
REPRODUCE_MARK = "reproduce (secrets redacted):"  # where a ContractViolation's curl reproduction starts
VERDICT_PROPERTY = "orchestrator-contract-verdict"  # a junit property of every failed test
VIOLATION, SUITE_ERROR = "violation", "suite-error"
KNOWN_PROPERTY = "orchestrator-contract-known"  # the baseline entry (index) a known violation matched
BASELINE_STATUS = "baseline.json"
COVERAGE_FILE = "coverage.json"


# -- names of per-test artifacts -----------------------------------------------------------------
def artifact_stem(nodeid: str) -> str:
    """A file name for a test's artifacts: readable, filesystem-safe, and unique per node id (a
    hash of the full id keeps two ids that sanitize alike apart, also across xdist workers)."""
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:10]
    readable = re.sub(r"\.py::", "__", nodeid).replace("::", "__")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("._-")[:100]
    return f"{readable}-{digest}"


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
    record: dict[str, Any] | None = None  # failures/<id>.json, when the plugin wrote one
    in_junit: bool = True
    verdict: str = VIOLATION  # or SUITE_ERROR: the suite could not judge

    @property
    def is_violation(self) -> bool:
        return self.verdict == VIOLATION


@dataclass
class CaseResult:
    """One <testcase>: outcome is passed, failed, error or skipped."""

    classname: str
    name: str
    outcome: str
    seconds: float = 0.0
    message: str = ""

    @property
    def key(self) -> str:
        return f"{self.classname}::{self.name}"


@dataclass
class RunResult:
    tests: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    cases: list[CaseResult] = field(default_factory=list)
    junit: str = "missing"  # complete, partial (unreadable, salvaged per test case) or missing
    started_at: str = ""
    known: list[dict[str, Any]] = field(default_factory=list)  # failure records the baseline covered
    baseline: list[dict[str, Any]] = field(default_factory=list)  # baseline.json entries (known/fixed/not run)
    coverage: dict[str, Any] = field(default_factory=dict)  # coverage.json

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.errors - self.skipped

    @property
    def ok(self) -> bool:
        return not (self.failed or self.errors)

    @property
    def violations(self) -> list[Failure]:
        return [f for f in self.failures if f.is_violation]

    @property
    def suite_errors(self) -> list[Failure]:
        return [f for f in self.failures if not f.is_violation]


def _headline(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("violation:")), lines[0] if lines else "")[:240]


def _testcases(path: Path, result: RunResult) -> list[ET.Element]:
    """The <testcase> elements; a truncated or corrupt file is salvaged case by case."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        result.junit = "partial"
        cases = []
        for chunk in _TESTCASE.findall(path.read_bytes()):
            try:
                cases.append(ET.fromstring(chunk))
            except ET.ParseError:
                continue
        return cases
    result.junit = "complete"
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is not None:
        result.started_at = suite.get("timestamp", "")
    return list(root.iter("testcase"))


def read_junit(path: Path) -> RunResult:
    result = RunResult()
    if not path.is_file():
        return result
    for case in _testcases(path, result):
        seconds = float(case.get("time", 0) or 0)
        classname, name = case.get("classname", ""), case.get("name", "")
        result.tests += 1
        result.seconds += seconds
        test = f"{classname}::{name}".strip(":")
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                message = node.get("message") or ""
                text = message + "\n" + (node.text or "")
                clause = properties.get("clause") or ""
                if not clause:  # a junit.xml without the plugin's properties: read the message
                    match = _CLAUSE.search(text)
                    clause = match.group(1) if match and match.group(1) in CLAUSES else ""
                verdict = properties.get(VERDICT_PROPERTY) or (VIOLATION if clause else SUITE_ERROR)
                result.failures.append(
                    Failure(test, clause, _headline(text), message=message or (node.text or ""), verdict=verdict)
                )
                result.cases.append(
                    CaseResult(classname, name, "failed" if tag == "failure" else "error", seconds, message)
                )
                if tag == "failure":
                    result.failed += 1
                else:
                    result.errors += 1
                break
        else:
            skipped = case.find("skipped")
            if skipped is not None:
                result.skipped += 1
                reason = skipped.get("message") or ""
                result.skip_reasons[reason[:160]] += 1
                result.cases.append(CaseResult(classname, name, "skipped", seconds, reason))
            else:
                result.cases.append(CaseResult(classname, name, "passed", seconds))
    return result


def load_failure_records(report_dir: Path) -> list[dict[str, Any]]:
    """The failures/*.json the plugin wrote (unreadable ones are left out)."""
    records = []
    for path in sorted((report_dir / FAILURES_DIR).glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("test"), str):
            record["_file"] = f"{FAILURES_DIR}/{path.name}"
            records.append(record)
    return records


def read_run(report_dir: Path) -> RunResult:
    """junit.xml plus the failure records: a failure recorded but absent from junit.xml (the run
    was stopped before pytest wrote it) still counts."""
    result = read_junit(report_dir / "junit.xml")
    by_key = {f.test: f for f in result.failures}
    for name, attribute in ((BASELINE_STATUS, "baseline"), (COVERAGE_FILE, "coverage")):
        try:
            data = json.loads((report_dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        setattr(result, attribute, data.get("entries", []) if attribute == "baseline" else data)
    for record in load_failure_records(report_dir):
        if record.get("known"):
            result.known.append(record)
            continue
        key = junit_key(record["test"])
        failure = by_key.get(key)
        if failure is not None:
            failure.record = record
            if record.get("clause"):
                failure.clause = record["clause"]
            if record.get("verdict"):
                failure.verdict = record["verdict"]
            continue
        classname, _, name = key.partition("::")
        if any(c.key == key for c in result.cases):
            continue  # junit says it passed later (a rerun): the record is history
        failure = Failure(
            key,
            record.get("clause") or "",
            str(record.get("violation") or record.get("detail", ""))[:240],
            message=str(record.get("message", "")),
            record=record,
            in_junit=False,
            verdict=record.get("verdict") or VIOLATION,
        )
        result.failures.append(failure)
        by_key[key] = failure
        result.cases.append(
            CaseResult(classname, name, "failed", float(record.get("duration_s", 0) or 0), failure.message)
        )
        result.tests += 1
        result.failed += 1
    return result


def verdict_line(result: RunResult) -> str:
    """The run's verdict in one line (violations first: they fail a gate; suite errors say the suite
    could not judge some tests)."""
    violations, errors = len(result.violations), len(result.suite_errors)
    if result.ok and result.known:
        return f"PASS: no new violation ({len(result.known)} known violation(s) of the baseline)"
    if result.ok:
        return "PASS: the server honours the contract"
    if violations:
        extra = f"; {errors} more could not be judged (suite errors)" if errors else ""
        return f"FAIL: {violations} test(s) found contract violations{extra}"
    return f"SUITE ERROR: the suite could not judge {errors} test(s); no contract violation was found"


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


def coverage_gaps(result: RunResult) -> list[str]:
    return [
        f"{g['operation']} {g['status']}" + (f" ({g['problem']})" if g.get("problem") else "")
        for g in result.coverage.get("gaps", [])
    ]


def _coverage_lines(result: RunResult) -> list[str]:
    if not result.coverage:
        return []
    gaps = coverage_gaps(result)
    lines = ["## Coverage: what this run exercised", ""]
    lines.append("- documented responses never observed: " + (", ".join(f"`{g}`" for g in gaps) if gaps else "none"))
    clauses = result.coverage.get("clauses", {})
    from .clauses import CLAUSES as ALL

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
    lines = [f"# orchestrator-contract run: {verdict_line(result)}", ""]
    lines += [f"- {h}" for h in header]
    lines += [
        f"- tests: {result.tests} ({result.passed} passed, {result.failed} failed, "
        f"{result.errors} errors, {result.skipped} skipped)",
        f"- wall time: {wall_s:.1f} s",
    ]
    if result.junit != "complete":
        lines.append(f"- junit.xml: {result.junit} (counts include the failure records in {FAILURES_DIR}/)")
    lines.append("")
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
    lines += _coverage_lines(result)
    lines += _baseline_lines(result)
    if result.skip_reasons:
        lines += ["## Skipped", ""]
        lines += [f"- {count} x {reason}" for reason, count in result.skip_reasons.most_common()]
        lines.append("")
    text = scrub("\n".join(lines))
    path.write_text(text, encoding="utf-8")
    return text
