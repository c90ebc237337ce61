"""The clauses of CONTRACT.md, each with a stable id.

Every check in the suites names the clause it enforces (`expect(..., Clause.X, ...)`), every
fault of the reference server names the clause it breaks, and the README's traceability table is
keyed by these ids. The text is a short quotation of the contract, not a paraphrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Clause(StrEnum):
    """A clause's id: `Clause.VER_ARITH == "VER-ARITH"`. Checks name members, not strings, so a
    mistyped id fails when the module is imported (and in mypy), not when its check first fails;
    being a `str`, a member compares, formats and serialises as its id in reports and JSON."""

    # Endpoints and statuses
    GEN_STATUS = "GEN-STATUS"
    GEN_NO_5XX = "GEN-NO-5XX"
    GEN_405 = "GEN-405"
    GEN_DATE = "GEN-DATE"
    GEN_UNKNOWN_QUERY = "GEN-UNKNOWN-QUERY"
    # Authentication and isolation
    AUTH_BASIC = "AUTH-BASIC"
    AUTH_401 = "AUTH-401"
    AUTH_ISOLATION_404 = "AUTH-ISOLATION-404"
    AUTH_ISOLATION_LIST = "AUTH-ISOLATION-LIST"
    AUTH_NO_ECHO = "AUTH-NO-ECHO"
    # Errors
    ERR_BODY = "ERR-BODY"
    ERR_400 = "ERR-400"
    ERR_415 = "ERR-415"
    ERR_413 = "ERR-413"
    ERR_429 = "ERR-429"
    ERR_EXACT = "ERR-EXACT"
    # The Configuration resource
    RES_NULL = "RES-NULL"
    RES_PUT = "RES-PUT"
    RES_PATCH = "RES-PATCH"
    RES_EMPTY_PATCH = "RES-EMPTY-PATCH"
    RES_CONFLICT = "RES-CONFLICT"
    RES_SHAPE = "RES-SHAPE"
    RES_TIMESTAMP = "RES-TIMESTAMP"
    RES_ROUNDTRIP = "RES-ROUNDTRIP"
    # Asynchronous operations
    OPS_SYNC = "OPS-SYNC"
    OPS_202 = "OPS-202"
    OPS_CREATE_ID = "OPS-CREATE-ID"
    OPS_RESOURCE = "OPS-RESOURCE"
    OPS_TERMINAL = "OPS-TERMINAL"
    OPS_COMPLETED_AT = "OPS-COMPLETED-AT"
    OPS_ERROR = "OPS-ERROR"
    OPS_404 = "OPS-404"
    OPS_VISIBLE = "OPS-VISIBLE"
    OPS_FAILED_NOOP = "OPS-FAILED-NOOP"
    OPS_DELETE = "OPS-DELETE"
    # Idempotency keys
    IDEM_FORMAT = "IDEM-FORMAT"
    IDEM_REPLAY = "IDEM-REPLAY"
    IDEM_MISMATCH = "IDEM-MISMATCH"
    IDEM_4XX = "IDEM-4XX"
    IDEM_CONCURRENT = "IDEM-CONCURRENT"
    IDEM_SCOPE = "IDEM-SCOPE"
    IDEM_NO_KEY = "IDEM-NO-KEY"
    # Versions and optimistic locking
    VER_ARITH = "VER-ARITH"
    VER_NOCHANGE = "VER-NOCHANGE"
    VER_TIMES = "VER-TIMES"
    VER_ETAG = "VER-ETAG"
    VER_IF_MATCH = "VER-IF-MATCH"
    VER_POST_IF_MATCH = "VER-POST-IF-MATCH"
    VER_STALE_APPLY = "VER-STALE-APPLY"
    VER_CONCURRENT = "VER-CONCURRENT"
    # Pagination and filtering
    PAGE_SIZE = "PAGE-SIZE"
    PAGE_BODY = "PAGE-BODY"
    PAGE_ORDER = "PAGE-ORDER"
    PAGE_TOKEN = "PAGE-TOKEN"
    PAGE_TOKEN_INVALID = "PAGE-TOKEN-INVALID"
    PAGE_KEYSET = "PAGE-KEYSET"
    PAGE_PREVIOUS = "PAGE-PREVIOUS"
    PAGE_FILTER = "PAGE-FILTER"


@dataclass(frozen=True)
class ClauseInfo:
    id: Clause
    section: str
    text: str


_SECTIONS: dict[str, str] = {
    "GEN": "Endpoints and statuses",
    "AUTH": "Authentication and isolation",
    "ERR": "Errors",
    "RES": "The Configuration resource",
    "OPS": "Asynchronous operations",
    "IDEM": "Idempotency keys",
    "VER": "Versions and optimistic locking",
    "PAGE": "Pagination and filtering",
}

_TEXT: dict[Clause, str] = {
    # Endpoints and statuses
    Clause.GEN_STATUS: "Each operation answers only its documented statuses.",
    Clause.GEN_NO_5XX: "A conformant server never answers 5xx to any input.",
    Clause.GEN_405: "Any other method on these paths: 405 with an `Allow` header.",
    Clause.GEN_DATE: "Every response carries a `Date` header.",
    Clause.GEN_UNKNOWN_QUERY: "Unknown query parameters are ignored.",
    # Authentication and isolation
    Clause.AUTH_BASIC: "HTTP Basic with an Account SID and auth token, or an API key SID and secret.",
    Clause.AUTH_401: "Missing or wrong credentials: 401, error code 20003, `WWW-Authenticate: Basic`.",
    Clause.AUTH_ISOLATION_404: "Another account's ids answer 404 on every endpoint (never 200, never 403).",
    Clause.AUTH_ISOLATION_LIST: "Lists show only the caller's own configurations.",
    Clause.AUTH_NO_ECHO: "No response ever echoes a credential.",
    # Errors
    Clause.ERR_BODY: "Every 4xx/5xx is `application/json` `{code, message, more_info, status}`, status = HTTP status.",
    Clause.ERR_400: (
        "Bad JSON, non-object body, wrong type, out of bounds, unknown or read-only field: 400 (closed bodies)."
    ),
    Clause.ERR_415: "A body with a Content-Type other than JSON on POST/PUT/PATCH: 415.",
    Clause.ERR_413: "A body over 256 KiB: 413.",
    Clause.ERR_429: "Too many requests: 429 with an integer `Retry-After` header.",
    Clause.ERR_EXACT: "Values are compared exactly, as case-sensitive strings: path ids, enum values, filters, keys.",
    # The Configuration resource
    Clause.RES_NULL: "`null` for an optional member means absent; for a required member or an array element: 400.",
    Clause.RES_PUT: "PUT replaces every mutable field (absent optional -> default), except an absent/null displayName.",
    Clause.RES_PATCH: "PATCH: absent/null keeps a field; channelSettings merges per channel; null removes a channel.",
    Clause.RES_EMPTY_PATCH: "An empty PATCH is still applied (it bumps `version`).",
    Clause.RES_CONFLICT: "A serviceId held by another configuration of the account: 409 + `X-Conflicting-Resource-Id`.",
    Clause.RES_SHAPE: "The representation has exactly the documented fields (closed; bridge only when set).",
    Clause.RES_TIMESTAMP: "Timestamps are RFC 3339 UTC in whole seconds, `YYYY-MM-DDTHH:MM:SSZ`.",
    Clause.RES_ROUNDTRIP: "After a completed write, GET returns exactly the written values with defaults filled in.",
    # Asynchronous operations
    Clause.OPS_SYNC: (
        "Writes validate synchronously: 400/404/409/412/422 are answered at once, not as FAILED operations."
    ),
    Clause.OPS_202: (
        "202 body `{statusUrl, related.configurationId}`; `Operation-Id`, `Location` = statusUrl, `Retry-After` >= 0."
    ),
    Clause.OPS_CREATE_ID: "For a create, `related.configurationId` is the id the new configuration has.",
    Clause.OPS_RESOURCE: (
        "The operation resource: operationId, status, createdAt, completedAt, statusUrl, related, error."
    ),
    Clause.OPS_TERMINAL: "PENDING moves to COMPLETED or FAILED; a terminal status never changes.",
    Clause.OPS_COMPLETED_AT: "`completedAt` is present exactly when terminal and not before `createdAt`.",
    Clause.OPS_ERROR: "`error` only when FAILED, as RFC 9457 problem details (type, title, status, detail).",
    Clause.OPS_404: "Unknown or foreign operation ids: 404.",
    Clause.OPS_VISIBLE: "Once an operation is COMPLETED its effect is visible to every later request.",
    Clause.OPS_FAILED_NOOP: "A failed operation changes nothing.",
    Clause.OPS_DELETE: "After a completed DELETE, GET is 404 and a new DELETE is 404.",
    # Idempotency keys
    Clause.IDEM_FORMAT: "`Idempotency-Key` must be a UUID-shaped string; malformed or repeated header: 400.",
    Clause.IDEM_REPLAY: (
        "A replay returns the original 202 byte for byte with the same Operation-Id and does nothing else."
    ),
    Clause.IDEM_MISMATCH: "The same key with another method, path, body or If-Match: 422, nothing done.",
    Clause.IDEM_4XX: "Requests answered 4xx are not stored: a corrected retry with the same key is processed.",
    Clause.IDEM_CONCURRENT: "Concurrent requests with one key: exactly one operation; the others replay or get 409.",
    Clause.IDEM_SCOPE: "Keys are scoped to the account: two accounts using one key are independent.",
    Clause.IDEM_NO_KEY: "Requests without a key are never deduplicated.",
    # Versions and optimistic locking
    Clause.VER_ARITH: "`version` is 1 after create; every applied PUT or PATCH adds exactly 1.",
    Clause.VER_NOCHANGE: "GETs, replays and rejected or failed requests change nothing.",
    Clause.VER_TIMES: (
        "`createdAt` never changes; `updatedAt` >= createdAt, never backwards, set within the write's window."
    ),
    Clause.VER_ETAG: 'GET on a configuration answers `ETag: "<version>"`.',
    Clause.VER_IF_MATCH: "If-Match (list or `*`, strong comparison) that does not match: 412, nothing done.",
    Clause.VER_POST_IF_MATCH: "POST ignores If-Match.",
    Clause.VER_STALE_APPLY: "Stale between the 202 and its application: the operation FAILS with error.status 412.",
    Clause.VER_CONCURRENT: "N concurrent conditional updates with the same If-Match apply exactly once.",
    # Pagination and filtering
    Clause.PAGE_SIZE: "`pageSize` integer 1-1000, default 50; out of range or not an integer: 400.",
    Clause.PAGE_BODY: (
        "Body `{configurations, meta{key, pageSize, nextToken?, previousToken?}}`; tokens present exactly when due."
    ),
    Clause.PAGE_ORDER: "Order: ascending by createdAt, then id.",
    Clause.PAGE_TOKEN: "A token is bound to the account and the filter, not to pageSize.",
    Clause.PAGE_TOKEN_INVALID: "Malformed, tampered, foreign-account or wrong-filter token: 400.",
    Clause.PAGE_KEYSET: "A full walk returns every configuration that exists throughout exactly once, in order.",
    Clause.PAGE_PREVIOUS: "`previousToken` of page k returns page k-1.",
    Clause.PAGE_FILTER: "`memoryStoreId` must match its pattern (else 400) and is an exact filter on every page.",
}

CLAUSES: dict[str, ClauseInfo] = {  # keyed by the members: a plain id string finds its clause too
    cid: ClauseInfo(cid, _SECTIONS[cid.split("-", 1)[0]], text) for cid, text in _TEXT.items()
}
assert set(CLAUSES) == set(Clause), "every Clause member needs its text, in its section"


def describe(cid: str) -> str:
    c = CLAUSES[cid]
    return f"[{c.id}] {c.section}: {c.text}"
