"""Fixtures shared by every suite: the target, the clients, the run's marks, and cleanup.

`pytest suites` alone starts the embedded reference server; `pytest suites --base-url URL` tests
another server with the credentials in TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (and, for the
isolation checks, TWILIO_SECOND_ACCOUNT_SID / TWILIO_SECOND_AUTH_TOKEN).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from orchestrator_contract import journal, profiles
from orchestrator_contract.cleanup import remove_run_resources
from orchestrator_contract.client import ApiClient, ClientSettings, Ledger, enforce_deadline
from orchestrator_contract.polling import PollSettings
from orchestrator_contract.target import RUN_ID_ENV, RunMarks, Target, new_run_id

# Cassettes and failure records for every failed test, and redaction of every report.
pytest_plugins = ["orchestrator_contract.pytest_plugin"]

PROFILE_KEY = pytest.StashKey[profiles.Profile]()
DEADLINE_ENV = "ORCHESTRATOR_CONTRACT_DEADLINE"
MARKERS = {
    "conformance": "Schemathesis property tests over every operation (positive and negative data)",
    "stateful": "link-driven and model-based state machines",
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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestrator-contract")
    group.addoption("--base-url", default=os.environ.get("ORCHESTRATOR_CONTRACT_BASE_URL"),
                    help="server under test; default: start the embedded reference server")
    group.addoption("--profile", default=os.environ.get("ORCHESTRATOR_CONTRACT_PROFILE", "ci"),
                    help="run profile (ci, local, nightly, or a path to a .toml file)")
    group.addoption("--seed", type=int, default=None, help="override the profile's seed")
    group.addoption("--server-fault", action="append", default=[],
                    help="embedded server only: start it with this deliberate fault (repeatable)")
    group.addoption("--server-rate-limit", type=float, default=None,
                    help="embedded server only: answer 429 above this many requests per second per account")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    seed = config.getoption("--seed")
    if seed is None and os.environ.get("ORCHESTRATOR_CONTRACT_SEED"):
        seed = int(os.environ["ORCHESTRATOR_CONTRACT_SEED"])
    profile = profiles.load(config.getoption("--profile"), seed=seed)
    # xdist workers inherit the environment: the first process decides the seed and the run id.
    if config.getoption("--seed") is not None:
        os.environ["ORCHESTRATOR_CONTRACT_SEED"] = str(profile.seed)
    os.environ.setdefault("ORCHESTRATOR_CONTRACT_SEED", str(profile.seed))
    os.environ.setdefault(RUN_ID_ENV, new_run_id())
    profile = profile.with_changes(seed=int(os.environ["ORCHESTRATOR_CONTRACT_SEED"]))
    config.stash[PROFILE_KEY] = profile
    profiles.activate(profile)
    if profile.maxfail and not config.option.maxfail:
        config.option.maxfail = profile.maxfail  # `local` stops at the first failure
    # The global time budget: the first process fixes the deadline, xdist workers inherit it.
    os.environ.setdefault(DEADLINE_ENV, str(time.time() + profile.max_time_s))
    settings.register_profile(
        "orchestrator-contract",
        derandomize=profile.derandomize,
        max_examples=profile.scenario_examples,
        deadline=None if profile.deadline_ms == 0 else profile.deadline_ms,
        database=DirectoryBasedExampleDatabase(str(db)) if (db := profile.example_database()) else None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
        print_blob=True,
    )
    settings.load_profile("orchestrator-contract")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the run's time budget is spent, the remaining tests are skipped (and say why), so the
    reports of everything that ran are still written."""
    deadline = float(os.environ.get(DEADLINE_ENV, "inf"))
    if time.time() > deadline:
        pytest.skip("the run's global time budget (--max-time) was exhausted before this test")


def pytest_report_header(config: pytest.Config) -> list[str]:
    profile = config.stash[PROFILE_KEY]
    target = config.getoption("--base-url") or "embedded reference server"
    return [f"orchestrator-contract: profile={profile.name} seed={profile.seed} "
            f"run-id={os.environ[RUN_ID_ENV]} target={target}"]


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> profiles.Profile:
    return pytestconfig.stash[PROFILE_KEY]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    base_url = pytestconfig.getoption("--base-url")
    if base_url:
        try:
            yield Target.from_environment(base_url)
        except ValueError as exc:
            pytest.exit(str(exc), returncode=2)
        return
    from orchestrator_contract.server import ServerConfig, start_background

    faults = frozenset(pytestconfig.getoption("--server-fault"))
    rate_limit = pytestconfig.getoption("--server-rate-limit")
    with start_background(ServerConfig(faults=faults, rate_limit_per_s=rate_limit)) as server:
        yield Target.embedded_at(server.base_url)


@pytest.fixture(scope="session")
def marks() -> RunMarks:
    return RunMarks(os.environ[RUN_ID_ENV])


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="session")
def poll(profile: profiles.Profile) -> PollSettings:
    return PollSettings(budget_s=profile.poll_budget_s, retry_after_cap_s=profile.retry_after_cap_s)


@pytest.fixture(scope="session")
def client_settings(profile: profiles.Profile) -> ClientSettings:
    return ClientSettings(timeout_s=profile.request_timeout_s, retry_after_cap_s=profile.retry_after_cap_s)


@pytest.fixture(scope="session")
def api(target: Target, ledger: Ledger, client_settings: ClientSettings, marks: RunMarks,
        poll: PollSettings) -> Iterator[ApiClient]:
    """The primary account's client. At the end of the session it removes what the run created."""
    client = ApiClient(target.base_url, target.primary, ledger=ledger, settings=client_settings)
    yield client
    remove_run_resources(client, marks, poll)
    client.close()


@pytest.fixture(scope="session")
def api2(target: Target, ledger: Ledger, client_settings: ClientSettings, marks: RunMarks,
         poll: PollSettings) -> Iterator[ApiClient]:
    """The second account's client; tests that need it are skipped without one."""
    if target.second is None:
        pytest.skip("no second account: set TWILIO_SECOND_ACCOUNT_SID and TWILIO_SECOND_AUTH_TOKEN "
                    "to run the isolation checks")
    client = ApiClient(target.base_url, target.second, ledger=ledger, settings=client_settings)
    yield client
    remove_run_resources(client, marks, poll)
    client.close()


@pytest.fixture(autouse=True)
def _fresh_journal() -> Iterator[journal.Journal]:
    """Each test records its own exchanges, so a failure shows only its own reproduction; its
    requests also stop (the test is skipped) once the run's time budget is spent."""
    deadline = os.environ.get(DEADLINE_ENV)
    enforce_deadline(float(deadline) if deadline else None)
    yield journal.start_new()
    enforce_deadline(None)
