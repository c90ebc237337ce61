"""Polling a server whose operations never complete: the first wait spends the whole budget, later
waits on that server poll once, give up and name the first stuck operation; another
server in the same process is not affected."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from orchestrator_contract.client import ApiClient, Ledger
from orchestrator_contract.defaults import PRIMARY_ACCOUNT
from orchestrator_contract.polling import PollSettings, forget_stuck_operations, wait_for_operation
from orchestrator_contract.server import ServerConfig, start_background
from orchestrator_contract.strategies import minimal_create_body
from orchestrator_contract.target import RunMarks
from orchestrator_contract.violations import ContractViolation

BUDGET = PollSettings(budget_s=4.0)  # the first wait spends all of it


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    forget_stuck_operations()
    yield
    forget_stuck_operations()


def _timed_wait(client: ApiClient, marks: RunMarks) -> tuple[float, ContractViolation | None]:
    accepted = client.create(minimal_create_body(marks))
    started = time.monotonic()
    try:
        wait_for_operation(client, accepted, BUDGET)
    except ContractViolation as violation:
        return time.monotonic() - started, violation
    return time.monotonic() - started, None


def test_after_one_stuck_operation_later_waits_give_up_early() -> None:
    marks = RunMarks("pollstuck")
    with start_background(ServerConfig(faults=frozenset({"operation-never-completes"}))) as stuck_server, \
            start_background(ServerConfig()) as clean_server:
        stuck = ApiClient(stuck_server.base_url, PRIMARY_ACCOUNT, ledger=Ledger())
        clean = ApiClient(clean_server.base_url, PRIMARY_ACCOUNT, ledger=Ledger())
        first_s, first = _timed_wait(stuck, marks)
        assert first is not None and first.clause == "OPS-TERMINAL"
        assert first_s >= BUDGET.budget_s - 0.5 and "after the poll budget" in str(first)
        second_s, second = _timed_wait(stuck, marks)
        assert second is not None and second.clause == "OPS-TERMINAL"
        assert second_s < BUDGET.budget_s - 1, second_s
        assert "never completed within it" in str(second)
        # the budget is per server: a healthy one still gets the whole budget and completes
        clean_s, problem = _timed_wait(clean, marks)
        assert problem is None and clean_s < BUDGET.budget_s
