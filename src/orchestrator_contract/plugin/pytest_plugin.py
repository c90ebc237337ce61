"""The suites' pytest plugin: it runs the plan, turns every test into one typed outcome, and keeps
secrets out of every report.

Where tests run (in-process, or each xdist worker), a failed test is classified the moment it
fails: a *violation* when a `ContractViolation` is behind it (it names a clause), else a *suite
error* (the suite could not judge). Its failure record (`failures/<id>.json`) and cassette
(`cassettes/<id>.har`) are written then, so a crash later loses nothing, and the record travels
with pytest's report (xdist carries it to the controller).

Where reports arrive (the process that runs pytest, or the xdist controller), each test's reports
become one `Outcome` in the run's `OutcomeLog` (and `results.jsonl`), with the tests the session
was asked to run and the target's state. `orchestrator-contract run` hands the plan in and takes
the log out (`PlanProvider`); a plain `pytest suites` builds the plan from the options and decides
its exit status from the same log with the same function (`run.verdict.decide`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis.core
import pytest
from hypothesis import HealthCheck

from orchestrator_contract.adoption import baseline
from orchestrator_contract.contract.clauses import CLAUSES
from orchestrator_contract.contract.violations import ContractViolation, first_in, violation_in
from orchestrator_contract.exchanges import journal
from orchestrator_contract.exchanges.client import BudgetExhausted, RunShared, TargetBroken
from orchestrator_contract.exchanges.coverage import coverage, operation_of, write_coverage
from orchestrator_contract.exchanges.har import har_text
from orchestrator_contract.exchanges.recording import Recording, in_scope
from orchestrator_contract.exchanges.redaction import scrub, scrub_tree, sent_credentials
from orchestrator_contract.exchanges.target_health import TargetFacts
from orchestrator_contract.planning import profiles
from orchestrator_contract.planning.plan import WORKERINPUT_KEY, EmbeddedServer, PlanProvider, RunPlan
from orchestrator_contract.planning.scheduling import order_for_signal, order_longest_first
from orchestrator_contract.reporting.summary import (
    CASSETTES_DIR,
    REPRODUCE_MARK,
    artifact_stem,
    clear_stale,
    record_file,
)
from orchestrator_contract.verdict import outcomes as oc
from orchestrator_contract.verdict.decide import decide

MESSAGE_LIMIT = 20_000
PLAN_KEY = pytest.StashKey[RunPlan]()
SHARED_KEY = pytest.StashKey[RunShared]()  # what every client of this process shares (see `client.RunShared`)
REPORT_ATTRIBUTE = "orchestrator_contract"  # the attribute of a TestReport that carries our classification
TALLY_KEY = "orchestrator_contract_tally"  # a worker's coverage tally, in xdist's `workeroutput`
MARKERS = {
    "conformance": "Schemathesis property tests over every operation (positive and negative data)",
    "stateful": "link-driven and model-based state machines",
    "edges": "exact bounds, near misses, hostile text and structure, media types, exact look-ups",
    "auth": "authentication: 401 rules and API keys",
    "isolation": "a second account sees none of the first's resources (needs a second account)",
    "operations": "the asynchronous operation lifecycle",
    "idempotency": "Idempotency-Key replays, mismatches and races",
    "pagination": "keyset pagination, tokens and the memoryStoreId filter",
    "versioning": "version arithmetic and timestamps",
    "conditional": "ETag / If-Match optimistic locking",
    "validation": "request validation and the error body",
    "semantics": "PUT/PATCH semantics, null handling, conflicts, round-trips",
    "sdk": "the official SDK (twilio) drives the lifecycle: its framing and parsing must work",
}


def rerun_command(plan: RunPlan, nodeid: str) -> str:
    """`orchestrator-contract run` for exactly this test, with the run's profile and seed, against
    the same target (credentials come from the environment and are never printed)."""
    parts = ["orchestrator-contract", "run", *plan.target_options(), "--profile", plan.profile.source]
    parts += ["--seed", str(plan.seed), "--test", nodeid]
    return shlex.join(parts)


def provider_of(config: pytest.Config) -> PlanProvider | None:
    """The plan provider `orchestrator-contract run` registered, if it did."""
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, PlanProvider)), None)


def plan_of(config: pytest.Config) -> RunPlan:
    return config.stash[PLAN_KEY]


@contextlib.contextmanager
def plan_in_scope(plan: RunPlan) -> Iterator[None]:
    """The plan's profile for code that runs while the suites are imported (Schemathesis builds its
    tests at import time, from decorators that cannot take a fixture)."""
    with profiles.in_scope(plan.profile):
        yield


# -- where tests run: classification and failure records -------------------------------------------
class TestSide:
    """The plugin object where tests run: classifies failures and writes their records."""

    def __init__(self, config: pytest.Config, plan: RunPlan, shared: RunShared) -> None:
        self.config = config
        self.plan = plan
        self.shared = shared
        self.baseline = baseline.load(plan.baseline) if plan.baseline else []
        self.fixture_exchanges: dict[str, list[journal.Exchange]] = {}  # shared fixture -> its setup's requests
        self.recording = Recording()  # this process's: the test's exchanges, the coverage tally
        self.sent: set[str] = set()  # what the Authorization headers of this process's failed tests revealed

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
        """A shared fixture's requests (the datasets a module builds) are recorded apart, so every test
        that uses it can show them in its cassette: `reproduce` then rebuilds the state first."""
        if fixturedef.scope == "function":
            return (yield)
        previous = self.recording.journal
        recorded = self.recording.start_test()
        try:
            return (yield)
        finally:
            self.recording.journal = previous
            if recorded.exchanges:
                self.fixture_exchanges[fixturedef.argname] = recorded.snapshot()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        with plan_in_scope(self.plan):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        data: dict[str, Any] = {}
        exc = call.excinfo.value if call.excinfo is not None else None
        if report.failed and violation_in(exc) is None:
            broken = self.shared.health.state()
            skip: BaseException | str | None = first_in(exc, BudgetExhausted) or first_in(exc, TargetBroken)
            if skip is None and broken is not None:
                skip = f"not judged: {broken.reason}"  # the suite cannot judge against a broken target
            if skip is not None:
                # The run's time ran out, or the target broke, inside the test, and something (Hypothesis,
                # seeing an example end earlier than its first run did) turned that skip into an error.
                report.outcome = "skipped"
                report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {skip}")
        if report.skipped and exc is not None:
            data["budget"] = first_in(exc, BudgetExhausted) is not None
        if report.failed:
            data.update(self._classify(item, call, report, exc))
        broken = self.shared.health.state()
        if broken is not None:
            data["target"] = asdict(broken)
        if data:
            setattr(report, REPORT_ATTRIBUTE, data)
        self._scrub_report(report)
        return report

    def _classify(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, exc: BaseException | None
    ) -> dict[str, Any]:
        setup = [e for name in getattr(item, "fixturenames", ()) for e in self.fixture_exchanges.get(name, [])]
        own = self.recording.journal.snapshot()
        exchanges = setup + own
        self.sent |= sent_credentials(e.request.headers.get("authorization", "") for e in exchanges)
        violation = violation_in(exc)
        culprit, last = witnesses(violation, own)
        operation = operation_of_failure(culprit or last or (exchanges[-1] if exchanges else None))
        full_message = violation_message(violation, own, culprit) if violation is not None else ""
        if violation is not None:
            self.recording.tally.record_check(violation.clause, passed=False)
            # Where pytest shows it (the terminal): the reproduction as a section of the report.
            reproduce = full_message.partition(REPRODUCE_MARK)[2].strip("\n")
            report.sections.append((REPRODUCE_MARK.rstrip(":"), scrub(reproduce, self.sent)))
        known = (
            baseline.matching(self.baseline, violation.clause, report.nodeid, operation)
            if violation is not None
            else None
        )
        record = self._record(item, call, report, exchanges, operation, known, violation, culprit, full_message)
        try:
            self._write(report.nodeid, record, exchanges)
        except Exception as problem:  # a reporting problem must never change the verdict
            print(f"orchestrator-contract: could not record the failure of {item.nodeid}: {problem!r}", file=sys.stderr)
        if known is not None:  # an expected failure: pytest's xfail, with the baseline's reason
            report.outcome = "skipped"
            report.wasxfail = f"known violation [{known.clause}] (baseline): {known.reason}"
        return {"record": record, "known": known.reason if known is not None else "", "operation": operation}

    def _record(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[None],
        report: pytest.TestReport,
        exchanges: list[journal.Exchange],
        operation: str,
        known: baseline.Known | None,
        violation: ContractViolation | None,
        culprit: journal.Exchange | None,
        full_message: str,
    ) -> dict[str, Any]:
        """`full_message`: the violation with its reproduction (`violation_message`), when there is one."""
        exc = call.excinfo.value if call.excinfo is not None else None
        plan = self.plan
        if violation is not None:
            message = scrub(full_message, self.sent)[:MESSAGE_LIMIT]
            clause, detail, verdict = violation.clause, violation.detail, oc.VIOLATION
        else:
            message = scrub(report.longreprtext, self.sent)[-MESSAGE_LIMIT:]
            summary = f"{type(exc).__name__}: {exc}" if exc is not None else message.splitlines()[-1:]
            clause, detail, verdict = "", scrub(str(summary), self.sent), oc.SUITE_ERROR
        described = CLAUSES.get(clause)
        record: dict[str, Any] = {
            "test": report.nodeid,
            "phase": report.when,
            "verdict": verdict,
            "clause": clause,
            "clause_section": described.section if described else "",
            "clause_text": described.text if described else "",
            "violation": f"violation: {detail.splitlines()[0] if detail else ''}" if violation is not None else "",
            "detail": detail,
            "seed": plan.seed,
            "profile": plan.profile.name,
            "stage": plan.stage,
            "run_id": plan.run_id,
            "target": plan.target_label,
            "base_url": "" if plan.embedded else (plan.base_url or ""),
            "operation": operation,
            "known": known.reason if known is not None else "",
            "target_options": plan.target_options(),
            "culprit": exchanges.index(culprit)
            if culprit in exchanges
            else (len(exchanges) - 1 if exchanges else None),
            "curl": curl_commands(exchanges, message),
            "reproduction": message.partition(REPRODUCE_MARK)[2].strip("\n") if REPRODUCE_MARK in message else "",
            "hypothesis": "\n".join(getattr(item, "hypothesis_report_information", []) or []),
            "rerun": rerun_command(plan, report.nodeid),
            "cassette": f"{CASSETTES_DIR}/{artifact_stem(report.nodeid)}.har",
            "exchanges": len(exchanges),
            "message": message,
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "duration_s": round(report.duration, 3),
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        scrubbed: dict[str, Any] = json.loads(scrub(json.dumps(scrub_tree(record, self.sent)), self.sent))
        return scrubbed

    def _write(self, nodeid: str, record: dict[str, Any], exchanges: list[journal.Exchange]) -> None:
        directory = self.plan.report_dir
        write_atomically(
            directory / record["cassette"], har_text(exchanges, comment=f"orchestrator-contract: {nodeid}")
        )
        text = json.dumps(record, indent=2, ensure_ascii=False)
        write_atomically(directory / record_file(nodeid), text + "\n")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Scrub again before the terminal, junitxml or xdist see the report (other plugins'
        makereport wrappers may have added sections after ours)."""
        self._scrub_report(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._scrub_report(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Hand this process's coverage tally over: to the controller through xdist's workeroutput."""
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[TALLY_KEY] = self.recording.tally.take()

    def _scrub_report(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        """Redact the report's traceback and sections in place, through pytest's (xdist's) own
        serialization, so its structure is kept."""
        if report.longrepr is None and not report.sections:
            return
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        if data is None:
            return
        cleaned = scrub_tree(data, self.sent)
        if cleaned == data:
            return
        fresh = self.config.hook.pytest_report_from_serializable(config=self.config, data=cleaned)
        report.longrepr = fresh.longrepr
        report.sections = fresh.sections


# -- where reports arrive: outcomes --------------------------------------------------------------
class OutcomeSide:
    """The plugin object where reports arrive: one `Outcome` per test into the run's log, the tests
    the session was asked to run, the stop rules (a broken target, `--stop-at-clause`)."""

    def __init__(self, config: pytest.Config, plan: RunPlan, log: oc.OutcomeLog) -> None:
        self.config = config
        self.plan = plan
        self.log = log
        self.expected: list[str] = []
        self.interrupted = False
        self.tallies: list[dict[str, Any]] = []
        self.session: pytest.Session | None = None
        self._phases: dict[str, list[pytest.TestReport]] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not hasattr(self.config, "workerinput") and not self.config.pluginmanager.hasplugin("dsession"):
            self.expected = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.expected:
            self.expected = list(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        tally = getattr(node, "workeroutput", {}).get(TALLY_KEY)
        process = f"{self.plan.stage}/{getattr(getattr(node, 'gateway', None), 'id', '?')}"
        if tally is not None and all(t.get("process") != process for t in self.tallies):
            self.tallies.append({**tally, "process": process})

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """A Ctrl-C; not the `Interrupted` (a KeyboardInterrupt too) xdist raises to end a session
        told to stop (-x, --maxfail, a broken target)."""
        self.interrupted = excinfo.type is KeyboardInterrupt

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._phases.setdefault(report.nodeid, []).append(report)
        if report.when == "teardown":
            self._emit(report.nodeid)

    def _emit(self, nodeid: str) -> None:
        reports = self._phases.pop(nodeid, [])
        if not reports:
            return
        outcome = outcome_of(nodeid, reports, self.plan.stage)
        self.log.add(outcome)
        target = next(
            (d["target"] for r in reports if (d := getattr(r, REPORT_ATTRIBUTE, None)) and "target" in d), None
        )
        if target is not None:
            self.log.set_target(TargetFacts(**target))
            self._stop("the target answers nothing sanely")
        if outcome.is_violation and outcome.clause in self.plan.stop_at:
            self._stop(f"a violation of {outcome.clause} was found (--stop-at-clause)")

    def _stop(self, reason: str) -> None:
        """End the run after this test: in-process as -x does; under xdist the controller's DSession
        decides, so it is told to stop (the verdict never reads pytest's status for it)."""
        if self.session is None:
            return
        self.session.shouldstop = reason
        dsession = self.config.pluginmanager.getplugin("dsession")
        if dsession is not None and not getattr(dsession, "shouldstop", True):
            dsession.shouldstop = reason

    def finish(self, exitstatus: int) -> oc.StageFacts:
        """Flush tests whose teardown never came (a crashed worker), take the in-process tally, and
        say how the stage went."""
        for nodeid in list(self._phases):
            self._emit(nodeid)
        if not self.config.pluginmanager.hasplugin("dsession"):
            recording = self.config.stash[RECORDING_KEY]
            self.tallies.append({**recording.tally.take(), "process": f"{self.plan.stage}/main"})
        return oc.StageFacts(
            stage=self.plan.stage,
            expected=tuple(self.expected),
            counts_for_completeness=self.plan.stage != "depth",
            pytest_status=int(exitstatus),
            interrupted=self.interrupted,
            stopped=str(self.session.shouldstop or self.session.shouldfail or "") if self.session else "",
        )


def outcome_of(nodeid: str, reports: list[pytest.TestReport], stage: str) -> oc.Outcome:
    """One test's outcome from its phase reports: the first failure decides, then a skip."""
    failed = next((r for r in reports if r.failed), None)
    known = next((r for r in reports if getattr(r, "wasxfail", "") and r.skipped), None)
    skipped = next((r for r in reports if r.skipped and not getattr(r, "wasxfail", "")), None)
    duration = round(sum(r.duration for r in reports), 3)
    worker = str(getattr(getattr(getattr(reports[0], "node", None), "gateway", None), "id", "main"))
    decisive = failed or known
    if decisive is not None:
        data = getattr(decisive, REPORT_ATTRIBUTE, None) or {}
        record = data.get("record")
        verdict = (record or {}).get("verdict") or oc.SUITE_ERROR
        clause = (record or {}).get("clause", "")
        headline = (record or {}).get("violation") or (record or {}).get("detail", "") or _last_line(decisive)
        return oc.Outcome(
            test=nodeid,
            outcome=oc.FAILED if failed is not None else oc.KNOWN,
            stage=stage,
            verdict=verdict,
            clause=clause,
            operation=data.get("operation", ""),
            headline=str(headline).splitlines()[0][:240] if headline else "",
            phase=str(decisive.when),
            duration_s=duration,
            reason=data.get("known", ""),
            record=record,
            worker=worker,
        )
    if skipped is not None:
        data = getattr(skipped, REPORT_ATTRIBUTE, None) or {}
        return oc.Outcome(
            test=nodeid,
            outcome=oc.SKIPPED,
            stage=stage,
            phase=str(skipped.when),
            duration_s=duration,
            reason=_skip_reason(skipped)[:240],
            budget=bool(data.get("budget")),
            worker=worker,
        )
    return oc.Outcome(test=nodeid, outcome=oc.PASSED, stage=stage, duration_s=duration, worker=worker)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _last_line(report: pytest.TestReport) -> str:
    lines = [ln for ln in report.longreprtext.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def witnesses(
    violation: ContractViolation | None, exchanges: list[journal.Exchange]
) -> tuple[journal.Exchange | None, journal.Exchange | None]:
    """The exchanges that show a violation: the answer its raiser named (if any), and the test's
    newest exchange when it was raised (not a later one, such as its cleanup's)."""
    if violation is None:
        return None, None
    culprit = journal.find_exchange(exchanges, violation.response) if violation.response is not None else None
    before = [e for e in exchanges if e.sent_at <= violation.raised_at]
    return culprit, (before[-1] if before else None)


def violation_message(
    violation: ContractViolation, exchanges: list[journal.Exchange], culprit: journal.Exchange | None
) -> str:
    """The violation, then its reproduction: the answer that shows it first, then the test's newest
    requests up to when it was raised (not yet redacted)."""
    before = [e for e in exchanges if e.sent_at <= violation.raised_at]
    context = journal.reproduction(before)
    shown = f"{culprit.describe()}\n" if culprit is not None else ""
    return f"{violation}\n{REPRODUCE_MARK}\n{shown}" + (
        f"earlier requests of this test, newest last:\n{context}" if culprit is not None else context
    )


def operation_of_failure(exchange: journal.Exchange | None) -> str:
    """The operationId of the exchange that shows a failure."""
    if exchange is None:
        return ""
    return operation_of(exchange.request.method, exchange.request.url.path)


def curl_commands(exchanges: list[journal.Exchange], message: str) -> list[str]:
    """The curl commands the failure message shows, in its order; without any, the test's last six."""
    commands = list(dict.fromkeys(journal.curl_command(e.request) for e in exchanges))
    shown = sorted((c for c in commands if c in message), key=message.index)
    return shown or commands[-6:]


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# -- wiring: options, the plan, Hypothesis, ordering -------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    """The options of a plain `pytest suites` run (`orchestrator-contract run` hands a plan instead)."""
    group = parser.getgroup("orchestrator-contract")
    group.addoption("--base-url", default=None, help="server under test; default: start the embedded reference server")
    group.addoption("--profile", default=None, help="run profile (ci, local, nightly, or a path to a .toml file)")
    group.addoption("--seed", type=int, default=None, help="override the profile's seed")
    group.addoption("--report-dir", default="reports", help="where results.jsonl, failures/ and cassettes/ go")
    group.addoption(
        "--example-db",
        action="append",
        default=None,
        metavar="DIR|github:OWNER/REPO",
        help="a Hypothesis example database to replay first, read-only (repeatable)",
    )
    group.addoption("--server-fault", action="append", default=None, help="embedded server only: a deliberate fault")
    group.addoption("--server-rate-limit", type=float, default=None, help="embedded server only: 429 above N req/s")
    group.addoption("--server-latency-ms", type=int, default=None, help="embedded server only: answer N ms later")
    group.addoption("--server-op-delay-ms", type=int, default=None, help="embedded server only: apply operations later")
    group.addoption(
        "--only-test",
        action="append",
        default=None,
        metavar="NODEID",
        help="run only this test (`file.py::name[parameters]`, repeatable); chosen after collection, so "
        "the items Schemathesis generates, which pytest cannot find by node id, can be named too",
    )
    group.addoption(
        "--stop-at-clause",
        action="append",
        default=[],
        metavar="CLAUSE",
        help="stop the run at the first violation of this clause",
    )


def plan_from_options(config: pytest.Config) -> RunPlan:
    """The plan of a plain `pytest suites` run, from its options (the one place a profile is read)."""
    option = config.getoption
    server = EmbeddedServer(
        faults=tuple(option("--server-fault") or ()),
        latency_ms=option("--server-latency-ms") or 0,
        op_delay_ms=option("--server-op-delay-ms")
        if option("--server-op-delay-ms") is not None
        else EmbeddedServer.op_delay_ms,
        rate_limit=option("--server-rate-limit"),
    )
    try:
        profile = profiles.load(option("--profile") or "ci", seed=option("--seed"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    return RunPlan(
        profile=profile,
        base_url=option("--base-url"),
        server=server,
        report_dir=Path(option("--report-dir")).resolve(),
        example_databases=tuple(option("--example-db") or ()),
        tests=tuple(option("--only-test") or ()),
        stop_at=tuple(option("--stop-at-clause") or ()),
    ).started()


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    workerinput = getattr(config, "workerinput", None)
    provider = provider_of(config)
    if workerinput is not None:  # an xdist worker: the controller decided everything
        plan = RunPlan.from_json(workerinput[WORKERINPUT_KEY])
    elif provider is not None:
        plan = provider.plan
    else:
        plan = plan_from_options(config)
    config.stash[PLAN_KEY] = plan
    profile = plan.profile
    if profile.maxfail and not config.option.maxfail:
        config.option.maxfail = profile.maxfail  # `local` stops at the first failure
    hypothesis.settings.register_profile(
        "orchestrator-contract",
        derandomize=profile.derandomize,
        max_examples=profile.scenario_examples,
        phases=profile.hypothesis_phases,  # every `@given` of the suites inherits the profile's shrinking
        deadline=None if profile.deadline_ms == 0 else profile.deadline_ms,
        # A derandomized profile reads no database (Hypothesis forbids it: its runs must not depend on earlier ones).
        database=None if profile.derandomize else profile.example_database_for(plan.report_dir, plan.example_databases),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        print_blob=True,
        report_multiple_bugs=False,  # the first failure is the verdict; hunting more costs minutes on a broken target
    )
    hypothesis.settings.load_profile("orchestrator-contract")
    shared = RunShared(deadline=plan.deadline)
    config.stash[SHARED_KEY] = shared
    test_side = TestSide(config, plan, shared)
    config.stash[RECORDING_KEY] = test_side.recording
    # In scope for the session (this thread): clients made in it record there, `expect` counts there.
    config.stash[SCOPE_KEY] = contextlib.ExitStack()
    config.stash[SCOPE_KEY].enter_context(in_scope(test_side.recording))
    config.pluginmanager.register(test_side, "orchestrator-contract-tests")
    if workerinput is None:
        log = provider.sink if provider is not None and provider.sink is not None else oc.OutcomeLog()
        if provider is None:  # a plain `pytest suites`: this session is the whole run
            clear_stale(plan.report_dir)
            log.start(plan.report_dir / oc.RESULTS_FILE)
            log.add_run(plan.summary())
        side = OutcomeSide(config, plan, log)
        config.stash[OUTCOMES_KEY] = side
        config.pluginmanager.register(side, "orchestrator-contract-outcomes")


OUTCOMES_KEY = pytest.StashKey[OutcomeSide]()
RECORDING_KEY = pytest.StashKey[Recording]()
SCOPE_KEY = pytest.StashKey[contextlib.ExitStack]()


def pytest_unconfigure(config: pytest.Config) -> None:
    if SCOPE_KEY in config.stash:
        config.stash[SCOPE_KEY].close()


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, Any, Any]:
    with plan_in_scope(plan_of(session.config)):
        return (yield)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where reports arrive: the stage's facts into the log. A plain `pytest suites` run (no
    `orchestrator-contract run` around it) takes its exit status from the log's verdict."""
    config = session.config
    if hasattr(config, "workerinput") or OUTCOMES_KEY not in config.stash:
        return
    side = config.stash[OUTCOMES_KEY]
    facts = side.finish(exitstatus)
    provider = provider_of(config)
    if provider is not None:
        provider.stage_facts = facts
        provider.tallies = side.tallies
        return
    side.log.add_stage(facts)
    side.log.add_tallies(side.tallies)
    try:
        write_coverage(side.plan.report_dir, coverage(side.tallies))
    except OSError as problem:  # coverage is a report; it never changes the verdict
        print(f"orchestrator-contract: could not write coverage.json: {problem!r}", file=sys.stderr)
    if exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return
    session.exitstatus = int(decide(side.log).code)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller side): every worker runs with the controller's plan."""
    node.workerinput[WORKERINPUT_KEY] = plan_of(node.config).to_json()


def _short_nodeid(nodeid: str) -> str:
    """`file.py::name[parameters]`, whatever directory the node id starts from."""
    path, sep, rest = nodeid.partition("::")
    return Path(path).name + sep + rest


def _names_of(nodeid: str) -> set[str]:
    """The names `--only-test` may give a test by: its file, its function, or exactly it."""
    short = _short_nodeid(nodeid)
    return {short, short.partition("[")[0], short.partition("::")[0]}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The plan's tests only, when it names some; then, in one process, tests that catch the most per
    second first; across workers, the longest first (see `scheduling`)."""
    wanted = {_short_nodeid(n) for n in plan_of(config).tests}
    if wanted:
        chosen = [item for item in items if _names_of(item.nodeid) & wanted]
        config.hook.pytest_deselected(items=[item for item in items if not _names_of(item.nodeid) & wanted])
        items[:] = chosen
    workerinput = getattr(config, "workerinput", None)
    workers = int(workerinput["workercount"]) if workerinput else int(getattr(config.option, "numprocesses", 0) or 0)
    items[:] = order_longest_first(items, workers) if workers else order_for_signal(items)  # type: ignore[assignment,arg-type]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the run's time budget is spent, the remaining tests are skipped (and say why), so the
    reports of everything that ran are still written. A random-seed profile seeds this test's
    Hypothesis randomness from the run's seed, the stage and the test's id (`seed_hypothesis_for`)."""
    plan = plan_of(item.config)
    if plan.deadline is not None and time.time() > plan.deadline:
        raise BudgetExhausted("the run's time budget (--max-time) was exhausted before this test")
    shared = item.config.stash[SHARED_KEY]
    shared.check_target()
    shared.test_deadline = time.time() + plan.test_slice_s if plan.test_slice_s else None
    if not plan.profile.derandomize:
        seed_hypothesis_for(item.nodeid, plan.seed if plan.stage != "depth" else f"{plan.seed}/depth")


def seed_hypothesis_for(nodeid: str, seed: object) -> None:
    """The random-seed profiles (nightly): each test draws from a generator seeded by the run's seed
    and its own id, so `--seed` replays the same examples, on any worker, in any order. This is the
    generator Hypothesis falls back to when no seed is forced; forcing one (`@seed`,
    `--hypothesis-seed`) would also switch off the example database, which the nightly job keeps."""
    state = getattr(hypothesis.core, "threadlocal", None)
    if state is None or not hasattr(state, "_hypothesis_global_random"):  # a Hypothesis without it
        hypothesis.core.global_force_seed = seed  # type: ignore[assignment]
        return
    state._hypothesis_global_random = random.Random(f"{seed}/{nodeid}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    plan = plan_of(config)
    return [
        f"orchestrator-contract: profile={plan.profile.name} seed={plan.seed} stage={plan.stage} "
        f"run-id={plan.run_id} target={plan.target_label}"
    ]
