"""The suites' HTTP client for the Configurations API (httpx).

It records every exchange in the current journal (for reproductions), retries 429 answers after
their `Retry-After` (capped, so a throttling server cannot stall a run), and remembers every
configuration a create accepted, so the run can remove what it made and nothing else.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import Retrying, retry_if_result, stop_after_attempt

from . import journal
from .defaults import Credential

CONFIGURATIONS = "/v2/ControlPlane/Configurations"
OPERATIONS = "/v2/ControlPlane/Operations"
UNSET: Any = object()
NO_AUTH: Any = object()
_test_deadline: float | None = None


def enforce_deadline(deadline: float | None) -> None:
    """While a test runs, a request past the run's time budget skips the test (the suites'
    conftest sets this around each test body; cleanup runs without it)."""
    global _test_deadline
    _test_deadline = deadline


@dataclass
class Ledger:
    """Ids of the configurations this run's creates were accepted for, per account username."""

    created: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, username: str, configuration_id: str) -> None:
        with self._lock:
            self.created.setdefault(username, set()).add(configuration_id)

    def ids(self, username: str) -> set[str]:
        with self._lock:
            return set(self.created.get(username, ()))


@dataclass(frozen=True)
class ClientSettings:
    timeout_s: float = 10.0
    retry_429_attempts: int = 4
    retry_after_cap_s: float = 5.0


def retry_after_seconds(response: httpx.Response, cap_s: float) -> float:
    """`Retry-After` as seconds, capped; a missing or malformed value counts as 0."""
    raw = response.headers.get("Retry-After", "")
    try:
        value = float(int(raw.strip()))
    except ValueError:
        value = 0.0
    return max(0.0, min(value, cap_s))


class ApiClient:
    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        ledger: Ledger,
        settings: ClientSettings = ClientSettings(),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.ledger = ledger
        self.settings = settings
        journal.register_secret(credential.secret)
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(credential.username, credential.secret),
            timeout=settings.timeout_s,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        self._http.close()

    # -- the one place requests are sent ------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = UNSET,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: Any = UNSET,
    ) -> httpx.Response:
        """Send one request (retrying 429s) and record it. `url` is a path or an absolute URL."""
        if _test_deadline is not None and time.time() > _test_deadline:
            import pytest

            pytest.skip("the run's global time budget (--max-time) ran out during this test")
        if json is not UNSET:
            content = jsonlib.dumps(json, ensure_ascii=False).encode()
            headers = _with_header(headers, "Content-Type", "application/json")
        if auth is NO_AUTH:
            auth_arg: Any = None
        elif auth is UNSET:
            auth_arg = httpx.USE_CLIENT_DEFAULT
        else:
            auth_arg = auth
        request = self._http.build_request(method, url, content=content, headers=headers, params=params)

        def send_once() -> httpx.Response:
            exchange = journal.Exchange(request)
            try:
                response = self._http.send(request, auth=auth_arg)
            except httpx.HTTPError as exc:
                exchange.error = f"{type(exc).__name__}: {exc}"
                journal.current().add(exchange)
                raise
            response.read()
            exchange.response = response
            journal.current().add(exchange)
            if response.status_code == 429:
                _check_throttle(response)
            return response

        retrying = Retrying(
            retry=retry_if_result(lambda r: r.status_code == 429),
            stop=stop_after_attempt(self.settings.retry_429_attempts),
            wait=lambda state: retry_after_seconds(state.outcome.result(), self.settings.retry_after_cap_s),
            retry_error_callback=lambda state: state.outcome.result(),
            reraise=True,
        )
        response = retrying(send_once)
        self._remember_created(method, url, response)
        return response

    def _remember_created(self, method: str, url: str, response: httpx.Response) -> None:
        if method.upper() != "POST" or response.status_code != 202:
            return
        try:
            cid = response.json()["related"]["configurationId"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(cid, str) and cid:
            self.ledger.record(self.credential.username, cid)

    # -- the seven operations -----------------------------------------------------------------
    def create(self, body: Any, *, key: str | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self.request("POST", CONFIGURATIONS, json=body, headers=_write_headers(key, None, headers))

    def list(self, **params: Any) -> httpx.Response:
        return self.request("GET", CONFIGURATIONS, params={k: v for k, v in params.items() if v is not None})

    def fetch(self, configuration_id: str) -> httpx.Response:
        return self.request("GET", f"{CONFIGURATIONS}/{configuration_id}")

    def replace(
        self, configuration_id: str, body: Any, *, key: str | None = None, if_match: str | None = None
    ) -> httpx.Response:
        return self.request(
            "PUT", f"{CONFIGURATIONS}/{configuration_id}", json=body, headers=_write_headers(key, if_match, None)
        )

    def patch(
        self, configuration_id: str, body: Any, *, key: str | None = None, if_match: str | None = None
    ) -> httpx.Response:
        return self.request(
            "PATCH", f"{CONFIGURATIONS}/{configuration_id}", json=body, headers=_write_headers(key, if_match, None)
        )

    def delete(self, configuration_id: str, *, key: str | None = None, if_match: str | None = None) -> httpx.Response:
        return self.request("DELETE", f"{CONFIGURATIONS}/{configuration_id}", headers=_write_headers(key, if_match, None))

    def operation(self, operation_id: str) -> httpx.Response:
        return self.request("GET", f"{OPERATIONS}/{operation_id}")


def _check_throttle(response: httpx.Response) -> None:
    """ERR-429: a throttled request is told when to come back, in whole seconds."""
    from .violations import expect

    value = response.headers.get("Retry-After", "")
    expect(value.strip().isdigit(), "ERR-429", f"429 with Retry-After {value!r}: an integer number of seconds is required")


def _with_header(
    headers: Mapping[str, str] | list[tuple[str, str]] | None, name: str, value: str
) -> list[tuple[str, str]]:
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    if not any(k.lower() == name.lower() for k, _ in items):
        items.append((name, value))
    return items


def _write_headers(key: str | None, if_match: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(extra or {})
    if key is not None:
        headers["Idempotency-Key"] = key
    if if_match is not None:
        headers["If-Match"] = if_match
    return headers
