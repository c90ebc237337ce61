"""The run's verdict and exit status: one pure function of its outcomes.

Nothing else decides an exit status: not pytest's own status (which `-x`, `--maxfail` or xdist
turn into "interrupted"), not a report file read back. The table (also in the README and in
`orchestrator-contract run --help`):

| status | verdict | when |
|---|---|---|
| 0 | PASS | every test the run was asked to run ran, none found a violation the baseline does not expect |
| 1 | FAIL, TARGET BROKEN | a violation outside the baseline (TARGET BROKEN: no answer was sane) |
| 2 | USAGE | bad arguments (ours or pytest's), no test selected, target unreachable or credentials rejected, Ctrl-C |
| 3 | SUITE ERROR | no violation, but the suite could not judge some tests (its own errors) |
| 4 | COVERAGE INCOMPLETE | `--require-coverage`: no violation, but a documented response was never observed |
| 5 | INCOMPLETE | no violation, no suite error, but the budget ended before every test ran once |

The first row that applies, top to bottom from 2, wins: a violation outranks a suite error, both
outrank an incomplete run (what ran still found them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from orchestrator_contract.verdict.outcomes import OutcomeLog, decisive_outcomes

NO_TESTS_COLLECTED = 5  # pytest's own status for a session that selected nothing


class Exit(IntEnum):
    OK = 0
    VIOLATIONS = 1
    USAGE = 2
    SUITE_ERROR = 3
    COVERAGE = 4
    INCOMPLETE = 5


EXIT_TABLE = """exit status of run (one function of the run's outcomes; no pytest flag changes it):
  0  PASS: every test ran; none found a violation (outside the --baseline)
  1  FAIL: contract violations (TARGET BROKEN: the target answered nothing sanely)
  2  usage error (ours or pytest's), no test selected, unreachable target or rejected credentials, Ctrl-C
  3  SUITE ERROR: no violation, but the suite could not judge some tests (its own errors)
  4  COVERAGE INCOMPLETE (--require-coverage): no violation, a documented response never observed
  5  INCOMPLETE: no violation, but the time budget ended before every test ran once
"""


@dataclass(frozen=True)
class Verdict:
    code: Exit
    label: str  # PASS, FAIL, TARGET BROKEN, SUITE ERROR, INCOMPLETE, COVERAGE INCOMPLETE, USAGE
    detail: str  # the rest of the verdict line

    @property
    def line(self) -> str:
        return f"{self.label}: {self.detail}"


@dataclass(frozen=True)
class Completeness:
    expected: int  # tests the run was asked to run once
    ran: int  # of them, how many ran (judged, not skipped for time)

    @property
    def complete(self) -> bool:
        return self.ran >= self.expected


def completeness(log: OutcomeLog) -> Completeness:
    """How many of the tests the run's counting stages were asked to run did run at least once."""
    expected: set[str] = set()
    for stage in log.stages:
        if stage.counts_for_completeness:
            expected |= set(stage.expected)
    ran = {o.test for o in log.outcomes if o.ran}
    return Completeness(len(expected), len(expected & ran))


def decide(log: OutcomeLog, *, coverage_gaps: Sequence[str] = (), require_coverage: bool = False) -> Verdict:
    """The verdict of a run (see the module docstring)."""
    usage = next((s.usage_error for s in log.stages if s.usage_error), "")
    if usage:
        return Verdict(Exit.USAGE, "USAGE", usage)
    if any(s.interrupted for s in log.stages):
        return Verdict(Exit.USAGE, "INTERRUPTED", "the run was interrupted (Ctrl-C); its reports show what ran")
    violations = sorted({o.test for o in log.outcomes if o.is_violation})  # tests, whichever stage failed them
    errors = sorted({o.test for o in log.outcomes if o.is_suite_error} - set(violations))
    known = sorted({o.test for o in log.outcomes if o.outcome == "known"})
    done = completeness(log)
    crashed = any(s.internal_error for s in log.stages)
    if log.stages and done.expected == 0 and not log.outcomes:
        statuses = {s.pytest_status for s in log.stages}
        if statuses == {NO_TESTS_COLLECTED} and not crashed:
            return Verdict(
                Exit.USAGE, "USAGE", "no test was selected (check --test, or the -k / -m arguments after --)"
            )
        return Verdict(
            Exit.SUITE_ERROR,
            "SUITE ERROR",
            f"pytest ended (status {max(statuses)}) before any test ran; its output above says why",
        )
    tests = len({o.test for o in log.outcomes})
    extra = f", {len(errors)} suite errors" if errors else ""
    if log.target is not None:
        return Verdict(
            Exit.VIOLATIONS,
            "TARGET BROKEN",
            f"{log.target.reason} [{log.target.clause}]; the run stopped sending "
            f"({len(violations)} of {tests} tests found violations{extra})",
        )
    if violations:
        return Verdict(Exit.VIOLATIONS, "FAIL", f"{len(violations)} of {tests} tests found violations{extra}")
    if errors:
        return Verdict(
            Exit.SUITE_ERROR, "SUITE ERROR", f"{len(errors)} of {tests} tests could not be judged; no violation found"
        )
    if crashed:
        return Verdict(
            Exit.SUITE_ERROR, "SUITE ERROR", "pytest stopped with an internal error (its traceback is above)"
        )
    if not done.complete or log.hard_stopped:
        why = "the run outlived its budget and was stopped" if log.hard_stopped else "the time budget ran out"
        return Verdict(
            Exit.INCOMPLETE,
            "INCOMPLETE",
            f"{done.ran} of {done.expected} tests ran ({why}); no violation in what ran",
        )
    if require_coverage and coverage_gaps:
        return Verdict(
            Exit.COVERAGE,
            "COVERAGE INCOMPLETE",
            "no violation, but these documented responses were never observed: " + ", ".join(coverage_gaps),
        )
    decisive = decisive_outcomes(log.outcomes)  # one per test, whichever stages ran it
    passed = sum(1 for o in decisive if o.outcome == "passed")
    skipped = sum(1 for o in decisive if o.outcome == "skipped")
    parts = [f"{passed} passed"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if known:
        parts.append(f"{len(known)} known violations (baseline)")
    return Verdict(Exit.OK, "PASS", ", ".join(parts))
