"""The official SDK (twilio==9.13.0) as a real client of the reference server.

What the SDK sends (`pageToken` paging that repeats `pageSize` and `memoryStoreId`, request models
whose `to_dict()` holds `null` for every member it was not given) and what it parses (whole-second
timestamps into datetimes) must work; a server change that breaks the real client fails here.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT

twilio_rest = pytest.importorskip("twilio.rest")

STORE = "mem_store_0" + "sdkpaging" + "0" * 16


def _client(base_url: str) -> Any:
    client = twilio_rest.Client(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret)
    client.conversations.base_url = base_url
    return client


def _completed(client: Any, status_url: str) -> Any:
    """Fetch the operation through the SDK until it is terminal; it must COMPLETE."""
    op_id = status_url.rsplit("/", 1)[-1]
    deadline = time.monotonic() + 15
    while True:
        operation = client.conversations.v2.operations(op_id).fetch()
        if operation.status != "PENDING":
            break
        assert time.monotonic() < deadline, f"operation {op_id} still PENDING"
        time.sleep(0.02)
    assert operation.status == "COMPLETED", operation.error
    assert isinstance(operation.created_at, datetime) and isinstance(operation.completed_at, datetime)
    return operation


def test_the_sdk_drives_every_operation(embedded_server: str) -> None:
    client = _client(embedded_server)
    configurations = client.conversations.v2.configurations
    models = type(configurations)

    # Create with only the required fields, five times, for paging.
    created = []
    for i in range(5):
        request = models.CreateConfigurationRequest(
            {
                "displayName": f"sdk {i}",
                "description": "made by the SDK",
                "conversationGroupingType": "GROUP_BY_PROFILE",
                "memoryStoreId": STORE,
            }
        )
        accepted = configurations.create(idempotency_key=str(uuid.uuid4()), create_configuration_request=request)
        _completed(client, accepted.status_url)
        created.append(accepted.related["configurationId"])

    # Paging with a small page size: stream, next_page, previous_page.
    streamed = [c.id for c in configurations.stream(memory_store_id=STORE, page_size=2)]
    assert streamed == created
    first = configurations.page(page_size=2, memory_store_id=STORE)
    second = first.next_page()
    third = second.next_page()
    pages = [[c.id for c in page] for page in (first, second, third)]  # a page iterates once
    assert pages == [created[0:2], created[2:4], created[4:]]
    assert third.next_page() is None
    assert [c.id for c in second.previous_page()] == pages[0]

    # Fetch parses the timestamps into datetimes.
    fetched = configurations(created[0]).fetch()
    assert isinstance(fetched.created_at, datetime) and isinstance(fetched.updated_at, datetime)
    assert fetched.version == 1 and fetched.channel_settings == {} and fetched.status_callbacks == []

    # Update (PUT) and patch.
    update = models.UpdateConfigurationRequest(
        {
            "description": "replaced by the SDK",
            "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
            "memoryStoreId": STORE,
            "channelSettings": {},
        }
    )
    _completed(client, configurations(created[0]).update(update_configuration_request=update).status_url)
    patch = models.PatchConfigurationRequest({"description": "patched by the SDK"})
    _completed(client, configurations(created[0]).patch(patch_configuration_request=patch).status_url)
    after = configurations(created[0]).fetch()
    assert (after.description, after.conversation_grouping_type, after.version) == (
        "patched by the SDK",
        "GROUP_BY_PARTICIPANT_ADDRESSES",
        3,
    )
    assert after.display_name == "sdk 0"  # PUT without displayName keeps it

    # Delete, then the configuration is gone.
    for cid in created:
        configurations(cid).delete()
    deadline = time.monotonic() + 15
    while [c.id for c in configurations.stream(memory_store_id=STORE)]:
        assert time.monotonic() < deadline, "deleted configurations are still listed"
        time.sleep(0.05)


def test_a_to_dict_body_with_nulls_goes_through_the_sdk_http_client(embedded_server: str) -> None:
    """Other clients put the request models' nulls on the wire: the server must take them."""
    client = _client(embedded_server)
    models = type(client.conversations.v2.configurations)
    body = models.CreateConfigurationRequest(
        {
            "displayName": "sdk nulls",
            "description": "to_dict() unmodified",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": STORE,
        }
    ).to_dict()
    assert body["channelSettings"] is None and body["statusCallbacks"] is None  # the SDK really holds nulls
    url = f"{embedded_server}/v2/ControlPlane/Configurations"
    # With a JSON Content-Type the SDK's HTTP client serialises `data` as JSON, nulls included.
    response = client.http_client.request(
        "POST",
        url,
        data=body,
        headers={"Content-Type": "application/json"},
        auth=(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret),
    )
    assert response.status_code == 202, response.text
    accepted = json.loads(response.text)
    _completed(client, accepted["statusUrl"])
    fetched = client.conversations.v2.configurations(accepted["related"]["configurationId"]).fetch()
    assert fetched.channel_settings == {} and fetched.status_callbacks == []
    assert fetched.intelligence_configuration_ids == [] and fetched.memory_extraction_enabled is False
    assert fetched.conversations_v1_bridge is None
