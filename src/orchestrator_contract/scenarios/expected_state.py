"""What CONTRACT.md says a configuration looks like after a write: a small, pure model.

The functions take request bodies that are valid for their operation (the suites draw them from
the spec) and return the representation's mutable fields as a correct server must show them
after the write COMPLETED:

- top-level defaults filled in (`channelSettings` `{}`, `statusCallbacks` `[]`,
  `intelligenceConfigurationIds` `[]`, `memoryExtractionEnabled` false, no bridge);
- `null` for an optional member means absent, at any level; a channel key mapped to `null` is
  left out on create/PUT and removes that channel on PATCH (clause RES-NULL);
- `statusCallbacks[].method` defaults to `POST`; nested optional members that were not written
  stay absent (no invented `metadata: {}`) (clause RES-ROUNDTRIP);
- PUT replaces every mutable field except an absent/null `displayName` (clause RES-PUT);
- PATCH keeps absent/null top-level fields and merges `channelSettings` per channel
  (clause RES-PATCH).

No HTTP here: `assert_matches` compares a representation with the model and names the first
differing field path in a `ContractViolation`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import expect

MUTABLE_FIELDS: tuple[str, ...] = (
    "displayName",
    "description",
    "conversationGroupingType",
    "memoryStoreId",
    "channelSettings",
    "statusCallbacks",
    "intelligenceConfigurationIds",
    "memoryExtractionEnabled",
    "conversationsV1Bridge",
)
READ_ONLY_FIELDS: tuple[str, ...] = ("id", "createdAt", "updatedAt", "version")
BETA_FIELDS: tuple[str, ...] = (
    "traitExtractionStrategyIds",
    "observationExtractionStrategyIds",
    "redactionConfigurationId",
)
REQUIRED_REPRESENTATION_FIELDS: frozenset[str] = frozenset(
    {f for f in MUTABLE_FIELDS if f != "conversationsV1Bridge"} | set(READ_ONLY_FIELDS)
)
ALLOWED_REPRESENTATION_FIELDS: frozenset[str] = frozenset(MUTABLE_FIELDS) | set(READ_ONLY_FIELDS) | set(BETA_FIELDS)
CHANNELS: tuple[str, ...] = ("VOICE", "SMS", "RCS", "WHATSAPP", "CHAT")

Fields = dict[str, Any]


# -- normalisation of the nested members (null = absent, method defaults to POST) -------------
def _drop_nulls(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in obj.items() if v is not None}


def _capture_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return _drop_nulls(rule)  # from/to are required; metadata null = absent; its values are strings


def _channel(setting: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    timeouts = setting.get("statusTimeouts")
    if timeouts is not None:
        out["statusTimeouts"] = _drop_nulls(timeouts)
    rules = setting.get("captureRules")
    if rules is not None:
        out["captureRules"] = [_capture_rule(r) for r in rules]
    return out


def channel_settings(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """The written channel map as read back: null channels left out, nulls inside dropped."""
    return {k: _channel(v) for k, v in (value or {}).items() if v is not None}


def status_callbacks(value: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"url": cb["url"], "method": cb.get("method") or "POST"} for cb in (value or [])]


def _bridge(value: Mapping[str, Any]) -> dict[str, Any]:
    return {"serviceId": value["serviceId"]}


def _present(body: Mapping[str, Any], name: str) -> bool:
    return body.get(name) is not None


# -- the three writes ----------------------------------------------------------------------
def _full_replacement(body: Mapping[str, Any]) -> Fields:
    """Every mutable field from a create/PUT body, absent or null optional ones at their default."""
    out: Fields = {
        "displayName": body.get("displayName"),
        "description": body["description"],
        "conversationGroupingType": body["conversationGroupingType"],
        "memoryStoreId": body["memoryStoreId"],
        "channelSettings": channel_settings(body.get("channelSettings")),
        "statusCallbacks": status_callbacks(body.get("statusCallbacks")),
        "intelligenceConfigurationIds": list(body.get("intelligenceConfigurationIds") or []),
        "memoryExtractionEnabled": bool(body.get("memoryExtractionEnabled") or False),
    }
    if _present(body, "conversationsV1Bridge"):
        out["conversationsV1Bridge"] = _bridge(body["conversationsV1Bridge"])
    return out


def mutable_fields(representation: Mapping[str, Any]) -> Fields:
    """The mutable fields of a representation (or of a model value), deep-copied."""
    return {k: copy.deepcopy(representation[k]) for k in MUTABLE_FIELDS if k in representation}


def expected_after_create(body: Mapping[str, Any]) -> Fields:
    """The mutable fields after a completed create with `body` (clauses RES-ROUNDTRIP, RES-NULL)."""
    return _full_replacement(body)


def expected_after_put(current: Mapping[str, Any], body: Mapping[str, Any]) -> Fields:
    """After a completed PUT: everything replaced, except an absent/null displayName (RES-PUT)."""
    out = _full_replacement(body)
    if out["displayName"] is None:
        out["displayName"] = current["displayName"]
    return out


def expected_after_patch(current: Mapping[str, Any], body: Mapping[str, Any]) -> Fields:
    """After a completed PATCH: absent/null keeps; channelSettings merged per channel (RES-PATCH)."""
    out = mutable_fields(current)
    for name, value in body.items():
        if value is None:
            continue
        if name == "channelSettings":
            merged = dict(out.get("channelSettings", {}))
            for key, setting in value.items():
                if setting is None:
                    merged.pop(key, None)
                else:
                    merged[key] = _channel(setting)
            out["channelSettings"] = merged
        elif name == "statusCallbacks":
            out[name] = status_callbacks(value)
        elif name == "conversationsV1Bridge":
            out[name] = _bridge(value)
        else:
            out[name] = copy.deepcopy(value)
    return out


def service_id(fields: Mapping[str, Any]) -> str | None:
    bridge = fields.get("conversationsV1Bridge")
    return bridge["serviceId"] if isinstance(bridge, Mapping) else None


def requested_service_id(body: Mapping[str, Any]) -> str | None:
    """The serviceId a create/PUT/PATCH body asks for (None: it asks for none)."""
    bridge = body.get("conversationsV1Bridge")
    return bridge.get("serviceId") if isinstance(bridge, Mapping) else None


# -- comparison ----------------------------------------------------------------------------
_MISSING: Any = object()


def first_difference(actual: Any, expected: Any, path: str = "") -> str | None:
    """The path of the first difference between two JSON values, with both values; None if equal.

    JSON types are compared strictly: `true` is not `1`, `1.0` is not `1`.
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path or '<root>'}: expected an object {_show(expected)}, got {_show(actual)}"
        for key in expected:
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                return f"{sub}: missing (expected {_show(expected[key])})"
            found = first_difference(actual[key], expected[key], sub)
            if found:
                return found
        for key in actual:
            if key not in expected:
                sub = f"{path}.{key}" if path else key
                return f"{sub}: unexpected member {_show(actual[key])} (it was not written)"
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected an array {_show(expected)}, got {_show(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
            found = first_difference(a, e, f"{path}[{i}]")
            if found:
                return found
        if len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"
        return None
    if type(actual) is not type(expected) or actual != expected:
        return f"{path}: expected {_show(expected)}, got {_show(actual)}"
    return None


def _show(value: Any, limit: int = 160) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def assert_matches(
    actual_representation: Any, expected_fields: Mapping[str, Any], clause: Clause = Clause.RES_ROUNDTRIP
) -> None:
    """Fail with `clause` naming the first mutable field path where the representation differs.

    Only the mutable fields are compared; `conversationsV1Bridge` must be absent when the model
    has none (the representation has it "only when set").
    """
    expect(
        isinstance(actual_representation, Mapping),
        clause,
        f"the representation is not an object: {_show(actual_representation)}",
    )
    actual = {k: actual_representation[k] for k in MUTABLE_FIELDS if k in actual_representation}
    expected = {k: expected_fields[k] for k in MUTABLE_FIELDS if k in expected_fields}
    difference = first_difference(actual, expected)
    who = actual_representation.get("id", "?")
    expect(difference is None, clause, f"configuration {who}: {difference}")
