"""The exit status is one pure function of the run's outcomes (`run.verdict.decide`): each row of
its table, its precedence, and pytest's own status never deciding it."""

from __future__ import annotations

import pytest

from orchestrator_contract.verdict.decide import Exit, decide
from orchestrator_contract.verdict.outcomes import Outcome, OutcomeLog, StageFacts, TargetFacts

A, B, C = "test_a.py::test_a", "test_b.py::test_b", "test_c.py::test_c"


def log(*outcomes: Outcome, stages: tuple[StageFacts, ...] | None = None, **facts: object) -> OutcomeLog:
    run = OutcomeLog()
    run.stages = list(stages if stages is not None else (StageFacts("all", (A, B, C), True),))
    run.outcomes = list(outcomes)
    for name, value in facts.items():
        setattr(run, name, value)
    return run


PASSED = [Outcome(t, "passed") for t in (A, B, C)]
VIOLATION = Outcome(A, "failed", verdict="violation", clause="VER-ARITH")
SUITE_ERROR = Outcome(B, "failed", verdict="suite-error")
BUDGET = Outcome(C, "skipped", reason="the run's time budget ran out", budget=True)


@pytest.mark.parametrize(
    ("run", "code", "label"),
    [
        (log(*PASSED), Exit.OK, "PASS"),
        (log(VIOLATION, *PASSED[1:]), Exit.VIOLATIONS, "FAIL"),
        (log(VIOLATION, SUITE_ERROR, BUDGET), Exit.VIOLATIONS, "FAIL"),  # a violation outranks the rest
        (log(PASSED[0], SUITE_ERROR, BUDGET), Exit.SUITE_ERROR, "SUITE ERROR"),  # an error outranks incomplete
        (log(*PASSED[:2], BUDGET), Exit.INCOMPLETE, "INCOMPLETE"),
        (log(*PASSED[:2]), Exit.INCOMPLETE, "INCOMPLETE"),  # a test that never reported did not run
        (log(*PASSED, hard_stopped=True), Exit.INCOMPLETE, "INCOMPLETE"),
        (log(*PASSED[:2], Outcome(C, "skipped", reason="no second account")), Exit.OK, "PASS"),  # judged
        (log(Outcome(A, "known", verdict="violation", clause="PAGE-SIZE"), *PASSED[1:]), Exit.OK, "PASS"),
        (log(stages=(StageFacts("all", (), True, pytest_status=5),)), Exit.USAGE, "USAGE"),
        (log(stages=(StageFacts("all", (), True, pytest_status=4, usage_error="bad"),)), Exit.USAGE, "USAGE"),
        (log(stages=(StageFacts("all", (), True, pytest_status=3, internal_error=True),)), Exit.SUITE_ERROR, ""),
        (log(*PASSED, stages=(StageFacts("all", (A, B, C), True, interrupted=True),)), Exit.USAGE, "INTERRUPTED"),
        (
            log(VIOLATION, target=TargetFacts("broken", "target broken: 12 answers", "GEN-NO-5XX")),
            Exit.VIOLATIONS,
            "TARGET BROKEN",
        ),
    ],
)
def test_each_row_of_the_table(run: OutcomeLog, code: Exit, label: str) -> None:
    verdict = decide(run)
    assert verdict.code == code, verdict.line
    assert verdict.label.startswith(label)


@pytest.mark.parametrize("pytest_status", [0, 1, 2, 3])
def test_pytest_status_of_a_stopped_session_never_decides(pytest_status: int) -> None:
    """-x under xdist ends as "interrupted" (2), in-process as 1: the outcomes decide, the same way."""
    stopped = StageFacts("all", (A, B, C), True, pytest_status=pytest_status, stopped="stopping after 1 failures")
    assert decide(log(VIOLATION, stages=(stopped,))).code == Exit.VIOLATIONS


def test_only_the_breadth_stage_counts_for_completeness_and_tests_count_once() -> None:
    stages = (StageFacts("breadth", (A, B, C), True), StageFacts("depth", (A, B, C), False))
    deep_cut = [Outcome(t, "skipped", stage="depth", budget=True) for t in (A, B, C)]
    verdict = decide(log(*[Outcome(t, "passed", stage="breadth") for t in (A, B, C)], *deep_cut, stages=stages))
    assert verdict.code == Exit.OK and verdict.detail == "3 passed", verdict.line
    unfinished = decide(log(Outcome(A, "passed", stage="breadth"), stages=stages))
    assert unfinished.code == Exit.INCOMPLETE and "1 of 3 tests ran" in unfinished.detail


def test_coverage_is_judged_only_when_required_and_after_everything_else() -> None:
    gaps = ["updateConfiguration 412"]
    assert decide(log(*PASSED), coverage_gaps=gaps).code == Exit.OK
    assert decide(log(*PASSED), coverage_gaps=gaps, require_coverage=True).code == Exit.COVERAGE
    assert decide(log(*PASSED[:2], BUDGET), coverage_gaps=gaps, require_coverage=True).code == Exit.INCOMPLETE
