"""Fixtures for the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def embedded_server() -> Iterator[str]:
    """A clean reference server on a free loopback port; yields its base URL."""
    from orchestrator_contract.server import ServerConfig, start_background

    with start_background(ServerConfig()) as server:
        yield server.base_url
