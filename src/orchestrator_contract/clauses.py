"""The clauses of CONTRACT.md, each with a stable id.

Every check in the suites names the clause it enforces (`ContractViolation(clause=...)`), every
fault of the reference server names the clause it breaks, and the README's traceability table is
keyed by these ids. The text is a short quotation of the contract, not a paraphrase.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    id: str
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

_TEXT: dict[str, str] = {
    # Endpoints and statuses
    "GEN-STATUS": "Each operation answers only its documented statuses.",
    "GEN-NO-5XX": "A conformant server never answers 5xx to any input.",
    "GEN-405": "Any other method on these paths: 405 with an `Allow` header.",
    "GEN-DATE": "Every response carries a `Date` header.",
    "GEN-UNKNOWN-QUERY": "Unknown query parameters are ignored.",
    # Authentication and isolation
    "AUTH-BASIC": "HTTP Basic with an Account SID and auth token, or an API key SID and secret.",
    "AUTH-401": "Missing or wrong credentials: 401, error code 20003, `WWW-Authenticate: Basic`.",
    "AUTH-ISOLATION-404": "Another account's ids answer 404 on every endpoint (never 200, never 403).",
    "AUTH-ISOLATION-LIST": "Lists show only the caller's own configurations.",
    "AUTH-NO-ECHO": "No response ever echoes a credential.",
    # Errors
    "ERR-BODY": "Every 4xx/5xx is `application/json` `{code, message, more_info, status}`, status = HTTP status.",
    "ERR-400": "Bad JSON, non-object body, wrong type, out of bounds, unknown or read-only field: 400 (closed bodies).",
    "ERR-415": "A body with a Content-Type other than JSON on POST/PUT/PATCH: 415.",
    "ERR-413": "A body over 256 KiB: 413.",
    "ERR-429": "Too many requests: 429 with an integer `Retry-After` header.",
    "ERR-EXACT": "Values are compared exactly, as case-sensitive strings: path ids, enum values, filters, keys.",
    # The Configuration resource
    "RES-NULL": "`null` for an optional member means absent; for a required member or an array element: 400.",
    "RES-PUT": "PUT replaces every mutable field (absent optional -> default), except an absent/null displayName.",
    "RES-PATCH": "PATCH: absent/null keeps a field; channelSettings merges per channel; null removes a channel.",
    "RES-EMPTY-PATCH": "An empty PATCH is still applied (it bumps `version`).",
    "RES-CONFLICT": "A serviceId held by another configuration of the account: 409 + `X-Conflicting-Resource-Id`.",
    "RES-SHAPE": "The representation has exactly the documented fields (closed; bridge only when set).",
    "RES-TIMESTAMP": "Timestamps are RFC 3339 UTC in whole seconds, `YYYY-MM-DDTHH:MM:SSZ`.",
    "RES-ROUNDTRIP": "After a completed write, GET returns exactly the written values with defaults filled in.",
    # Asynchronous operations
    "OPS-SYNC": "Writes validate synchronously: 400/404/409/412/422 are answered at once, not as FAILED operations.",
    "OPS-202": (
        "202 body `{statusUrl, related.configurationId}`; `Operation-Id`, `Location` = statusUrl, `Retry-After` >= 0."
    ),
    "OPS-CREATE-ID": "For a create, `related.configurationId` is the id the new configuration has.",
    "OPS-RESOURCE": "The operation resource: operationId, status, createdAt, completedAt, statusUrl, related, error.",
    "OPS-TERMINAL": "PENDING moves to COMPLETED or FAILED; a terminal status never changes.",
    "OPS-COMPLETED-AT": "`completedAt` is present exactly when terminal and not before `createdAt`.",
    "OPS-ERROR": "`error` only when FAILED, as RFC 9457 problem details (type, title, status, detail).",
    "OPS-404": "Unknown or foreign operation ids: 404.",
    "OPS-VISIBLE": "Once an operation is COMPLETED its effect is visible to every later request.",
    "OPS-FAILED-NOOP": "A failed operation changes nothing.",
    "OPS-DELETE": "After a completed DELETE, GET is 404 and a new DELETE is 404.",
    # Idempotency keys
    "IDEM-FORMAT": "`Idempotency-Key` must be a UUID-shaped string; malformed or repeated header: 400.",
    "IDEM-REPLAY": "A replay returns the original 202 byte for byte with the same Operation-Id and does nothing else.",
    "IDEM-MISMATCH": "The same key with another method, path, body or If-Match: 422, nothing done.",
    "IDEM-4XX": "Requests answered 4xx are not stored: a corrected retry with the same key is processed.",
    "IDEM-CONCURRENT": "Concurrent requests with one key: exactly one operation; the others replay or get 409.",
    "IDEM-SCOPE": "Keys are scoped to the account: two accounts using one key are independent.",
    "IDEM-NO-KEY": "Requests without a key are never deduplicated.",
    # Versions and optimistic locking
    "VER-ARITH": "`version` is 1 after create; every applied PUT or PATCH adds exactly 1.",
    "VER-NOCHANGE": "GETs, replays and rejected or failed requests change nothing.",
    "VER-TIMES": "`createdAt` never changes; `updatedAt` >= createdAt, never backwards, set within the write's window.",
    "VER-ETAG": 'GET on a configuration answers `ETag: "<version>"`.',
    "VER-IF-MATCH": "If-Match (list or `*`, strong comparison) that does not match: 412, nothing done.",
    "VER-POST-IF-MATCH": "POST ignores If-Match.",
    "VER-STALE-APPLY": "Stale between the 202 and its application: the operation FAILS with error.status 412.",
    "VER-CONCURRENT": "N concurrent conditional updates with the same If-Match apply exactly once.",
    # Pagination and filtering
    "PAGE-SIZE": "`pageSize` integer 1-1000, default 50; out of range or not an integer: 400.",
    "PAGE-BODY": (
        "Body `{configurations, meta{key, pageSize, nextToken?, previousToken?}}`; tokens present exactly when due."
    ),
    "PAGE-ORDER": "Order: ascending by createdAt, then id.",
    "PAGE-TOKEN": "A token is bound to the account and the filter, not to pageSize.",
    "PAGE-TOKEN-INVALID": "Malformed, tampered, foreign-account or wrong-filter token: 400.",
    "PAGE-KEYSET": "A full walk returns every configuration that exists throughout exactly once, in order.",
    "PAGE-PREVIOUS": "`previousToken` of page k returns page k-1.",
    "PAGE-FILTER": "`memoryStoreId` must match its pattern (else 400) and is an exact filter on every page.",
}

CLAUSES: dict[str, Clause] = {cid: Clause(cid, _SECTIONS[cid.split("-", 1)[0]], text) for cid, text in _TEXT.items()}


def describe(cid: str) -> str:
    c = CLAUSES[cid]
    return f"[{c.id}] {c.section}: {c.text}"
