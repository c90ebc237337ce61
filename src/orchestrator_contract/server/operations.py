"""Accepting writes (202 + PENDING operation) and applying them in the background.

`submit` runs every request-time check (idempotency replay/422, 404, 412, serviceId 409) and
creates the operation and the idempotency record in one transaction. A single worker thread
applies operations in acceptance order once `op_delay_ms` has passed; `_evaluate` re-checks
If-Match and serviceId uniqueness at that moment, so a write made stale or conflicting in the
meantime FAILS (error.status 412/409/404) and changes nothing.

Timestamps: the 202 carries `Date` = the acceptance second = the operation's createdAt; the
write's own timestamps are taken at apply time, never before that second nor before the
configuration's previous updatedAt. Every response showing the effect is produced after the
apply, so its Date is not earlier than those timestamps.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator_contract.server.config import ServerConfig
from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.idempotency import IdempotencyKeys, Replay
from orchestrator_contract.server.model import (
    COMPLETED,
    FAILED,
    PENDING,
    ConfigRecord,
    OperationRecord,
    dumps,
    new_id,
    now_us,
    whole_second,
)
from orchestrator_contract.server.store import IdempotencyRecord, Store
from orchestrator_contract.server.validation import IfMatch, apply_changes, if_match_allows

log = logging.getLogger(__name__)

OPERATIONS_PATH = "/v2/ControlPlane/Operations/"
VISIBILITY_LAG_S = 0.3  # fault completed-before-visible: the effect trails the status by this much


@dataclass
class WriteRequest:
    """A validated write. `changes`: full fields (create/replace) or the patch; None for delete."""

    account: str
    kind: str  # create | replace | patch | delete
    config_id: str | None
    changes: dict[str, Any] | None
    if_match: IfMatch
    idempotency_key: str | None
    fingerprint: str | None
    base_url: str  # scheme://host[:port][root_path], no trailing slash
    deferred_error: str | None = None  # fault async-validation: the 400 the worker will report
    key_checked: bool = False  # fault idempotency-key-race: the key was looked up earlier, unlocked


@dataclass
class Accepted:
    """What the 202 says. `accepted_us` is None for a replay (its Date is simply "now")."""

    body: bytes
    operation_id: str
    status_url: str
    retry_after: int
    accepted_us: int | None


class _Scheduler:
    """One daemon thread running callables at monotonic due times, in (due, submission) order."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def at(self, due: float, fn: Callable[[], None]) -> None:
        with self._cv:
            if self._closed:
                return
            heapq.heappush(self._heap, (due, next(self._seq), fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="operation-worker", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._closed:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # a bug in apply must not kill the worker
                log.exception("operation worker: unexpected error")

    def close(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


class OperationEngine:
    def __init__(self, store: Store, config: ServerConfig) -> None:
        self._store = store
        self._config = config
        self._delay_s = config.op_delay_ms / 1000.0
        # Whole seconds a client should wait before its first poll; sub-second delays say 0.
        self._retry_after = config.op_delay_ms // 1000
        self._scheduler = _Scheduler()
        self.keys = IdempotencyKeys(store, config)
        for op_id in store.pending_op_ids():  # a restarted file-backed server finishes its backlog
            self._scheduler.at(time.monotonic(), functools.partial(self._apply, op_id))

    def close(self) -> None:
        self._scheduler.close()

    def _stamp(self, us: int) -> int:
        return us if self._config.has(Fault.FRACTIONAL_TIMESTAMPS) else whole_second(us)

    # ------------------------------------------------------------------ request time

    def touch(self, account: str, config_id: str) -> None:
        """Bump a configuration's version without changing it (faults that bump when they must not)."""
        with self._store.transaction():
            current = self._store.get_config(account, config_id)
            if current is not None:
                self._store.update_config(dataclasses.replace(current, version=current.version + 1))

    def submit(self, req: WriteRequest) -> Accepted:
        """Check and accept a write, or raise ApiError (nothing is stored then)."""
        cfg = self._config
        with self._store.transaction():
            if (
                cfg.has(Fault.REPLAY_AFTER_DELETE_404)
                and req.config_id is not None
                and self._store.get_config(req.account, req.config_id) is None
            ):
                raise ApiError(404, "The requested configuration was not found")
            if req.idempotency_key is not None and not req.key_checked:
                previous = self.keys.previous(req.account, req.idempotency_key, req.fingerprint or "")
                if previous is not None:
                    if cfg.has(Fault.REPLAY_NEW_OPERATION):
                        return self._replay_as_new(req.account, previous)
                    return Accepted(
                        previous.body, previous.operation_id, previous.status_url, previous.retry_after, None
                    )
            config_id = req.config_id
            if req.kind == "create":
                if not if_match_allows(req.if_match, None):  # only with fault post-honours-if-match
                    raise ApiError(412, "If-Match does not match: there is no current configuration")
                self._check_service(req.account, req.changes or {}, None)
                config_id = new_id("cfg")
                while self._store.config_exists(config_id):  # paranoia: ids never repeat
                    config_id = new_id("cfg")
            else:
                assert config_id is not None
                self._evaluate(req.account, req.kind, config_id, req.changes, req.if_match)
            accepted_us = now_us()
            payload: dict[str, Any] = {"changes": req.changes, "ifMatch": req.if_match}
            if req.deferred_error is not None:
                payload["invalid"] = req.deferred_error
            op = self._new_operation(req.account, req.kind, config_id, req.base_url, accepted_us, payload)
            accepted = Accepted(self._body(op), op.id, op.status_url, self._retry_after, accepted_us)
            if req.idempotency_key is not None:
                self.keys.remember(
                    req.account,
                    req.idempotency_key,
                    req.fingerprint or "",
                    Replay(accepted.body, op.id, op.status_url, self._retry_after),
                )
            return accepted

    def _new_operation(
        self, account: str, kind: str, config_id: str, base_url: str, accepted_us: int, payload: dict[str, Any]
    ) -> OperationRecord:
        op_id = new_id("op")
        op = OperationRecord(
            id=op_id,
            account=account,
            kind=kind,
            status=PENDING,
            created_us=self._stamp(accepted_us),
            completed_us=None,
            config_id=config_id,
            status_url=base_url + OPERATIONS_PATH + op_id,
            payload=payload,
            error=None,
        )
        self._store.insert_op(op)
        self._scheduler.at(time.monotonic() + self._delay_s, lambda: self._apply(op_id))
        return op

    @staticmethod
    def _body(op: OperationRecord) -> bytes:
        return dumps({"statusUrl": op.status_url, "related": {"configurationId": op.config_id}})

    def _replay_as_new(self, account: str, previous: IdempotencyRecord) -> Accepted:
        """Fault replay-new-operation: the replay clones the original operation and runs it again."""
        original = self._store.get_op(account, previous.operation_id)
        assert original is not None
        base_url = original.status_url[: -len(OPERATIONS_PATH + original.id)]
        accepted_us = now_us()
        op = self._new_operation(account, original.kind, original.config_id, base_url, accepted_us, original.payload)
        return Accepted(self._body(op), op.id, op.status_url, self._retry_after, accepted_us)

    # ------------------------------------------------------------------ checks shared by both times

    def _check_service(self, account: str, fields: dict[str, Any], config_id: str | None) -> None:
        bridge = fields.get("conversationsV1Bridge")
        if not bridge or self._config.has(Fault.CONFLICT_NOT_DETECTED):
            return
        holder = self._store.service_holder(account, bridge["serviceId"], config_id)
        if holder is not None:
            raise ApiError(
                409,
                "conversationsV1Bridge.serviceId is already used by another configuration",
                headers={"X-Conflicting-Resource-Id": holder},
            )

    def _evaluate(
        self, account: str, kind: str, config_id: str, changes: dict[str, Any] | None, if_match: IfMatch
    ) -> tuple[ConfigRecord | None, dict[str, Any] | None]:
        """Check an update/delete against the current state; return (current, new fields)."""
        current = self._store.get_config(account, config_id)
        condition = None if self._config.has(Fault.IF_MATCH_IGNORED) else if_match
        if current is None and kind == "delete" and self._config.has(Fault.SECOND_DELETE_ACCEPTED):
            return current, None  # "DELETE is idempotent": nothing to delete is fine
        if current is None:  # 404 even with If-Match: foreign and unknown ids answer alike
            raise ApiError(404, "The requested configuration was not found")
        if not if_match_allows(condition, current.version):
            raise ApiError(412, f"If-Match does not match the current version {current.version}")
        if kind == "delete":
            return current, None
        new_fields = apply_changes(kind, current.fields, changes or {})
        self._check_service(account, new_fields, config_id)
        return current, new_fields

    # ------------------------------------------------------------------ apply time

    def _apply(self, op_id: str) -> None:
        cfg = self._config
        if cfg.has(Fault.COMPLETED_BEFORE_VISIBLE):
            with self._store.transaction():
                self._store.finish_op(op_id, COMPLETED, self._completion_us(op_id), None)
            self._scheduler.at(time.monotonic() + VISIBILITY_LAG_S, lambda: self._apply_effect(op_id))
            return
        self._apply_effect(op_id, record_status=not cfg.has(Fault.OPERATION_NEVER_COMPLETES))

    def _completion_us(self, op_id: str) -> int:
        op = self._store.get_op(None, op_id)
        return max(self._stamp(now_us()), op.created_us if op else 0)

    def _apply_effect(self, op_id: str, record_status: bool = False) -> None:
        with self._store.transaction():
            op = self._store.get_op(None, op_id)
            if op is None or (record_status and op.status != PENDING):
                return
            try:
                self._execute(op)
            except ApiError as err:
                if err.status == 412 and self._config.has(Fault.STALE_APPLY_FAILS_409):
                    err = ApiError(409, "The configuration was changed by another request")
                problem = err.body() if self._config.has(Fault.FAILED_OP_ERROR_BODY) else err.problem()
                if record_status:
                    self._store.finish_op(op_id, FAILED, self._completion_us(op_id), problem)
                return
            if record_status:
                self._store.finish_op(op_id, COMPLETED, self._completion_us(op_id), None)

    def _execute(self, op: OperationRecord) -> None:
        """Apply one operation's effect or raise ApiError without changing anything."""
        stamp = max(self._stamp(now_us()), op.created_us)
        changes = op.payload.get("changes")
        if op.kind == "create":
            fields = changes or {}
            if self._store.config_exists(op.config_id):
                raise ApiError(409, "The configuration already exists")
            self._check_service(op.account, fields, None)
            config_id = new_id("cfg") if self._config.has(Fault.CREATE_ID_MISMATCH) else op.config_id
            self._store.insert_config(ConfigRecord(config_id, op.account, stamp, stamp, 1, fields))
            return
        if "invalid" in op.payload:  # fault async-validation: the request's own 400, found this late
            raise ApiError(400, op.payload["invalid"])
        if_match = None if self._config.has(Fault.STALE_APPLY_NOT_RECHECKED) else op.payload.get("ifMatch")
        try:
            current, new_fields = self._evaluate(op.account, op.kind, op.config_id, changes, if_match)
        except ApiError:
            if op.kind != "delete" and self._config.has(Fault.FAILED_OP_BUMPS_VERSION):
                self.touch(op.account, op.config_id)  # bumped before the check, never rolled back
            raise
        if op.kind == "delete":
            if not self._config.has(Fault.DELETE_LEAVES_RESOURCE):
                self._store.delete_config(op.account, op.config_id)
            return
        assert new_fields is not None and current is not None
        bump = 0 if op.kind == "patch" and self._config.has(Fault.NO_VERSION_BUMP_ON_PATCH) else 1
        created_us = stamp if self._config.has(Fault.CREATED_AT_CHANGES_ON_UPDATE) else current.created_us
        updated_us = (
            current.updated_us if self._config.has(Fault.UPDATED_AT_NOT_BUMPED) else max(stamp, current.updated_us)
        )
        self._store.update_config(
            ConfigRecord(current.id, current.account, created_us, updated_us, current.version + bump, new_fields)
        )
