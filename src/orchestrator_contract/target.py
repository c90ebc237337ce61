"""The server under test: its URL, the credentials to use, and the marks of this run.

A shared target is sacred: everything a run creates carries the run id (in `displayName` and in a
run-owned `memoryStoreId`), the run touches nothing else, and it removes what it made.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
from dataclasses import dataclass, field

from .defaults import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT, Credential

_B36 = string.digits + string.ascii_lowercase
RUN_ID_ENV = "ORCHESTRATOR_CONTRACT_RUN_ID"


def new_run_id() -> str:
    return "".join(secrets.choice(_B36) for _ in range(8))


@dataclass(frozen=True)
class RunMarks:
    """Names that mark a resource as this run's own."""

    run_id: str
    _issued_stores: set[str] = field(default_factory=set, compare=False, repr=False)

    def display_name(self, tag: str = "") -> str:
        """`oc <run id> <tag>`: matches `^[a-zA-Z0-9-_ ]+$`, at most 32 characters."""
        safe = "".join(c for c in tag if c.isalnum() or c in "-_ ")[:20]
        return f"oc {self.run_id} {safe}".strip()[:32]

    def memory_store_id(self, tag: str = "") -> str:
        """A filterable store id owned by this run: `mem_store_0` + 25 base-36 characters."""
        digest = int(hashlib.sha256(f"{self.run_id}/{tag}".encode()).hexdigest(), 16)
        suffix = ""
        for _ in range(17):
            digest, r = divmod(digest, 36)
            suffix += _B36[r]
        store = f"mem_store_0{self.run_id}{suffix}"
        self._issued_stores.add(store)
        return store

    def issued_stores(self) -> set[str]:
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
