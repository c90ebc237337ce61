"""Fixtures for the reference-server tests: real servers on loopback, real httpx clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT
from orchestrator_contract.server import RunningServer, ServerConfig, start_background

from .helpers import FAST_DELAY_MS, Api


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    with start_background(ServerConfig(op_delay_ms=FAST_DELAY_MS)) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: RunningServer) -> Iterator[Api]:
    client = Api(server.base_url, PRIMARY_ACCOUNT)
    yield client
    client.close()


@pytest.fixture(scope="session")
def other(server: RunningServer) -> Iterator[Api]:
    client = Api(server.base_url, SECOND_ACCOUNT)
    yield client
    client.close()


@pytest.fixture(scope="session")
def keyed(server: RunningServer) -> Iterator[Api]:
    """The primary account, authenticated with its API key."""
    client = Api(server.base_url, PRIMARY_API_KEY)
    yield client
    client.close()


@pytest.fixture()
def fresh() -> Iterator[tuple[RunningServer, Api, Api]]:
    """A server of its own (for list tests that need an empty account)."""
    with start_background(ServerConfig(op_delay_ms=FAST_DELAY_MS)) as running:
        a, b = Api(running.base_url, PRIMARY_ACCOUNT), Api(running.base_url, SECOND_ACCOUNT)
        yield running, a, b
        a.close()
        b.close()
