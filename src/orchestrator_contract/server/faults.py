"""Deliberate defects the reference server can be started with.

Each fault is a small, realistic bug that breaks exactly one clause of CONTRACT.md; the suites
must catch every one of them (mutation testing of the suites). The server consults
`ServerConfig.has(name)` at the single place where the defect lives, so adding a fault is: one
entry here plus one `if config.has("...")` where the bug would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clauses import CLAUSES


@dataclass(frozen=True)
class Fault:
    """A named defect and the contract clause it breaks."""

    name: str
    description: str
    clause: str


_ALL: tuple[Fault, ...] = (
    Fault("wrong-default-page-size", "A list without pageSize returns up to 20 items instead of 50.", "PAGE-SIZE"),
    Fault("page-size-off-by-one", "pageSize=1001 is accepted instead of answering 400.", "PAGE-SIZE"),
    Fault("leak-internal-field", "The representation carries an internal `accountSid` member.", "RES-SHAPE"),
    Fault("missing-etag", "GET on a configuration answers without an ETag header.", "VER-ETAG"),
    Fault(
        "fractional-timestamps",
        "Timestamps carry microseconds (`2026-01-01T10:00:00.123456Z`).",
        "RES-TIMESTAMP",
    ),
    Fault("no-version-bump-on-patch", "An applied PATCH leaves `version` unchanged.", "VER-ARITH"),
    Fault(
        "idempotency-ignores-body",
        "The idempotency fingerprint leaves out the body: a different body replays instead of 422.",
        "IDEM-MISMATCH",
    ),
    Fault(
        "replay-new-operation",
        "A replay answers with a new operation that applies the write again.",
        "IDEM-REPLAY",
    ),
    Fault(
        "offset-page-tokens",
        "Page tokens are unsigned offsets: concurrent creates/deletes skip or repeat items, tampering is accepted.",
        "PAGE-KEYSET",
    ),
    Fault(
        "filter-lost-on-later-pages",
        "Pages reached with a pageToken no longer apply the memoryStoreId filter.",
        "PAGE-FILTER",
    ),
    Fault(
        "cross-account-fetch",
        "GET /Configurations/{id} finds another account's configuration (200 instead of 404).",
        "AUTH-ISOLATION-404",
    ),
    Fault(
        "completed-before-visible",
        "An operation reports COMPLETED about 300 ms before its effect is applied.",
        "OPS-VISIBLE",
    ),
    Fault(
        "operation-never-completes",
        "The worker applies the effect but never records the terminal status: operations stay PENDING.",
        "OPS-TERMINAL",
    ),
    Fault(
        "accepts-unknown-fields",
        "Unknown top-level request fields are silently dropped instead of answering 400.",
        "ERR-400",
    ),
    Fault("if-match-ignored", "If-Match is not evaluated: stale conditional writes are applied.", "VER-IF-MATCH"),
    Fault("no-www-authenticate", "401 responses lack the WWW-Authenticate header.", "AUTH-401"),
    Fault(
        "conflict-not-detected",
        "A conversationsV1Bridge.serviceId already held by another configuration is accepted.",
        "RES-CONFLICT",
    ),
    Fault(
        "delete-leaves-resource",
        "A DELETE operation completes but the configuration stays (GET still 200).",
        "OPS-DELETE",
    ),
    # -- Authentication and isolation
    Fault("api-key-rejected", "Only Account SIDs are looked up: an API key SID with its secret gets 401.", "AUTH-BASIC"),
    Fault(
        "token-prefix-compare",
        "The secret is compared over the expected secret's length only (strncmp): the right token with "
        "anything appended is accepted.",
        "AUTH-401",
    ),
    Fault(
        "cross-account-403",
        "GET of another account's configuration answers 403 (the ownership check runs after the lookup).",
        "AUTH-ISOLATION-404",
    ),
    Fault(
        "list-ignores-account-with-filter",
        "A list filtered by memoryStoreId forgets the account: it shows other accounts' configurations.",
        "AUTH-ISOLATION-LIST",
    ),
    Fault(
        "error-echoes-credentials",
        "The 401 message quotes the username and the secret that were sent.",
        "AUTH-NO-ECHO",
    ),
    # -- Asynchronous operations
    Fault(
        "async-validation",
        "PATCH bodies are validated by the worker: an invalid PATCH of an existing configuration answers 202 "
        "and its operation FAILS with 400.",
        "OPS-SYNC",
    ),
    Fault(
        "location-differs-from-status-url",
        "The 202's Location header is the relative path of the operation, not the absolute statusUrl.",
        "OPS-202",
    ),
    Fault(
        "create-id-mismatch",
        "The worker gives a new configuration a fresh id: related.configurationId of the create names nothing.",
        "OPS-CREATE-ID",
    ),
    Fault(
        "operation-status-url-relative",
        "The operation resource's statusUrl is the request path, not the absolute URL the 202 gave.",
        "OPS-RESOURCE",
    ),
    Fault(
        "completed-at-while-pending",
        "A PENDING operation already shows completedAt (equal to its createdAt).",
        "OPS-COMPLETED-AT",
    ),
    Fault(
        "terminal-status-flips",
        "Every third read of a finished operation comes from a lagging replica and says PENDING.",
        "OPS-TERMINAL",
    ),
    Fault(
        "failed-op-error-body",
        "A FAILED operation's error is the API error body {code, message, more_info, status}, not RFC 9457.",
        "OPS-ERROR",
    ),
    Fault(
        "foreign-operation-visible",
        "GET /Operations/{id} finds another account's operation (200 instead of 404).",
        "OPS-404",
    ),
    Fault(
        "second-delete-accepted",
        "DELETE is treated as idempotent: deleting a configuration that no longer exists answers 202.",
        "OPS-DELETE",
    ),
    Fault(
        "failed-op-bumps-version",
        "The worker bumps version before re-checking If-Match and keeps the bump when the operation FAILS.",
        "OPS-FAILED-NOOP",
    ),
    # -- Idempotency keys
    Fault(
        "duplicate-key-header-first-wins",
        "Several Idempotency-Key headers are not rejected: the first one is used.",
        "IDEM-FORMAT",
    ),
    Fault(
        "lenient-key-format",
        "The Idempotency-Key pattern is matched at the start only: a UUID with anything appended is accepted.",
        "IDEM-FORMAT",
    ),
    Fault(
        "idempotency-key-case-insensitive",
        "Idempotency keys are lower-cased before lookup: upper- and lower-case forms replay each other.",
        "IDEM-REPLAY",
    ),
    Fault(
        "replay-after-delete-404",
        "The configuration is looked up before the idempotency key: a replay after a DELETE answers 404.",
        "IDEM-REPLAY",
    ),
    Fault(
        "fingerprint-ignores-if-match",
        "The idempotency fingerprint leaves out If-Match: another If-Match replays instead of 422.",
        "IDEM-MISMATCH",
    ),
    Fault(
        "idempotency-stores-4xx",
        "A key is recorded even when its request is rejected: the corrected retry with that key gets 422.",
        "IDEM-4XX",
    ),
    Fault(
        "idempotency-key-race",
        "The key is checked, then (after an await) inserted, without a lock: concurrent requests with one "
        "key each create an operation.",
        "IDEM-CONCURRENT",
    ),
    Fault(
        "idempotency-keys-global",
        "Idempotency keys are stored without the account: another account's key replays its request.",
        "IDEM-SCOPE",
    ),
    Fault(
        "dedupe-without-key",
        "A create without Idempotency-Key gets one derived from its body: identical keyless POSTs are "
        "deduplicated.",
        "IDEM-NO-KEY",
    ),
    # -- Versions and optimistic locking
    Fault(
        "rejected-write-bumps-version",
        "A write rejected with 412 still bumps the configuration's version.",
        "VER-NOCHANGE",
    ),
    Fault("updated-at-not-bumped", "An applied PUT or PATCH leaves updatedAt at its previous value.", "VER-TIMES"),
    Fault("created-at-changes-on-update", "An applied PUT or PATCH sets createdAt to the write's time.", "VER-TIMES"),
    Fault("weak-etag", "GET answers a weak ETag, W/\"<version>\".", "VER-ETAG"),
    Fault("weak-etag-matches", "If-Match compares weakly: W/\"<version>\" matches.", "VER-IF-MATCH"),
    Fault(
        "if-match-unquoted-accepted",
        "If-Match is split on commas and stripped of quotes: an unquoted or unterminated version matches.",
        "VER-IF-MATCH",
    ),
    Fault(
        "post-honours-if-match",
        "POST evaluates If-Match like the other writes: with no current resource it answers 412.",
        "VER-POST-IF-MATCH",
    ),
    Fault(
        "stale-apply-not-rechecked",
        "If-Match is checked when the write is accepted but not again when it applies: concurrent "
        "conditional writes all apply.",
        "VER-CONCURRENT",
    ),
    Fault(
        "stale-apply-fails-409",
        "A write made stale before it applies FAILS with error.status 409 instead of 412.",
        "VER-STALE-APPLY",
    ),
    # -- Pagination and filtering
    Fault("empty-next-token", "The last page carries nextToken \"\" instead of leaving it out.", "PAGE-BODY"),
    Fault(
        "meta-page-size-requested",
        "meta.pageSize is the page size asked for, not the number of items in the page.",
        "PAGE-BODY",
    ),
    Fault("newest-first", "Lists are ordered newest first (descending createdAt, id).", "PAGE-ORDER"),
    Fault(
        "token-bound-to-page-size",
        "Page tokens are signed with the pageSize: a token used with another pageSize is 400.",
        "PAGE-TOKEN",
    ),
    Fault(
        "foreign-token-accepted",
        "Page tokens are not bound to the account: another account's token is accepted.",
        "PAGE-TOKEN-INVALID",
    ),
    Fault(
        "wrong-filter-token-accepted",
        "Page tokens are not bound to the memoryStoreId filter: a token used with another filter is accepted.",
        "PAGE-TOKEN-INVALID",
    ),
    Fault(
        "previous-token-off-by-one",
        "previousToken points at the first item of the page (<=, not <): the previous page is shifted by one.",
        "PAGE-PREVIOUS",
    ),
)

FAULTS: dict[str, Fault] = {f.name: f for f in _ALL}

for _f in _ALL:  # a typo in a clause id is a bug of this module, caught at import
    assert _f.clause in CLAUSES, f"fault {_f.name} names unknown clause {_f.clause}"
assert len(FAULTS) == len(_ALL), "duplicate fault name"


def check_fault_names(names: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Return the names as a frozenset, or raise ValueError naming the unknown ones."""
    unknown = sorted(set(names) - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    return frozenset(names)
