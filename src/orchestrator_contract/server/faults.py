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
