"""Serving the app with uvicorn: in the foreground, or in a background thread for tests/suites."""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from orchestrator_contract.server.app import create_app
from orchestrator_contract.server.config import ServerConfig


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


class ServerProcess:
    """A server running in a child process (forked with the configuration): the suites' own
    process keeps its interpreter to itself. `stop()` (or leaving the `with`) ends it."""

    def __init__(self, process: multiprocessing.process.BaseProcess, base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: uvicorn shuts down gracefully
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _serve_on(config: ServerConfig | None, sock: socket.socket) -> None:
    server = uvicorn.Server(_uvicorn_config(create_app(config), "127.0.0.1", sock.getsockname()[1]))
    server.run(sockets=[sock])


def start_process(config: ServerConfig | None = None, startup_timeout: float = 10.0) -> ServerProcess:
    """Start a server on a free loopback port in a forked child process and return once it answers.
    Where fork is not available (it is on Linux), the server runs in a thread (`start_background`)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return start_background(config)  # type: ignore[return-value]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted connections inherit it
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(target=_serve_on, args=(config, sock), daemon=True)
    process.start()
    sock.close()  # the child holds it
    running = ServerProcess(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + startup_timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(1):
                    return running
        except OSError:
            pass
        if not process.is_alive() or time.monotonic() > deadline:
            running.stop()
            raise RuntimeError("the reference server did not start")
        time.sleep(0.01)


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
