"""`orchestrator-contract run`: build the plan, look at the target, run the stages, decide, report.

The order is the run's data flow: the plan (`plan`) is built once from the command line; the
probe (`probe`) looks at the target; the stages (`stages`) run pytest in this process, the plugin
turning each test into an `Outcome` in the `OutcomeLog` (and `results.jsonl`); the verdict
(`verdict.decide`) is one function of that log; the reports are written from it (`Reporter`); the
verdict line is printed; then triage replays failures, within its own budget, and only relabels.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, Credential
from orchestrator_contract.contract.errors import UsageError
from orchestrator_contract.contract.locations import suites_dir
from orchestrator_contract.planning import profiles
from orchestrator_contract.planning.plan import EmbeddedServer, RunPlan
from orchestrator_contract.reporting.html_report import Context
from orchestrator_contract.reporting.summary import (
    clear_stale,
)
from orchestrator_contract.run.report import Reporter
from orchestrator_contract.run.stages import run_stages
from orchestrator_contract.run.triage import triage
from orchestrator_contract.server.faults import check_fault_names
from orchestrator_contract.verdict.decide import Exit
from orchestrator_contract.verdict.outcomes import RESULTS_FILE, OutcomeLog
from orchestrator_contract.verdict.outcomes import read as read_outcomes

HARD_STOP_GRACE_S = 60  # past the budget, a test stuck in a request is given this long before the run is ended


# -- run ---------------------------------------------------------------------------------------
def run(args: argparse.Namespace, extra: list[str]) -> int:
    """Build the plan, look at the target, run the stages, decide, report, triage (see `run/`)."""
    plan, depth_of = build_plan(args)
    credential = _credential_for(args.base_url)
    report_dir = plan.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    clear_stale(report_dir, extra=(RESULTS_FILE,))
    log = OutcomeLog()
    log.start(report_dir / RESULTS_FILE)
    log.add_run(plan.summary())
    started = time.monotonic()
    if args.base_url:
        return _run_against(plan, depth_of, args, extra, log, credential, started)
    from orchestrator_contract.server import start_process

    # In a child process: the run's own process (the tests, or the xdist controller) keeps its interpreter.
    with start_process(plan.server.server_config()) as running:
        plan = plan.with_changes(base_url=running.base_url, embedded=True)
        depth_of = depth_of.with_changes(base_url=running.base_url, embedded=True) if depth_of else None
        return _run_against(plan, depth_of, args, extra, log, credential, started)


def build_plan(args: argparse.Namespace) -> tuple[RunPlan, RunPlan | None]:
    """The run's plan from the command line (the one place a profile file is read), and for a
    breadth-first profile, the same plan at the breadth profile's depth."""
    try:
        profile = profiles.load(args.profile, seed=args.seed)
        breadth = profiles.load(profile.breadth) if profile.breadth and not args.test else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.max_time is not None:
        profile = profile.with_changes(max_time_s=args.max_time)
    if args.workers is not None:
        profile = profile.with_changes(workers=args.workers)
    server = EmbeddedServer(
        faults=tuple(args.server_fault),
        latency_ms=args.server_latency_ms,
        op_delay_ms=args.server_op_delay_ms,
        rate_limit=args.server_rate_limit,
    )
    if args.base_url and server != EmbeddedServer():
        raise UsageError("the --server-* options apply to the embedded server only, not with --base-url")
    check_fault_names(server.faults)
    if args.baseline is not None:
        from orchestrator_contract.adoption import baseline

        try:
            baseline.load(args.baseline)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.example_db and profile.derandomize:
        raise UsageError(
            f"--example-db needs a profile that is not derandomized (local, nightly); {profile.name} "
            "replays nothing on purpose: its verdict must not depend on earlier runs"
        )
    for source in args.example_db:
        from orchestrator_contract.planning.example_databases import read_only

        try:
            read_only(source)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for test in args.test:
        name = Path(test.partition("::")[0]).name
        if not (suites_dir() / name).is_file():
            raise UsageError(f"--test {test!r}: no suite file {name} in {suites_dir()}")
    plan = RunPlan(
        profile=profile,
        base_url=args.base_url,
        server=server,
        report_dir=args.report_dir.resolve(),
        baseline=args.baseline.resolve() if args.baseline else None,
        example_databases=tuple(str(Path(s).resolve()) if not s.startswith("github:") else s for s in args.example_db),
        tests=tuple(args.test),
        stop_at=tuple(args.stop_at_clause),
    ).started()
    depth_of = plan.with_changes(profile=profile.at_depth_of(breadth)) if breadth is not None else None
    return plan, depth_of


def _credential_for(base_url: str | None) -> Credential:
    if base_url is None:
        return PRIMARY_ACCOUNT
    sid, token = os.environ.get("TWILIO_ACCOUNT_SID"), os.environ.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise UsageError("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to test a server by URL")
    return Credential(sid, token)


def _run_against(
    plan: RunPlan,
    depth_of: RunPlan | None,
    args: argparse.Namespace,
    extra: list[str],
    log: OutcomeLog,
    credential: Credential,
    started: float,
) -> int:
    from orchestrator_contract.run.probe import Unreachable, probe

    assert plan.base_url is not None
    header = [
        f"target: {plan.target_label}",
        f"profile: {plan.profile.name} ({plan.profile.description})",
        f"seed: {plan.seed}",
        f"time budget: {plan.profile.max_time_s} s",
    ]
    if plan.baseline:
        header.append(f"baseline: {plan.baseline}")
    print("orchestrator-contract: " + "; ".join(header), flush=True)
    try:
        broken = probe(plan.base_url, credential, plan.profile.max_response_bytes)
    except Unreachable as exc:
        raise UsageError(str(exc)) from None
    report = Reporter(
        plan.report_dir,
        header,
        Context(plan.target_label, f"{plan.profile.name} ({plan.profile.description})", plan.seed, 0.0),
        started,
        baseline_file=plan.baseline,
        require_coverage=args.require_coverage,
    )
    if broken is not None:
        log.set_target(broken)
        return report.finish(log)
    workers = 0 if plan.tests else _workers(plan, credential)
    watchdog = Watchdog(plan, log, report)
    watchdog.start()
    try:
        run_stages(plan, workers, extra, log, depth_of)
    finally:
        watchdog.cancel()
    code = report.finish(log)
    if args.triage and not log.hard_stopped:
        line = triage(plan, log)
        if line:
            print(f"orchestrator-contract: {line}", flush=True)
            report.rewrite_records(log)
            report.finish(log, quiet=True)
    return code


def _workers(plan: RunPlan, credential: Credential) -> int:
    """The plan's workers, with "auto" resolved from the target's round trip."""
    from orchestrator_contract.planning.workers import AUTO, choose_workers, measure_rtt

    if plan.profile.workers != AUTO:
        return plan.profile.workers
    assert plan.base_url is not None
    rtt = measure_rtt(plan.base_url, credential)
    workers = choose_workers(rtt, plan.profile.max_workers)
    print(
        f"orchestrator-contract: {workers} workers (auto: round trip {rtt * 1000:.1f} ms, "
        f"at most {plan.profile.max_workers})",
        flush=True,
    )
    return int(workers)


class Watchdog(threading.Timer):
    """Ends a run that outlives its budget by `HARD_STOP_GRACE_S` (a test stuck past the budget):
    its reports are written from what ran, the verdict printed, and the process exits with it."""

    def __init__(self, plan: RunPlan, log: OutcomeLog, report: Reporter) -> None:
        delay = max(0.0, (plan.deadline or time.time()) - time.time()) + HARD_STOP_GRACE_S
        super().__init__(delay, self._stop)
        self.daemon = True
        self.log = log
        self.report = report

    def _stop(self) -> None:
        self.log.mark_hard_stopped()
        print(
            f"orchestrator-contract: the run outlived its time budget by {HARD_STOP_GRACE_S} s and is stopped",
            file=sys.stderr,
            flush=True,
        )
        code = self.report.finish(self.log)
        os._exit(code)


def write_baseline(args: argparse.Namespace) -> int:
    """`orchestrator-contract baseline REPORT_DIR`: a baseline knowing every violation of that run."""
    from orchestrator_contract.adoption.baseline import render

    log = read_outcomes(args.report_dir)
    if not (args.report_dir / RESULTS_FILE).is_file():
        raise UsageError(f"{args.report_dir} holds no run (no {RESULTS_FILE})")
    records = [o.record for o in log.outcomes if o.record is not None and o.outcome == "failed"]
    sys.stdout.write(render(records, source=str(args.report_dir)))
    return int(Exit.OK)
