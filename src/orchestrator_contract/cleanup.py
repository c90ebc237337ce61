"""Removing what a run created, and nothing else.

Two sources name the run's resources: the ledger (every configuration whose create was accepted
for this run) and the run's own `memoryStoreId`s. Cleanup never fails a test: a server that
cannot delete is reported by the suites, not here; what could not be removed is listed on stderr.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from .client import ApiClient
from .polling import PollSettings, wait_for_operation
from .target import RunMarks
from .violations import ContractViolation


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


def _remove(client: ApiClient, configuration_id: str, poll: PollSettings) -> bool:
    try:
        response = client.delete(configuration_id)
        if response.status_code == 202:
            wait_for_operation(client, response, poll)
        return client.fetch(configuration_id).status_code == 404
    except (httpx.HTTPError, ContractViolation, ValueError):
        return False


def remove_run_resources(client: ApiClient, marks: RunMarks, poll: PollSettings) -> list[str]:
    """Delete every configuration of this run for the client's account; return those left behind."""
    candidates = client.ledger.ids(client.credential.username)
    for store in marks.issued_stores():
        try:
            candidates |= _run_store_items(client, store)
        except httpx.HTTPError:
            pass
    if not candidates:
        return []
    quick = PollSettings(budget_s=min(poll.budget_s, 10.0), retry_after_cap_s=poll.retry_after_cap_s)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda cid: (cid, _remove(client, cid, quick)), sorted(candidates)))
    left = [cid for cid, removed in outcomes if not removed]
    if left:
        print(f"orchestrator-contract: could not remove {len(left)} configuration(s) this run created: "
              f"{', '.join(left[:10])}", file=sys.stderr)
    return left
