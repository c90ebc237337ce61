"""The official twilio SDK (which sends null for every member it was not given) drives the server."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.server import RunningServer

twilio_rest = pytest.importorskip("twilio.rest")

STORE = "mem_store_0" + "s" * 25


def wait_completed(http: Any, status_url: str) -> None:
    deadline = time.monotonic() + 5
    while http.get(status_url).json()["status"] == "PENDING":
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_sdk_create_fetch_list_patch_delete(server: RunningServer, api: Any) -> None:
    client = twilio_rest.Client(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret)
    client.conversations.base_url = server.base_url
    configurations = client.conversations.v2.configurations
    models = type(configurations)
    request = models.CreateConfigurationRequest(
        {
            "displayName": "SDK made",
            "description": "d",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": STORE,
            "channelSettings": {
                "SMS": models.CreateConfigurationRequestChannelSettingsValue(
                    {
                        "statusTimeouts": models.CreateConfigurationRequestChannelSettingsValueStatusTimeouts(
                            {"inactive": 5}
                        )
                    }
                )
            },
        }
    )
    assert request.to_dict()["statusCallbacks"] is None  # the SDK really sends nulls
    created = [
        configurations.create(idempotency_key=str(uuid.uuid4()), create_configuration_request=request) for _ in range(3)
    ]
    for instance in created:
        wait_completed(api.http, instance.status_url)
    first_id = created[0].related["configurationId"]
    fetched = configurations(first_id).fetch()
    assert fetched.display_name == "SDK made" and fetched.version == 1
    assert fetched.channel_settings == {"SMS": {"statusTimeouts": {"inactive": 5}}}
    assert fetched.created_at is not None and fetched.created_at.tzinfo is not None  # whole-second RFC 3339
    listed = configurations.list(page_size=2, memory_store_id=STORE)
    assert [c.id for c in listed] == [c.related["configurationId"] for c in created]
    patch = models.PatchConfigurationRequest({"description": "patched"})
    patched = configurations(first_id).patch(patch_configuration_request=patch)
    wait_completed(api.http, patched.status_url)
    assert configurations(first_id).fetch().description == "patched"
    configurations(first_id).delete()
    deadline = time.monotonic() + 5
    while api.http.get(f"/v2/ControlPlane/Configurations/{first_id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.005)
