"""The server under test: its URL, the credentials to use, and the marks of this run.

A shared target is sacred: everything a run creates carries the run id (in `displayName` and in a
run-owned `memoryStoreId`), the run touches nothing else, and it removes what it made. Values that
must be unique (stores, serviceIds, tags) are unique per run *and* per process of the run (an xdist
worker, or the single in-process runner), so parallel workers and concurrent runs on one account
never collide.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import string
import threading
from dataclasses import dataclass, field

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT, Credential

_B36 = string.digits + string.ascii_lowercase
STORE_PREFIX = "mem_store_0"


def process_instance() -> str:
    """This process's part in the run: the xdist worker id, or `main`."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _base36(digest: bytes, length: int) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, r = divmod(number, 36)
        chars.append(_B36[r])
    return "".join(chars)


@dataclass(frozen=True)
class RunMarks:
    """Names that mark a resource as this run's own, unique to this process of the run."""

    run_id: str
    instance: str = field(default_factory=process_instance)
    _issued_stores: set[str] = field(default_factory=set, compare=False, repr=False)
    _counter: itertools.count[int] = field(default_factory=itertools.count, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def _digest(self, kind: str, tag: str) -> bytes:
        return hashlib.sha256(f"{self.run_id}/{self.instance}/{kind}/{tag}".encode()).digest()

    def display_name(self, tag: str = "") -> str:
        """`oc <run id> <tag>`: matches `^[a-zA-Z0-9-_ ]+$`, at most 32 characters."""
        safe = "".join(c for c in tag if c.isascii() and (c.isalnum() or c in "-_ "))[:20]
        return f"oc {self.run_id} {safe}".strip()[:32]

    def memory_store_id(self, tag: str = "") -> str:
        """A filterable store id owned by this run: `mem_store_0` + the run id + 17 base-36 characters
        (the pattern `^mem_(store|service)_[0-7][0-9a-z]{25}$`)."""
        store = f"{STORE_PREFIX}{self.run_id}{_base36(self._digest('store', tag), 17)}"
        with self._lock:
            self._issued_stores.add(store)
        return store

    def service_id(self, tag: str = "") -> str:
        """A Conversations V1 serviceId (`^IS[0-9a-f]{32}$`) that nothing outside this run can hold."""
        return "IS" + self._digest("service", tag).hex()[:32]

    def unique(self, prefix: str) -> str:
        """A tag no other call of this process of the run returns (a test's or an example's own)."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix}-{number}"

    def issued_stores(self) -> set[str]:
        with self._lock:
            return set(self._issued_stores)


@dataclass(frozen=True)
class Target:
    base_url: str
    primary: Credential
    second: Credential | None
    api_key: Credential | None
    embedded: bool

    @classmethod
    def embedded_at(cls, base_url: str) -> Target:
        return cls(base_url.rstrip("/"), PRIMARY_ACCOUNT, SECOND_ACCOUNT, PRIMARY_API_KEY, embedded=True)

    @classmethod
    def from_environment(cls, base_url: str) -> Target:
        """Credentials from TWILIO_* variables (the API key and second account are optional)."""
        env = os.environ
        sid, token = env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")
        if not sid or not token:
            raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set to test a server by URL")
        second = _pair(env.get("TWILIO_SECOND_ACCOUNT_SID"), env.get("TWILIO_SECOND_AUTH_TOKEN"))
        api_key = _pair(env.get("TWILIO_API_KEY"), env.get("TWILIO_API_SECRET"))
        return cls(base_url.rstrip("/"), Credential(sid, token), second, api_key, embedded=False)


def _pair(username: str | None, secret: str | None) -> Credential | None:
    return Credential(username, secret) if username and secret else None
