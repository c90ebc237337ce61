"""The suites' pytest plugin: every failed test is classified, recorded, and scrubbed of secrets.

Classification: a failure is a *violation* when a `ContractViolation` is behind it (it names a
clause); anything else is a *suite error*: the suite could not judge (its own bug, a request it
could not build, a target that throttled it for minutes). The verdict travels with the report
(`user_properties`, so xdist and junit.xml carry it), and the session's exit status is 3 when
tests failed but none of them for a violation.

For every failed test, the moment it fails, in the report directory:
- `cassettes/<id>.har`: every HTTP exchange of the test's journal as a HAR 1.2 file;
- `failures/<id>.json`: test id, verdict, clause, violation or traceback, seed, profile, curl
  commands, and the `orchestrator-contract run` command that reruns exactly that test against
  the same target.
`<id>` is the sanitized node id plus a hash of it, so xdist workers never collide; writing at
failure time (not at session end) means a crash later in the run loses nothing.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import sys
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis.core
import pytest
from hypothesis import HealthCheck

from . import baseline, journal, observed, profiles, redaction
from .clauses import CLAUSES
from .client import BudgetExhausted
from .context import WORKERINPUT_KEY, EmbeddedServer, RunContext
from .har import har_text
from .reporting import (
    BASELINE_STATUS,
    CASSETTES_DIR,
    FAILURES_DIR,
    HTML_REPORT,
    KNOWN_PROPERTY,
    REPRODUCE_MARK,
    SUITE_ERROR,
    VERDICT_PROPERTY,
    VIOLATION,
    artifact_stem,
)
from .resources import suites_dir
from .scheduling import base_id, order_for_signal, order_longest_first
from .violations import ContractViolation, first_in, violation_in

MESSAGE_LIMIT = 20_000
EXIT_SUITE_ERROR = 3
CONTEXT_KEY = pytest.StashKey[RunContext]()
PROFILE_KEY = pytest.StashKey[profiles.Profile]()
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
}


def rerun_command(context: RunContext, nodeid: str, seed: object) -> str:
    """`orchestrator-contract run` for exactly this test, with the run's profile and seed, against
    the same target (credentials come from the environment and are never printed)."""
    parts = ["orchestrator-contract", "run", *context.target_options(), "--profile", context.profile]
    if seed is not None:
        parts += ["--seed", str(seed)]
    parts += ["--test", nodeid]
    return shlex.join(parts)


def verdict_of(report: pytest.TestReport) -> str | None:
    """`violation` / `suite-error` for a failed report (as the plugin classified it), else None."""
    for name, value in getattr(report, "user_properties", ()):
        if name == VERDICT_PROPERTY:
            return str(value)
    return None


class ContractReporting:
    """The plugin object: holds the config (some hooks get none) and the run's tally of verdicts."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.violations = 0
        self.suite_errors = 0
        self.stop_at = set(config.getoption("--stop-at-clause") or [])
        self.stopped_at = ""  # why --stop-at-clause ended the run, once it has
        self.session: pytest.Session | None = None
        context = config.stash[CONTEXT_KEY]
        self.baseline = baseline.load(context.baseline) if context.baseline else []
        self.known_hits: dict[int, set[str]] = {}  # baseline entry -> the tests it covered
        self.ran: set[str] = set()  # tests that ran (or failed to set up)
        self.fixture_exchanges: dict[str, list[journal.Exchange]] = {}  # shared fixture -> its setup's requests

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
        """A shared fixture's requests (the datasets a module builds) are recorded apart, so every test
        that uses it can show them in its cassette: `reproduce` then rebuilds the state first."""
        if fixturedef.scope == "function":
            return (yield)
        previous = journal.current()
        recorded = journal.use(journal.Journal())
        try:
            return (yield)
        finally:
            journal.use(previous)
            if recorded.exchanges:
                self.fixture_exchanges[fixturedef.argname] = recorded.snapshot()

    def context(self) -> RunContext:
        return self.config.stash[CONTEXT_KEY]

    def report_dir(self) -> Path:
        return self.context().report_dir

    # -- hooks --------------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        if report.failed and call.excinfo is not None and violation_in(call.excinfo.value) is None:
            budget = first_in(call.excinfo.value, BudgetExhausted)
            if budget is not None:
                # The run's time ran out inside the test, and something (Hypothesis, seeing an example
                # end earlier than its first run did) turned that skip into an error: still a skip.
                report.outcome = "skipped"
                report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {budget}")
        if report.failed:
            setup = [e for name in getattr(item, "fixturenames", ()) for e in self.fixture_exchanges.get(name, [])]
            exchanges = setup + journal.current().snapshot()
            redaction.register_sent(e.request.headers.get("authorization", "") for e in exchanges)
            exc = call.excinfo.value if call.excinfo is not None else None
            violation = violation_in(exc)
            operation = operation_of_failure(violation, exchanges)
            known = (
                baseline.matching(self.baseline, violation.clause, report.nodeid, operation)
                if violation is not None
                else None
            )
            properties = [(VERDICT_PROPERTY, VIOLATION if violation is not None else SUITE_ERROR)]
            if violation is not None:
                properties += [("clause", violation.clause), ("operation", operation)]
            if known is not None:
                properties.append((KNOWN_PROPERTY, str(self.baseline.index(known))))
            report.user_properties.extend(properties)
            item.user_properties.extend(properties)  # junitxml writes the teardown report's, copied from the item
            try:
                self._record_failure(item, call, report, exchanges, operation, known)
            except Exception as problem:  # a reporting problem must never change the verdict
                print(
                    f"orchestrator-contract: could not record the failure of {item.nodeid}: {problem!r}",
                    file=sys.stderr,
                )
            if known is not None:  # an expected failure: pytest's xfail, with the baseline's reason
                report.outcome = "skipped"
                report.wasxfail = f"known violation [{known.clause}] (baseline): {known.reason}"
        self._scrub_report(report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Scrub again before junitxml, the terminal or xdist see the report (other plugins'
        makereport wrappers may have added sections after ours), and tally the verdicts."""
        self._scrub_report(report)
        properties = dict(getattr(report, "user_properties", ()))
        if KNOWN_PROPERTY in properties and report.when in ("setup", "call", "teardown"):
            self.known_hits.setdefault(int(properties[KNOWN_PROPERTY]), set()).add(report.nodeid)
        if (report.when == "call" and not report.skipped) or (report.when == "setup" and report.failed):
            self.ran.add(report.nodeid)
        if report.failed:
            if verdict_of(report) == VIOLATION:
                self.violations += 1
                clause = dict(report.user_properties).get("clause")
                if clause in self.stop_at and self.session is not None:
                    self._stop(f"a violation of {clause} was found (--stop-at-clause)")
            else:
                self.suite_errors += 1

    def _stop(self, reason: str) -> None:
        """End the run after this test. In-process: shouldfail, as -x does. Under xdist the controller's
        DSession decides, so it is told to stop; it ends that as interrupted, which sessionfinish turns
        back into exit code 1 (a violation was found), never 2."""
        assert self.session is not None
        self.stopped_at = reason
        self.session.shouldfail = reason
        dsession = self.config.pluginmanager.getplugin("dsession")
        if dsession is not None and not getattr(dsession, "shouldstop", True):
            dsession.shouldstop = reason

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._scrub_report(report)
        if report.failed:
            self.suite_errors += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write this process's coverage tally (the controller merges them into coverage.json once the
        workers are done). Tests failed, none for a violation: the suite could not judge (exit 3, not 1)."""
        instance = os.environ.get("PYTEST_XDIST_WORKER", "main")
        try:
            observed.write_process_tally(self.report_dir(), instance)
            if not hasattr(self.config, "workerinput"):
                observed.write_coverage(self.report_dir())
        except OSError as problem:  # coverage is a report; it never changes the verdict
            print(f"orchestrator-contract: could not write the coverage tally: {problem!r}", file=sys.stderr)
        if hasattr(self.config, "workerinput"):
            return
        if self.baseline:
            write_baseline_status(self.report_dir(), self.baseline, self.known_hits, self.ran)
        if exitstatus == pytest.ExitCode.INTERRUPTED and self.stopped_at and self.violations:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if exitstatus == pytest.ExitCode.TESTS_FAILED and self.violations == 0 and self.suite_errors:
            session.exitstatus = EXIT_SUITE_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.suite_errors:
            terminalreporter.write_sep("=", "orchestrator-contract", yellow=True)
            terminalreporter.write_line(
                f"{self.suite_errors} failure(s) are the suite's own (it could not judge), not contract violations; "
                f"{self.violations} test(s) found violations."
            )

    # -- redaction of pytest's own reports ---------------------------------------------------------
    def _scrub_report(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        """Redact the report's traceback and sections in place, through pytest's (xdist's) own
        serialization, so its structure (and junit's message attribute) is kept."""
        if report.longrepr is None and not report.sections:
            return
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        if data is None:
            return
        cleaned = redaction.scrub_tree(data)
        if cleaned == data:
            return
        fresh = self.config.hook.pytest_report_from_serializable(config=self.config, data=cleaned)
        report.longrepr = fresh.longrepr
        report.sections = fresh.sections

    # -- the failure record -------------------------------------------------------------------------
    def _record_failure(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[None],
        report: pytest.TestReport,
        exchanges: list[journal.Exchange],
        operation: str,
        known: baseline.Known | None,
    ) -> None:
        directory = self.report_dir()
        stem = artifact_stem(report.nodeid)
        cassette = f"{CASSETTES_DIR}/{stem}.har"
        write_atomically(directory / cassette, har_text(exchanges, comment=f"orchestrator-contract: {report.nodeid}"))
        exc = call.excinfo.value if call.excinfo is not None else None
        violation = violation_in(exc)
        context = self.context()
        profile = active_profile()
        seed = profile.seed if profile else context.seed
        if violation is not None:
            message = redaction.scrub(str(violation))[:MESSAGE_LIMIT]
            clause, detail, verdict = violation.clause, violation.detail, VIOLATION
        else:
            message = redaction.scrub(report.longreprtext)[-MESSAGE_LIMIT:]
            summary = f"{type(exc).__name__}: {exc}" if exc is not None else message.splitlines()[-1:]
            clause, detail, verdict = "", redaction.scrub(str(summary)), SUITE_ERROR
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
            "seed": seed,
            "profile": profile.name if profile else context.profile,
            "run_id": context.run_id,
            "target": context.target_label,
            "base_url": "" if context.embedded else (context.base_url or ""),
            "operation": operation,
            "known": known.reason if known is not None else "",
            "target_options": context.target_options(),
            "culprit": exchanges.index(violation.culprit)
            if violation is not None and violation.culprit in exchanges
            else (len(exchanges) - 1 if exchanges else None),
            "curl": curl_commands(exchanges, message),
            "reproduction": message.partition(REPRODUCE_MARK)[2].strip("\n") if REPRODUCE_MARK in message else "",
            "hypothesis": "\n".join(getattr(item, "hypothesis_report_information", []) or []),
            "rerun": rerun_command(context, report.nodeid, seed),
            "cassette": cassette,
            "exchanges": len(exchanges),
            "message": message,
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "duration_s": round(report.duration, 3),
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        text = redaction.scrub(json.dumps(redaction.scrub_tree(record), indent=2, ensure_ascii=False))
        write_atomically(directory / f"{FAILURES_DIR}/{stem}.json", text + "\n")


def operation_of_failure(violation: ContractViolation | None, exchanges: list[journal.Exchange]) -> str:
    """The operationId of the exchange that shows the violation (else the test's last request)."""
    exchange = (
        violation.culprit
        if violation is not None and violation.culprit is not None
        else (exchanges[-1] if exchanges else None)
    )
    if exchange is None:
        return ""
    return observed.operation_of(exchange.request.method, exchange.request.url.path)


def write_baseline_status(
    report_dir: Path, entries: list[baseline.Known], hits: dict[int, set[str]], ran: set[str]
) -> None:
    """baseline.json: per entry, known (it covered a failure), fixed (its tests ran, none failed its
    way: remove it) or not run."""
    from .traceability import build

    trace = build(suites_dir())
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
    write_atomically(report_dir / BASELINE_STATUS, json.dumps({"entries": out}, indent=1) + "\n")


def active_profile() -> profiles.Profile | None:
    try:
        return profiles.active()
    except RuntimeError:
        return None


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


def clear_stale(directory: Path) -> None:
    """Remove an earlier run's artifacts (only ours), so the report shows this run alone."""
    for pattern in (
        f"{CASSETTES_DIR}/*.har",
        f"{FAILURES_DIR}/*.json",
        HTML_REPORT,
        f"{observed.OBSERVED_DIR}/*.json",
        observed.COVERAGE_FILE,
        BASELINE_STATUS,
    ):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


# -- wiring: options, the run context, the profile, Hypothesis, ordering ----------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestrator-contract")
    group.addoption("--base-url", default=None, help="server under test; default: start the embedded reference server")
    group.addoption("--profile", default=None, help="run profile (ci, local, nightly, or a path to a .toml file)")
    group.addoption("--seed", type=int, default=None, help="override the profile's seed")
    group.addoption(
        "--server-fault",
        action="append",
        default=None,
        help="embedded server only: start it with this deliberate fault (repeatable)",
    )
    group.addoption(
        "--server-rate-limit",
        type=float,
        default=None,
        help="embedded server only: answer 429 above this many requests per second per account",
    )
    group.addoption(
        "--server-latency-ms",
        type=int,
        default=None,
        help="embedded server only: answer every request this many milliseconds later",
    )
    group.addoption(
        "--server-op-delay-ms",
        type=int,
        default=None,
        help="embedded server only: apply operations this many milliseconds after accepting them",
    )
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
        help="stop the run at the first violation of this clause (the mutation gate: a fault is caught "
        "when a failure names its clause)",
    )


def context_from(config: pytest.Config) -> RunContext:
    """The controller's context: the environment (what `run` decided), then explicit options."""
    context = RunContext.from_environ()
    option = config.getoption
    server = context.server
    server = EmbeddedServer(
        faults=tuple(option("--server-fault")) if option("--server-fault") else server.faults,
        latency_ms=option("--server-latency-ms") if option("--server-latency-ms") is not None else server.latency_ms,
        op_delay_ms=option("--server-op-delay-ms")
        if option("--server-op-delay-ms") is not None
        else server.op_delay_ms,
        rate_limit=option("--server-rate-limit") if option("--server-rate-limit") is not None else server.rate_limit,
    )
    explicit_url = option("--base-url")
    return context.with_changes(
        base_url=explicit_url or context.base_url,
        embedded=context.embedded and not explicit_url,
        profile=option("--profile") or context.profile,
        seed=option("--seed") if option("--seed") is not None else context.seed,
        server=server,
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller decided everything
        context = RunContext.from_environ(workerinput[WORKERINPUT_KEY])
        profile = profiles.load(context.profile, seed=context.seed)
    else:
        context = context_from(config)
        profile = profiles.load(context.profile, seed=context.seed)
        context = context.started(seed=profile.seed, max_time_s=profile.max_time_s)
    profile = profile.with_changes(seed=context.seed)
    config.stash[CONTEXT_KEY] = context
    config.stash[PROFILE_KEY] = profile
    profiles.activate(profile)
    if profile.maxfail and not config.option.maxfail:
        config.option.maxfail = profile.maxfail  # `local` stops at the first failure
    hypothesis.settings.register_profile(
        "orchestrator-contract",
        derandomize=profile.derandomize,
        max_examples=profile.scenario_examples,
        phases=profile.hypothesis_phases,  # every `@given` of the suites inherits the profile's shrinking
        deadline=None if profile.deadline_ms == 0 else profile.deadline_ms,
        # A derandomized profile reads no database (Hypothesis forbids it: its runs must not depend on earlier ones).
        database=None if profile.derandomize else profile.example_database_for(context),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        print_blob=True,
    )
    hypothesis.settings.load_profile("orchestrator-contract")
    config.pluginmanager.register(ContractReporting(config), "orchestrator-contract-reporting")
    redaction.register_environment()
    if workerinput is None:  # the controller (or a run without xdist) only
        clear_stale(context.report_dir)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller side): every worker runs with the controller's context."""
    node.workerinput[WORKERINPUT_KEY] = node.config.stash[CONTEXT_KEY].to_environ()


def _short_nodeid(nodeid: str) -> str:
    """`file.py::name[parameters]`, whatever directory the node id starts from."""
    path, sep, rest = nodeid.partition("::")
    return Path(path).name + sep + rest


def _names_of(nodeid: str) -> set[str]:
    """The names `--only-test` may give a test by: its file, its function, or exactly it."""
    short = _short_nodeid(nodeid)
    return {short, short.partition("[")[0], short.partition("::")[0]}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """In one process, tests that catch the most per second first; across workers, the longest first
    (see `scheduling`)."""
    wanted = {_short_nodeid(n) for n in config.getoption("--only-test") or ()}
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
    Hypothesis randomness from the run's seed and the test's id (see `seed_hypothesis_for`)."""
    context = item.config.stash[CONTEXT_KEY]
    if context.deadline is not None and time.time() > context.deadline:
        pytest.skip("the run's global time budget (--max-time) was exhausted before this test")
    if not item.config.stash[PROFILE_KEY].derandomize:
        seed_hypothesis_for(item.nodeid, context.seed)


def seed_hypothesis_for(nodeid: str, seed: int | None) -> None:
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
    context, profile = config.stash[CONTEXT_KEY], config.stash[PROFILE_KEY]
    return [
        f"orchestrator-contract: profile={profile.name} seed={profile.seed} run-id={context.run_id} "
        f"target={context.target_label}"
    ]
