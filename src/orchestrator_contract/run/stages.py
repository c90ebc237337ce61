"""The stages a run is made of, each one in-process pytest session over the suites.

- A plain run is one stage, `all`.
- Fail-fast (`maxfail` in the profile, or `-x` / `--maxfail` passed through): `scenarios` first
  (every suite but the Schemathesis one, which costs seconds to collect and catches what the
  others do later, see `suites/schedule.json`), then `conformance`, only when nothing failed yet.
- Breadth first (a profile with `run.breadth`, the nightly): `breadth` runs every test once at
  another profile's depth (`ci`), then `depth` spends what is left of the budget at the
  profile's own depth, each test bounded by its share of that time (so no worker sits on one long
  test while the others idle). Only `breadth` counts for completeness.

A session's facts go into the run's `OutcomeLog`; nothing here decides a verdict.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from orchestrator_contract.contract.locations import suites_dir
from orchestrator_contract.planning.plan import PlanProvider, RunPlan
from orchestrator_contract.verdict.outcomes import OutcomeLog, StageFacts

CONFORMANCE_FILE = "test_conformance.py"
DEPTH_MIN_S = 30.0  # a deep stage with less time than this left is not started
SLICE_MIN_S = 20.0  # the least time a deep test is given


@dataclass(frozen=True)
class Stage:
    name: str
    paths: tuple[str, ...]  # what pytest collects
    counts: bool = True  # every test it selects must run once for the run to be complete


def fail_fast(plan: RunPlan, extra: Sequence[str]) -> bool:
    """Whether the run stops at its first failure: the profile says so, or pytest's own flags do."""
    flags = ("-x", "--exitfirst", "--maxfail", "--sw", "--stepwise")
    return (
        plan.profile.maxfail > 0 or bool(plan.stop_at) or any(a in flags or a.startswith("--maxfail=") for a in extra)
    )


def selection(plan: RunPlan) -> tuple[str, ...]:
    """The files a run of named tests needs (`--test`), else the suites folder."""
    suites = suites_dir()
    if not plan.tests:
        return (str(suites),)
    return tuple(dict.fromkeys(str(suites / Path(t.partition("::")[0]).name) for t in plan.tests))


def stages(plan: RunPlan, extra: Sequence[str]) -> list[Stage]:
    suites = suites_dir()
    if plan.tests:
        return [Stage("all", selection(plan))]
    if fail_fast(plan, extra):
        return [
            Stage("scenarios", (str(suites), f"--ignore={suites / CONFORMANCE_FILE}")),
            Stage("conformance", (str(suites / CONFORMANCE_FILE),)),
        ]
    if plan.profile.breadth:
        return [Stage("breadth", (str(suites),)), Stage("depth", (str(suites),), counts=False)]
    return [Stage("all", (str(suites),))]


def pytest_arguments(stage: Stage, workers: int, extra: Sequence[str]) -> list[str]:
    suites = suites_dir()
    # Without pytest's unraisable- and thread-exception plugins: they run gc.collect() around every
    # test (about 0.1 s each), and the suites report their own errors.
    args = [*stage.paths, "-c", str(suites / "pytest.ini"), "--rootdir", str(suites), "-q"]
    args += ["-p", "no:unraisableexception", "-p", "no:threadexception"]
    if workers > 0:
        args += ["-n", str(workers), "--dist", "worksteal"]
    return args + list(extra)


def forget_suite_modules() -> None:
    """Drop the suites' modules, so the next session imports them afresh: a test module builds its
    Schemathesis tests at import time, from the profile of the stage that imports it."""
    root = str(suites_dir())
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


def run_session(plan: RunPlan, stage: Stage, workers: int, extra: Sequence[str], log: OutcomeLog) -> StageFacts:
    """One pytest session: its outcomes go into `log` as they happen; its facts are returned (and logged)."""
    provider = PlanProvider(replace(plan, stage=stage.name), sink=log)
    forget_suite_modules()
    status = pytest.main(pytest_arguments(stage, workers, extra), plugins=[provider])
    facts: StageFacts = provider.stage_facts or StageFacts(stage.name, (), stage.counts, int(status))
    facts = replace(facts, counts_for_completeness=stage.counts, pytest_status=int(status))
    if status == pytest.ExitCode.USAGE_ERROR:
        facts = replace(facts, usage_error="pytest refused its arguments (its message is above)")
    if status == pytest.ExitCode.INTERNAL_ERROR:
        facts = replace(facts, internal_error=True)
    log.add_stage(facts)
    log.add_tallies(provider.tallies)
    return facts


def run_stages(plan: RunPlan, workers: int, extra: Sequence[str], log: OutcomeLog, depth_of: RunPlan | None) -> None:
    """Run the plan's stages in order (see the module docstring). `depth_of`: for a breadth-first
    plan, the plan at the breadth profile's depth."""
    for stage in stages(plan, extra):
        staged = plan
        if stage.name == "breadth" and depth_of is not None:
            staged = depth_of
        if stage.name == "depth":
            left = (plan.deadline or time.time()) - time.time()
            expected = sum(len(s.expected) for s in log.stages if s.stage == "breadth")
            if left < DEPTH_MIN_S or not expected:
                break
            staged = replace(plan, test_slice_s=max(SLICE_MIN_S, left * max(1, workers) / expected))
        facts = run_session(staged, stage, workers, extra, log)
        if facts.usage_error or facts.interrupted or facts.stopped or log.target is not None:
            break
