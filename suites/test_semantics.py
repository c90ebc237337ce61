"""Targeted scenarios for the resource rules that the property tests cannot judge.

Clauses: RES-PUT, RES-PATCH, RES-EMPTY-PATCH, RES-NULL, RES-ROUNDTRIP, RES-SHAPE, RES-TIMESTAMP,
RES-CONFLICT, ERR-400, ERR-BODY, ERR-413, ERR-415, GEN-405, GEN-DATE, OPS-SYNC, OPS-DELETE,
VER-ARITH, VER-NOCHANGE, VER-TIMES, PAGE-FILTER.

The bodies here are small fixed examples (the seed's channel settings, the official SDK's request
models) because each scenario needs one exact value; expectations are spelled out literally, not
computed with the model, so these tests also check `orchestrator_contract.model`'s reading of the
contract. Every configuration carries the run's marks; serviceIds are unique to the run.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from twilio.rest.conversations.v2.configuration import ConfigurationList as SdkModels

from orchestrator_contract.client import CONFIGURATIONS, OPERATIONS, ApiClient
from orchestrator_contract.model import (
    ALLOWED_REPRESENTATION_FIELDS,
    REQUIRED_REPRESENTATION_FIELDS,
    assert_matches,
    mutable_fields,
)
from orchestrator_contract.polling import PollSettings, accepted_operation, settle, wait_for_operation
from orchestrator_contract.strategies import minimal_create_body
from orchestrator_contract.target import RunMarks
from orchestrator_contract.violations import expect
from orchestrator_contract.expectations import expect_error_body

pytestmark = [pytest.mark.semantics, pytest.mark.validation]

TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
LIMIT = 256 * 1024

# The channel settings of the seed's GET example, verbatim (every channel, timeouts, metadata).
SEED_CHANNEL_SETTINGS: dict[str, Any] = {
    "SMS": {"statusTimeouts": {"inactive": 10, "closed": 15}, "captureRules": [
        {"from": "+18005550100", "to": "+18005550101", "metadata": {}},
        {"from": "+18005550103", "to": "*", "metadata": {}},
        {"from": "*", "to": "+18005550103", "metadata": {}}]},
    "VOICE": {"statusTimeouts": {"inactive": 5, "closed": 30}, "captureRules": [
        {"from": "+18005550104", "to": "+18005550105", "metadata": {"callType": "PSTN"}},
        {"from": "+18005550106", "to": "*", "metadata": {}},
        {"from": "*", "to": "+18005550106", "metadata": {}}]},
    "WHATSAPP": {"statusTimeouts": {"inactive": 15, "closed": 60}, "captureRules": [
        {"from": "whatsapp:+18005550100", "to": "*", "metadata": {}},
        {"from": "*", "to": "whatsapp:+18005550100", "metadata": {}}]},
    "RCS": {"statusTimeouts": {"inactive": 15, "closed": 60}, "captureRules": [
        {"from": "rcs:brand_acme_agent", "to": "*", "metadata": {}},
        {"from": "*", "to": "rcs:brand_acme_agent", "metadata": {}},
        {"from": "rcs:+18005550107", "to": "*", "metadata": {}}]},
    "CHAT": {"statusTimeouts": {"inactive": 15, "closed": 60}, "captureRules": [
        {"from": "*", "to": "*", "metadata": {"chatService": "IS00000000000000000000000000000000"}}]},
}


# -- helpers --------------------------------------------------------------------------------
def run_service_id(marks: RunMarks) -> str:
    """A Conversations V1 serviceId that nothing outside this run (or this process of it) holds."""
    return marks.service_id(marks.unique("semantics"))


def check_date(response: httpx.Response) -> None:
    expect(response.headers.get("Date"), "GEN-DATE",
           f"{response.request.method} {response.request.url.path} -> {response.status_code} has no Date header")


def expect_status(response: httpx.Response, status: int, clause: str, what: str) -> None:
    check_date(response)
    expect(response.status_code == status, clause,
           f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}")


def expect_error(response: httpx.Response, status: int, clause: str, what: str) -> dict[str, Any]:
    """The status (with its Date), then the error body `{code, message, more_info, status}` (ERR-BODY)."""
    expect_status(response, status, clause, what)
    return expect_error_body(response, status, what)


def check_shape(rep: Any) -> None:
    """Closed representation with every required member, timestamps in whole seconds."""
    expect(isinstance(rep, dict), "RES-SHAPE", f"the representation is not an object: {rep!r}")
    extra, missing = set(rep) - ALLOWED_REPRESENTATION_FIELDS, REQUIRED_REPRESENTATION_FIELDS - set(rep)
    expect(not extra and not missing, "RES-SHAPE",
           f"{rep.get('id')}: undocumented members {sorted(extra)}, missing members {sorted(missing)}")
    for name in ("createdAt", "updatedAt"):
        expect(isinstance(rep[name], str) and TIMESTAMP.match(rep[name]), "RES-TIMESTAMP",
               f"{rep.get('id')}: {name} is {rep[name]!r}, not YYYY-MM-DDTHH:MM:SSZ")


def read(api: ApiClient, cid: str) -> dict[str, Any]:
    response = api.fetch(cid)
    expect_status(response, 200, "OPS-VISIBLE", f"GET {cid} after its write COMPLETED")
    rep = response.json()
    check_shape(rep)
    return rep


def accept(api: ApiClient, response: httpx.Response, poll: PollSettings, clause: str, what: str) -> str:
    """Require a 202 for a valid write (failing with `clause`), wait for COMPLETED, return the id."""
    expect_status(response, 202, clause, what)
    settle(api, response, poll)
    cid = response.json().get("related", {}).get("configurationId")
    expect(isinstance(cid, str) and cid, "OPS-202", f"{what}: 202 without related.configurationId")
    return cid


def in_parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def create_all(api: ApiClient, bodies: Sequence[dict[str, Any]], poll: PollSettings, clause: str) -> list[str]:
    return in_parallel([lambda b=b: accept(api, api.create(b), poll, clause, "create") for b in bodies])


def body(marks: RunMarks, tag: str, **extra: Any) -> dict[str, Any]:
    return {**minimal_create_body(marks, tag, store_tag=f"sem-{tag}"), **extra}


def rich_body(marks: RunMarks, tag: str) -> dict[str, Any]:
    return body(
        marks, tag,
        channelSettings={"SMS": {"statusTimeouts": {"inactive": 10, "closed": 15},
                                 "captureRules": [{"from": "+18005550100", "to": "*", "metadata": {}}]},
                         "VOICE": {"captureRules": [{"from": "*", "to": "*", "metadata": {"callType": "PSTN"}}]}},
        statusCallbacks=[{"url": "https://example.com/status", "method": "GET"}],
        intelligenceConfigurationIds=["agent1", "agent2"],
        memoryExtractionEnabled=True,
        conversationsV1Bridge={"serviceId": run_service_id(marks)},
    )


def put_body(rep: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A minimal valid PUT for a configuration: its required members, unchanged."""
    return {"description": rep["description"], "conversationGroupingType": rep["conversationGroupingType"],
            "memoryStoreId": rep["memoryStoreId"], "channelSettings": {}, **changes}


def raw(api: ApiClient, method: str, path: str, content: bytes | str,
        content_type: str = "application/json") -> httpx.Response:
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
def existing(api: ApiClient, marks: RunMarks, poll: PollSettings) -> Existing:
    response = api.create(body(marks, "existing"))
    cid = accept(api, response, poll, "GEN-STATUS", "create")
    fetched = api.fetch(cid)  # no shape checks here: a fixture error would hide which rule broke
    expect_status(fetched, 200, "OPS-VISIBLE", f"GET {cid} after its create COMPLETED")
    return Existing(cid, accepted_operation(response)[0], fetched.json())


def expect_unchanged(api: ApiClient, before: dict[str, Any], what: str) -> None:
    after = read(api, before["id"])
    expect(after["version"] == before["version"] and mutable_fields(after) == mutable_fields(before),
           "VER-NOCHANGE", f"{what} was rejected but changed {before['id']}: {before} -> {after}")


# -- RES-PUT ----------------------------------------------------------------------------------
def test_put_absent_or_null_optionals_return_to_defaults(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    ids = create_all(api, [rich_body(marks, "put-absent"), rich_body(marks, "put-null")], poll, "GEN-STATUS")
    before = [read(api, cid) for cid in ids]
    channels = {"CHAT": {"statusTimeouts": {"closed": 7}}}
    absent = put_body(before[0], description="replaced", conversationGroupingType="GROUP_BY_PARTICIPANT_ADDRESSES",
                      channelSettings=channels)
    nulls = {**put_body(before[1], description="replaced", conversationGroupingType="GROUP_BY_PARTICIPANT_ADDRESSES",
                        channelSettings={**channels, "SMS": None}),
             "displayName": None, "statusCallbacks": None, "intelligenceConfigurationIds": None,
             "memoryExtractionEnabled": None, "conversationsV1Bridge": None}
    in_parallel([lambda c=c, b=b: accept(api, api.replace(c, b), poll, "RES-PUT", f"PUT {c}")
                 for c, b in zip(ids, [absent, nulls])])
    for cid, old in zip(ids, before):
        rep = read(api, cid)
        assert_matches(rep, {
            "displayName": old["displayName"], "description": "replaced",
            "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES", "memoryStoreId": old["memoryStoreId"],
            "channelSettings": channels, "statusCallbacks": [], "intelligenceConfigurationIds": [],
            "memoryExtractionEnabled": False,
        }, "RES-PUT")
        expect(rep["version"] == 2, "VER-ARITH", f"{cid}: version {rep['version']} after create + one PUT")


def test_put_display_name_given_replaces_it(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    [cid] = create_all(api, [body(marks, "put-name")], poll, "GEN-STATUS")
    rep = read(api, cid)
    accept(api, api.replace(cid, put_body(rep, displayName=marks.display_name("renamed"))), poll, "RES-PUT", "PUT")
    expect(read(api, cid)["displayName"] == marks.display_name("renamed"), "RES-PUT", "PUT did not set displayName")


# -- RES-PATCH / RES-EMPTY-PATCH ---------------------------------------------------------------
def test_patch_absent_and_null_keep_fields(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    [cid] = create_all(api, [rich_body(marks, "patch-null")], poll, "GEN-STATUS")
    before = read(api, cid)
    patch = {name: None for name in mutable_fields(before) if name != "description"}
    patch["description"] = "patched"
    accept(api, api.patch(cid, patch), poll, "RES-PATCH", f"PATCH {cid}")
    after = read(api, cid)
    assert_matches(after, {**mutable_fields(before), "description": "patched"}, "RES-PATCH")
    expect(after["version"] == 2, "VER-ARITH", f"{cid}: version {after['version']} after create + one PATCH")


def test_patch_merges_channel_settings(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    chat = {"captureRules": [{"from": "*", "to": "*", "metadata": {"k": "v"}}]}
    [cid] = create_all(api, [body(marks, "patch-merge", channelSettings={
        "SMS": {"statusTimeouts": {"inactive": 1, "closed": 2}, "captureRules": [{"from": "a", "to": "b"}]},
        "VOICE": {"statusTimeouts": {"inactive": 3}},
        "CHAT": chat,
    })], poll, "GEN-STATUS")
    before = read(api, cid)
    patch = {"channelSettings": {"SMS": {"captureRules": [{"from": "c", "to": "d"}], "statusTimeouts": None},
                                 "VOICE": None, "RCS": {"statusTimeouts": {"closed": 9}}}}
    accept(api, api.patch(cid, patch), poll, "RES-PATCH", f"PATCH {cid}")
    assert_matches(read(api, cid), {**mutable_fields(before), "channelSettings": {
        "SMS": {"captureRules": [{"from": "c", "to": "d"}]},  # replaced completely, not merged
        "CHAT": chat,                                          # omitted: untouched
        "RCS": {"statusTimeouts": {"closed": 9}},              # VOICE: removed by null
    }}, "RES-PATCH")


def test_empty_patch_is_applied_and_bumps_version(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    [cid] = create_all(api, [rich_body(marks, "patch-empty")], poll, "GEN-STATUS")
    before = read(api, cid)
    accept(api, api.patch(cid, {}), poll, "RES-EMPTY-PATCH", f"empty PATCH {cid}")
    after = read(api, cid)
    expect(after["version"] == before["version"] + 1, "RES-EMPTY-PATCH",
           f"{cid}: version {before['version']} -> {after['version']} after an empty PATCH")
    assert_matches(after, mutable_fields(before), "RES-PATCH")
    expect(after["createdAt"] == before["createdAt"] and after["updatedAt"] >= before["updatedAt"], "VER-TIMES",
           f"{cid}: timestamps {before['createdAt']}/{before['updatedAt']} -> {after['createdAt']}/{after['updatedAt']}")


# -- RES-NULL -----------------------------------------------------------------------------------
def test_create_nulls_at_every_level_mean_absent(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    sent = body(marks, "null-create",
                channelSettings={"SMS": None,
                                 "VOICE": {"statusTimeouts": None,
                                           "captureRules": [{"from": "*", "to": "*", "metadata": None}]},
                                 "CHAT": {"statusTimeouts": {"inactive": None, "closed": 5}, "captureRules": None}},
                statusCallbacks=[{"url": "https://example.com/cb", "method": None}],
                intelligenceConfigurationIds=None, memoryExtractionEnabled=None, conversationsV1Bridge=None)
    also_null = body(marks, "null-create2", channelSettings=None, statusCallbacks=None)
    first, second = create_all(api, [sent, also_null], poll, "RES-NULL")
    assert_matches(read(api, first), {
        **{k: sent[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
        "channelSettings": {"VOICE": {"captureRules": [{"from": "*", "to": "*"}]},
                            "CHAT": {"statusTimeouts": {"closed": 5}}},
        "statusCallbacks": [{"url": "https://example.com/cb", "method": "POST"}],
        "intelligenceConfigurationIds": [], "memoryExtractionEnabled": False,
    }, "RES-NULL")
    assert_matches(read(api, second), {
        **{k: also_null[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
        "channelSettings": {}, "statusCallbacks": [], "intelligenceConfigurationIds": [],
        "memoryExtractionEnabled": False,
    }, "RES-NULL")


def test_sdk_request_models_round_trip(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    """The official SDK's `to_dict()` shapes (every unset member null) on create, PUT and PATCH."""
    base = body(marks, "sdk")
    create = SdkModels.CreateConfigurationRequest({
        **base, "channelSettings": {"SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]}},
        "statusCallbacks": [{"url": "https://example.com/cb"}],
    }).to_dict()
    [cid] = create_all(api, [create], poll, "RES-NULL")
    fields = {**{k: base[k] for k in ("displayName", "description", "conversationGroupingType", "memoryStoreId")},
              "channelSettings": {"SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]}},
              "statusCallbacks": [{"url": "https://example.com/cb", "method": "POST"}],
              "intelligenceConfigurationIds": [], "memoryExtractionEnabled": False}
    assert_matches(read(api, cid), fields, "RES-NULL")

    update = SdkModels.UpdateConfigurationRequest({  # nulls: displayName, inactive, metadata, method, ...
        "description": "sdk put", "conversationGroupingType": "GROUP_BY_PROFILE", "memoryStoreId": base["memoryStoreId"],
        "channelSettings": {"CHAT": {"statusTimeouts": {"closed": 3}, "captureRules": [{"from": "*", "to": "*"}]}},
        "statusCallbacks": [{"url": "https://example.com/put"}],
    }).to_dict()
    accept(api, api.replace(cid, update), poll, "RES-NULL", "PUT of the SDK's UpdateConfigurationRequest")
    fields = {**fields, "description": "sdk put",
              "statusCallbacks": [{"url": "https://example.com/put", "method": "POST"}],
              "channelSettings": {"CHAT": {"statusTimeouts": {"closed": 3}, "captureRules": [{"from": "*", "to": "*"}]}}}
    assert_matches(read(api, cid), fields, "RES-PUT")

    patch = SdkModels.PatchConfigurationRequest({}).to_dict()
    accept(api, api.patch(cid, patch), poll, "RES-NULL", "PATCH of the SDK's empty PatchConfigurationRequest")
    rep = read(api, cid)
    assert_matches(rep, fields, "RES-PATCH")
    expect(rep["version"] == 3, "VER-ARITH", f"{cid}: version {rep['version']} after create, PUT, PATCH")


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
def test_create_null_for_required_member_or_array_element_is_400(api: ApiClient, marks: RunMarks, member: str) -> None:
    sent = body(marks, "null-required")
    _CREATE_NULLS[member](sent)
    expect_error(api.create(sent), 400, "RES-NULL", f"create with null {member}")


@pytest.mark.parametrize("method, change", [
    ("PUT", {"description": None}),
    ("PUT", {"conversationGroupingType": None}),
    ("PUT", {"memoryStoreId": None}),
    ("PUT", {"channelSettings": None}),
    ("PUT", {"statusCallbacks": [None]}),
    ("PATCH", {"statusCallbacks": [{"url": None}]}),
    ("PATCH", {"channelSettings": {"VOICE": {"captureRules": [{"from": None, "to": "*"}]}}}),
    ("PATCH", {"intelligenceConfigurationIds": [None]}),
    ("PATCH", {"conversationsV1Bridge": {"serviceId": None}}),
], ids=lambda v: v if isinstance(v, str) else json.dumps(v))
def test_update_null_for_required_member_or_array_element_is_400(
    api: ApiClient, existing: Existing, method: str, change: dict[str, Any]
) -> None:
    sent = {**put_body(existing.rep), **change} if method == "PUT" else change
    expect_error(api.request(method, existing.path, json=sent), 400, "RES-NULL", f"{method} with {change}")


def test_put_without_channel_settings_is_400(api: ApiClient, existing: Existing) -> None:
    sent = put_body(existing.rep)
    del sent["channelSettings"]
    expect_error(api.replace(existing.id, sent), 400, "ERR-400", "PUT without the required channelSettings")


# -- RES-ROUNDTRIP / RES-SHAPE / RES-TIMESTAMP ---------------------------------------------------
def test_rich_body_round_trips_exactly(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    seed = body(marks, "roundtrip-seed", channelSettings=copy.deepcopy(SEED_CHANNEL_SETTINGS),
                statusCallbacks=[{"url": "https://www.example.com/status"},
                                 {"url": "https://www.example.com/status-get", "method": "GET"}],
                intelligenceConfigurationIds=["agent1", "agent2"], memoryExtractionEnabled=True,
                conversationsV1Bridge={"serviceId": run_service_id(marks)})
    sparse = body(marks, "roundtrip-sparse", channelSettings={
        "SMS": {"captureRules": [{"from": "+18005550100", "to": "*"}]},  # no metadata written
        "CHAT": {"statusTimeouts": {"inactive": 5}},                     # no closed, no captureRules
        "VOICE": {},
    })
    ids = create_all(api, [seed, sparse], poll, "GEN-STATUS")
    expected_seed = {**seed, "statusCallbacks": [{"url": "https://www.example.com/status", "method": "POST"},
                                                 {"url": "https://www.example.com/status-get", "method": "GET"}]}
    expected_sparse = {**sparse, "statusCallbacks": [], "intelligenceConfigurationIds": [],
                       "memoryExtractionEnabled": False}
    for cid, expected in zip(ids, [expected_seed, expected_sparse]):
        rep = read(api, cid)
        assert_matches(rep, expected, "RES-ROUNDTRIP")
        expect(rep["version"] == 1, "VER-ARITH", f"{cid}: version {rep['version']} after create")
        listed = api.list(memoryStoreId=expected["memoryStoreId"])
        expect_status(listed, 200, "GEN-STATUS", "list by memoryStoreId")
        items = listed.json()["configurations"]
        expect([i.get("id") for i in items] == [cid], "PAGE-FILTER", f"store {expected['memoryStoreId']} lists {items}")
        check_shape(items[0])
        assert_matches(items[0], expected, "RES-ROUNDTRIP")


# -- ERR-400: lengths, patterns, integers, closed bodies ------------------------------------------
def _name_of_length(marks: RunMarks, n: int) -> str:
    prefix = marks.display_name("len")
    return (prefix + "x" * n)[:n]


def test_lengths_count_code_points(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    ok = [body(marks, "len-e", description="é" * 512), body(marks, "len-emoji", description="😀" * 512),
          body(marks, "len-name", displayName=_name_of_length(marks, 32))]
    ids = create_all(api, ok, poll, "ERR-400")
    for cid, sent in zip(ids, ok):
        rep = read(api, cid)
        expect(rep["description"] == sent["description"] and rep["displayName"] == sent["displayName"],
               "RES-ROUNDTRIP", f"{cid}: description/displayName did not round-trip (lengths in code points)")
    too_long = [body(marks, "len-e", description="é" * 513), body(marks, "len-emoji", description="😀" * 513),
                body(marks, "len-name", displayName=_name_of_length(marks, 33)), body(marks, "len-empty", displayName="")]
    for sent in too_long:
        expect_error(api.create(sent), 400, "ERR-400",
                     f"create with displayName of {len(sent['displayName'])} / description of "
                     f"{len(sent['description'])} code points")


@pytest.mark.parametrize("name", ["abc\n", "\nabc", "ab\ncd", "abc\t", "abcé"])
def test_display_name_pattern_matches_whole_string(api: ApiClient, marks: RunMarks, existing: Existing,
                                                   name: str) -> None:
    expect_error(api.create(body(marks, "pattern", displayName=name)), 400, "ERR-400", f"create displayName {name!r}")
    expect_error(api.patch(existing.id, {"displayName": name}), 400, "ERR-400", f"PATCH displayName {name!r}")


def _with_inactive(marks: RunMarks, literal: str) -> str:
    """A create body whose statusTimeouts.inactive is the raw JSON `literal`."""
    sent = body(marks, "integers", channelSettings={"SMS": {"statusTimeouts": {"inactive": "<int>", "closed": 5}}})
    return json.dumps(sent).replace('"<int>"', literal)


@pytest.mark.parametrize("literal", ["1.0", "1e3", "1E3", "10.5", "true", "false", '"5"', "0", "-1", "2147483648"])
def test_integers_are_strict(api: ApiClient, marks: RunMarks, existing: Existing, literal: str) -> None:
    expect_error(raw(api, "POST", CONFIGURATIONS, _with_inactive(marks, literal)), 400, "ERR-400",
                 f"create with statusTimeouts.inactive = {literal}")
    patch = '{"channelSettings": {"CHAT": {"statusTimeouts": {"closed": %s}}}}' % literal
    expect_error(raw(api, "PATCH", existing.path, patch), 400, "ERR-400", f"PATCH statusTimeouts.closed = {literal}")


def test_integer_upper_bound_is_accepted(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    response = raw(api, "POST", CONFIGURATIONS, _with_inactive(marks, "2147483647"))
    cid = accept(api, response, poll, "ERR-400", "create with statusTimeouts.inactive = 2147483647")
    timeouts = read(api, cid)["channelSettings"].get("SMS", {}).get("statusTimeouts")
    expect(timeouts == {"inactive": 2147483647, "closed": 5}, "RES-ROUNDTRIP", f"statusTimeouts read back as {timeouts}")


READ_ONLY = {"id": "cfg_configuration_01h9d8r0vte3hz8tykdj329t7r", "version": 1,
             "createdAt": "2023-10-14T10:30:00Z", "updatedAt": "2023-10-14T10:30:00Z"}
BETA = {"traitExtractionStrategyIds": ["ts_1"], "observationExtractionStrategyIds": ["os_1"],
        "redactionConfigurationId": "rc_1"}


def _send(api: ApiClient, marks: RunMarks, existing: Existing, method: str, extra: dict[str, Any]) -> httpx.Response:
    """A valid POST/PUT/PATCH body with `extra` members added at the top level."""
    if method == "POST":
        return api.create(body(marks, "closed", **extra))
    if method == "PUT":
        return api.replace(existing.id, {**put_body(existing.rep), **extra})
    return api.patch(existing.id, {"description": "x", **extra})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("field", [*READ_ONLY, *BETA])
def test_read_only_and_beta_fields_in_bodies_are_400(api: ApiClient, marks: RunMarks, existing: Existing,
                                                     method: str, field: str) -> None:
    value = {**READ_ONLY, **BETA}[field]
    expect_error(_send(api, marks, existing, method, {field: value}), 400, "ERR-400", f"{method} with {field}")


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
def test_unknown_fields_at_every_level_are_400(api: ApiClient, marks: RunMarks, existing: Existing,
                                               method: str, where: str) -> None:
    extra = copy.deepcopy(_UNKNOWN_AT[where])
    if "conversationsV1Bridge" in extra:  # a run-unique serviceId: no 409 can compete with the 400
        extra["conversationsV1Bridge"]["serviceId"] = run_service_id(marks)
    expect_error(_send(api, marks, existing, method, extra), 400, "ERR-400", f"{method} with an unknown member ({where})")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("content", ["[]", '"x"', "null", "5", "true", '{"description": ', "{'a': 1}", ""],
                         ids=["array", "string", "null", "number", "boolean", "truncated", "single-quotes", "empty"])
def test_body_not_a_json_object_is_400(api: ApiClient, existing: Existing, method: str, content: str) -> None:
    path = CONFIGURATIONS if method == "POST" else existing.path
    expect_error(raw(api, method, path, content), 400, "ERR-400", f"{method} with body {content!r}")


# -- ERR-415 / ERR-413 / GEN-405 ----------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("content_type, content", [
    ("text/plain", "json"),
    ("application/x-www-form-urlencoded", "displayName=x&description=y"),
    ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n'),
], ids=["text-plain", "form", "multipart"])
def test_non_json_content_type_is_415(api: ApiClient, marks: RunMarks, existing: Existing,
                                      method: str, content_type: str, content: str) -> None:
    path = CONFIGURATIONS if method == "POST" else existing.path
    payload = json.dumps(body(marks, "415") if method != "PUT" else put_body(existing.rep)) if content == "json" else content
    expect_error(raw(api, method, path, payload, content_type), 415, "ERR-415", f"{method} as {content_type}")


def _padded(marks: RunMarks, size: int) -> dict[str, Any]:
    """A body valid in every respect but its size: the padding sits in a metadata value (unbounded)."""
    sent = body(marks, "size", channelSettings={"SMS": {"captureRules": [{"from": "*", "to": "*", "metadata": {}}]}})
    overhead = len(json.dumps(sent, ensure_ascii=False).encode()) + len('"pad": ""')
    sent["channelSettings"]["SMS"]["captureRules"][0]["metadata"]["pad"] = "x" * (size - overhead)
    return sent


def test_body_over_256_kib_is_413(api: ApiClient, marks: RunMarks, poll: PollSettings, existing: Existing) -> None:
    big = _padded(marks, 300 * 1024)
    expect_error(api.create(big), 413, "ERR-413", "create with a 300 KiB body")
    put = {**put_body(existing.rep), "channelSettings": big["channelSettings"]}
    expect_error(api.replace(existing.id, put), 413, "ERR-413", "PUT with a 300 KiB body")
    expect_error(api.patch(existing.id, {"channelSettings": big["channelSettings"]}), 413, "ERR-413",
                 "PATCH with a 300 KiB body")
    near = _padded(marks, LIMIT - 1024)
    expect(len(json.dumps(near, ensure_ascii=False).encode()) <= LIMIT, "ERR-413", "test body sizing is off")
    accept(api, api.create(near), poll, "ERR-413", "create with a valid body of 255 KiB (within the limit)")


@pytest.mark.parametrize("method, where", [
    ("DELETE", "collection"), ("PUT", "collection"), ("PATCH", "collection"),
    ("POST", "configuration"), ("POST", "operation"), ("PUT", "operation"), ("DELETE", "operation"),
])
def test_other_methods_are_405_with_allow(api: ApiClient, existing: Existing, method: str, where: str) -> None:
    path, allowed = {
        "collection": (CONFIGURATIONS, {"GET", "POST"}),
        "configuration": (existing.path, {"GET", "PUT", "PATCH", "DELETE"}),
        "operation": (f"{OPERATIONS}/{existing.operation_id}", {"GET"}),
    }[where]
    response = api.request(method, path, json={})
    expect_error(response, 405, "GEN-405", f"{method} {path}")
    allow = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    expect(allowed <= allow and method not in allow, "GEN-405",
           f"{method} {path}: Allow is {response.headers.get('Allow')!r}, the path supports {sorted(allowed)}")


# -- RES-CONFLICT --------------------------------------------------------------------------------
def expect_conflict(response: httpx.Response, holder: str, what: str) -> None:
    expect_error(response, 409, "RES-CONFLICT", what)
    named = response.headers.get("X-Conflicting-Resource-Id")
    expect(named == holder, "RES-CONFLICT", f"{what}: X-Conflicting-Resource-Id is {named!r}, the holder is {holder}")


def test_service_id_conflicts(api: ApiClient, marks: RunMarks, poll: PollSettings) -> None:
    sid = run_service_id(marks)
    bridge = {"conversationsV1Bridge": {"serviceId": sid}}
    holder, other = create_all(api, [body(marks, "conflict-a", **bridge), body(marks, "conflict-b")], poll, "RES-CONFLICT")
    other_before = read(api, other)

    expect_conflict(api.create(body(marks, "conflict-c", **bridge)), holder, "create with a held serviceId")
    expect_conflict(api.replace(other, put_body(other_before, **bridge)), holder, "PUT taking a held serviceId")
    expect_conflict(api.patch(other, bridge), holder, "PATCH taking a held serviceId")
    expect_unchanged(api, other_before, "a write taking a held serviceId")

    holder_rep = read(api, holder)
    accept(api, api.replace(holder, put_body(holder_rep, **bridge)), poll, "RES-CONFLICT", "PUT keeping its own serviceId")
    accept(api, api.patch(holder, bridge), poll, "RES-CONFLICT", "PATCH keeping its own serviceId")
    expect(read(api, holder).get("conversationsV1Bridge") == {"serviceId": sid}, "RES-ROUNDTRIP", "bridge lost")

    settle(api, api.delete(holder), poll)
    expect_status(api.fetch(holder), 404, "OPS-DELETE", f"GET {holder} after its DELETE completed")
    taker = accept(api, api.create(body(marks, "conflict-d", **bridge)), poll, "RES-CONFLICT",
                   "create with the serviceId of a deleted configuration")
    expect_conflict(api.patch(other, bridge), taker, "PATCH taking the serviceId from its new holder")
    accept(api, api.replace(taker, put_body(read(api, taker))), poll, "RES-PUT", "PUT without a bridge")
    accept(api, api.patch(other, bridge), poll, "RES-CONFLICT", "PATCH taking a serviceId released by PUT")
    expect(read(api, other).get("conversationsV1Bridge") == {"serviceId": sid}, "RES-ROUNDTRIP", "bridge not set")


@pytest.mark.isolation
def test_service_id_held_in_another_account_is_no_conflict(api: ApiClient, api2: ApiClient, marks: RunMarks,
                                                           poll: PollSettings) -> None:
    bridge = {"conversationsV1Bridge": {"serviceId": run_service_id(marks)}}
    accept(api2, api2.create(body(marks, "foreign-holder", **bridge)), poll, "GEN-STATUS", "create (second account)")
    cid = accept(api, api.create(body(marks, "foreign-taker", **bridge)), poll, "RES-CONFLICT",
                 "create with a serviceId held only in another account")
    expect(read(api, cid).get("conversationsV1Bridge") == bridge["conversationsV1Bridge"], "RES-ROUNDTRIP",
           "bridge not set")


# -- OPS-SYNC ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, sent", [
    ("PUT", {"displayName": "bad\n"}),
    ("PUT", {"statusCallbacks": [{"url": "https://example.com/1"}] * 3}),
    ("PATCH", {"channelSettings": {"SMS": {"statusTimeouts": {"inactive": 0}}}}),
    ("PATCH", {"intelligenceConfigurationIds": ["a", "b", "c", "d", "e", "f"]}),
    ("PATCH", {"conversationGroupingType": "GROUP_BY_NOTHING"}),
], ids=["put-pattern", "put-max-items", "patch-minimum", "patch-max-items", "patch-enum"])
def test_invalid_updates_are_rejected_synchronously(api: ApiClient, existing: Existing, poll: PollSettings,
                                                    method: str, sent: dict[str, Any]) -> None:
    before = read(api, existing.id)
    payload = {**put_body(before), **sent} if method == "PUT" else sent
    response = api.request(method, existing.path, json=payload)
    if response.status_code == 202:
        final = wait_for_operation(api, response, poll)
        expect(False, "OPS-SYNC", f"{method} with an invalid body answered 202 (operation ended {final.get('status')}) "
                                  "instead of 400 at once")
    expect_error(response, 400, "ERR-400", f"{method} with an invalid body")
    expect_unchanged(api, before, f"{method} with an invalid body")
