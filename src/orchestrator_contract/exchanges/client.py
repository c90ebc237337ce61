"""The suites' HTTP client for the Configurations API (httpx).

`ApiClient.request` builds and sends; everything else lives in httpx's own extension point, a
wrapping transport (`ContractTransport`), which sees every attempt as it goes on the wire:
- it records each exchange in the current test's journal (429s and transport errors included);
- it retries 429 answers after their `Retry-After`, holding back every request of the run to that
  target until then (`RunShared.throttle`), and gives up only after `throttle_patience_s`;
- it turns a transport failure the server caused (a reset, no answer) into a contract violation,
  and one the suite caused (a request HTTP cannot carry) into an error of the suite.

`RunShared` is what all clients of one run share: the ledger of created configurations (the run
removes what it made and nothing else), the throttle gate, the first operation that never
completed, and the run's time budget.
"""

from __future__ import annotations

import json as jsonlib
import re
import threading
import time
import unittest
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.dev_credentials import Credential
from orchestrator_contract.contract.violations import ContractViolation, SuiteError, expect
from orchestrator_contract.exchanges import journal
from orchestrator_contract.exchanges.coverage import operation_of
from orchestrator_contract.exchanges.recording import Recording, active
from orchestrator_contract.exchanges.target_health import (
    TargetHealth,
    answer_limit,
    describe_exchange,
    insanity,
    read_up_to,
    spec_bound,
)

CONFIGURATIONS = "/v2/ControlPlane/Configurations"
OPERATIONS = "/v2/ControlPlane/Operations"
UNSET: Any = object()
NO_AUTH: Any = object()
AUTH_ROLE = "orchestrator_contract_auth"  # request extension: primary, second, api-key, none or custom
VALID_ROLES = frozenset({"primary", "second", "api-key"})  # roles whose requests carry the run's valid credentials
# What h11 (httpx's HTTP/1.1) lets through as a header value: no NUL, no CR/LF/VT/FF, no
# surrounding whitespace; obs-text (bytes 0x80-0xFF) is allowed.
_FIELD_VALUE = re.compile(rb"(?:[^\x00\s](?:[ \t]*[^\x00\s])*)?")


class BudgetExhausted(unittest.SkipTest):
    """The run's time budget ran out during a test: the test is skipped (pytest and Hypothesis both
    treat `unittest.SkipTest` as a skip, never as a failure to shrink)."""


class UnsendableRequest(ValueError):
    """A generated request that HTTP/1.1 cannot carry (a header value with CR, LF or NUL):
    the generator sets it aside instead of sending it."""


class Throttled(SuiteError):
    """The target kept answering 429 for longer than the client's patience: nothing to judge."""


class TargetBroken(unittest.SkipTest):
    """The target answers nothing sanely (see `target_health`): the request was not sent. The test
    is skipped; the run's verdict says what the target did."""


@dataclass
class RunShared:
    """What every client of one run shares (thread-safe)."""

    created: dict[str, set[str]] = field(default_factory=dict)  # account username -> configuration ids
    deadline: float | None = None  # epoch seconds; enforced only while `enforcing`
    enforcing: bool = False
    throttled: int = 0  # 429 answers seen
    stuck_operation: str | None = None  # the first operation that outlived a whole poll budget
    slowest_completion_s: float = 0.0  # the longest an operation took to be seen terminal
    health: TargetHealth = field(default_factory=TargetHealth)
    test_deadline: float | None = None  # epoch seconds: this test's time slice ends then (deep stages)
    _not_before: float = 0.0  # monotonic: no request before this (the latest Retry-After)
    _waits: threading.local = field(default_factory=threading.local, repr=False)  # per thread: seconds waited
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the ledger ----------------------------------------------------------------------------
    def record(self, username: str, configuration_id: str) -> None:
        with self._lock:
            self.created.setdefault(username, set()).add(configuration_id)

    def ids(self, username: str) -> set[str]:
        with self._lock:
            return set(self.created.get(username, ()))

    # -- throttling ----------------------------------------------------------------------------
    def wait_turn(self) -> float:
        """Sleep until the latest Retry-After has passed; return the seconds slept (also added to
        this thread's `throttled_seconds`, which polling budgets leave out)."""
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay <= 0:
            return 0.0
        time.sleep(delay)
        self._waits.seconds = self.throttled_seconds() + delay
        return delay

    def throttled_seconds(self) -> float:
        """The seconds this thread's requests have waited for a Retry-After so far."""
        return float(getattr(self._waits, "seconds", 0.0))

    def throttle(self, seconds: float) -> None:
        with self._lock:
            self.throttled += 1
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    # -- the time budget -----------------------------------------------------------------------
    def check_deadline(self) -> None:
        if not self.enforcing:
            return
        now = time.time()
        if self.deadline is not None and now > self.deadline:
            raise BudgetExhausted("the run's global time budget (--max-time) ran out during this test")
        if self.test_deadline is not None and now > self.test_deadline:
            raise BudgetExhausted("this test's share of the deep stage's time ran out")

    def check_target(self) -> None:
        broken = self.health.state()
        if broken is not None:
            raise TargetBroken(f"not sent: {broken.reason}")

    # -- operations that never complete ---------------------------------------------------------
    def mark_stuck(self, operation_id: str) -> None:
        with self._lock:
            if self.stuck_operation is None:
                self.stuck_operation = operation_id

    def stuck(self) -> str | None:
        with self._lock:
            return self.stuck_operation

    def record_completion(self, seconds: float) -> None:
        """An operation was seen terminal `seconds` after its 202 (throttled time left out)."""
        with self._lock:
            self.slowest_completion_s = max(self.slowest_completion_s, seconds)

    def budget_after_stuck(self, full_budget_s: float) -> float:
        """How long to wait once an operation of this target outlived a whole budget: twice the
        slowest completion seen (so a target that does complete its other operations is still
        waited for), or a single poll when none ever completed."""
        with self._lock:
            slowest = self.slowest_completion_s
        return min(full_budget_s, 2 * slowest + 0.25) if slowest > 0 else 0.0


@dataclass(frozen=True)
class ClientSettings:
    timeout_s: float = 10.0
    retry_after_cap_s: float = 5.0  # the longest single wait a Retry-After may impose
    throttle_patience_s: float = 120.0  # after this long answered only 429s, a request gives up
    max_response_bytes: int = 16 * 1024 * 1024  # an answer is read up to this (see `target_health`)


def retry_after_seconds(response: httpx.Response, cap_s: float) -> float:
    """`Retry-After` as seconds, capped; a missing or malformed value counts as 0."""
    raw = response.headers.get("Retry-After", "")
    try:
        value = float(int(raw.strip()))
    except ValueError:
        value = 0.0
    return max(0.0, min(value, cap_s))


def _check_throttle(response: httpx.Response) -> None:
    """ERR-429: a throttled request is told when to come back, in whole seconds."""
    value = response.headers.get("Retry-After", "")
    expect(
        value.strip().isdigit(),
        Clause.ERR_429,
        f"429 with Retry-After {value!r}: an integer number of seconds is required",
    )


class ContractTransport(httpx.BaseTransport):
    """Records, throttles and classifies every attempt of a request (see the module docstring)."""

    def __init__(
        self, inner: httpx.BaseTransport, shared: RunShared, settings: ClientSettings, recording: Recording | None
    ) -> None:
        self._inner = inner
        self._shared = shared
        self._settings = settings
        self._recording = recording

    def _record(self, exchange: journal.Exchange) -> None:
        if self._recording is not None:
            self._recording.journal.add(exchange)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        while True:
            self._shared.wait_turn()
            exchange = journal.Exchange(request)
            try:
                raw = self._inner.handle_request(request)
                headers = raw.headers
                limit = answer_limit(request, self._settings.max_response_bytes)
                try:
                    body, exchange.cut_at = read_up_to(raw, limit)
                except httpx.StreamConsumed:  # a transport that hands over read responses (tests)
                    body = raw.content
                    headers = httpx.Headers(
                        [(k, v) for k, v in raw.headers.multi_items() if k.lower() != "content-encoding"]
                    )
                finally:
                    raw.close()
                # A fresh response around the bytes: httpx's client times and decodes it as usual.
                response = httpx.Response(
                    raw.status_code,
                    headers=headers,
                    stream=httpx.ByteStream(body),
                    extensions=raw.extensions,
                    request=request,
                )
            except httpx.TransportError as exc:
                exchange.error = f"{type(exc).__name__}: {exc}"
                self._record(exchange)
                if isinstance(exc, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
                    raise SuiteError(
                        f"the suite could not send {request.method} {request.url.path}: {exchange.error}"
                    ) from exc
                self._shared.health.observe(
                    operation_of(request.method, request.url.path),
                    (f"gave no answer ({exchange.error})", Clause.GEN_NO_5XX),
                    describe_exchange(request, None, None, b""),
                )
                raise ContractViolation(
                    Clause.GEN_NO_5XX,
                    (
                        f"{request.method} {request.url.raw_path.decode('latin-1')} got no HTTP answer "
                        f"({exchange.error}); "
                        "a conformant server answers every request"
                    ),
                ) from exc
            valid = request.extensions.get(AUTH_ROLE) in VALID_ROLES
            problem = insanity(response.status_code, headers, body, cut_at=exchange.cut_at, valid_credentials=valid)
            self._shared.health.observe(
                operation_of(request.method, request.url.path),
                problem,
                describe_exchange(request, response.status_code, headers, body) if problem else "",
            )
            response.request = request
            exchange.response = response
            self._record(exchange)
            if self._recording is not None:
                self._recording.tally.record_response(request, response.status_code, response.headers, body)
            if exchange.cut_at is not None:
                self._refuse_oversized(request, response, exchange.cut_at)
            if response.status_code != 429:
                return response
            response.read()  # never handed to the client: read here so its journal entry is complete
            _check_throttle(response)
            wait = retry_after_seconds(response, self._settings.retry_after_cap_s)
            if time.monotonic() - started + wait > self._settings.throttle_patience_s:
                raise Throttled(
                    f"{request.method} {request.url.path} was answered 429 for "
                    f"{time.monotonic() - started:.0f} s; the suite cannot judge a request it cannot send"
                )
            self._shared.throttle(max(wait, 0.05))

    def _refuse_oversized(self, request: httpx.Request, response: httpx.Response, cut_at: int) -> None:
        """An answer longer than the limit was cut there: a violation when the spec's bound for this
        request is no larger (no correct answer is that long), else the suite's own limit is too low."""
        if cut_at >= spec_bound(request):
            raise ContractViolation(
                Clause.RES_SHAPE,
                f"{request.method} {request.url.path} answered more than {cut_at} bytes (the response size "
                "limit); no answer the spec allows to this request is that long (recorded cut short)",
                response=response,
            )
        raise SuiteError(
            f"{request.method} {request.url.path} answered more than {cut_at} bytes, the profile's "
            "max_response_bytes; raise it to judge such answers"
        )

    def close(self) -> None:
        self._inner.close()


def wire_headers(headers: Mapping[str, Any] | list[tuple[str, Any]] | None) -> list[tuple[str, bytes | str]]:
    """Header values as they go on the wire: a value that is not ASCII is sent as bytes (Latin-1,
    as HTTP's obs-text; beyond Latin-1, UTF-8, as careless clients do); one that HTTP/1.1 cannot
    carry at all raises `UnsendableRequest`."""
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    out: list[tuple[str, bytes | str]] = []
    for name, value in items:
        if isinstance(value, str):
            try:
                raw = value.encode("ascii")
                wire: bytes | str = value
            except UnicodeEncodeError:
                try:
                    raw = value.encode("latin-1")
                except UnicodeEncodeError:
                    raw = value.encode("utf-8", "surrogatepass")
                wire = raw
        elif isinstance(value, bytes):
            raw = wire = value
        else:
            raw = str(value).encode("latin-1", "replace")
            wire = str(value)
        if not _FIELD_VALUE.fullmatch(raw):
            raise UnsendableRequest(f"HTTP/1.1 cannot carry the {name} header value {value!r}")
        out.append((name, wire))
    return out


def json_bytes(value: Any) -> bytes:
    """A JSON body as UTF-8; text HTTP cannot encode as UTF-8 (a lone surrogate) goes escaped."""
    try:
        return jsonlib.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return jsonlib.dumps(value, ensure_ascii=True).encode("ascii")


class ApiClient:
    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        shared: RunShared,
        settings: ClientSettings = ClientSettings(),
        transport: httpx.BaseTransport | None = None,
        role: str = "primary",
        recording: Recording | None = None,
    ) -> None:
        """`recording`: where exchanges and answers are recorded; by default the one in scope where the
        client is made (the plugin's), so a client used from other threads still records there."""
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.role = role  # primary, second or api-key: which credential a reproduction should send
        self.shared = shared
        self.settings = settings
        self.recording = recording if recording is not None else active()
        inner = transport or httpx.HTTPTransport(limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(credential.username, credential.secret),
            timeout=settings.timeout_s,
            transport=ContractTransport(inner, shared, settings, self.recording),
        )

    def close(self) -> None:
        self._http.close()

    # -- the one place requests are built ------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = UNSET,
        content: bytes | str | None = None,
        headers: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: Any = UNSET,
    ) -> httpx.Response:
        """Send one request and return its answer. `url` is a path or an absolute URL."""
        self.shared.check_deadline()
        self.shared.check_target()
        items = wire_headers(headers)
        if json is not UNSET:
            content = json_bytes(json)
            if not any(name.lower() == "content-type" for name, _ in items):
                items.append(("Content-Type", "application/json"))
        if auth is NO_AUTH:
            auth_arg: Any = None
        elif auth is UNSET:
            auth_arg = httpx.USE_CLIENT_DEFAULT
        else:
            auth_arg = auth
        request = self._http.build_request(
            method,
            url,
            content=content,
            headers=items,  # type: ignore[arg-type]
            params=params,
        )
        # Which credential went out (never the credential itself): `reproduce` sends the same kind.
        custom = auth is not UNSET or any(name.lower() == "authorization" for name, _ in items)
        request.extensions[AUTH_ROLE] = "none" if auth is NO_AUTH and not custom else "custom" if custom else self.role
        response = self._http.send(request, auth=auth_arg)
        self._remember_created(method, response)
        return response

    def _remember_created(self, method: str, response: httpx.Response) -> None:
        if method.upper() != "POST" or response.status_code != 202:
            return
        try:
            cid = response.json()["related"]["configurationId"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(cid, str) and cid:
            self.shared.record(self.credential.username, cid)

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
        return self.request(
            "DELETE", f"{CONFIGURATIONS}/{configuration_id}", headers=_write_headers(key, if_match, None)
        )

    def operation(self, operation_id: str) -> httpx.Response:
        return self.request("GET", f"{OPERATIONS}/{operation_id}")


def _write_headers(key: str | None, if_match: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(extra or {})
    if key is not None:
        headers["Idempotency-Key"] = key
    if if_match is not None:
        headers["If-Match"] = if_match
    return headers
