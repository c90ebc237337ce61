"""Waiting for asynchronous operations, honouring `Retry-After` within a budget.

A 202 names its operation in `statusUrl`; this follows it (on the target's own base URL, so a
server behind a proxy that advertises its public host still works) until the status is terminal.
An operation that never completes fails the calling test when the budget runs out, never hangs it.
The budget counts the time the operation was observed PENDING, not the time the target made the
client wait with 429s (a throttled run waits longer; it does not fail for it). Once one operation
has outlived a whole budget, later waits on that target are cut to twice the slowest completion
seen there (a single poll if none ever completed) and their failures name the first stuck one: a
server whose operations never complete costs the run one poll budget, not one per operation (a
conformance test alone accepts a hundred writes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.contract.violations import ContractViolation, expect
from orchestrator_contract.exchanges.client import ApiClient, RunShared, retry_after_seconds
from orchestrator_contract.scenarios.expectations import expect_accepted

TERMINAL = frozenset({"COMPLETED", "FAILED"})


@dataclass(frozen=True)
class PollSettings:
    budget_s: float = 30.0
    first_delay_s: float = 0.02
    max_delay_s: float = 0.5
    retry_after_cap_s: float = 2.0


def operation_path(status_url: str) -> str:
    parts = urlsplit(status_url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def accepted_operation(response: httpx.Response) -> tuple[str, str]:
    """(operation id, statusUrl) of a 202, which must honour OPS-202 (`expect_accepted`)."""
    accepted = expect_accepted(response, complete=False)
    return accepted.operation_id, accepted.status_url


def accepted_configuration_id(response: httpx.Response) -> str:
    """`related.configurationId` of a 202, which must honour OPS-202 (`expect_accepted`)."""
    return expect_accepted(response, complete=False).configuration_id


class _Clock:
    """Seconds spent waiting on an operation, leaving out this thread's 429 waits."""

    def __init__(self, shared: RunShared) -> None:
        self._shared = shared
        self._start = time.monotonic()
        self._throttled_at_start = shared.throttled_seconds()

    def elapsed(self) -> float:
        return time.monotonic() - self._start - (self._shared.throttled_seconds() - self._throttled_at_start)


def wait_for_operation(
    client: ApiClient, accepted: httpx.Response, settings: PollSettings = PollSettings()
) -> dict[str, Any]:
    """Poll the operation of a 202 until it is terminal; return its final representation."""
    op_id, status_url = accepted_operation(accepted)
    path = operation_path(status_url)
    stuck = client.shared.stuck()
    budget = client.shared.budget_after_stuck(settings.budget_s) if stuck else settings.budget_s
    clock = _Clock(client.shared)
    time.sleep(min(retry_after_seconds(accepted, settings.retry_after_cap_s), budget))
    delay = settings.first_delay_s
    seen: list[str | None] = []
    while True:
        response = client.request("GET", path)
        expect(
            response.status_code == 200,
            Clause.OPS_RESOURCE,
            f"GET {path} answered {response.status_code}: {response.text[:200]}",
        )
        body = json_or_none(response)
        status = body.get("status") if isinstance(body, dict) else None
        expect(
            status in {"PENDING", *TERMINAL},
            Clause.OPS_RESOURCE,
            f"operation status {status!r} is not a documented one",
        )
        if seen and seen[-1] in TERMINAL:
            expect(status == seen[-1], Clause.OPS_TERMINAL, f"operation {op_id} moved from {seen[-1]} to {status}")
        seen.append(status)
        if status in TERMINAL:
            client.shared.record_completion(clock.elapsed())
            final: dict[str, Any] = body
            return final
        if clock.elapsed() >= budget:
            break
        pause = max(min(delay, settings.max_delay_s), retry_after_seconds(response, settings.retry_after_cap_s))
        time.sleep(max(0.0, min(pause, budget - clock.elapsed())))
        delay *= 2
    if stuck:
        raise ContractViolation(
            Clause.OPS_TERMINAL,
            (
                f"operation {op_id} still {status} after {budget:.1f} s; this run no longer waits the full poll budget "
                f"of {settings.budget_s:.0f} s on this server because operation {stuck} never completed within it"
            ),
        )
    client.shared.mark_stuck(op_id)
    raise ContractViolation(
        Clause.OPS_TERMINAL, (f"operation {op_id} still {status} after the poll budget of {settings.budget_s:.0f} s")
    )


def settle(client: ApiClient, accepted: httpx.Response, settings: PollSettings = PollSettings()) -> dict[str, Any]:
    """Wait for the operation of a 202 and require that it COMPLETED."""
    final = wait_for_operation(client, accepted, settings)
    expect(
        final["status"] == "COMPLETED",
        Clause.OPS_TERMINAL,
        f"operation {final.get('operationId')} ended {final['status']}: {final.get('error')}",
    )
    return final
