"""A record of every HTTP exchange of the running test, and its reproduction as curl commands.

Each test starts a fresh journal in the process's recording (`recording.py`; an autouse fixture in
`suites/conftest.py`); the client's transport appends every exchange to it, 429s and transport
errors included; the failure of a test shows its newest exchanges. Everything shown passes through
`redaction`.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from dataclasses import dataclass, field

import httpx

from orchestrator_contract.exchanges.redaction import scrub

_BODY_PREVIEW = 600
_INTERESTING_HEADERS = frozenset(
    {
        "etag",
        "location",
        "operation-id",
        "retry-after",
        "x-conflicting-resource-id",
        "allow",
        "www-authenticate",
        "content-type",
    }
)
_CURL_SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def curl_command(request: httpx.Request) -> str:
    """The request as a curl command; Basic credentials become environment variables."""
    parts = ["curl", "-i", "-X", request.method, shlex.quote(str(request.url))]
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1")
        if name.lower() == "authorization":
            parts += ["-u", '"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN"']
            continue
        if name.lower() in _CURL_SKIPPED_HEADERS:
            continue
        parts += ["-H", shlex.quote(f"{name}: {raw_value.decode('latin-1')}")]
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b""
    if body:
        text = _text(body)
        if len(text) > 4096:
            text = text[:4096] + "...(truncated)"
        parts += ["--data-raw", shlex.quote(text)]
    return scrub(" ".join(parts))


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response | None = None
    error: str | None = None
    cut_at: int | None = None  # the answer was longer than the limit and recorded up to here
    sent_at: float = field(default_factory=time.monotonic)  # when the request went out (monotonic clock)

    def headline(self) -> str:
        path = self.request.url.raw_path.decode("latin-1")
        outcome = self.error or (str(self.response.status_code) if self.response is not None else "?")
        return scrub(f"{self.request.method} {path} -> {outcome}")

    def describe(self) -> str:
        lines = [f"# {self.headline()}", curl_command(self.request)]
        if self.response is not None:
            body = self.response.text
            if len(body) > _BODY_PREVIEW:
                body = body[:_BODY_PREVIEW] + "...(truncated)"
            interesting = {k: v for k, v in self.response.headers.items() if k.lower() in _INTERESTING_HEADERS}
            if interesting:
                lines.append(f"# response headers: {json.dumps(interesting)}")
            lines.append(f"# response body: {body}")
        return scrub("\n".join(lines))


@dataclass
class Journal:
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)


def find_exchange(exchanges: list[Exchange], response: object) -> Exchange | None:
    """The exchange whose response is `response` (or a wrapper of it, by status and body)."""
    candidates = list(reversed(exchanges))
    for exchange in candidates:
        if exchange.response is response:
            return exchange
    status = getattr(response, "status_code", None)
    content = getattr(response, "content", None)
    for exchange in candidates:
        if (
            exchange.response is not None
            and exchange.response.status_code == status
            and exchange.response.content == content
        ):
            return exchange
    return None


def reproduction(exchanges: list[Exchange], last: int = 6) -> str:
    """The newest `last` exchanges as curl commands with what they got back."""
    recent = exchanges[-last:]
    skipped = len(exchanges) - len(recent)
    if not recent:
        return "(no HTTP exchange recorded)"
    head = f"(the {skipped} earlier requests of this test are in the report's cassette)\n" if skipped else ""
    return head + "\n".join(e.describe() for e in recent)
