"""A stand-in for a broken target: what `orchestrator-contract run --base-url` meets in the field.

A user points the CLI at a URL that is not a healthy Configurations API: a proxy's outage page, a
login wall, a redirect loop, a half-sent body, a host that never answers, credentials that stop
working mid-run. The CLI must end quickly with a verdict that names what the target did (exit 1 or
2), never with a traceback or a hang. This server plays each of those targets, one mode at a time,
for `tests/test_broken_targets.py`: every request, whatever its method or path, gets the mode's
answer (or none).

    with BrokenTarget("html-500") as base_url:
        ...  # run the CLI against base_url

Stdlib only (`http.server.ThreadingHTTPServer` in a daemon thread on 127.0.0.1, a free port), so
it misbehaves exactly as written, unlike an ASGI server that would repair some answers. Leaving the
`with` block releases every held connection (never-answers, slow-20s, a huge body being sent) and
never waits for a client.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MODES: tuple[str, ...] = (
    "html-500",
    "truncated-json",
    "redirect-self",
    "huge-json",
    "html-login",
    "never-answers",
    "slow-20s",
    "closes-connection",
    "401-after-20",
)

HOST = "127.0.0.1"
HUGE_BYTES = 64 * 1024 * 1024
SLOW_S = 20.0
AUTHORISED_REQUESTS = 20
CHUNK = 64 * 1024

OUTAGE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    b"<body><h1>Internal Server Error</h1><p>The upstream service is unavailable. Please try again later.</p>"
    b"<hr><address>nginx</address></body></html>\n"
)
LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><h1>Sign in to continue</h1>\n"
    b'<form method="post" action="/login"><label>Email <input name="email" type="email"></label>\n'
    b'<label>Password <input name="password" type="password"></label>\n'
    b'<button type="submit">Sign in</button></form></body></html>\n'
)
EMPTY_PAGE = {"configurations": [], "meta": {"pageSize": 50}}
SLOW_PAGE = {"configurations": [], "meta": {"pageSize": 1}}
AUTHENTICATE = {"code": 20003, "message": "Authenticate", "status": 401}
# A plausible page, cut in the middle of a string: no parser can read it.
_FULL_PAGE = json.dumps(
    {
        "configurations": [
            {
                "id": "conv_configuration_01hzx7k3q5f8m2n4p6r8t0v2w4",
                "displayName": "support",
                "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
            }
        ],
        "meta": {"pageSize": 50, "key": "configurations"},
    }
).encode()
TRUNCATED_PAGE = _FULL_PAGE[: len(_FULL_PAGE) // 2]


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    """Answers every request per the server's mode (`do_*` for any method resolves to `_answer`)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs: the client reuses its connection
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        mode = self.server.mode
        if mode == "closes-connection":
            self.close_connection = True
            return  # finish() closes the socket: no status line, no bytes
        if mode == "never-answers":
            self.server.stopping.wait()  # hold the connection, unread and unanswered, until the server stops
            self.close_connection = True
            return
        with contextlib.suppress(OSError):  # the client went away: nothing to report
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- the answers ---------------------------------------------------------------------------
    def _answer(self) -> None:
        self._discard_body()
        mode = self.server.mode
        count = self.server.count_request()
        if mode == "html-500":
            self._send(500, "text/html", OUTAGE_PAGE)
        elif mode == "truncated-json":
            self._send(200, "application/json", TRUNCATED_PAGE)
        elif mode == "redirect-self":
            self._send(302, None, b"", Location=f"http://{HOST}:{self.server.server_port}{self.path}")
        elif mode == "huge-json":
            self._send_huge()
        elif mode == "html-login":
            self._send(200, "text/html", LOGIN_PAGE)
        elif mode == "slow-20s":
            if self.server.stopping.wait(self.server.slow_s):
                self.close_connection = True
                return
            self._send(200, "application/json", _json(SLOW_PAGE))
        elif mode == "401-after-20":
            if count <= self.server.authorised_requests:
                self._send(200, "application/json", _json(EMPTY_PAGE))
            else:
                self._send(401, "application/json", _json(AUTHENTICATE), **{"WWW-Authenticate": 'Basic realm="Twilio"'})
        else:
            raise AssertionError(f"unknown mode {mode!r}")

    def _discard_body(self) -> None:
        """Read the request body, so the connection can carry the next request (or close cleanly)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True  # not worth decoding: answer, then close
            return
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            chunk = self.rfile.read(min(length, CHUNK))
            if not chunk:
                break
            length -= len(chunk)

    def _send(self, status: int, content_type: str | None, body: bytes, **headers: str) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _send_huge(self) -> None:
        """A valid JSON page of `huge_bytes` bytes (mostly one padding string), streamed in chunks."""
        head = b'{"configurations":[],"meta":{"pageSize":50},"padding":"'
        tail = b'"}'
        size = self.server.huge_bytes
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        padding = b"x" * CHUNK
        remaining = size - len(head) - len(tail)
        try:
            self.wfile.write(head)
            while remaining > 0:
                if self.server.stopping.is_set():
                    self.close_connection = True
                    return
                piece = padding[: min(remaining, CHUNK)]
                self.wfile.write(piece)
                remaining -= len(piece)
            self.wfile.write(tail)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client stopped reading: stop quietly


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, mode: str, *, slow_s: float, huge_bytes: int, authorised_requests: int) -> None:
        super().__init__((HOST, 0), _Handler)
        self.mode = mode
        self.slow_s = slow_s
        self.huge_bytes = huge_bytes
        self.authorised_requests = authorised_requests
        self.stopping = threading.Event()
        self.requests = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def count_request(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def release_connections(self) -> None:
        """Unblock every handler (reading, waiting or writing) by shutting its socket down."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is no news here; never print a traceback into the test's output


class BrokenTarget:
    """A context manager: `with BrokenTarget(mode) as base_url:` serves `mode` until the block ends."""

    def __init__(
        self,
        mode: str,
        *,
        slow_s: float = SLOW_S,
        huge_bytes: int = HUGE_BYTES,
        authorised_requests: int = AUTHORISED_REQUESTS,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.slow_s = slow_s
        self.huge_bytes = huge_bytes
        self.authorised_requests = authorised_requests
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in was not started")
        return f"http://{HOST}:{self._server.server_port}"

    @property
    def requests(self) -> int:
        """How many requests it began to answer (never-answers and closes-connection read none)."""
        return self._server.requests if self._server else 0

    def start(self) -> str:
        self._server = _Server(
            self.mode, slow_s=self.slow_s, huge_bytes=self.huge_bytes, authorised_requests=self.authorised_requests
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"broken-{self.mode}", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, thread, self._thread = self._server, self._thread, None
        if server is None or thread is None:
            return  # never started, or already stopped
        server.stopping.set()  # waiting handlers (never-answers, slow-20s) give up, streams stop
        server.shutdown()  # the accept loop ends (within poll_interval)
        server.release_connections()  # handlers blocked on a socket return at once
        server.server_close()
        thread.join(timeout=5)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
