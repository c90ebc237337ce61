"""The official SDK (twilio==9.13.0) as a client of the server under test: its framing must work.

The SDK frames requests its own way (requests' JSON serialisation, its headers and User-Agent, a
DELETE without a body, `pageToken` URLs that repeat `pageSize` and `memoryStoreId`, its request
models' `null`s) and parses answers its own way (whole-second timestamps into datetimes). A server
that works for the suites' own client but not for the SDK fails real users. Here the SDK drives the
whole lifecycle; its requests are prepared exactly as its own HTTP client prepares them and sent
through the suites' client, so every exchange is journalled, redacted and reproducible. An SDK
call that fails (an exception of the SDK, or an answer it parses into the wrong values) is a
contract violation of the clause that step relies on, shown with the request the SDK sent.

Clauses checked: OPS-202, OPS-RESOURCE, OPS-TERMINAL, RES-TIMESTAMP, RES-NULL, RES-PUT, RES-PATCH,
VER-ARITH, PAGE-KEYSET, PAGE-TOKEN, PAGE-PREVIOUS, IDEM-REPLAY, OPS-DELETE.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import ContractViolation, expect
from orchestrator_contract.exchanges.client import ApiClient
from orchestrator_contract.exchanges.recording import current_exchanges
from orchestrator_contract.scenarios.steps import Scenario

pytestmark = pytest.mark.sdk


class JournalledSdkHttp(HttpClient):  # type: ignore[misc]
    """The SDK's HTTP client, with the suites' client underneath: the request is prepared exactly
    as `twilio.http.http_client.TwilioHttpClient` prepares it (requests' `Request` with `json=` for
    a JSON Content-Type), then sent as those bytes and headers through `api`."""

    def __init__(self, api: ApiClient) -> None:
        super().__init__(logging.getLogger("orchestrator_contract.sdk"), is_async=False, timeout=None)
        self.api = api

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        kwargs: dict[str, Any] = {"method": method.upper(), "url": uri, "params": params, "headers": headers}
        if headers and headers.get("Content-Type") in ("application/json", "application/scim+json"):
            kwargs["json"] = data
        else:
            kwargs["data"] = data
        prepared = requests.Session().prepare_request(requests.Request(**kwargs, auth=auth))
        sent = [(k, v) for k, v in prepared.headers.items() if k.lower() != "authorization"]  # the client's own
        body = prepared.body if isinstance(prepared.body, (bytes, str)) else None  # the SDK sends JSON or nothing
        response = self.api.request(str(prepared.method), str(prepared.url), content=body, headers=sent)
        return TwilioResponse(response.status_code, response.text, response.headers)


@pytest.fixture
def sdk(scenario: Scenario) -> Client:
    api = scenario.api
    client = Client(api.credential.username, api.credential.secret, http_client=JournalledSdkHttp(api))
    client.conversations.base_url = api.base_url
    return client


@contextmanager
def step(clause: str, what: str) -> Iterator[None]:
    """An SDK call that raises is a violation of `clause`, shown with the last exchange the SDK made."""
    try:
        yield
    except ContractViolation:
        raise
    except (TwilioRestException, ValueError, KeyError, TypeError, AttributeError) as exc:
        last = current_exchanges()[-1:]
        raise ContractViolation(
            clause,
            f"the official SDK could not {what}: {type(exc).__name__}: {exc}",
            response=last[0].response if last else None,
        ) from exc


def completed(sdk: Client, status_url: str, budget_s: float) -> Any:
    """The operation, fetched through the SDK until terminal; it must COMPLETE."""
    op_id = status_url.rstrip("/").rsplit("/", 1)[-1]
    deadline = time.monotonic() + budget_s
    while True:
        with step(Clause.OPS_RESOURCE, f"fetch and parse operation {op_id}"):
            operation = sdk.conversations.v2.operations(op_id).fetch()
        if operation.status != "PENDING":
            break
        expect(time.monotonic() < deadline, Clause.OPS_TERMINAL, f"operation {op_id} still PENDING after {budget_s} s")
        time.sleep(0.05)
    expect(operation.status == "COMPLETED", Clause.OPS_TERMINAL, f"operation {op_id} ended {operation.status}")
    expect(
        isinstance(operation.created_at, datetime) and isinstance(operation.completed_at, datetime),
        Clause.RES_TIMESTAMP,
        f"the SDK parsed operation {op_id}'s timestamps as {operation.created_at!r}, {operation.completed_at!r}",
    )
    return operation


def test_the_official_sdk_drives_the_whole_lifecycle(sdk: Client, scenario: Scenario) -> None:
    configurations = sdk.conversations.v2.configurations
    models = type(configurations)
    budget = scenario.poll.budget_s
    tag, store = scenario.store("sdk")

    # Create with the required fields only (the request model holds null for every other member),
    # each with an Idempotency-Key; the first key replayed returns the same operation.
    created: list[str] = []
    keys: list[str] = []
    for i in range(3):
        body = models.CreateConfigurationRequest(scenario.body(f"sdk {i}", tag))
        keys.append(str(uuid.uuid4()))
        with step(Clause.OPS_202, "create a configuration (RES-NULL: its request model sends null members)"):
            accepted = configurations.create(idempotency_key=keys[-1], create_configuration_request=body)
        completed(sdk, accepted.status_url, budget)
        created.append(accepted.related["configurationId"])
    with step(Clause.IDEM_REPLAY, "replay a create with its Idempotency-Key"):
        first = models.CreateConfigurationRequest(scenario.body("sdk 0", tag))
        replayed = configurations.create(idempotency_key=keys[0], create_configuration_request=first)
    expect(
        replayed.related["configurationId"] == created[0],
        Clause.IDEM_REPLAY,
        f"the SDK's replay of key {keys[0]} created {replayed.related['configurationId']}, not {created[0]}",
    )

    # Paging as the SDK pages: stream, next_page and previous_page with its pageToken URLs.
    with step(Clause.PAGE_TOKEN, "walk the store's configurations two at a time"):
        streamed = [c.id for c in configurations.stream(memory_store_id=store, page_size=2)]
    expect(streamed == created, Clause.PAGE_KEYSET, f"the SDK's walk returned {streamed}, expected {created}")
    with step(Clause.PAGE_PREVIOUS, "go forward and back a page"):
        page_one = configurations.page(page_size=2, memory_store_id=store)
        page_two = page_one.next_page()
        back = [c.id for c in page_two.previous_page()]
    expect(
        back == created[:2], Clause.PAGE_PREVIOUS, f"previous_page of page 2 returned {back}, expected {created[:2]}"
    )

    # Fetch parses timestamps into datetimes; defaults come back filled in.
    with step(Clause.RES_TIMESTAMP, "fetch and parse a configuration"):
        fetched = configurations(created[0]).fetch()
    expect(
        isinstance(fetched.created_at, datetime) and isinstance(fetched.updated_at, datetime),
        Clause.RES_TIMESTAMP,
        f"the SDK parsed the timestamps as {fetched.created_at!r}, {fetched.updated_at!r}",
    )
    expect(fetched.version == 1, Clause.VER_ARITH, f"a new configuration has version {fetched.version}")

    # Update (PUT) and patch through the SDK's request models.
    replace = models.UpdateConfigurationRequest(
        {**scenario.body("sdk 0", tag, description="replaced by the SDK"), "channelSettings": {}}
    )
    with step(Clause.RES_PUT, "replace a configuration"):
        updated = configurations(created[0]).update(update_configuration_request=replace)
    completed(sdk, updated.status_url, budget)
    with step(Clause.RES_PATCH, "patch a configuration"):
        patched = configurations(created[0]).patch(
            patch_configuration_request=models.PatchConfigurationRequest({"description": "patched by the SDK"})
        )
    completed(sdk, patched.status_url, budget)
    with step(Clause.RES_PATCH, "fetch the patched configuration"):
        after = configurations(created[0]).fetch()
    expect(after.description == "patched by the SDK", Clause.RES_PATCH, f"after the patch: {after.description!r}")
    expect(after.version == 3, Clause.VER_ARITH, f"after a PUT and a PATCH the version is {after.version}, expected 3")

    # Delete as the SDK frames it (no body); the configuration is then gone.
    for cid in created:
        with step(Clause.OPS_202, f"delete {cid}"):
            configurations(cid).delete(idempotency_key=str(uuid.uuid4()))
    for cid in created:
        deadline = time.monotonic() + budget
        while True:
            try:
                configurations(cid).fetch()
            except TwilioRestException as exc:
                expect(exc.status == 404, Clause.OPS_DELETE, f"GET of deleted {cid} through the SDK: {exc.status}")
                break
            expect(time.monotonic() < deadline, Clause.OPS_DELETE, f"{cid} still readable {budget} s after its DELETE")
            time.sleep(0.05)
