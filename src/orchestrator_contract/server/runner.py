"""Serving the app with uvicorn: in the foreground, or in a background thread for tests/suites."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import ServerConfig


def _uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    # date_header=False: the app sets an exact Date itself (see http_io.DateHeaderMiddleware).
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        date_header=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


def run_server(config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    uvicorn.Server(_uvicorn_config(create_app(config), host, port)).run()


class RunningServer:
    """A server running in a daemon thread; `stop()` (or leaving the `with`) shuts it down."""

    def __init__(self, app: Starlette, server: uvicorn.Server, thread: threading.Thread, base_url: str) -> None:
        self.app = app
        self.base_url = base_url
        self._server = server
        self._thread = thread

    @property
    def config(self) -> ServerConfig:
        config: ServerConfig = self.app.state.service.config
        return config

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self.app.state.service.engine.close()  # idempotent; covers a shutdown that skipped lifespan

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_background(
    config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
) -> RunningServer:
    """Start a server on `host:port` (port 0: a free port) and return once it accepts connections."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    app = create_app(config)
    server = uvicorn.Server(_uvicorn_config(app, host, bound_port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"server-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the reference server did not start")
        time.sleep(0.005)
    url_host = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    return RunningServer(app, server, thread, f"http://{url_host}:{bound_port}")
