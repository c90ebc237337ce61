"""Fixtures shared by every suite: the run context, the target, the clients, the marks, cleanup.

`pytest suites` alone starts the embedded reference server; `pytest suites --base-url URL` tests
another server with the credentials in TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (and, for the
isolation checks, TWILIO_SECOND_ACCOUNT_SID / TWILIO_SECOND_AUTH_TOKEN). The options, the run
context (what `orchestrator-contract run` decided), verdicts and reports are the plugin's
(`orchestrator_contract.plugin.pytest_plugin`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator_contract.contract.target import RunMarks, Target, process_instance
from orchestrator_contract.exchanges.client import ApiClient, ClientSettings, RunShared
from orchestrator_contract.exchanges.journal import Journal
from orchestrator_contract.exchanges.recording import active
from orchestrator_contract.planning import profiles
from orchestrator_contract.planning.plan import RunPlan
from orchestrator_contract.plugin.pytest_plugin import PLAN_KEY, SHARED_KEY
from orchestrator_contract.scenarios.cleanup import remove_run_resources
from orchestrator_contract.scenarios.polling import PollSettings
from orchestrator_contract.scenarios.steps import Scenario

# Options, the run context, verdicts, cassettes and failure records, redaction of every report.
pytest_plugins = ["orchestrator_contract.plugin.pytest_plugin"]


@pytest.fixture(scope="session")
def run_plan(pytestconfig: pytest.Config) -> RunPlan:
    return pytestconfig.stash[PLAN_KEY]


@pytest.fixture(scope="session")
def profile(run_plan: RunPlan) -> profiles.Profile:
    return run_plan.profile


@pytest.fixture(scope="session")
def target(run_plan: RunPlan) -> Iterator[Target]:
    if run_plan.base_url and run_plan.embedded:  # started by `orchestrator-contract run`
        yield Target.embedded_at(run_plan.base_url)
        return
    if run_plan.base_url:
        try:
            yield Target.from_environment(run_plan.base_url)
        except ValueError as exc:
            pytest.exit(str(exc), returncode=2)
        return
    from orchestrator_contract.server import start_background

    with start_background(run_plan.server.server_config()) as running:
        yield Target.embedded_at(running.base_url)


@pytest.fixture(scope="session")
def marks(run_plan: RunPlan) -> RunMarks:
    # Each stage of a run is its own pytest session (in this process, or new xdist workers): the stage
    # is part of the instance, so no name, store or key of one stage is drawn again by the next.
    return RunMarks(run_plan.run_id, instance=f"{run_plan.stage}-{process_instance()}")


@pytest.fixture(scope="session")
def shared(pytestconfig: pytest.Config) -> RunShared:
    return pytestconfig.stash[SHARED_KEY]


@pytest.fixture(scope="session")
def poll(profile: profiles.Profile) -> PollSettings:
    return PollSettings(budget_s=profile.poll_budget_s, retry_after_cap_s=profile.retry_after_cap_s)


@pytest.fixture(scope="session")
def client_settings(profile: profiles.Profile) -> ClientSettings:
    return ClientSettings(
        timeout_s=profile.request_timeout_s,
        retry_after_cap_s=profile.retry_after_cap_s,
        max_response_bytes=profile.max_response_bytes,
    )


@pytest.fixture(scope="session")
def api(
    target: Target, shared: RunShared, client_settings: ClientSettings, marks: RunMarks, poll: PollSettings
) -> Iterator[ApiClient]:
    """The primary account's client. At the end of the session it removes what the run created."""
    client = ApiClient(target.base_url, target.primary, shared=shared, settings=client_settings)
    yield client
    remove_run_resources(client, marks, poll)
    client.close()


@pytest.fixture(scope="session")
def api2(
    target: Target, shared: RunShared, client_settings: ClientSettings, marks: RunMarks, poll: PollSettings
) -> Iterator[ApiClient]:
    """The second account's client; tests that need it are skipped without one."""
    if target.second is None:
        pytest.skip(
            "no second account: set TWILIO_SECOND_ACCOUNT_SID and TWILIO_SECOND_AUTH_TOKEN to run the isolation checks"
        )
    client = ApiClient(target.base_url, target.second, shared=shared, settings=client_settings, role="second")
    yield client
    remove_run_resources(client, marks, poll)
    client.close()


@pytest.fixture(scope="session")
def api2_or_none(request: pytest.FixtureRequest) -> ApiClient | None:
    """The second account's client, or None without one: for a fixture that builds data for
    tests with and without a second account (those that need it take `api2` and are skipped)."""
    try:
        client: ApiClient = request.getfixturevalue("api2")
        return client
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def scenario(
    api: ApiClient,
    marks: RunMarks,
    poll: PollSettings,
    profile: profiles.Profile,
    target: Target,
    shared: RunShared,
    client_settings: ClientSettings,
) -> Scenario:
    """What most scenarios take: the client, the marks, the poll settings, the profile."""
    return Scenario(api, marks, poll, profile, target, shared, client_settings)


@pytest.fixture(autouse=True)
def _fresh_journal(shared: RunShared) -> Iterator[Journal]:
    """Each test records its own exchanges, so a failure shows only its own reproduction; its
    requests also stop (the test is skipped) once the run's time budget is spent."""
    shared.enforcing = True
    recording = active()
    yield recording.start_test() if recording is not None else Journal()
    shared.enforcing = False
