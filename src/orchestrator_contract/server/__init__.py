"""The reference server: a conformant implementation of CONTRACT.md, with switchable faults."""

from .app import create_app
from .config import ServerConfig, parse_credential
from .faults import FAULTS, Fault
from .runner import RunningServer, ServerProcess, run_server, start_background, start_process

__all__ = [
    "FAULTS",
    "Fault",
    "RunningServer",
    "ServerConfig",
    "ServerProcess",
    "create_app",
    "parse_credential",
    "run_server",
    "start_background",
    "start_process",
]
