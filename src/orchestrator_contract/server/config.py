"""Configuration of one reference-server instance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrator_contract.contract.dev_credentials import DEV_ACCOUNTS, DEV_API_KEYS, Credential
from orchestrator_contract.server.faults import Fault, check_fault_names

ACCOUNT_SID_RE = re.compile(r"AC[0-9a-f]{32}")
API_KEY_SID_RE = re.compile(r"SK[0-9a-f]{32}")


def parse_credential(text: str) -> Credential:
    """Parse `SID:SECRET` (as given to `serve --account`); the secret may contain ':'."""
    username, sep, secret = text.partition(":")
    if not sep or not username or not secret:
        raise ValueError("expected SID:SECRET")
    return Credential(username, secret)


@dataclass
class ServerConfig:
    """Everything that varies between server instances.

    `api_keys` maps an API key SID to (its credential, the Account SID it acts for).
    `rate_limit_per_s` is off by default; when set, each account gets a token bucket of that
    rate (burst `rate_limit_burst`, default max(1, rate)) and excess requests get 429.
    `token_secret` signs page tokens; None means a random secret per server instance.
    """

    db_path: str = ":memory:"
    op_delay_ms: int = 50
    latency_ms: int = 0  # every answer this much later: half before handling, half after (a round trip)
    accounts: list[Credential] = field(default_factory=lambda: list(DEV_ACCOUNTS))
    api_keys: dict[str, tuple[Credential, str]] = field(default_factory=lambda: dict(DEV_API_KEYS))
    faults: frozenset[Fault] | frozenset[str] = frozenset()
    rate_limit_per_s: float | None = None
    rate_limit_burst: int | None = None
    idempotency_ttl_s: float = 24 * 3600
    realm: str = "Twilio API"
    token_secret: bytes | None = None

    def __post_init__(self) -> None:
        self.faults = check_fault_names(self.faults)
        self.accounts = list(self.accounts)
        for name in ("op_delay_ms", "latency_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0")
        if self.rate_limit_per_s is not None and not self.rate_limit_per_s > 0:
            raise ValueError("rate_limit_per_s must be > 0 (or None to disable)")
        if self.rate_limit_burst is not None and self.rate_limit_burst < 1:
            raise ValueError("rate_limit_burst must be >= 1")
        sids = [c.username for c in self.accounts]
        if len(set(sids)) != len(sids):
            raise ValueError("duplicate account SID")
        for sid in sids:
            if not ACCOUNT_SID_RE.fullmatch(sid):
                raise ValueError(f"not an Account SID (AC + 32 hex digits): {sid!r}")
        for key_sid, (cred, account) in self.api_keys.items():
            if not API_KEY_SID_RE.fullmatch(key_sid) or cred.username != key_sid:
                raise ValueError(f"not an API key SID (SK + 32 hex digits): {key_sid!r}")
            if account not in sids:
                raise ValueError(f"API key {key_sid} belongs to unknown account {account}")

    def has(self, fault: Fault) -> bool:
        """True when the fault is switched on."""
        return fault in self.faults
