"""Records, ids, timestamps and the JSON representations the server answers."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

# The mutable fields of a configuration, in the order the representation lists them.
FIELD_ORDER: tuple[str, ...] = (
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

US = 1_000_000  # microseconds per second: timestamps are stored as integer microseconds


def now_us() -> int:
    return time.time_ns() // 1000


def whole_second(us: int) -> int:
    return us - us % US


def format_ts(us: int, fractional: bool = False) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`; with `fractional` (a fault) the microseconds are appended."""
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // US))
    return f"{base}.{us % US:06d}Z" if fractional else base + "Z"


def http_date(us: int) -> str:
    """The IMF-fixdate of an instant (truncated to its second), for the Date header."""
    return formatdate(us // US, usegmt=True)


def dumps(obj: Any) -> bytes:
    """Compact JSON as sent on the wire (ASCII-escaped, so any string encodes)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_id_lock = threading.Lock()
_last_id: list[int] = [0]


def new_id(prefix: str) -> str:
    """`prefix_` + 26 lowercase Crockford base32 chars (48-bit ms time, 80 random bits).

    Values are strictly increasing within a process (the random part is bumped when the
    millisecond repeats or the clock steps back), so ids never repeat.
    """
    with _id_lock:
        n = ((time.time_ns() // 1_000_000) << 80) | secrets.randbits(80)
        if n <= _last_id[0]:
            n = _last_id[0] + 1
        _last_id[0] = n
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[n & 31])
        n >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


@dataclass
class ConfigRecord:
    """A stored configuration: metadata plus the mutable fields (already normalised)."""

    id: str
    account: str
    created_us: int
    updated_us: int
    version: int
    fields: dict[str, Any]


def configuration_json(rec: ConfigRecord, *, fractional: bool = False, leak_account: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rec.id}
    for name in FIELD_ORDER:
        if name in rec.fields:
            out[name] = rec.fields[name]
    out["createdAt"] = format_ts(rec.created_us, fractional)
    out["updatedAt"] = format_ts(rec.updated_us, fractional)
    out["version"] = rec.version
    if leak_account:  # fault leak-internal-field
        out["accountSid"] = rec.account
    return out


PENDING, COMPLETED, FAILED = "PENDING", "COMPLETED", "FAILED"


@dataclass
class OperationRecord:
    """An asynchronous operation. `kind` is create/replace/patch/delete; `payload` is what
    the worker needs to apply it (validated changes, the If-Match condition)."""

    id: str
    account: str
    kind: str
    status: str
    created_us: int
    completed_us: int | None
    config_id: str
    status_url: str
    payload: dict[str, Any]
    error: dict[str, Any] | None


def operation_json(
    op: OperationRecord, *, fractional: bool = False, completed_at_when_pending: bool = False
) -> dict[str, Any]:
    """`completed_at_when_pending` is the fault completed-at-while-pending."""
    out: dict[str, Any] = {
        "operationId": op.id,
        "status": op.status,
        "createdAt": format_ts(op.created_us, fractional),
    }
    if op.status != PENDING and op.completed_us is not None:
        out["completedAt"] = format_ts(op.completed_us, fractional)
    elif completed_at_when_pending:
        out["completedAt"] = format_ts(op.completed_us or op.created_us, fractional)
    out["statusUrl"] = op.status_url
    out["related"] = {"configurationId": op.config_id}
    if op.status == FAILED and op.error is not None:
        out["error"] = op.error
    return out
