"""Idempotency keys, in one place: reading the header, the request's fingerprint, and the ledger of
keys an account has used (CONTRACT.md, "Idempotency keys").

- The header: optional, one at most, a UUID-shaped string, compared exactly (400 otherwise).
- The fingerprint: method, path (without query), body (as JSON, member order ignored) and the raw
  If-Match value; two requests are "the same request" when their fingerprints are equal.
- The ledger: a key used by an accepted (202) request replays that 202 byte for byte; used with
  another fingerprint, 422; a request answered 4xx is not stored; keys are scoped to the account
  and live `ServerConfig.idempotency_ttl_s`. Lookup and insert happen inside the engine's
  transaction, so concurrent requests with one key create one operation.

Each deliberate fault of this area (`faults.Fault.*KEY*`, `IDEMPOTENCY_*`, `FINGERPRINT_*`,
`DEDUPE_WITHOUT_KEY`, `REPLAY_*`) lives here, where a real implementation would get it wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from orchestrator_contract.server.config import ServerConfig
from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.store import IdempotencyRecord, Store

IDEMPOTENCY_KEY_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PURGE_EVERY = 200  # inserts between purges of expired keys


def parse_idempotency_key(values: list[str], *, anchored: bool = True, uuid_parse: bool = False) -> str | None:
    """The key of a request's `Idempotency-Key` headers (None without one), or a 400.

    `anchored=False` (fault lenient-key-format) matches the pattern at the start only;
    `uuid_parse` (fault idempotency-key-uuid-parse) accepts whatever uuid.UUID() parses."""
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, "Several Idempotency-Key headers")
    if uuid_parse:
        try:
            uuid.UUID(values[0])
        except ValueError:
            raise ApiError(400, "Idempotency-Key must be a UUID (8-4-4-4-12 hexadecimal digits)") from None
        return values[0]
    if not (IDEMPOTENCY_KEY_RE.fullmatch if anchored else IDEMPOTENCY_KEY_RE.match)(values[0]):
        raise ApiError(400, "Idempotency-Key must be a UUID (8-4-4-4-12 hexadecimal digits)")
    return values[0]


def fingerprint(method: str, path: str, body: Any, if_match: str | None, *, include_body: bool = True) -> str:
    """`include_body=False` is the fault idempotency-ignores-body."""
    material = [method.upper(), path, body if include_body else None, if_match]
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Replay:
    """What a replayed 202 repeats: the original body and operation."""

    body: bytes
    operation_id: str
    status_url: str
    retry_after: int


class IdempotencyKeys:
    """The header, the fingerprint and the ledger of one server instance."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self._store = store
        self._config = config
        self._inserts = 0

    # -- the request ----------------------------------------------------------------------------
    def key_of(self, headers: list[str], account: str, kind: str, body: Any) -> str | None:
        """The request's key (from its `Idempotency-Key` header values), or None."""
        has = self._config.has
        values = headers[:1] if has(Fault.DUPLICATE_KEY_HEADER_FIRST_WINS) else headers
        key = parse_idempotency_key(
            values, anchored=not has(Fault.LENIENT_KEY_FORMAT), uuid_parse=has(Fault.IDEMPOTENCY_KEY_UUID_PARSE)
        )
        if key is not None and has(Fault.IDEMPOTENCY_KEY_CASE_INSENSITIVE):
            key = key.lower()
        if key is None and kind == "create" and has(Fault.DEDUPE_WITHOUT_KEY):
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, account + json.dumps(body, sort_keys=True)))
        return key

    def fingerprint_of(self, method: str, path: str, body: Any, if_match_values: list[str]) -> str:
        if_match = ", ".join(if_match_values) if if_match_values else None
        return fingerprint(
            method,
            path,
            body,
            None if self._config.has(Fault.FINGERPRINT_IGNORES_IF_MATCH) else if_match,
            include_body=not self._config.has(Fault.IDEMPOTENCY_IGNORES_BODY),
        )

    # -- the ledger -----------------------------------------------------------------------------
    def _scope(self, account: str) -> str:
        """The namespace of an account's keys (fault idempotency-keys-global: one for everybody)."""
        return "" if self._config.has(Fault.IDEMPOTENCY_KEYS_GLOBAL) else account

    def stored(self, account: str, key: str) -> IdempotencyRecord | None:
        """The live record of a key."""
        ttl_floor = time.time() - self._config.idempotency_ttl_s
        return self._store.get_idempotency(self._scope(account), key, ttl_floor)

    def previous(self, account: str, key: str, request_fingerprint: str) -> IdempotencyRecord | None:
        """The accepted request a key replays (None: a new key); 422 for a key used otherwise.
        Call inside the engine's transaction."""
        record = self.stored(account, key)
        if record is not None and not record.operation_id and record.fingerprint == request_fingerprint:
            return None  # fault idempotency-stores-4xx: the same rejected request, sent again
        if record is not None and record.fingerprint != request_fingerprint:
            raise ApiError(422, "This Idempotency-Key was already used with a different request")
        return record

    def remember(self, account: str, key: str, request_fingerprint: str, replay: Replay) -> None:
        """Store an accepted request's 202 under its key (inside the engine's transaction)."""
        self._store.put_idempotency(
            self._scope(account),
            key,
            time.time(),
            IdempotencyRecord(
                request_fingerprint, replay.operation_id, replay.status_url, replay.retry_after, replay.body
            ),
        )
        self._inserts += 1
        if self._inserts % PURGE_EVERY == 0:
            self._store.purge_idempotency(time.time() - self._config.idempotency_ttl_s)

    def remember_rejected(self, account: str, key: str, request_fingerprint: str) -> None:
        """Fault idempotency-stores-4xx: the key of a rejected request is recorded as used."""
        if not self._config.has(Fault.IDEMPOTENCY_STORES_4XX):
            return
        with self._store.transaction():
            self._store.put_idempotency(
                self._scope(account), key, time.time(), IdempotencyRecord(request_fingerprint, "", "", 0, b"")
            )
