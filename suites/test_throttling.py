"""Throttling (ERR-429, ERR-BODY): a server that limits its clients says when to come back.

A bounded burst of reads of the run's own (empty) store: whatever the server throttles must be a
429 with an integer `Retry-After` and the error body, and everything else a normal 200. A server
that never throttles within the burst passes; the project's own tests run this against the
reference server with a rate limit, so the throttled branch is exercised there.
"""

from __future__ import annotations

import httpx
import pytest

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import CONFIGURATIONS
from orchestrator_contract.scenarios.expectations import expect_error_body
from orchestrator_contract.scenarios.steps import Scenario, race

BURST_PER_WORKER = 6


@pytest.mark.validation
def test_a_burst_of_reads_is_throttled_with_retry_after(scenario: Scenario) -> None:
    api = scenario.api
    store = scenario.marks.memory_store_id("throttling")
    auth = (api.credential.username, api.credential.secret)

    def burst(_: int) -> list[httpx.Response]:
        # Plain httpx, not the suite's client: that one retries 429s, this test wants to see them.
        with httpx.Client(base_url=api.base_url, auth=auth, timeout=api.settings.timeout_s) as raw:
            return [
                raw.get(CONFIGURATIONS, params={"memoryStoreId": store, "pageSize": 1}) for _ in range(BURST_PER_WORKER)
            ]

    responses = [r for batch in race(scenario.profile.concurrency, burst) for r in batch]
    for response in responses:
        expect(
            response.status_code in {200, 429},
            Clause.GEN_STATUS,
            f"a read of an empty store answered {response.status_code}: {response.text[:200]}",
        )
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After", "")
            expect(retry_after.strip().isdigit(), Clause.ERR_429, f"429 with Retry-After {retry_after!r}")
            expect_error_body(response, 429, "a throttled read")
    # The suite's own client, retrying after Retry-After, still gets through.
    final = api.list(memoryStoreId=store, pageSize=1)
    expect(
        final.status_code == 200, Clause.ERR_429, f"after honouring Retry-After the read answered {final.status_code}"
    )
