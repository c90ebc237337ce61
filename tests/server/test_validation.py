"""Unit tests of the hand-written request validation."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.idempotency import parse_idempotency_key
from orchestrator_contract.server.validation import (
    apply_changes,
    if_match_allows,
    is_absolute_uri,
    parse_if_match,
    parse_json,
    parse_memory_store_filter,
    parse_page_size,
    validate_create,
    validate_patch,
    validate_replace,
)

from .helpers import valid_body


def rejects(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    assert info.value.status == 400
    return info.value.message


FULL_CHANNELS = {
    "SMS": {
        "statusTimeouts": {"inactive": 10, "closed": 15},
        "captureRules": [{"from": "+18005550100", "to": "*", "metadata": {"k": "v"}}],
    },
    "VOICE": {"captureRules": [{"from": "*", "to": "+18005550106"}]},
    "CHAT": {},
}


def test_create_fills_defaults_and_keeps_written_values() -> None:
    out = validate_create(
        valid_body(
            channelSettings=FULL_CHANNELS,
            statusCallbacks=[{"url": "https://example.com/cb"}],
            conversationsV1Bridge={"serviceId": "IS" + "0" * 32},
        )
    )
    assert out["channelSettings"] == FULL_CHANNELS  # no invented metadata/statusTimeouts
    assert out["statusCallbacks"] == [{"url": "https://example.com/cb", "method": "POST"}]
    assert out["intelligenceConfigurationIds"] == [] and out["memoryExtractionEnabled"] is False
    minimal = validate_create(valid_body())
    assert minimal["channelSettings"] == {} and minimal["statusCallbacks"] == []
    assert "conversationsV1Bridge" not in minimal


@pytest.mark.parametrize("field", ["displayName", "description", "conversationGroupingType", "memoryStoreId"])
def test_create_required_fields(field: str) -> None:
    rejects(validate_create, valid_body(**{field: ...}))
    rejects(validate_create, valid_body(**{field: None}))


def test_null_optional_members_mean_absent_at_every_level() -> None:
    out = validate_create(
        valid_body(
            channelSettings={
                "SMS": {"statusTimeouts": {"inactive": None, "closed": 5}, "captureRules": None},
                "VOICE": None,
            },
            statusCallbacks=[{"url": "https://x.example", "method": None}],
            intelligenceConfigurationIds=None,
            memoryExtractionEnabled=None,
            conversationsV1Bridge=None,
        )
    )
    assert out["channelSettings"] == {"SMS": {"statusTimeouts": {"closed": 5}}}
    assert out["statusCallbacks"] == [{"url": "https://x.example", "method": "POST"}]
    assert "conversationsV1Bridge" not in out
    rule = {"from": "a", "to": "b", "metadata": None}
    assert validate_create(valid_body(channelSettings={"RCS": {"captureRules": [rule]}}))["channelSettings"] == {
        "RCS": {"captureRules": [{"from": "a", "to": "b"}]}
    }


@pytest.mark.parametrize(
    "body",
    [
        valid_body(intelligenceConfigurationIds=[None]),
        valid_body(statusCallbacks=[None]),
        valid_body(channelSettings={"SMS": {"captureRules": [None]}}),
        valid_body(statusCallbacks=[{"url": None}]),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": None, "to": "x"}]}}),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": "x"}]}}),
        valid_body(conversationsV1Bridge={"serviceId": None}),
        valid_body(conversationsV1Bridge={}),
    ],
)
def test_null_required_member_or_array_element_is_400(body: dict[str, Any]) -> None:
    rejects(validate_create, body)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        1,
        None,
        valid_body(extra=1),
        valid_body(extra=None),
        valid_body(id="cfg_x"),
        valid_body(createdAt=None),
        valid_body(version=1),
        valid_body(updatedAt="x"),
        valid_body(traitExtractionStrategyIds=[]),
        valid_body(redactionConfigurationId="r"),
        valid_body(channelSettings={"FAX": {}}),
        valid_body(channelSettings={"sms": {}}),
        valid_body(channelSettings={"SMS": {"other": 1}}),
        valid_body(channelSettings={"SMS": {"statusTimeouts": {"inactive": 1, "x": 2}}}),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": "a", "to": "b", "x": 1}]}}),
        valid_body(statusCallbacks=[{"url": "https://a.example", "x": 1}]),
        valid_body(conversationsV1Bridge={"serviceId": "IS" + "0" * 32, "x": 1}),
    ],
)
def test_closed_bodies_and_read_only_fields(body: Any) -> None:
    rejects(validate_create, body)


@pytest.mark.parametrize(
    "value,ok",
    [
        ("a", True),
        ("A-b_c 9", True),
        ("x" * 32, True),
        ("x" * 33, False),
        ("", False),
        ("é", False),
        ("a.b", False),
        ("a\n", False),
        ("a/b", False),
        (5, False),
    ],
)
def test_display_name(value: Any, ok: bool) -> None:
    body = valid_body(displayName=value)
    if ok:
        assert validate_create(body)["displayName"] == value
    else:
        rejects(validate_create, body)


def test_lengths_count_code_points() -> None:
    assert validate_create(valid_body(description="é" * 512))["description"] == "é" * 512
    assert validate_create(valid_body(description="😀" * 512))
    rejects(validate_create, valid_body(description="é" * 513))
    assert validate_create(valid_body(description=""))["description"] == ""
    rejects(validate_create, valid_body(description="\ud800"))  # lone surrogate is not text


@pytest.mark.parametrize(
    "value,ok",
    [
        (1, True),
        (2147483647, True),
        (0, False),
        (-1, False),
        (2147483648, False),
        (1.0, False),
        (1e3, False),
        (True, False),
        ("5", False),
    ],
)
def test_strict_integers(value: Any, ok: bool) -> None:
    body = valid_body(channelSettings={"SMS": {"statusTimeouts": {"inactive": value}}})
    if ok:
        validate_create(body)
    else:
        rejects(validate_create, body)


def test_strict_integers_from_json_text() -> None:
    for text in (b'{"inactive": 1.0}', b'{"inactive": 1e3}', b'{"inactive": 1E0}'):
        value = parse_json(text)["inactive"]
        rejects(validate_create, valid_body(channelSettings={"SMS": {"statusTimeouts": {"inactive": value}}}))


@pytest.mark.parametrize(
    "body",
    [
        valid_body(conversationGroupingType="group_by_profile"),
        valid_body(memoryStoreId=""),
        valid_body(memoryStoreId=3),
        valid_body(memoryExtractionEnabled="true"),
        valid_body(memoryExtractionEnabled=0),
        valid_body(intelligenceConfigurationIds=["a"] * 6),
        valid_body(intelligenceConfigurationIds=[1]),
        valid_body(intelligenceConfigurationIds="a"),
        valid_body(statusCallbacks=[{"url": "https://a.example"}] * 3),
        valid_body(statusCallbacks=[{"url": "/relative"}]),
        valid_body(statusCallbacks=[{"url": "not a url"}]),
        valid_body(statusCallbacks=[{"url": "https://a.example", "method": "PUT"}]),
        valid_body(statusCallbacks=[{"url": "https://a.example", "method": "post"}]),
        valid_body(statusCallbacks={"url": "https://a.example"}),
        valid_body(channelSettings=[]),
        valid_body(channelSettings={"SMS": []}),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": "", "to": "x"}]}}),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": "a", "to": "b", "metadata": {"k": 1}}]}}),
        valid_body(channelSettings={"SMS": {"captureRules": [{"from": "a", "to": "b", "metadata": {"k": None}}]}}),
        valid_body(conversationsV1Bridge={"serviceId": "IS" + "A" * 32}),
        valid_body(conversationsV1Bridge={"serviceId": "IS" + "0" * 31}),
        valid_body(conversationsV1Bridge={"serviceId": "IS" + "0" * 32 + "\n"}),
    ],
)
def test_wrong_types_and_bounds(body: dict[str, Any]) -> None:
    rejects(validate_create, body)


def test_absolute_uri() -> None:
    for ok in ("https://example.com", "http://127.0.0.1:8080/cb?x=1#f", "urn:isbn:123", "https://[::1]/x"):
        assert is_absolute_uri(ok), ok
    for bad in (
        "",
        "example.com",
        "//example.com/x",
        "https://",
        "http://exa mple.com",
        "https://x:port/",
        "https://a.example/%zz",
        "1http://x",
    ):
        assert not is_absolute_uri(bad), bad


def test_replace_requires_channel_settings_and_keeps_display_name() -> None:
    body = valid_body(displayName=..., channelSettings={})
    out = validate_replace(body)
    assert "displayName" not in out and out["statusCallbacks"] == []
    rejects(validate_replace, valid_body(displayName=...))  # channelSettings missing
    rejects(validate_replace, valid_body(channelSettings=None))
    current = validate_create(
        valid_body(
            displayName="Old", conversationsV1Bridge={"serviceId": "IS" + "1" * 32}, memoryExtractionEnabled=True
        )
    )
    new = apply_changes("replace", current, out)
    assert new["displayName"] == "Old"
    assert "conversationsV1Bridge" not in new and new["memoryExtractionEnabled"] is False


def test_patch_merges_channel_settings() -> None:
    current = validate_create(
        valid_body(
            channelSettings={
                "SMS": {"captureRules": [{"from": "a", "to": "b"}]},
                "VOICE": {"statusTimeouts": {"inactive": 3}},
            }
        )
    )
    patch = validate_patch(
        {
            "channelSettings": {"SMS": None, "CHAT": {"statusTimeouts": {"closed": 9}}},
            "displayName": None,
            "memoryExtractionEnabled": True,
        }
    )
    new = apply_changes("patch", current, patch)
    assert new["channelSettings"] == {
        "VOICE": {"statusTimeouts": {"inactive": 3}},
        "CHAT": {"statusTimeouts": {"closed": 9}},
    }
    assert new["displayName"] == current["displayName"] and new["memoryExtractionEnabled"] is True
    assert apply_changes("patch", current, validate_patch({})) == current
    rejects(validate_patch, {"version": 3})
    rejects(validate_patch, {"channelSettings": {"SMS": {"captureRules": [None]}}})


def test_accepts_unknown_fields_switch() -> None:
    assert "extra" not in validate_create(valid_body(extra=1), allow_unknown=True)
    rejects(validate_create, valid_body(id="x"), allow_unknown=True)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"NaN", b'{"a": Infinity}', b'{"a":1,"a":2}', b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"1" * 5000],
)
def test_bad_json(raw: bytes) -> None:
    rejects(parse_json, raw)


@pytest.mark.parametrize("raw,expected", [("1", 1), ("50", 50), ("1000", 1000), ("007", 7)])
def test_page_size_ok(raw: str, expected: int) -> None:
    assert parse_page_size([raw], 50, 1000) == expected


@pytest.mark.parametrize(
    "raw", ["0", "1001", "-1", "+5", " 5", "5 ", "10.0", "1e1", "", "abc", "٣", "1_0", "99999999999999999999"]
)
def test_page_size_bad(raw: str) -> None:
    rejects(parse_page_size, [raw], 50, 1000)


def test_page_size_default_and_repeat() -> None:
    assert parse_page_size([], 50, 1000) == 50
    rejects(parse_page_size, ["1", "2"], 50, 1000)


def test_memory_store_filter() -> None:
    ok = "mem_service_7" + "a" * 25
    assert parse_memory_store_filter([ok]) == ok
    assert parse_memory_store_filter([]) is None
    for bad in (
        "mem_store_8" + "a" * 25,
        "mem_store_0" + "A" * 25,
        "mem_store_0" + "a" * 24,
        "x",
        "",
        "mem_store_0" + "a" * 25 + "\n",
    ):
        rejects(parse_memory_store_filter, [bad])


def test_idempotency_key_format() -> None:
    key = "123e4567-e89b-12d3-A456-426614174000"
    assert parse_idempotency_key([key]) == key
    assert parse_idempotency_key([]) is None
    for bad in ("123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}", "x", ""):
        rejects(parse_idempotency_key, [bad])
    rejects(parse_idempotency_key, [key, key])


@pytest.mark.parametrize(
    "header,version,allowed",
    [
        (None, 3, True),
        ('"3"', 3, True),
        ('"2"', 3, False),
        ('"2", "3"', 3, True),
        ('"2","3"', 3, True),
        ("*", 3, True),
        ("*", None, False),
        ('W/"3"', 3, False),
        ("3", 3, False),
        ('"3" "4"', 3, False),
        ('"3", garbage', 3, False),
        ("", 3, False),
        ('*, "3"', 3, False),
        ('"3"', None, False),
    ],
)
def test_if_match(header: str | None, version: int | None, allowed: bool) -> None:
    condition = parse_if_match([] if header is None else [header])
    assert if_match_allows(condition, version) is allowed
