"""The reference server: a conformant implementation of CONTRACT.md, with switchable faults."""

from orchestrator_contract.server.app import create_app
from orchestrator_contract.server.config import ServerConfig, parse_credential
from orchestrator_contract.server.faults import FAULTS, Fault
from orchestrator_contract.server.runner import (
    RunningServer,
    ServerProcess,
    run_server,
    start_background,
    start_process,
)

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
