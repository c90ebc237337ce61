"""Triage: replay failed tests once to tell reproducible failures from intermittent ones.

The replay runs in-process, with the run's profile and seed (so the same examples), in its own
report directory (`triage/`), after the verdict is printed; it never changes the verdict (an
intermittent failure is still a failure: a race is a real defect). It has its own budget from the
profile (`[triage] max_s`, `max_replays`); with more failures than replays it samples one test per
clause and operation, smallest example first. A broken target is not replayed at all.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from dataclasses import dataclass, replace

from orchestrator_contract.planning.plan import RunPlan
from orchestrator_contract.run.stages import Stage, run_session, selection
from orchestrator_contract.verdict.outcomes import FAILED, Outcome, OutcomeLog

NOT_REPLAYED = "not replayed"


@dataclass(frozen=True)
class TriagePlan:
    replay: tuple[str, ...]  # the tests to replay
    skipped: int  # failed tests left out by the sampling
    reason: str = ""  # why nothing is replayed, when nothing is


def choose(log: OutcomeLog, max_replays: int) -> TriagePlan:
    """Which failed tests to replay: all when they fit, else one per (clause, operation) (suite
    errors by test), the one with the fewest exchanges of each group first."""
    if log.target is not None:
        return TriagePlan((), 0, "the target is broken: replaying would only repeat its answers")
    failed = [o for o in log.outcomes if o.outcome == FAILED]
    tests = list(dict.fromkeys(o.test for o in failed))
    if len(tests) <= max_replays:
        return TriagePlan(tuple(tests), 0)
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in failed:
        key = (outcome.clause, outcome.operation) if outcome.clause else ("", outcome.test)
        groups.setdefault(key, []).append(outcome)
    chosen = [
        min(members, key=lambda o: int((o.record or {}).get("exchanges") or 10**9)).test
        for _, members in sorted(groups.items())
    ]
    chosen = list(dict.fromkeys(chosen))[:max_replays]
    return TriagePlan(tuple(chosen), len(tests) - len(chosen))


def label(original: list[Outcome], again: list[Outcome]) -> str:
    """The triage label of one test from its outcomes in the run and in the replay."""
    first = next(o for o in original if o.outcome == FAILED)
    second = next((o for o in again if o.outcome == FAILED), None)
    if second is not None and second.clause == first.clause and second.verdict == first.verdict:
        return "reproducible"
    if second is not None:
        return f"intermittent (the replay failed otherwise: [{second.clause or 'suite error'}])"
    if any(o.outcome == "passed" for o in again):
        return "intermittent (the replay passed)"
    return NOT_REPLAYED


def triage(plan: RunPlan, log: OutcomeLog) -> str:
    """Replay what `choose` picks and label the run's outcomes; return one line saying what it did."""
    chosen = choose(log, plan.profile.triage_max_replays)
    if not chosen.replay:
        return f"triage skipped: {chosen.reason}" if chosen.reason else ""
    replay_dir = plan.report_dir / "triage"
    shutil.rmtree(replay_dir, ignore_errors=True)
    replay_dir.mkdir(parents=True)
    started = time.monotonic()
    replay_plan = replace(
        plan,
        report_dir=replay_dir,
        deadline=time.time() + plan.profile.triage_max_s,
        baseline=None,
        tests=chosen.replay,
        stop_at=(),
        profile=replace(plan.profile, maxfail=0),
    )
    replayed = OutcomeLog()
    with contextlib.redirect_stdout(io.StringIO()):  # the replay's own pytest output says nothing new
        run_session(replay_plan, Stage("triage", selection(replay_plan)), 0, [], replayed)
    labels: dict[str, str] = {}
    for test in chosen.replay:
        labels[test] = label(
            [o for o in log.outcomes if o.test == test], [o for o in replayed.outcomes if o.test == test]
        )
        log.label(test, labels[test])
    counts: dict[str, int] = {}
    for text in labels.values():
        counts[text.partition(" (")[0]] = counts.get(text.partition(" (")[0], 0) + 1
    sampled = (
        f"; {chosen.skipped} more failed tests not replayed (sampled one per clause and operation)"
        if chosen.skipped
        else ""
    )
    return (
        f"triage: replayed {len(chosen.replay)} failed test(s) in {time.monotonic() - started:.1f} s: "
        + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        + sampled
    )
