"""Unit tests of `orchestrator_contract.scenarios.expected_state`: the contract's write semantics, without HTTP."""

from __future__ import annotations

import pytest

from orchestrator_contract.contract.violations import ContractViolation
from orchestrator_contract.scenarios.expected_state import (
    assert_matches,
    channel_settings,
    expected_after_create,
    expected_after_patch,
    expected_after_put,
    first_difference,
    requested_service_id,
    service_id,
)

BRIDGE = {"serviceId": "IS" + "ab" * 16}
MINIMAL = {
    "displayName": "cfg one",
    "description": "d",
    "conversationGroupingType": "GROUP_BY_PROFILE",
    "memoryStoreId": "mem_store_0aaaaaaaaaaaaaaaaaaaaaaaaa",
}
DEFAULTS = {
    "channelSettings": {},
    "statusCallbacks": [],
    "intelligenceConfigurationIds": [],
    "memoryExtractionEnabled": False,
}


def test_create_fills_the_top_level_defaults_and_has_no_bridge() -> None:
    assert expected_after_create(MINIMAL) == {**MINIMAL, **DEFAULTS}


def test_create_with_sdk_nulls_equals_create_without_them() -> None:
    sdk = {**MINIMAL, **dict.fromkeys((*DEFAULTS, "conversationsV1Bridge"))}
    assert expected_after_create(sdk) == expected_after_create(MINIMAL)


def test_nested_nulls_are_absent_and_null_channels_left_out() -> None:
    body = {
        **MINIMAL,
        "channelSettings": {
            "SMS": {
                "statusTimeouts": {"inactive": 10, "closed": None},
                "captureRules": [{"from": "+1", "to": "*", "metadata": None}],
            },
            "VOICE": None,
            "CHAT": {"statusTimeouts": None, "captureRules": None},
        },
        "statusCallbacks": [{"url": "https://x.test", "method": None}, {"url": "https://y.test", "method": "GET"}],
    }
    got = expected_after_create(body)
    assert got["channelSettings"] == {
        "SMS": {"statusTimeouts": {"inactive": 10}, "captureRules": [{"from": "+1", "to": "*"}]},
        "CHAT": {},
    }
    assert got["statusCallbacks"] == [
        {"url": "https://x.test", "method": "POST"},
        {"url": "https://y.test", "method": "GET"},
    ]


def test_written_metadata_is_kept_even_when_empty() -> None:
    rules = [{"from": "a", "to": "b", "metadata": {}}, {"from": "c", "to": "d", "metadata": {"k": "v"}}]
    assert channel_settings({"SMS": {"captureRules": rules}}) == {"SMS": {"captureRules": rules}}


def test_create_keeps_the_bridge() -> None:
    got = expected_after_create({**MINIMAL, "conversationsV1Bridge": BRIDGE})
    assert got["conversationsV1Bridge"] == BRIDGE and service_id(got) == BRIDGE["serviceId"]


def test_put_resets_optional_fields_and_removes_the_bridge() -> None:
    current = expected_after_create(
        {
            **MINIMAL,
            "channelSettings": {"SMS": {}},
            "statusCallbacks": [{"url": "https://x.test"}],
            "intelligenceConfigurationIds": ["a"],
            "memoryExtractionEnabled": True,
            "conversationsV1Bridge": BRIDGE,
        }
    )
    body = {
        "description": "e",
        "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
        "memoryStoreId": "m2",
        "channelSettings": {"VOICE": None},
    }
    got = expected_after_put(current, body)
    assert got == {
        "displayName": "cfg one",
        "description": "e",
        "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
        "memoryStoreId": "m2",
        **DEFAULTS,
    }


@pytest.mark.parametrize("name", [None, "renamed"])
def test_put_display_name_absent_or_null_keeps_it(name: str | None) -> None:
    current = expected_after_create(MINIMAL)
    body = {
        "displayName": name,
        "description": "d",
        "conversationGroupingType": "GROUP_BY_PROFILE",
        "memoryStoreId": "m",
        "channelSettings": {},
    }
    assert expected_after_put(current, body)["displayName"] == (name or "cfg one")
    body.pop("displayName")
    assert expected_after_put(current, body)["displayName"] == "cfg one"


def test_patch_absent_and_null_keep_everything() -> None:
    current = expected_after_create({**MINIMAL, "conversationsV1Bridge": BRIDGE, "memoryExtractionEnabled": True})
    assert expected_after_patch(current, {}) == current
    nulls = dict.fromkeys(current)
    assert expected_after_patch(current, nulls) == current


def test_patch_merges_channels() -> None:
    current = expected_after_create(
        {
            **MINIMAL,
            "channelSettings": {
                "SMS": {"statusTimeouts": {"inactive": 1, "closed": 2}},
                "VOICE": {"captureRules": [{"from": "*", "to": "*"}]},
                "CHAT": {"statusTimeouts": {"inactive": 3}},
            },
        }
    )
    got = expected_after_patch(
        current,
        {
            "channelSettings": {
                "SMS": {"captureRules": [{"from": "a", "to": "b", "metadata": None}], "statusTimeouts": None},
                "VOICE": None,
                "RCS": {},
            }
        },
    )
    assert got["channelSettings"] == {
        "SMS": {"captureRules": [{"from": "a", "to": "b"}]},  # replaced completely, not merged
        "CHAT": {"statusTimeouts": {"inactive": 3}},  # omitted: untouched
        "RCS": {},
    }


def test_patch_replaces_lists_and_sets_bridge() -> None:
    current = expected_after_create({**MINIMAL, "statusCallbacks": [{"url": "https://a.test"}]})
    got = expected_after_patch(
        current,
        {
            "statusCallbacks": [{"url": "https://b.test", "method": "GET"}],
            "intelligenceConfigurationIds": [],
            "conversationsV1Bridge": BRIDGE,
        },
    )
    assert got["statusCallbacks"] == [{"url": "https://b.test", "method": "GET"}]
    assert got["intelligenceConfigurationIds"] == [] and got["conversationsV1Bridge"] == BRIDGE


def test_model_functions_do_not_alias_their_inputs() -> None:
    body = {**MINIMAL, "channelSettings": {"SMS": {"captureRules": [{"from": "a", "to": "b", "metadata": {"k": "v"}}]}}}
    got = expected_after_create(body)
    got["channelSettings"]["SMS"]["captureRules"][0]["metadata"]["k"] = "changed"
    assert body["channelSettings"]["SMS"]["captureRules"][0]["metadata"] == {"k": "v"}
    patched = expected_after_patch(got, {})
    patched["channelSettings"]["SMS"]["captureRules"].clear()
    assert got["channelSettings"]["SMS"]["captureRules"]


def test_requested_service_id() -> None:
    assert requested_service_id({"conversationsV1Bridge": BRIDGE}) == BRIDGE["serviceId"]
    assert requested_service_id({"conversationsV1Bridge": None}) is None
    assert requested_service_id({}) is None


def test_first_difference_is_type_strict_and_names_the_path() -> None:
    assert first_difference({"a": [1, {"b": True}]}, {"a": [1, {"b": True}]}) is None
    assert "a[1].b" in (first_difference({"a": [1, {"b": 1}]}, {"a": [1, {"b": True}]}) or "")
    assert "x" in (first_difference({"x": 1.0}, {"x": 1}) or "")
    assert "metadata: unexpected" in (first_difference({"metadata": {}}, {}) or "")
    assert "items" in (first_difference([1, 2], [1]) or "")


def test_assert_matches_names_clause_and_first_differing_path() -> None:
    expected = expected_after_create(
        {**MINIMAL, "channelSettings": {"SMS": {"captureRules": [{"from": "a", "to": "b"}]}}}
    )
    actual = {"id": "cfg1", "createdAt": "x", "version": 1, "extra": 1, **expected}
    assert_matches(actual, expected)  # read-only and unknown members are other clauses' business
    invented = {**actual, "channelSettings": {"SMS": {"captureRules": [{"from": "a", "to": "b", "metadata": {}}]}}}
    with pytest.raises(ContractViolation) as info:
        assert_matches(invented, expected, clause="RES-PUT")
    assert "[RES-PUT]" in str(info.value) and "channelSettings.SMS.captureRules[0].metadata" in str(info.value)
    with pytest.raises(ContractViolation, match="conversationsV1Bridge"):
        assert_matches({**actual, "conversationsV1Bridge": BRIDGE}, expected)
    with pytest.raises(ContractViolation, match="memoryExtractionEnabled: missing"):
        assert_matches({k: v for k, v in actual.items() if k != "memoryExtractionEnabled"}, expected)
