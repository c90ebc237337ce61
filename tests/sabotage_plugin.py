"""A pytest plugin that breaks the suite on purpose (for the project's own tests of exit status 3):
the named tests raise an exception of the suite's own, as a bug in a suite helper would."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

BROKEN = tuple(t for t in os.environ.get("SABOTAGE_TESTS", "").split(",") if t)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    if any(name in item.nodeid for name in BROKEN):
        raise KeyError("a bug in the suite itself (tests/sabotage_plugin.py)")
    return (yield)
