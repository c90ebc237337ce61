"""Waiting for asynchronous operations, honouring `Retry-After` within a budget.

A 202 names its operation in `statusUrl`; this follows it (on the target's own base URL, so a
server behind a proxy that advertises its public host still works) until the status is terminal.
An operation that never completes fails the calling test when the budget runs out, never hangs it.
Once one operation of a target has outlived the whole budget, later waits on that target poll once
and give up (saying why): a server whose operations never complete then costs the run one poll
budget, not one per operation (a conformance test alone accepts a hundred writes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay

from .client import ApiClient, retry_after_seconds
from .violations import ContractViolation, expect

TERMINAL = frozenset({"COMPLETED", "FAILED"})
STUCK_BUDGET_S = 0.0  # one poll
_stuck: dict[str, str] = {}  # base URL -> the first operation that outlived the whole budget there
_stuck_lock = threading.Lock()


def forget_stuck_operations() -> None:
    """Forget which targets had an operation outlive the poll budget (for tests that reuse a process)."""
    with _stuck_lock:
        _stuck.clear()


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
    """(operation id, statusUrl) of a 202; a 202 without them is itself a violation."""
    expect(response.status_code == 202, "OPS-202", f"expected 202, got {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
        status_url = body["statusUrl"]
    except (ValueError, KeyError, TypeError):
        raise ContractViolation("OPS-202", f"202 body has no statusUrl: {response.text[:300]}") from None
    op_id = response.headers.get("Operation-Id", "")
    expect(isinstance(status_url, str) and op_id, "OPS-202", "202 lacks an Operation-Id header or a string statusUrl")
    return op_id, status_url


def accepted_configuration_id(response: httpx.Response) -> str:
    """`related.configurationId` of a 202 (itself checked as a 202)."""
    accepted_operation(response)
    related = response.json().get("related")
    cid = related.get("configurationId") if isinstance(related, dict) else None
    expect(isinstance(cid, str) and cid, "OPS-202", f"202 has no related.configurationId: {response.text[:300]}")
    return cid


def wait_for_operation(
    client: ApiClient, accepted: httpx.Response, settings: PollSettings = PollSettings()
) -> dict[str, Any]:
    """Poll the operation of a 202 until it is terminal; return its final representation."""
    op_id, status_url = accepted_operation(accepted)
    path = operation_path(status_url)
    first_wait = retry_after_seconds(accepted, settings.retry_after_cap_s)
    seen: list[str] = []

    def fetch() -> dict[str, Any]:
        response = client.request("GET", path)
        expect(response.status_code == 200, "OPS-RESOURCE", f"GET {path} answered {response.status_code}")
        body = response.json()
        status = body.get("status") if isinstance(body, dict) else None
        expect(status in {"PENDING", *TERMINAL}, "OPS-RESOURCE", f"operation status {status!r} is not a documented one")
        if seen and seen[-1] in TERMINAL:
            expect(status == seen[-1], "OPS-TERMINAL", f"operation {op_id} moved from {seen[-1]} to {status}")
        seen.append(status)
        body["_retry_after"] = retry_after_seconds(response, settings.retry_after_cap_s)
        return body

    def wait(state: RetryCallState) -> float:
        backoff = min(settings.max_delay_s, settings.first_delay_s * (2 ** (state.attempt_number - 1)))
        hinted = state.outcome.result().get("_retry_after", 0.0) if not state.outcome.failed else 0.0
        return max(backoff, hinted)

    with _stuck_lock:
        stuck = _stuck.get(client.base_url)
    budget = STUCK_BUDGET_S if stuck else settings.budget_s
    if first_wait:
        time.sleep(min(first_wait, budget))
    retrying = Retrying(
        retry=retry_if_result(lambda op: op.get("status") == "PENDING"),
        stop=stop_after_delay(budget),
        wait=wait,
        retry_error_callback=lambda state: state.outcome.result(),
        reraise=True,
    )
    final = retrying(fetch)
    final.pop("_retry_after", None)
    if final.get("status") not in TERMINAL:
        if stuck:
            raise ContractViolation("OPS-TERMINAL", (
                f"operation {op_id} still {final.get('status')}; this run no longer waits "
                f"the full poll budget of {settings.budget_s:.0f} s on this server because operation {stuck} "
                "never completed within it"))
        with _stuck_lock:
            _stuck.setdefault(client.base_url, op_id)
        raise ContractViolation("OPS-TERMINAL", (
            f"operation {op_id} still {final.get('status')} after the poll budget of {settings.budget_s:.0f} s"))
    return final


def settle(client: ApiClient, accepted: httpx.Response, settings: PollSettings = PollSettings()) -> dict[str, Any]:
    """Wait for the operation of a 202 and require that it COMPLETED."""
    final = wait_for_operation(client, accepted, settings)
    expect(
        final["status"] == "COMPLETED",
        "OPS-TERMINAL",
        f"operation {final.get('operationId')} ended {final['status']}: {final.get('error')}",
    )
    return final
