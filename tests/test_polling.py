"""Polling operations: a stuck server costs one budget, a throttled one costs nothing extra.

- A server whose operations never complete: the first wait spends the whole budget, later waits on
  that server poll once, give up and name the first stuck operation; another server is not affected.
- A server that completes its operations but once left one stuck: later waits still get twice the
  slowest completion seen, so its healthy operations do not fail.
- Time the server makes the client wait with 429 + Retry-After is not counted against the budget
  (the flake behind an earlier `test_throttled_runs_still_pass` failure: throttled polls ate the
  budget, an operation was declared stuck, and every later wait gave up at once).
"""

from __future__ import annotations

import time

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.contract.target import RunMarks
from orchestrator_contract.contract.violations import ContractViolation
from orchestrator_contract.exchanges.client import ApiClient, RunShared
from orchestrator_contract.scenarios.polling import PollSettings, wait_for_operation
from orchestrator_contract.server import ServerConfig, start_background
from orchestrator_contract.spec_data.strategies import minimal_create_body

BUDGET = PollSettings(budget_s=4.0)  # the first wait spends all of it
MARKS = RunMarks("pollstuck")


def _timed_wait(client: ApiClient, settings: PollSettings = BUDGET) -> tuple[float, ContractViolation | None]:
    accepted = client.create(minimal_create_body(MARKS))
    started = time.monotonic()
    try:
        wait_for_operation(client, accepted, settings)
    except ContractViolation as violation:
        return time.monotonic() - started, violation
    return time.monotonic() - started, None


def test_after_one_stuck_operation_later_waits_give_up_early() -> None:
    with (
        start_background(ServerConfig(faults=frozenset({"operation-never-completes"}))) as stuck_server,
        start_background(ServerConfig()) as clean_server,
    ):
        stuck = ApiClient(stuck_server.base_url, PRIMARY_ACCOUNT, shared=RunShared())
        clean = ApiClient(clean_server.base_url, PRIMARY_ACCOUNT, shared=RunShared())
        first_s, first = _timed_wait(stuck)
        assert first is not None and first.clause == "OPS-TERMINAL"
        assert first_s >= BUDGET.budget_s - 0.5 and "after the poll budget" in str(first)
        second_s, second = _timed_wait(stuck)
        assert second is not None and second.clause == "OPS-TERMINAL"
        assert second_s < 1.0, second_s
        assert "never completed within it" in str(second)
        # the budget is per target: a healthy one still gets the whole budget and completes
        clean_s, problem = _timed_wait(clean)
        assert problem is None and clean_s < BUDGET.budget_s


def test_a_target_that_completes_its_other_operations_is_still_waited_for() -> None:
    with start_background(ServerConfig(op_delay_ms=300)) as server:
        shared = RunShared()
        client = ApiClient(server.base_url, PRIMARY_ACCOUNT, shared=shared)
        _, problem = _timed_wait(client)
        assert problem is None
        shared.mark_stuck("op_that_never_completed")  # as if one operation had outlived a budget
        waited, problem = _timed_wait(client)
        assert problem is None, problem  # 300 ms operations still complete within 2 x the slowest seen
        assert waited < BUDGET.budget_s


def test_time_spent_throttled_is_not_counted_against_the_budget() -> None:
    """One request per second, operations applied after 2.5 s, a budget of 1 s (the 202's own
    Retry-After not honoured, so only 429s make the client wait): the polls are throttled
    (429, Retry-After: 1) for longer than the budget, yet the wait completes."""
    with start_background(ServerConfig(op_delay_ms=2500, rate_limit_per_s=1.0)) as server:
        shared = RunShared()
        client = ApiClient(server.base_url, PRIMARY_ACCOUNT, shared=shared)
        waited, problem = _timed_wait(client, PollSettings(budget_s=1.0, retry_after_cap_s=0.0))
        assert problem is None, problem
        assert waited > 2.0 and shared.throttled >= 2, (waited, shared.throttled)
        assert shared.stuck() is None
