"""Hand-written request validation, from CONTRACT.md (never from the OpenAPI spec).

Bodies are closed at every level; lengths count code points; patterns match whole strings;
integers are JSON integers only. `null` for an optional member means absent, for a required
member or an array element it is an error. The validators return normalised values: what the
server stores and later returns (defaults filled in where the contract says so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault

GROUPING_TYPES = frozenset(
    {
        "GROUP_BY_PROFILE",
        "GROUP_BY_PARTICIPANT_ADDRESSES",
        "GROUP_BY_PARTICIPANT_ADDRESSES_AND_CHANNEL_TYPE",
    }
)
CHANNELS: tuple[str, ...] = ("VOICE", "SMS", "RCS", "WHATSAPP", "CHAT")
READ_ONLY = frozenset({"id", "createdAt", "updatedAt", "version"})
INT32_MAX = 2_147_483_647
MAX_STATUS_CALLBACKS = 2
MAX_INTELLIGENCE_IDS = 5

_NON_BMP_RE = re.compile("[\U00010000-\U0010ffff]")
DISPLAY_NAME_RE = re.compile(r"[a-zA-Z0-9_ -]+")  # `^[a-zA-Z0-9-_ ]+$`, hyphen moved last
SERVICE_ID_RE = re.compile(r"IS[0-9a-f]{32}")
MEMORY_STORE_FILTER_RE = re.compile(r"mem_(?:store|service)_[0-7][0-9a-z]{25}")
PAGE_SIZE_RE = re.compile(r"[0-9]{1,9}")
# RFC 3986 URI (absolute: scheme ":" ...), characters of the generic syntax only.
_URI_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})*"
    r"(?:#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
)


def bad(message: str) -> ApiError:
    return ApiError(400, message)


# The deliberate faults of the server whose body is being validated (ServerConfig.has); set by the
# validate_* functions for the duration of one call, so the field checks need not pass it along.
HasFault = Callable[[Fault], bool]
_has_fault: ContextVar[HasFault] = ContextVar("has_fault", default=lambda fault: False)


def _has(fault: Fault) -> bool:
    return _has_fault.get()(fault)


@contextmanager
def _faults(has: HasFault | None) -> Iterator[None]:
    token = _has_fault.set(has or (lambda fault: False))
    try:
        yield
    finally:
        _has_fault.reset(token)


# --------------------------------------------------------------------------- JSON text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def parse_json(raw: bytes) -> Any:
    """Parse a UTF-8 JSON text strictly (no NaN/Infinity, no duplicate member names)."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad("The request body is not valid JSON") from None


# --------------------------------------------------------------------------- primitives


def _where(path: str) -> str:
    return path or "the request body"


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(f"{_where(path)} must be a JSON object")
    return value


def _closed(obj: dict[str, Any], allowed: tuple[str, ...] | frozenset[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise bad(f"Unknown field {path}/{key}")


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise bad(f"{path} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad(f"{path} is not valid Unicode (lone surrogate)") from None
    return value


def _nonempty(value: Any, path: str) -> str:
    s = _text(value, path)
    if not s:
        raise bad(f"{path} must not be empty")
    return s


def _int_range(value: Any, path: str, lo: int, hi: int) -> int:
    if type(value) is not int:  # excludes bool and float (1.0, 1e3)
        raise bad(f"{path} must be an integer")
    if not lo <= value <= hi:
        raise bad(f"{path} must be between {lo} and {hi}")
    return value


def _array(value: Any, path: str, max_items: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise bad(f"{path} must be an array")
    if max_items is not None and len(value) > max_items:
        raise bad(f"{path} must have at most {max_items} items")
    for i, item in enumerate(value):
        if item is None:
            raise bad(f"{path}/{i} must not be null")
    return value


def _required(obj: dict[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise bad(f"{path}/{key} is required" if key not in obj else f"{path}/{key} must not be null")
    return value


def is_absolute_uri(value: str) -> bool:
    """RFC 3986 absolute URI; an http(s) URI must also name a host (and a numeric port)."""
    if not _URI_RE.fullmatch(value):
        return False
    scheme, rest = value.split(":", 1)
    if scheme.lower() in ("http", "https"):
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
        except ValueError:
            return False
        return rest.startswith("//") and bool(parts.hostname)
    return True


# --------------------------------------------------------------------------- fields


def _display_name(value: Any, path: str, *, anchored: bool = True) -> str:
    """`anchored=False` (fault display-name-unanchored-on-put) matches the pattern at the start only."""
    s = _text(value, path)
    if not 1 <= len(s) <= 32:
        raise bad(f"{path} must be 1 to 32 characters long")
    if not (DISPLAY_NAME_RE.fullmatch if anchored else DISPLAY_NAME_RE.match)(s):
        raise bad(f"{path} may contain only letters, digits, '-', '_' and spaces")
    return s


def _description(value: Any, path: str) -> str:
    s = _text(value, path)
    length = len(s.encode("utf-16-le")) // 2 if _has(Fault.DESCRIPTION_LENGTH_UTF16) else len(s)
    if length > 512:
        raise bad(f"{path} must be at most 512 characters long")
    if _has(Fault.DESCRIPTION_CUT_AT_NUL):
        s = s.split("\0", 1)[0]  # what a NUL-terminated copy keeps
    return s


def _grouping(value: Any, path: str) -> str:
    if isinstance(value, str) and _has(Fault.GROUPING_TYPE_CASE_INSENSITIVE):
        value = value.upper()
    if not isinstance(value, str) or value not in GROUPING_TYPES:
        raise bad(f"{path} must be one of {', '.join(sorted(GROUPING_TYPES))}")
    return value


def _memory_store_id(value: Any, path: str) -> str:
    return _nonempty(value, path)


def _status_timeouts(value: Any, path: str) -> dict[str, int]:
    obj = _object(value, path)
    _closed(obj, ("inactive", "closed"), path)
    out: dict[str, int] = {}
    for key in ("inactive", "closed"):
        if obj.get(key) is not None:
            out[key] = _int_range(obj[key], f"{path}/{key}", 1, INT32_MAX)
    return out


def _capture_rule(value: Any, path: str) -> dict[str, Any]:
    obj = _object(value, path)
    _closed(obj, ("from", "to", "metadata"), path)
    out: dict[str, Any] = {
        "from": _nonempty(_required(obj, "from", path), f"{path}/from"),
        "to": _nonempty(_required(obj, "to", path), f"{path}/to"),
    }
    if obj.get("metadata") is not None:
        meta = _object(obj["metadata"], f"{path}/metadata")
        out["metadata"] = {_text(k, f"{path}/metadata"): _text(v, f"{path}/metadata/{k}") for k, v in meta.items()}
        if _has(Fault.METADATA_NON_BMP_REPLACED):  # a utf8mb3 column holds at most 3 bytes per character
            out["metadata"] = {k: _NON_BMP_RE.sub("\ufffd", v) for k, v in out["metadata"].items()}
    return out


def _channel(value: Any, path: str) -> dict[str, Any]:
    obj = _object(value, path)
    _closed(obj, ("statusTimeouts", "captureRules"), path)
    out: dict[str, Any] = {}
    if obj.get("statusTimeouts") is not None:
        out["statusTimeouts"] = _status_timeouts(obj["statusTimeouts"], f"{path}/statusTimeouts")
    if obj.get("captureRules") is not None:
        rules = _array(obj["captureRules"], f"{path}/captureRules")
        out["captureRules"] = [_capture_rule(r, f"{path}/captureRules/{i}") for i, r in enumerate(rules)]
    return out


def _channel_settings(value: Any, path: str, *, keep_nulls: bool) -> dict[str, Any]:
    """`keep_nulls` (PATCH): a channel mapped to null is kept as None, meaning "remove it"."""
    obj = _object(value, path)
    _closed(obj, CHANNELS, path)
    out: dict[str, Any] = {}
    for key, channel in obj.items():
        if channel is None:
            if keep_nulls:
                out[key] = None
            continue
        out[key] = _channel(channel, f"{path}/{key}")
    return out


def _status_callbacks(value: Any, path: str, max_items: int | None = MAX_STATUS_CALLBACKS) -> list[dict[str, str]]:
    items = _array(value, path, max_items)
    out = []
    for i, item in enumerate(items):
        p = f"{path}/{i}"
        obj = _object(item, p)
        _closed(obj, ("url", "method"), p)
        url = _text(_required(obj, "url", p), f"{p}/url")
        if _has(Fault.CALLBACK_URL_RELATIVE_ACCEPTED):
            try:
                urlsplit(url)  # "it parses, so it is a URL"
            except ValueError:
                raise bad(f"{p}/url must be an absolute URI") from None
        elif not is_absolute_uri(url):
            raise bad(f"{p}/url must be an absolute URI")
        method = obj.get("method")
        if method is None:
            method = "POST"
        elif method not in ("POST", "GET"):
            raise bad(f"{p}/method must be POST or GET")
        out.append({"url": url, "method": method})
    return out


def _intelligence_ids(value: Any, path: str) -> list[str]:
    items = _array(value, path, MAX_INTELLIGENCE_IDS)
    if _has(Fault.INTELLIGENCE_IDS_LIMIT_EXCLUSIVE) and len(items) >= MAX_INTELLIGENCE_IDS:
        raise bad(f"{path} must have at most {MAX_INTELLIGENCE_IDS} items")
    return [_text(item, f"{path}/{i}") for i, item in enumerate(items)]


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise bad(f"{path} must be a boolean")
    return value


def _bridge(value: Any, path: str) -> dict[str, str]:
    obj = _object(value, path)
    _closed(obj, ("serviceId",), path)
    service_id = _required(obj, "serviceId", path)
    if not isinstance(service_id, str) or not SERVICE_ID_RE.fullmatch(service_id):
        raise bad(f"{path}/serviceId must match ^IS[0-9a-f]{{32}}$")
    return {"serviceId": service_id}


_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "displayName": _display_name,
    "description": _description,
    "conversationGroupingType": _grouping,
    "memoryStoreId": _memory_store_id,
    "channelSettings": lambda v, p: _channel_settings(v, p, keep_nulls=False),
    "statusCallbacks": _status_callbacks,
    "intelligenceConfigurationIds": _intelligence_ids,
    "memoryExtractionEnabled": _boolean,
    "conversationsV1Bridge": _bridge,
}
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "channelSettings": dict,
    "statusCallbacks": list,
    "intelligenceConfigurationIds": list,
    "memoryExtractionEnabled": lambda: False,
}
_REQUIRED = {
    "create": ("displayName", "description", "conversationGroupingType", "memoryStoreId"),
    "replace": ("description", "conversationGroupingType", "memoryStoreId", "channelSettings"),
    "patch": (),
}


def _lone_surrogate_anywhere(value: Any) -> bool:
    """Fault recursive-body-scan: one recursive pass over every value, however deep."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_lone_surrogate_anywhere(k) or _lone_surrogate_anywhere(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate_anywhere(v) for v in value)
    return False


def _validate(body: Any, mode: str, allow_unknown: bool) -> dict[str, Any]:
    if _has(Fault.RECURSIVE_BODY_SCAN) and _lone_surrogate_anywhere(body):
        raise bad("The request body contains a lone surrogate")
    obj = _object(body, "")
    for key in obj:
        if key in READ_ONLY:
            raise bad(f"/{key} is read-only")
        if key not in _FIELDS and not allow_unknown:  # allow_unknown: fault accepts-unknown-fields
            raise bad(f"Unknown field /{key}")
    out: dict[str, Any] = {}
    for name, check in _FIELDS.items():
        value = obj.get(name)
        if value is None:
            if name in _REQUIRED[mode]:
                raise bad(f"/{name} is required" if name not in obj else f"/{name} must not be null")
            continue
        if mode == "patch" and name == "channelSettings":
            out[name] = _channel_settings(value, "/channelSettings", keep_nulls=True)
        elif mode == "replace" and name == "statusCallbacks" and _has(Fault.PUT_STATUS_CALLBACKS_UNBOUNDED):
            out[name] = _status_callbacks(value, "/statusCallbacks", max_items=None)
        elif mode == "replace" and name == "displayName" and _has(Fault.DISPLAY_NAME_UNANCHORED_ON_PUT):
            out[name] = _display_name(value, "/displayName", anchored=False)
        else:
            out[name] = check(value, f"/{name}")
    if mode != "patch":
        for name, default in _DEFAULTS.items():
            out.setdefault(name, default())
    return out


def validate_create(body: Any, *, allow_unknown: bool = False, has: HasFault | None = None) -> dict[str, Any]:
    """The complete field set of a new configuration. `has`: the server's faults (none by default)."""
    with _faults(has):
        return _validate(body, "create", allow_unknown)


def validate_replace(body: Any, *, allow_unknown: bool = False, has: HasFault | None = None) -> dict[str, Any]:
    """The complete field set of a PUT, except `displayName` when absent/null (kept)."""
    with _faults(has):
        return _validate(body, "replace", allow_unknown)


def validate_patch(body: Any, *, allow_unknown: bool = False, has: HasFault | None = None) -> dict[str, Any]:
    """Only the members to change; `channelSettings` maps channel -> settings or None (remove)."""
    with _faults(has):
        return _validate(body, "patch", allow_unknown)


def apply_changes(kind: str, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The field set after a replace or patch of `current` (neither argument is modified)."""
    if kind == "replace":
        new = dict(changes)
        if "displayName" not in new:
            new["displayName"] = current["displayName"]
        return new
    new = dict(current)
    for name, value in changes.items():
        if name == "channelSettings":
            merged = dict(current.get("channelSettings", {}))
            for channel, settings in value.items():
                if settings is None:
                    merged.pop(channel, None)
                else:
                    merged[channel] = settings
            new[name] = merged
        else:
            new[name] = value
    return new


# --------------------------------------------------------------------------- headers, query


def parse_page_size(values: list[str], default: int, maximum: int) -> int:
    if not values:
        return default
    if len(values) > 1:
        raise bad("pageSize must be given at most once")
    raw = values[0]
    if not PAGE_SIZE_RE.fullmatch(raw):
        raise bad(f"pageSize must be an integer between 1 and {maximum}")
    size = int(raw)
    if not 1 <= size <= maximum:
        raise bad(f"pageSize must be an integer between 1 and {maximum}")
    return size


def parse_memory_store_filter(values: list[str]) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise bad("memoryStoreId must be given at most once")
    if not MEMORY_STORE_FILTER_RE.fullmatch(values[0]):
        raise bad("memoryStoreId must match ^mem_(store|service)_[0-7][0-9a-z]{25}$")
    return values[0]


# If-Match: None = header absent (unconditional); "*" = any current representation;
# a list = the strong opaque tags (weak and malformed tags never match, so they are dropped,
# and a malformed header becomes the empty list, which matches nothing).
IfMatch = None | str | list[str]
_ETAG_RE = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')


def parse_if_match(values: list[str], *, weak_matches: bool = False, lenient: bool = False) -> IfMatch:
    """`weak_matches` and `lenient` are the faults weak-etag-matches and if-match-unquoted-accepted."""
    if not values:
        return None
    raw = ", ".join(values)
    if raw.strip() == "*":
        return "*"
    if lenient:
        return [part.strip().strip('"') for part in raw.split(",")]
    tags: list[str] = []
    pos = 0
    while pos < len(raw):
        if raw[pos] in ", \t":
            pos += 1
            continue
        m = _ETAG_RE.match(raw, pos)
        if not m or (m.end() < len(raw) and raw[m.end()] != ","):
            return []  # malformed: never matches
        if not m.group(1) or weak_matches:
            tags.append(m.group(2))
        pos = m.end()
    return tags


def if_match_allows(condition: IfMatch, version: int | None) -> bool:
    """Whether a write conditioned on `condition` may go ahead; `version` None = no resource."""
    if condition is None:
        return True
    if version is None:
        return False
    if condition == "*":
        return True
    return str(version) in condition
