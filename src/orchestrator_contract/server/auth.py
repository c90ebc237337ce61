"""HTTP Basic authentication and the optional per-account rate limit."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import threading
import time
from collections.abc import Callable

from orchestrator_contract.contract.dev_credentials import Credential
from orchestrator_contract.server.faults import Fault


class Authenticator:
    """Maps `Authorization: Basic ...` to an Account SID (API keys act for their account)."""

    def __init__(
        self,
        accounts: list[Credential],
        api_keys: dict[str, tuple[Credential, str]],
        has: Callable[[Fault], bool] = lambda fault: False,
    ) -> None:
        self._secrets: dict[str, tuple[bytes, str]] = {c.username: (c.secret.encode(), c.username) for c in accounts}
        for key_sid, (cred, account) in api_keys.items():
            self._secrets[key_sid] = (cred.secret.encode(), account)
        self._has = has  # ServerConfig.has: the deliberate faults

    @staticmethod
    def credentials(header: str | None) -> tuple[str, str] | None:
        """(username, secret) of an `Authorization: Basic` header, or None when it is not one."""
        if not header:
            return None
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        username, sep, secret = decoded.partition(":")
        return (username, secret) if sep else None

    def authenticate(self, header: str | None) -> str | None:
        """The Account SID the credentials stand for, or None when missing or wrong."""
        parsed = self.credentials(header)
        if parsed is None:
            return None
        username, secret = parsed
        entry = self._secrets.get(username)
        if self._has(Fault.API_KEY_REJECTED) and not username.startswith("AC"):
            entry = None  # the lookup only knows Account SIDs
        if entry is None:
            hmac.compare_digest(secret.encode(), b"\x00" * 32)  # keep timing similar for unknown users
            return None
        expected, account = entry
        supplied = secret.encode("utf-8", "surrogatepass")
        if self._has(Fault.TOKEN_PREFIX_COMPARE):
            supplied = supplied[: len(expected)]
        return account if hmac.compare_digest(supplied, expected) else None


class RateLimiter:
    """A token bucket per account: `rate` requests per second, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, account: str) -> int | None:
        """None when the request may proceed, else the whole seconds to wait (Retry-After)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(account, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[account] = (tokens - 1.0, now)
                return None
            self._buckets[account] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))
