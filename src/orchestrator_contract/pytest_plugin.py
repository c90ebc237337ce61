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

from . import journal, profiles, redaction
from .clauses import CLAUSES
from .context import WORKERINPUT_KEY, EmbeddedServer, RunContext
from .har import har_text
from .reporting import (CASSETTES_DIR, FAILURES_DIR, HTML_REPORT, REPRODUCE_MARK, SUITE_ERROR, VERDICT_PROPERTY,
                        VIOLATION, artifact_stem)
from .scheduling import order_for_signal, order_longest_first
from .violations import violation_in

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
        self.session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def context(self) -> RunContext:
        return self.config.stash[CONTEXT_KEY]

    def report_dir(self) -> Path:
        return self.context().report_dir

    # -- hooks --------------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        if report.failed:
            exchanges = journal.current().snapshot()
            redaction.register_sent(e.request.headers.get("authorization", "") for e in exchanges)
            exc = call.excinfo.value if call.excinfo is not None else None
            violation = violation_in(exc)
            properties = [(VERDICT_PROPERTY, VIOLATION if violation is not None else SUITE_ERROR)]
            if violation is not None:
                properties.append(("clause", violation.clause))
            report.user_properties.extend(properties)
            item.user_properties.extend(properties)  # junitxml writes the teardown report's, copied from the item
            try:
                self._record_failure(item, call, report, exchanges)
            except Exception as problem:  # a reporting problem must never change the verdict
                print(f"orchestrator-contract: could not record the failure of {item.nodeid}: {problem!r}",
                      file=sys.stderr)
        self._scrub_report(report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Scrub again before junitxml, the terminal or xdist see the report (other plugins'
        makereport wrappers may have added sections after ours), and tally the verdicts."""
        self._scrub_report(report)
        if report.failed:
            if verdict_of(report) == VIOLATION:
                self.violations += 1
                clause = dict(report.user_properties).get("clause")
                if clause in self.stop_at and self.session is not None:
                    self.session.shouldstop = f"a violation of {clause} was found (--stop-at-clause)"
            else:
                self.suite_errors += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._scrub_report(report)
        if report.failed:
            self.suite_errors += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Tests failed, none for a violation: the suite could not judge (exit 3, not 1)."""
        if hasattr(self.config, "workerinput"):
            return
        if exitstatus == pytest.ExitCode.TESTS_FAILED and self.violations == 0 and self.suite_errors:
            session.exitstatus = EXIT_SUITE_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.suite_errors:
            terminalreporter.write_sep("=", "orchestrator-contract", yellow=True)
            terminalreporter.write_line(
                f"{self.suite_errors} failure(s) are the suite's own (it could not judge), not contract violations; "
                f"{self.violations} test(s) found violations.")

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
    def _record_failure(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
                        exchanges: list[journal.Exchange]) -> None:
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
        known = CLAUSES.get(clause)
        record: dict[str, Any] = {
            "test": report.nodeid,
            "phase": report.when,
            "verdict": verdict,
            "clause": clause,
            "clause_section": known.section if known else "",
            "clause_text": known.text if known else "",
            "violation": f"violation: {detail.splitlines()[0] if detail else ''}" if violation is not None else "",
            "detail": detail,
            "seed": seed,
            "profile": profile.name if profile else context.profile,
            "run_id": context.run_id,
            "target": context.target_label,
            "base_url": "" if context.embedded else (context.base_url or ""),
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
    for pattern in (f"{CASSETTES_DIR}/*.har", f"{FAILURES_DIR}/*.json", HTML_REPORT):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


# -- wiring: options, the run context, the profile, Hypothesis, ordering ----------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestrator-contract")
    group.addoption("--base-url", default=None, help="server under test; default: start the embedded reference server")
    group.addoption("--profile", default=None, help="run profile (ci, local, nightly, or a path to a .toml file)")
    group.addoption("--seed", type=int, default=None, help="override the profile's seed")
    group.addoption("--server-fault", action="append", default=None,
                    help="embedded server only: start it with this deliberate fault (repeatable)")
    group.addoption("--server-rate-limit", type=float, default=None,
                    help="embedded server only: answer 429 above this many requests per second per account")
    group.addoption("--server-latency-ms", type=int, default=None,
                    help="embedded server only: answer every request this many milliseconds later")
    group.addoption("--server-op-delay-ms", type=int, default=None,
                    help="embedded server only: apply operations this many milliseconds after accepting them")
    group.addoption("--stop-at-clause", action="append", default=[], metavar="CLAUSE",
                    help="stop the run at the first violation of this clause (the mutation gate: a fault is caught "
                         "when a failure names its clause)")


def context_from(config: pytest.Config) -> RunContext:
    """The controller's context: the environment (what `run` decided), then explicit options."""
    context = RunContext.from_environ()
    option = config.getoption
    server = context.server
    server = EmbeddedServer(
        faults=tuple(option("--server-fault")) if option("--server-fault") else server.faults,
        latency_ms=option("--server-latency-ms") if option("--server-latency-ms") is not None else server.latency_ms,
        op_delay_ms=option("--server-op-delay-ms") if option("--server-op-delay-ms") is not None
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
    if not profile.derandomize:
        # A random-seed profile replays with `--seed`: what Hypothesis's own `--hypothesis-seed`
        # option does (no public API sets the global seed once pytest has started).
        hypothesis.core.global_force_seed = context.seed
    hypothesis.settings.register_profile(
        "orchestrator-contract",
        derandomize=profile.derandomize,
        max_examples=profile.scenario_examples,
        deadline=None if profile.deadline_ms == 0 else profile.deadline_ms,
        database=profile.example_database_for(context),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
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


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """In one process, tests that catch the most per second first; across workers, the longest first
    (see `scheduling`)."""
    workerinput = getattr(config, "workerinput", None)
    workers = int(workerinput["workercount"]) if workerinput else int(getattr(config.option, "numprocesses", 0) or 0)
    items[:] = order_longest_first(items, workers) if workers else order_for_signal(items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the run's time budget is spent, the remaining tests are skipped (and say why), so the
    reports of everything that ran are still written."""
    deadline = item.config.stash[CONTEXT_KEY].deadline
    if deadline is not None and time.time() > deadline:
        pytest.skip("the run's global time budget (--max-time) was exhausted before this test")


def pytest_report_header(config: pytest.Config) -> list[str]:
    context, profile = config.stash[CONTEXT_KEY], config.stash[PROFILE_KEY]
    return [f"orchestrator-contract: profile={profile.name} seed={profile.seed} run-id={context.run_id} "
            f"target={context.target_label}"]
