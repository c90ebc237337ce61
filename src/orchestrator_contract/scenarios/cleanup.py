"""Removing what a run created, and nothing else.

Two sources name the run's resources: the ledger (every configuration whose create was accepted
for this run) and the run's own `memoryStoreId`s. Cleanup never fails a test: a server that
cannot delete is reported by the suites, not here; what could not be removed is listed on stderr.
"""

from __future__ import annotations

import contextlib
import sys
import time

import httpx

from orchestrator_contract.contract.target import RunMarks
from orchestrator_contract.contract.violations import ContractViolation, SuiteError
from orchestrator_contract.exchanges.client import ApiClient
from orchestrator_contract.exchanges.recording import ContextThreadPool
from orchestrator_contract.scenarios.polling import PollSettings, wait_for_operation


def _run_store_items(client: ApiClient, store: str) -> set[str]:
    ids: set[str] = set()
    token: str | None = None
    for _ in range(100):
        response = client.list(pageSize=1000, memoryStoreId=store, pageToken=token)
        if response.status_code != 200:
            break
        body = response.json()
        ids.update(item["id"] for item in body.get("configurations", []) if isinstance(item, dict) and "id" in item)
        token = body.get("meta", {}).get("nextToken")
        if not token:
            break
    return ids


def _request_delete(client: ApiClient, configuration_id: str) -> httpx.Response | None:
    try:
        return client.delete(configuration_id)
    except (httpx.HTTPError, ContractViolation, SuiteError):
        return None


def _gone(client: ApiClient, configuration_id: str, accepted: httpx.Response | None, budget: PollSettings) -> bool:
    try:
        if accepted is not None and accepted.status_code == 202:
            wait_for_operation(client, accepted, budget)
        return client.fetch(configuration_id).status_code == 404
    except (httpx.HTTPError, ContractViolation, SuiteError, ValueError):
        return False


def remove_run_resources(client: ApiClient, marks: RunMarks, poll: PollSettings) -> list[str]:
    """Delete every configuration of this run for the client's account; return those left behind."""
    candidates = client.shared.ids(client.credential.username)
    for store in marks.issued_stores():
        with contextlib.suppress(httpx.HTTPError, ContractViolation, SuiteError, ValueError):
            candidates |= _run_store_items(client, store)
    if not candidates:
        return []
    ids = sorted(candidates)
    # Every DELETE first, then one shared wait: a server whose operations never complete costs
    # the cleanup one poll budget, not one per configuration.
    with ContextThreadPool(max_workers=8) as pool:
        accepted = list(pool.map(lambda cid: _request_delete(client, cid), ids))
    deadline = time.monotonic() + min(poll.budget_s, 15.0)

    def gone(pair: tuple[str, httpx.Response | None]) -> bool:
        remaining = max(0.1, deadline - time.monotonic())
        budget = PollSettings(budget_s=remaining, retry_after_cap_s=poll.retry_after_cap_s)
        return _gone(client, pair[0], pair[1], budget)

    with ContextThreadPool(max_workers=8) as pool:
        removed = list(pool.map(gone, zip(ids, accepted, strict=True)))
    left = [cid for cid, ok in zip(ids, removed, strict=True) if not ok]
    if left:
        print(
            f"orchestrator-contract: could not remove {len(left)} configuration(s) this run created: "
            f"{', '.join(left[:10])}",
            file=sys.stderr,
        )
    return left
