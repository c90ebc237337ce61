"""A pytest plugin that breaks the suite on purpose, for the project's own tests of verdicts.

- `SABOTAGE_TESTS`: the named tests raise an exception of the suite's own, as a bug in a suite
  helper would (exit status 3).
- `SABOTAGE_VIOLATE_ONCE`: the named tests fail one time in two, as a race would: the first run
  raises a contract violation, the replay (the marker file in `SABOTAGE_MARKER_DIR` exists)
  passes. For the triage of `orchestrator-contract run`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

from orchestrator_contract.contract.violations import ContractViolation

BROKEN = tuple(t for t in os.environ.get("SABOTAGE_TESTS", "").split(",") if t)
ONCE = tuple(t for t in os.environ.get("SABOTAGE_VIOLATE_ONCE", "").split(",") if t)
MARKER_DIR = os.environ.get("SABOTAGE_MARKER_DIR", "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    if any(name in item.nodeid for name in BROKEN):
        raise KeyError("a bug in the suite itself (tests/sabotage_plugin.py)")
    if any(name in item.nodeid for name in ONCE):
        marker = Path(MARKER_DIR) / "violated-once"
        if not marker.exists():
            marker.write_text(item.nodeid)
            raise ContractViolation("VER-ETAG", "an intermittent fault: it shows one time in two")
    return (yield)
