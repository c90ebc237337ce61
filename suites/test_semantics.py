"""Targeted scenarios for the resource rules that the property tests cannot judge.

Clauses: RES-PUT, RES-PATCH, RES-EMPTY-PATCH, RES-NULL, RES-ROUNDTRIP, RES-SHAPE, RES-TIMESTAMP,
RES-CONFLICT, ERR-400, ERR-BODY, ERR-413, ERR-415, GEN-405, GEN-DATE, OPS-SYNC, OPS-DELETE,
VER-ARITH, VER-NOCHANGE, VER-TIMES, PAGE-FILTER.

The bodies here are small fixed examples (the seed's channel settings, the official SDK's request
models) because each scenario needs one exact value; expectations are spelled out literally, not
computed with the model, so these tests also check `orchestrator_contract.scenarios.expected_state`'s reading of the
contract. Every configuration carries the run's marks; serviceIds are unique to the run.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from twilio.rest.conversations.v2.configuration import ConfigurationList as SdkModels

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.target import RunMarks
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import CONFIGURATIONS, OPERATIONS, ApiClient
from orchestrator_contract.scenarios.expectations import expect_error, expect_status
from orchestrator_contract.scenarios.expected_state import (
    ALLOWED_REPRESENTATION_FIELDS,
    REQUIRED_REPRESENTATION_FIELDS,
    assert_matches,
    mutable_fields,
)
from orchestrator_contract.scenarios.steps import Scenario, in_parallel, operation_id, parse_timestamp, replace_body

pytestmark = [pytest.mark.semantics, pytest.mark.validation]

LIMIT = 256 * 1024

# The channel settings of the seed's GET example, verbatim (every channel, timeouts, metadata).
SEED_CHANNEL_SETTINGS: dict[str, Any] = {
    "SMS": {
        "statusTimeouts": {"inactive": 10, "closed": 15},
        "captureRules": [
            {"from": "+18005550100", "to": "+18005550101", "metadata": {}},
            {"from": "+18005550103", "to": "*", "metadata": {}},
            {"from": "*", "to": "+18005550103", "metadata": {}},
        ],
    },
    "VOICE": {
        "statusTimeouts": {"inactive": 5, "closed": 30},
        "captureRules": [
            {"from": "+18005550104", "to": "+18005550105", "metadata": {"callType": "PSTN"}},
            {"from": "+18005550106", "to": "*", "metadata": {}},
            {"from": "*", "to": "+18005550106", "metadata": {}},
        ],
    },
    "WHATSAPP": {
        "statusTimeouts": {"inactive": 15, "closed": 60},
        "captureRules": [
            {"from": "whatsapp:+18005550100", "to": "*", "metadata": {}},
            {"from": "*", "to": "whatsapp:+18005550100", "metadata": {}},
        ],
    },
    "RCS": {
        "statusTimeouts": {"inactive": 15, "closed": 60},
        "captureRules": [
            {"from": "rcs:brand_acme_agent", "to": "*", "metadata": {}},
            {"from": "*", "to": "rcs:brand_acme_agent", "metadata": {}},
            {"from": "rcs:+18005550107", "to": "*", "metadata": {}},
        ],
    },
    "CHAT": {
        "statusTimeouts": {"inactive": 15, "closed": 60},
        "captureRules": [{"from": "*", "to": "*", "metadata": {"chatService": "IS00000000000000000000000000000000"}}],
    },
}


# -- helpers --------------------------------------------------------------------------------
def run_service_id(marks: RunMarks) -> str:
    """A Conversations V1 serviceId that nothing outside this run (or this process of it) holds."""
    return marks.service_id(marks.unique("semantics"))


def put_accepted(scenario: Scenario, cid: str, body: dict[str, Any]) -> str:
    return scenario.accept(scenario.api.replace(cid, body), Clause.RES_PUT, f"PUT {cid}")


def check_shape(rep: Any) -> dict[str, Any]:
    """Closed representation with every required member, timestamps in whole seconds."""
    expect(isinstance(rep, dict), Clause.RES_SHAPE, f"the representation is not an object: {rep!r}")
    extra, missing = set(rep) - ALLOWED_REPRESENTATION_FIELDS, REQUIRED_REPRESENTATION_FIELDS - set(rep)
    expect(
        not extra and not missing,
        Clause.RES_SHAPE,
        f"{rep.get('id')}: undocumented members {sorted(extra)}, missing members {sorted(missing)}",
    )
    for name in ("createdAt", "updatedAt"):
        parse_timestamp(rep[name], f"{rep.get('id')}: {name}")
    checked: dict[str, Any] = rep
    return checked


def read(scenario: Scenario, cid: str) -> dict[str, Any]:
    """The representation after a completed write, its shape checked (RES-SHAPE, RES-TIMESTAMP)."""
    return check_shape(scenario.read(cid))


def rich_body(scenario: Scenario, tag: str) -> dict[str, Any]:
    return scenario.body(
        tag,
        channelSettings={
            "SMS": {
                "statusTimeouts": {"inactive": 10, "closed": 15},
                "captureRules": [{"from": "+18005550100", "to": "*", "metadata": {}}],
            },
            "VOICE": {"captureRules": [{"from": "*", "to": "*", "metadata": {"callType": "PSTN"}}]},
        },
        statusCallbacks=[{"url": "https://example.com/status", "method": "GET"}],
        intelligenceConfigurationIds=["agent1", "agent2"],
        memoryExtractionEnabled=True,
        conversationsV1Bridge={"serviceId": run_service_id(scenario.marks)},
    )


def raw(
    api: ApiClient, method: str, path: str, content: bytes | str, content_type: str = "application/json"
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return api.request(method, path, content=data, headers={"Content-Type": content_type})


@dataclass(frozen=True)
class Existing:
    """A configuration the rejection tests aim at (so 404 is never an alternative answer)."""

    id: str
    operation_id: str
    rep: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{CONFIGURATIONS}/{self.id}"


@pytest.fixture(scope="session")
def existing(scenario: Scenario) -> Existing:
    response = scenario.api.create(scenario.body("existing"))
    cid = scenario.accept(response, Clause.GEN_STATUS, "create")
    fetched = scenario.fetch(cid)  # no shape checks here: a fixture error would hide which rule broke
    return Existing(cid, operation_id(response), fetched.json())


def expect_unchanged(scenario: Scenario, before: dict[str, Any], what: str) -> None:
    after = read(scenario, before["id"])
    expect(
        after["version"] == before["version"] and mutable_fields(after) == mutable_fields(before),
        Clause.VER_NOCHANGE,
        f"{what} was rejected but changed {before['id']}: {before} -> {after}",
    )


# -- RES-PUT ----------------------------------------------------------------------------------
def test_put_absent_or_null_optionals_return_to_defaults(scenario: Scenario) -> None:
    ids = scenario.create_many(
        [rich_body(scenario, "put-absent"), rich_body(scenario, "put-null")], clause=Clause.GEN_STATUS
    )
    before = [read(scenario, cid) for cid in ids]
    channels = {"CHAT": {"statusTimeouts": {"closed": 7}}}
    absent = replace_body(
        before[0],
        description="replaced",
        conversationGroupingType="GROUP_BY_PARTICIPANT_ADDRESSES",
        channelSettings=channels,
    )
    nulls = {
        **replace_body(
            before[1],
            description="replaced",
            conversationGroupingType="GROUP_BY_PARTICIPANT_ADDRESSES",
            channelSettings={**channels, "SMS": None},
        ),
        "displayName": None,
        "statusCallbacks": None,
        "intelligenceConfigurationIds": None,
        "memoryExtractionEnabled": None,
        "conversationsV1Bridge": None,
    }
    in_parallel([partial(put_accepted, scenario, c, b) for c, b in zip(ids, [absent, nulls], strict=True)])
    for cid, old in zip(ids, before, strict=True):
        rep = read(scenario, cid)
        assert_matches(
            rep,
            {
                "displayName": old["displayName"],
                "description": "replaced",
                "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
                "memoryStoreId": old["memoryStoreId"],
                "channelSettings": channels,
                "statusCallbacks": [],
                "intelligenceConfigurationIds": [],
                "memoryExtractionEnabled": False,
            },
            Clause.RES_PUT,
        )
        expect(rep["version"] == 2, Clause.VER_ARITH, f"{cid}: version {rep['version']} after create + one PUT")


def test_put_display_name_given_replaces_it(scenario: Scenario) -> None:
    [cid] = scenario.create_many([scenario.body("put-name")], clause=Clause.GEN_STATUS)
    rep = read(scenario, cid)
    renamed = scenario.marks.display_name("renamed")
    scenario.accept(scenario.api.replace(cid, replace_body(rep, displayName=renamed)), Clause.RES_PUT, "PUT")
    expect(read(scenario, cid)["displayName"] == renamed, Clause.RES_PUT, "PUT did not set displayName")


# -- RES-PATCH / RES-EMPTY-PATCH ---------------------------------------------------------------
def test_patch_absent_and_null_keep_fields(scenario: Scenario) -> None:
    [cid] = scenario.create_many([rich_body(scenario, "patch-null")], clause=Clause.GEN_STATUS)
    before = read(scenario, cid)
    patch: dict[str, Any] = {name: None for name in mutable_fields(before) if name != "description"}
    patch["description"] = "patched"
    scenario.accept(scenario.api.patch(cid, patch), Clause.RES_PATCH, f"PATCH {cid}")
    after = read(scenario, cid)
    assert_matches(after, {**mutable_fields(before), "description": "patched"}, Clause.RES_PATCH)
    expect(after["version"] == 2, Clause.VER_ARITH, f"{cid}: version {after['version']} after create + one PATCH")


def test_patch_merges_channel_settings(scenario: Scenario) -> None:
    chat = {"captureRules": [{"from": "*", "to": "*", "metadata": {"k": "v"}}]}
    [cid] = scenario.create_many(
        [
            scenario.body(
                "patch-merge",
                channelSettings={
                    "SMS": {"statusTimeouts": {"inactive": 1, "closed": 2}, "captureRules": [{"from": "a", "to": "b"}]},
                    "VOICE": {"statusTimeouts": {"inactive": 3}},
                    "CHAT": chat,
                },
            )
        ],
        clause=Clause.GEN_STATUS,
    )
    before = read(scenario, cid)
    patch = {
        "channelSettings": {
            "SMS": {"captureRules": [{"from": "c", "to": "d"}], "statusTimeouts": None},
            "VOICE": None,
            "RCS": {"statusTimeouts": {"closed": 9}},
        }
    }
    scenario.accept(scenario.api.patch(cid, patch), Clause.RES_PATCH, f"PATCH {cid}")
    assert_matches(
        read(scenario, cid),
        {
            **mutable_fields(before),
            "channelSettings": {
                "SMS": {"captureRules": [{"from": "c", "to": "d"}]},  # replaced completely, not merged
                "CHAT": chat,  # omitted: untouched
                "RCS": {"statusTimeouts": {"closed": 9}},  # VOICE: removed by null
            },
        },
        Clause.RES_PATCH,
    )


def test_empty_patch_is_applied_and_bumps_version(scenario: Scenario) -> None:
    [cid] = scenario.create_many([rich_body(scenario, "patch-empty")], clause=Clause.GEN_STATUS)
    before = read(scenario, cid)
    scenario.accept(scenario.api.patch(cid, {}), Clause.RES_EMPTY_PATCH, f"empty PATCH {cid}")
    after = read(scenario, cid)
    expect(
        after["version"] == before["version"] + 1,
        Clause.RES_EMPTY_PATCH,
        f"{cid}: version {before['version']} -> {after['version']} after an empty PATCH",
    )
    assert_matches(after, mutable_fields(before), Clause.RES_PATCH)
    expect(
        after["createdAt"] == before["createdAt"] and after["updatedAt"] >= before["updatedAt"],
        Clause.VER_TIMES,
        f"{cid}: timestamps {before['createdAt']}/{before['updatedAt']} -> {after['createdAt']}/{after['updatedAt']}",
    )


# -- RES-NULL -----------------------------------------------------------------------------------
def test_create_nulls_at_every_level_mean_absent(scenario: Scenario) -> None:
    sent = scenario.body(
        "null-create",
        channelSettings={
            "SMS": None,
            "VOICE": {"statusTimeouts": None, "captureRules": [{"from": "*", "to": "*", "metadata": None}]},
            "CHAT": {"statusTimeouts": {"inactive": None, "closed": 5}, "captureRules": None},
        },
        statusCallbacks=[{"url": "https://example.com/cb", "method": None}],
        intelligenceConfigurationIds=None,
        memoryExtractionEnabled=None,
        conversationsV1Bridge=None,
    )
    also_null = scenario.body("null-create2", channelSettings=None, statusCallbacks=None)
    first, second = scenario.create_many([sent, also_null], clause=Clause.RES_NULL)
    assert_matches(
        read(scenario, first),
        {
            **{k: sent[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
            "channelSettings": {
                "VOICE": {"captureRules": [{"from": "*", "to": "*"}]},
                "CHAT": {"statusTimeouts": {"closed": 5}},
            },
            "statusCallbacks": [{"url": "https://example.com/cb", "method": "POST"}],
            "intelligenceConfigurationIds": [],
            "memoryExtractionEnabled": False,
        },
        Clause.RES_NULL,
    )
    assert_matches(
        read(scenario, second),
        {
            **{k: also_null[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
            "channelSettings": {},
            "statusCallbacks": [],
            "intelligenceConfigurationIds": [],
            "memoryExtractionEnabled": False,
        },
        Clause.RES_NULL,
    )


def test_sdk_request_models_round_trip(scenario: Scenario) -> None:
    """The official SDK's `to_dict()` shapes (every unset member null) on create, PUT and PATCH."""
    base = scenario.body("sdk")
    create = SdkModels.CreateConfigurationRequest(
        {
            **base,
            "channelSettings": {"SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]}},
            "statusCallbacks": [{"url": "https://example.com/cb"}],
        }
    ).to_dict()
    [cid] = scenario.create_many([create], clause=Clause.RES_NULL)
    fields = {
        **{k: base[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
        "channelSettings": {"SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]}},
        "statusCallbacks": [{"url": "https://example.com/cb", "method": "POST"}],
        "intelligenceConfigurationIds": [],
        "memoryExtractionEnabled": False,
    }
    assert_matches(read(scenario, cid), fields, Clause.RES_NULL)

    update = SdkModels.UpdateConfigurationRequest(
        {  # nulls: displayName, inactive, metadata, method, ...
            "description": "sdk put",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": base["memoryStoreId"],
            "channelSettings": {"CHAT": {"statusTimeouts": {"closed": 3}, "captureRules": [{"from": "*", "to": "*"}]}},
            "statusCallbacks": [{"url": "https://example.com/put"}],
        }
    ).to_dict()
    scenario.accept(scenario.api.replace(cid, update), Clause.RES_NULL, "PUT of the SDK's UpdateConfigurationRequest")
    fields = {
        **fields,
        "description": "sdk put",
        "statusCallbacks": [{"url": "https://example.com/put", "method": "POST"}],
        "channelSettings": {"CHAT": {"statusTimeouts": {"closed": 3}, "captureRules": [{"from": "*", "to": "*"}]}},
    }
    assert_matches(read(scenario, cid), fields, Clause.RES_PUT)

    patch = SdkModels.PatchConfigurationRequest({}).to_dict()
    scenario.accept(
        scenario.api.patch(cid, patch), Clause.RES_NULL, "PATCH of the SDK's empty PatchConfigurationRequest"
    )
    rep = read(scenario, cid)
    assert_matches(rep, fields, Clause.RES_PATCH)
    expect(rep["version"] == 3, Clause.VER_ARITH, f"{cid}: version {rep['version']} after create, PUT, PATCH")


_CREATE_NULLS: dict[str, Callable[[dict[str, Any]], None]] = {
    "displayName": lambda b: b.update(displayName=None),
    "description": lambda b: b.update(description=None),
    "conversationGroupingType": lambda b: b.update(conversationGroupingType=None),
    "memoryStoreId": lambda b: b.update(memoryStoreId=None),
    "statusCallbacks[0].url": lambda b: b.update(statusCallbacks=[{"url": None, "method": "POST"}]),
    "statusCallbacks[0]": lambda b: b.update(statusCallbacks=[None]),
    "captureRules[0].from": lambda b: b.update(channelSettings={"SMS": {"captureRules": [{"from": None, "to": "*"}]}}),
    "captureRules[0].to": lambda b: b.update(channelSettings={"SMS": {"captureRules": [{"from": "*", "to": None}]}}),
    "captureRules[0]": lambda b: b.update(channelSettings={"SMS": {"captureRules": [None]}}),
    "intelligenceConfigurationIds[0]": lambda b: b.update(intelligenceConfigurationIds=["a", None]),
    "conversationsV1Bridge.serviceId": lambda b: b.update(conversationsV1Bridge={"serviceId": None}),
}


@pytest.mark.parametrize("member", list(_CREATE_NULLS))
def test_create_null_for_required_member_or_array_element_is_400(scenario: Scenario, member: str) -> None:
    sent = scenario.body("null-required")
    _CREATE_NULLS[member](sent)
    expect_error(scenario.api.create(sent), 400, Clause.RES_NULL, f"create with null {member}")


@pytest.mark.parametrize(
    "method, change",
    [
        ("PUT", {"description": None}),
        ("PUT", {"conversationGroupingType": None}),
        ("PUT", {"memoryStoreId": None}),
        ("PUT", {"channelSettings": None}),
        ("PUT", {"statusCallbacks": [None]}),
        ("PATCH", {"statusCallbacks": [{"url": None}]}),
        ("PATCH", {"channelSettings": {"VOICE": {"captureRules": [{"from": None, "to": "*"}]}}}),
        ("PATCH", {"intelligenceConfigurationIds": [None]}),
        ("PATCH", {"conversationsV1Bridge": {"serviceId": None}}),
    ],
    ids=lambda v: v if isinstance(v, str) else json.dumps(v),
)
def test_update_null_for_required_member_or_array_element_is_400(
    api: ApiClient, existing: Existing, method: str, change: dict[str, Any]
) -> None:
    sent = {**replace_body(existing.rep), **change} if method == "PUT" else change
    expect_error(api.request(method, existing.path, json=sent), 400, Clause.RES_NULL, f"{method} with {change}")


def test_put_without_channel_settings_is_400(api: ApiClient, existing: Existing) -> None:
    sent = replace_body(existing.rep)
    del sent["channelSettings"]
    expect_error(api.replace(existing.id, sent), 400, Clause.ERR_400, "PUT without the required channelSettings")


# -- RES-ROUNDTRIP / RES-SHAPE / RES-TIMESTAMP ---------------------------------------------------
def test_rich_body_round_trips_exactly(scenario: Scenario) -> None:
    seed = scenario.body(
        "roundtrip-seed",
        channelSettings=copy.deepcopy(SEED_CHANNEL_SETTINGS),
        statusCallbacks=[
            {"url": "https://www.example.com/status"},
            {"url": "https://www.example.com/status-get", "method": "GET"},
        ],
        intelligenceConfigurationIds=["agent1", "agent2"],
        memoryExtractionEnabled=True,
        conversationsV1Bridge={"serviceId": run_service_id(scenario.marks)},
    )
    sparse = scenario.body(
        "roundtrip-sparse",
        channelSettings={
            "SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]},  # no metadata written
            "CHAT": {"statusTimeouts": {"inactive": 5}},  # no closed, no captureRules
            "VOICE": {},
        },
    )
    ids = scenario.create_many([seed, sparse], clause=Clause.GEN_STATUS)
    expected_seed = {
        **seed,
        "statusCallbacks": [
            {"url": "https://www.example.com/status", "method": "POST"},
            {"url": "https://www.example.com/status-get", "method": "GET"},
        ],
    }
    expected_sparse = {
        **sparse,
        "statusCallbacks": [],
        "intelligenceConfigurationIds": [],
        "memoryExtractionEnabled": False,
    }
    for cid, expected in zip(ids, [expected_seed, expected_sparse], strict=True):
        rep = read(scenario, cid)
        assert_matches(rep, expected, Clause.RES_ROUNDTRIP)
        expect(rep["version"] == 1, Clause.VER_ARITH, f"{cid}: version {rep['version']} after create")
        listed = scenario.api.list(memoryStoreId=expected["memoryStoreId"])
        expect_status(listed, 200, Clause.GEN_STATUS, "list by memoryStoreId")
        items = listed.json()["configurations"]
        expect(
            [i.get("id") for i in items] == [cid],
            Clause.PAGE_FILTER,
            f"store {expected['memoryStoreId']} lists {items}",
        )
        check_shape(items[0])
        assert_matches(items[0], expected, Clause.RES_ROUNDTRIP)


# -- ERR-400: lengths, patterns, integers, closed bodies ------------------------------------------
def _name_of_length(marks: RunMarks, n: int) -> str:
    prefix = marks.display_name("len")
    return (prefix + "x" * n)[:n]


def test_lengths_count_code_points(scenario: Scenario) -> None:
    ok = [
        scenario.body("len-e", description="é" * 512),
        scenario.body("len-emoji", description="😀" * 512),
        scenario.body("len-name", displayName=_name_of_length(scenario.marks, 32)),
    ]
    ids = scenario.create_many(ok, clause=Clause.ERR_400)
    for cid, sent in zip(ids, ok, strict=True):
        rep = read(scenario, cid)
        expect(
            rep["description"] == sent["description"] and rep["displayName"] == sent["displayName"],
            Clause.RES_ROUNDTRIP,
            f"{cid}: description/displayName did not round-trip (lengths in code points)",
        )
    too_long = [
        scenario.body("len-e", description="é" * 513),
        scenario.body("len-emoji", description="😀" * 513),
        scenario.body("len-name", displayName=_name_of_length(scenario.marks, 33)),
        scenario.body("len-empty", displayName=""),
    ]
    for sent in too_long:
        expect_error(
            scenario.api.create(sent),
            400,
            Clause.ERR_400,
            f"create with displayName of {len(sent['displayName'])} / description of "
            f"{len(sent['description'])} code points",
        )


@pytest.mark.parametrize("name", ["abc\n", "\nabc", "ab\ncd", "abc\t", "abcé"])
def test_display_name_pattern_matches_whole_string(scenario: Scenario, existing: Existing, name: str) -> None:
    expect_error(
        scenario.api.create(scenario.body("pattern", displayName=name)),
        400,
        Clause.ERR_400,
        f"create displayName {name!r}",
    )
    expect_error(
        scenario.api.patch(existing.id, {"displayName": name}), 400, Clause.ERR_400, f"PATCH displayName {name!r}"
    )


def _with_inactive(scenario: Scenario, literal: str) -> str:
    """A create body whose statusTimeouts.inactive is the raw JSON `literal`."""
    sent = scenario.body("integers", channelSettings={"SMS": {"statusTimeouts": {"inactive": "<int>", "closed": 5}}})
    return json.dumps(sent).replace('"<int>"', literal)


@pytest.mark.parametrize("literal", ["1.0", "1e3", "1E3", "10.5", "true", "false", '"5"', "0", "-1", "2147483648"])
def test_integers_are_strict(scenario: Scenario, existing: Existing, literal: str) -> None:
    expect_error(
        raw(scenario.api, "POST", CONFIGURATIONS, _with_inactive(scenario, literal)),
        400,
        Clause.ERR_400,
        f"create with statusTimeouts.inactive = {literal}",
    )
    patch = f'{{"channelSettings": {{"CHAT": {{"statusTimeouts": {{"closed": {literal}}}}}}}}}'
    expect_error(
        raw(scenario.api, "PATCH", existing.path, patch),
        400,
        Clause.ERR_400,
        f"PATCH statusTimeouts.closed = {literal}",
    )


def test_integer_upper_bound_is_accepted(scenario: Scenario) -> None:
    response = raw(scenario.api, "POST", CONFIGURATIONS, _with_inactive(scenario, "2147483647"))
    cid = scenario.accept(response, Clause.ERR_400, "create with statusTimeouts.inactive = 2147483647")
    timeouts = read(scenario, cid)["channelSettings"].get("SMS", {}).get("statusTimeouts")
    expect(
        timeouts == {"inactive": 2147483647, "closed": 5},
        Clause.RES_ROUNDTRIP,
        f"statusTimeouts read back as {timeouts}",
    )


READ_ONLY = {
    "id": "cfg_configuration_01h9d8r0vte3hz8tykdj329t7r",
    "version": 1,
    "createdAt": "2023-10-14T10:30:00Z",
    "updatedAt": "2023-10-14T10:30:00Z",
}
BETA = {
    "traitExtractionStrategyIds": ["ts_1"],
    "observationExtractionStrategyIds": ["os_1"],
    "redactionConfigurationId": "rc_1",
}


def _send(scenario: Scenario, existing: Existing, method: str, extra: dict[str, Any]) -> httpx.Response:
    """A valid POST/PUT/PATCH body with `extra` members added at the top level."""
    if method == "POST":
        return scenario.api.create(scenario.body("closed", **extra))
    if method == "PUT":
        return scenario.api.replace(existing.id, {**replace_body(existing.rep), **extra})
    return scenario.api.patch(existing.id, {"description": "x", **extra})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("field", [*READ_ONLY, *BETA])
def test_read_only_and_beta_fields_in_bodies_are_400(
    scenario: Scenario, existing: Existing, method: str, field: str
) -> None:
    value = {**READ_ONLY, **BETA}[field]
    expect_error(_send(scenario, existing, method, {field: value}), 400, Clause.ERR_400, f"{method} with {field}")


_UNKNOWN_AT: dict[str, dict[str, Any]] = {
    "top level": {"colour": "blue"},
    "channelSettings key": {"channelSettings": {"EMAIL": {}}},
    "channel setting": {"channelSettings": {"SMS": {"priority": 1}}},
    "statusTimeouts": {"channelSettings": {"SMS": {"statusTimeouts": {"inactive": 1, "idle": 2}}}},
    "captureRule": {"channelSettings": {"SMS": {"captureRules": [{"from": "*", "to": "*", "weight": 1}]}}},
    "statusCallback": {"statusCallbacks": [{"url": "https://example.com/cb", "headers": {}}]},
    "conversationsV1Bridge": {"conversationsV1Bridge": {"serviceId": "IS" + "0f" * 16, "region": "us1"}},
}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("where", list(_UNKNOWN_AT))
def test_unknown_fields_at_every_level_are_400(scenario: Scenario, existing: Existing, method: str, where: str) -> None:
    extra = copy.deepcopy(_UNKNOWN_AT[where])
    if "conversationsV1Bridge" in extra:  # a run-unique serviceId: no 409 can compete with the 400
        extra["conversationsV1Bridge"]["serviceId"] = run_service_id(scenario.marks)
    expect_error(
        _send(scenario, existing, method, extra), 400, Clause.ERR_400, f"{method} with an unknown member ({where})"
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    "content",
    ["[]", '"x"', "null", "5", "true", '{"description": ', "{'a': 1}", ""],
    ids=["array", "string", "null", "number", "boolean", "truncated", "single-quotes", "empty"],
)
def test_body_not_a_json_object_is_400(api: ApiClient, existing: Existing, method: str, content: str) -> None:
    path = CONFIGURATIONS if method == "POST" else existing.path
    expect_error(raw(api, method, path, content), 400, Clause.ERR_400, f"{method} with body {content!r}")


# -- ERR-415 / ERR-413 / GEN-405 ----------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    "content_type, content",
    [
        ("text/plain", "json"),
        ("application/x-www-form-urlencoded", "displayName=x&description=y"),
        ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n'),
    ],
    ids=["text-plain", "form", "multipart"],
)
def test_non_json_content_type_is_415(
    scenario: Scenario, existing: Existing, method: str, content_type: str, content: str
) -> None:
    path = CONFIGURATIONS if method == "POST" else existing.path
    sample = scenario.body("415") if method != "PUT" else replace_body(existing.rep)
    payload = json.dumps(sample) if content == "json" else content
    expect_error(
        raw(scenario.api, method, path, payload, content_type), 415, Clause.ERR_415, f"{method} as {content_type}"
    )


def _padded(scenario: Scenario, size: int) -> dict[str, Any]:
    """A body valid in every respect but its size: the padding sits in a metadata value (unbounded)."""
    sent = scenario.body("size", channelSettings={"SMS": {"captureRules": [{"from": "*", "to": "*", "metadata": {}}]}})
    overhead = len(json.dumps(sent, ensure_ascii=False).encode()) + len('"pad": ""')
    sent["channelSettings"]["SMS"]["captureRules"][0]["metadata"]["pad"] = "x" * (size - overhead)
    return sent


def test_body_over_256_kib_is_413(scenario: Scenario, existing: Existing) -> None:
    big = _padded(scenario, 300 * 1024)
    expect_error(scenario.api.create(big), 413, Clause.ERR_413, "create with a 300 KiB body")
    put = {**replace_body(existing.rep), "channelSettings": big["channelSettings"]}
    expect_error(scenario.api.replace(existing.id, put), 413, Clause.ERR_413, "PUT with a 300 KiB body")
    expect_error(
        scenario.api.patch(existing.id, {"channelSettings": big["channelSettings"]}),
        413,
        Clause.ERR_413,
        "PATCH with a 300 KiB body",
    )
    near = _padded(scenario, LIMIT - 1024)
    expect(len(json.dumps(near, ensure_ascii=False).encode()) <= LIMIT, Clause.ERR_413, "test body sizing is off")
    scenario.accept(scenario.api.create(near), Clause.ERR_413, "create with a valid body of 255 KiB (within the limit)")


@pytest.mark.parametrize(
    "method, where",
    [
        ("DELETE", "collection"),
        ("PUT", "collection"),
        ("PATCH", "collection"),
        ("POST", "configuration"),
        ("POST", "operation"),
        ("PUT", "operation"),
        ("DELETE", "operation"),
    ],
)
def test_other_methods_are_405_with_allow(api: ApiClient, existing: Existing, method: str, where: str) -> None:
    path, allowed = {
        "collection": (CONFIGURATIONS, {"GET", "POST"}),
        "configuration": (existing.path, {"GET", "PUT", "PATCH", "DELETE"}),
        "operation": (f"{OPERATIONS}/{existing.operation_id}", {"GET"}),
    }[where]
    response = api.request(method, path, json={})
    expect_error(response, 405, Clause.GEN_405, f"{method} {path}")
    allow = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    expect(
        allowed <= allow and method not in allow,
        Clause.GEN_405,
        f"{method} {path}: Allow is {response.headers.get('Allow')!r}, the path supports {sorted(allowed)}",
    )


# -- RES-CONFLICT --------------------------------------------------------------------------------
def expect_conflict(response: httpx.Response, holder: str, what: str) -> None:
    expect_error(response, 409, Clause.RES_CONFLICT, what)
    named = response.headers.get("X-Conflicting-Resource-Id")
    expect(
        named == holder, Clause.RES_CONFLICT, f"{what}: X-Conflicting-Resource-Id is {named!r}, the holder is {holder}"
    )


def test_service_id_conflicts(scenario: Scenario) -> None:
    api = scenario.api
    sid = run_service_id(scenario.marks)
    bridge: dict[str, Any] = {"conversationsV1Bridge": {"serviceId": sid}}
    holder, other = scenario.create_many(
        [scenario.body("conflict-a", **bridge), scenario.body("conflict-b")], clause=Clause.RES_CONFLICT
    )
    other_before = read(scenario, other)

    expect_conflict(api.create(scenario.body("conflict-c", **bridge)), holder, "create with a held serviceId")
    expect_conflict(api.replace(other, replace_body(other_before, **bridge)), holder, "PUT taking a held serviceId")
    expect_conflict(api.patch(other, bridge), holder, "PATCH taking a held serviceId")
    expect_unchanged(scenario, other_before, "a write taking a held serviceId")

    holder_rep = read(scenario, holder)
    scenario.accept(
        api.replace(holder, replace_body(holder_rep, **bridge)), Clause.RES_CONFLICT, "PUT keeping its own serviceId"
    )
    scenario.accept(api.patch(holder, bridge), Clause.RES_CONFLICT, "PATCH keeping its own serviceId")
    expect(
        read(scenario, holder).get("conversationsV1Bridge") == {"serviceId": sid}, Clause.RES_ROUNDTRIP, "bridge lost"
    )

    scenario.settle(api.delete(holder))
    expect_status(api.fetch(holder), 404, Clause.OPS_DELETE, f"GET {holder} after its DELETE completed")
    taker = scenario.accept(
        api.create(scenario.body("conflict-d", **bridge)),
        Clause.RES_CONFLICT,
        "create with the serviceId of a deleted configuration",
    )
    expect_conflict(api.patch(other, bridge), taker, "PATCH taking the serviceId from its new holder")
    scenario.accept(api.replace(taker, replace_body(read(scenario, taker))), Clause.RES_PUT, "PUT without a bridge")
    scenario.accept(api.patch(other, bridge), Clause.RES_CONFLICT, "PATCH taking a serviceId released by PUT")
    expect(
        read(scenario, other).get("conversationsV1Bridge") == {"serviceId": sid}, Clause.RES_ROUNDTRIP, "bridge not set"
    )


@pytest.mark.isolation
def test_service_id_held_in_another_account_is_no_conflict(scenario: Scenario, api2: ApiClient) -> None:
    bridge: dict[str, Any] = {"conversationsV1Bridge": {"serviceId": run_service_id(scenario.marks)}}
    scenario.accept(
        api2.create(scenario.body("foreign-holder", **bridge)),
        Clause.GEN_STATUS,
        "create (second account)",
        client=api2,
    )
    cid = scenario.accept(
        scenario.api.create(scenario.body("foreign-taker", **bridge)),
        Clause.RES_CONFLICT,
        "create with a serviceId held only in another account",
    )
    expect(
        read(scenario, cid).get("conversationsV1Bridge") == bridge["conversationsV1Bridge"],
        Clause.RES_ROUNDTRIP,
        "bridge not set",
    )


# -- OPS-SYNC ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, sent",
    [
        ("PUT", {"displayName": "bad\n"}),
        ("PUT", {"statusCallbacks": [{"url": "https://example.com/1"}] * 3}),
        ("PATCH", {"channelSettings": {"SMS": {"statusTimeouts": {"inactive": 0}}}}),
        ("PATCH", {"intelligenceConfigurationIds": ["a", "b", "c", "d", "e", "f"]}),
        ("PATCH", {"conversationGroupingType": "GROUP_BY_NOTHING"}),
    ],
    ids=["put-pattern", "put-max-items", "patch-minimum", "patch-max-items", "patch-enum"],
)
def test_invalid_updates_are_rejected_synchronously(
    scenario: Scenario, existing: Existing, method: str, sent: dict[str, Any]
) -> None:
    before = read(scenario, existing.id)
    payload = {**replace_body(before), **sent} if method == "PUT" else sent
    response = scenario.api.request(method, existing.path, json=payload)
    if response.status_code == 202:
        final = scenario.wait(response)
        expect(
            False,
            Clause.OPS_SYNC,
            f"{method} with an invalid body answered 202 (operation ended {final.get('status')}) "
            "instead of 400 at once",
        )
    expect_error(response, 400, Clause.ERR_400, f"{method} with an invalid body")
    expect_unchanged(scenario, before, f"{method} with an invalid body")
