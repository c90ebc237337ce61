"""A record of every HTTP exchange of the running test, and its reproduction as curl commands.

Each test starts a fresh journal (an autouse fixture in `suites/conftest.py`); the client appends
to it; a `ContractViolation` prints its newest exchanges. Secrets are redacted here, once, so no
report or failure message can carry them.
"""

from __future__ import annotations

import json
import shlex
import threading
from dataclasses import dataclass, field

import httpx

_SECRETS: set[str] = set()
_BODY_PREVIEW = 600


def register_secret(*secrets: str) -> None:
    """Remember values that must never be printed (tokens, API key secrets)."""
    _SECRETS.update(s for s in secrets if s)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def curl_command(request: httpx.Request) -> str:
    """The request as a curl command; Basic credentials become environment variables."""
    parts = ["curl", "-i", "-X", request.method, shlex.quote(str(request.url))]
    for name, value in request.headers.items():
        lname = name.lower()
        if lname == "authorization":
            parts += ["-u", '"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN"']
            continue
        if lname in {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.content
    if body:
        text = body.decode("utf-8", errors="replace")
        if len(text) > 4096:
            text = text[:4096] + "...(truncated)"
        parts += ["--data-raw", shlex.quote(text)]
    return redact(" ".join(parts))


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response | None = None
    error: str | None = None

    def headline(self) -> str:
        path = self.request.url.raw_path.decode()
        outcome = self.error or (str(self.response.status_code) if self.response is not None else "?")
        return f"{self.request.method} {path} -> {outcome}"

    def describe(self) -> str:
        lines = [f"# {self.headline()}", curl_command(self.request)]
        if self.response is not None:
            body = self.response.text
            if len(body) > _BODY_PREVIEW:
                body = body[:_BODY_PREVIEW] + "...(truncated)"
            interesting = {
                k: v
                for k, v in self.response.headers.items()
                if k.lower()
                in {"etag", "location", "operation-id", "retry-after", "x-conflicting-resource-id", "allow", "www-authenticate"}
            }
            if interesting:
                lines.append(f"# response headers: {json.dumps(interesting)}")
            lines.append(f"# response body: {body}")
        return redact("\n".join(lines))


@dataclass
class Journal:
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def find(self, response: object) -> Exchange | None:
        """The exchange whose response is `response` (or a wrapper of it, by status, URL and body)."""
        with self._lock:
            candidates = list(reversed(self.exchanges))
        for exchange in candidates:
            if exchange.response is response:
                return exchange
        status = getattr(response, "status_code", None)
        content = getattr(response, "content", None)
        for exchange in candidates:
            if exchange.response is not None and exchange.response.status_code == status \
                    and exchange.response.content == content:
                return exchange
        return None

    def reproduction(self, last: int = 6) -> str:
        with self._lock:
            recent = self.exchanges[-last:]
            skipped = len(self.exchanges) - len(recent)
        if not recent:
            return "(no HTTP exchange recorded)"
        head = f"(the {skipped} earlier requests of this test are in the report's cassette)\n" if skipped else ""
        return head + "\n".join(e.describe() for e in recent)


_current = Journal()


def current() -> Journal:
    return _current


def start_new() -> Journal:
    """Begin a new journal (one per test) and return it."""
    global _current
    _current = Journal()
    return _current
