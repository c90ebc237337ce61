"""SQLite persistence: configurations, operations and idempotency records.

One connection shared by the event loop and the operation worker thread, guarded by one
re-entrant lock. Everything that must be atomic (check-then-insert of idempotency keys and
serviceIds, If-Match checks with the write they guard) runs inside `transaction()`, which
holds that lock for its whole duration.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.model import ConfigRecord, OperationRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS configurations (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    version INTEGER NOT NULL,
    memory_store_id TEXT NOT NULL,
    service_id TEXT,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cfg_order ON configurations(account, created_us, id);
CREATE INDEX IF NOT EXISTS cfg_store_order ON configurations(account, memory_store_id, created_us, id);
CREATE INDEX IF NOT EXISTS cfg_service ON configurations(account, service_id);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    completed_us INTEGER,
    config_id TEXT NOT NULL,
    status_url TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS op_status ON operations(status);
CREATE TABLE IF NOT EXISTS idempotency (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_s REAL NOT NULL,
    operation_id TEXT NOT NULL,
    status_url TEXT NOT NULL,
    retry_after INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (account, key)
);
CREATE INDEX IF NOT EXISTS idem_age ON idempotency(created_s);
"""

# Keyset comparison per cursor mode: (operator, ascending?)
_MODES: dict[str, tuple[str, bool]] = {"gt": (">", True), "ge": (">=", True), "lt": ("<", False), "le": ("<=", False)}


@dataclass
class IdempotencyRecord:
    fingerprint: str
    operation_id: str
    status_url: str
    retry_after: int
    body: bytes


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


class Store:
    def __init__(self, db_path: str = ":memory:", has: Callable[[Fault], bool] = lambda fault: False) -> None:
        """`has` is ServerConfig.has (the deliberate faults)."""
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        if db_path != ":memory:" and not db_path.startswith("file::memory:"):
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        schema = _SCHEMA
        if has(Fault.MEMORY_STORE_FILTER_NOCASE):
            schema = schema.replace("memory_store_id TEXT NOT NULL", "memory_store_id TEXT NOT NULL COLLATE NOCASE")
        self._conn.executescript(schema)
        self._depth = 0

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and (outermost only) an SQLite transaction; roll back on exceptions."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    # ------------------------------------------------------------------ configurations

    @staticmethod
    def _config(row: tuple[Any, ...]) -> ConfigRecord:
        return ConfigRecord(
            id=row[0], account=row[1], created_us=row[2], updated_us=row[3], version=row[4], fields=json.loads(row[5])
        )

    _CFG_COLS = "id, account, created_us, updated_us, version, fields"

    def get_config(self, account: str | None, config_id: str) -> ConfigRecord | None:
        """`account=None` looks across accounts (used only by the cross-account-fetch fault)."""
        with self.lock:
            if account is None:
                row = self._conn.execute(
                    f"SELECT {self._CFG_COLS} FROM configurations WHERE id = ?", (config_id,)
                ).fetchone()
            else:
                row = self._conn.execute(
                    f"SELECT {self._CFG_COLS} FROM configurations WHERE id = ? AND account = ?", (config_id, account)
                ).fetchone()
        return self._config(row) if row else None

    def get_config_by_prefix(self, account: str | None, prefix: str) -> ConfigRecord | None:
        """The configuration whose id starts with `prefix`, if exactly one does (fault config-id-prefix-lookup)."""
        sql = f"SELECT {self._CFG_COLS} FROM configurations WHERE id LIKE ? || '%'"
        args: list[str] = [prefix]
        if account is not None:
            sql += " AND account = ?"
            args.append(account)
        with self.lock:
            rows = self._conn.execute(sql + " LIMIT 2", args).fetchall()
        return self._config(rows[0]) if len(rows) == 1 else None

    def config_exists(self, config_id: str) -> bool:
        with self.lock:
            return self._conn.execute("SELECT 1 FROM configurations WHERE id = ?", (config_id,)).fetchone() is not None

    def insert_config(self, rec: ConfigRecord) -> None:
        with self.lock:
            self._conn.execute(
                "INSERT INTO configurations (id, account, created_us, updated_us, version, memory_store_id,"
                " service_id, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.id,
                    rec.account,
                    rec.created_us,
                    rec.updated_us,
                    rec.version,
                    rec.fields["memoryStoreId"],
                    _service_id(rec.fields),
                    _dump(rec.fields),
                ),
            )

    def update_config(self, rec: ConfigRecord) -> None:
        with self.lock:
            self._conn.execute(
                "UPDATE configurations SET created_us = ?, updated_us = ?, version = ?, memory_store_id = ?,"
                " service_id = ?, fields = ? WHERE id = ? AND account = ?",
                (
                    rec.created_us,
                    rec.updated_us,
                    rec.version,
                    rec.fields["memoryStoreId"],
                    _service_id(rec.fields),
                    _dump(rec.fields),
                    rec.id,
                    rec.account,
                ),
            )

    def delete_config(self, account: str, config_id: str) -> None:
        with self.lock:
            self._conn.execute("DELETE FROM configurations WHERE id = ? AND account = ?", (config_id, account))

    def service_holder(self, account: str, service_id: str, exclude_id: str | None) -> str | None:
        """The id of the account's configuration holding `service_id`, other than `exclude_id`."""
        with self.lock:
            row = self._conn.execute(
                "SELECT id FROM configurations WHERE account = ? AND service_id = ? AND id IS NOT ?"
                " ORDER BY created_us, id LIMIT 1",
                (account, service_id, exclude_id),
            ).fetchone()
        return row[0] if row else None

    def _where(self, account: str | None, memory_store_id: str | None) -> tuple[str, list[Any]]:
        """`account=None` with a filter: every account's (only the list-ignores-account-with-filter fault)."""
        if memory_store_id is None:
            return "account = ?", [account]
        if account is None:
            return "memory_store_id = ?", [memory_store_id]
        return "account = ? AND memory_store_id = ?", [account, memory_store_id]

    def page(
        self,
        account: str | None,
        memory_store_id: str | None,
        mode: str | None,
        key: tuple[int, str] | None,
        limit: int,
        descending: bool = False,
    ) -> list[ConfigRecord]:
        """Up to `limit` configurations beyond the keyset cursor, nearest first.

        mode None: from the start, ascending (from the end, descending, with `descending`, which only
        the newest-first fault uses). gt/ge: ascending after the key; lt/le: descending before the key
        (the caller reverses them).
        """
        where, args = self._where(account, memory_store_id)
        order = "DESC" if descending else "ASC"
        if mode is not None:
            assert key is not None
            op, ascending = _MODES[mode]
            where += f" AND (created_us, id) {op} (?, ?)"
            args += [key[0], key[1]]
            order = "ASC" if ascending else "DESC"
        sql = (
            f"SELECT {self._CFG_COLS} FROM configurations WHERE {where} ORDER BY created_us {order}, id {order} LIMIT ?"
        )
        with self.lock:
            rows = self._conn.execute(sql, (*args, limit)).fetchall()
        return [self._config(r) for r in rows]

    def exists_beyond(self, account: str | None, memory_store_id: str | None, mode: str, key: tuple[int, str]) -> bool:
        where, args = self._where(account, memory_store_id)
        op, _ = _MODES[mode]
        sql = f"SELECT 1 FROM configurations WHERE {where} AND (created_us, id) {op} (?, ?) LIMIT 1"
        with self.lock:
            return self._conn.execute(sql, (*args, key[0], key[1])).fetchone() is not None

    def page_by_offset(self, account: str, memory_store_id: str | None, offset: int, limit: int) -> list[ConfigRecord]:
        """Offset paging: only the offset-page-tokens fault uses it."""
        where, args = self._where(account, memory_store_id)
        sql = f"SELECT {self._CFG_COLS} FROM configurations WHERE {where} ORDER BY created_us, id LIMIT ? OFFSET ?"
        with self.lock:
            rows = self._conn.execute(sql, (*args, limit, offset)).fetchall()
        return [self._config(r) for r in rows]

    # ------------------------------------------------------------------ operations

    _OP_COLS = "id, account, kind, status, created_us, completed_us, config_id, status_url, payload, error"

    @staticmethod
    def _op(row: tuple[Any, ...]) -> OperationRecord:
        return OperationRecord(
            id=row[0],
            account=row[1],
            kind=row[2],
            status=row[3],
            created_us=row[4],
            completed_us=row[5],
            config_id=row[6],
            status_url=row[7],
            payload=json.loads(row[8]),
            error=json.loads(row[9]) if row[9] else None,
        )

    def insert_op(self, op: OperationRecord) -> None:
        with self.lock:
            self._conn.execute(
                f"INSERT INTO operations ({self._OP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    op.id,
                    op.account,
                    op.kind,
                    op.status,
                    op.created_us,
                    op.completed_us,
                    op.config_id,
                    op.status_url,
                    _dump(op.payload),
                    _dump(op.error) if op.error else None,
                ),
            )

    def get_op(self, account: str | None, op_id: str) -> OperationRecord | None:
        with self.lock:
            if account is None:
                row = self._conn.execute(f"SELECT {self._OP_COLS} FROM operations WHERE id = ?", (op_id,)).fetchone()
            else:
                row = self._conn.execute(
                    f"SELECT {self._OP_COLS} FROM operations WHERE id = ? AND account = ?", (op_id, account)
                ).fetchone()
        return self._op(row) if row else None

    def finish_op(self, op_id: str, status: str, completed_us: int, error: dict[str, Any] | None) -> None:
        """Move a PENDING operation to its terminal status (a terminal status never changes)."""
        with self.lock:
            self._conn.execute(
                "UPDATE operations SET status = ?, completed_us = ?, error = ? WHERE id = ? AND status = 'PENDING'",
                (status, completed_us, _dump(error) if error else None, op_id),
            )

    def pending_op_ids(self) -> list[str]:
        with self.lock:
            rows = self._conn.execute(
                "SELECT id FROM operations WHERE status = 'PENDING' ORDER BY created_us, id"
            ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ idempotency

    def get_idempotency(self, account: str, key: str, not_before_s: float) -> IdempotencyRecord | None:
        with self.lock:
            row = self._conn.execute(
                "SELECT fingerprint, operation_id, status_url, retry_after, body FROM idempotency"
                " WHERE account = ? AND key = ? AND created_s >= ?",
                (account, key, not_before_s),
            ).fetchone()
        return IdempotencyRecord(row[0], row[1], row[2], row[3], bytes(row[4])) if row else None

    def put_idempotency(self, account: str, key: str, created_s: float, rec: IdempotencyRecord) -> None:
        with self.lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO idempotency (account, key, fingerprint, created_s, operation_id, status_url,"
                " retry_after, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account, key, rec.fingerprint, created_s, rec.operation_id, rec.status_url, rec.retry_after, rec.body),
            )

    def purge_idempotency(self, older_than_s: float) -> None:
        with self.lock:
            self._conn.execute("DELETE FROM idempotency WHERE created_s < ?", (older_than_s,))


def _service_id(fields: dict[str, Any]) -> str | None:
    bridge = fields.get("conversationsV1Bridge")
    return bridge["serviceId"] if bridge else None
