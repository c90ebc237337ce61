"""The order tests run in: in one process, the most faults caught per second first, so a broken
server hears of it fast; across xdist workers, the longest first, so no worker is left with a long
test at the end.

`suites/schedule.json` ranks the tests (written by `bench/signal_order.py` from a mutation matrix:
a greedy cover of the fault catalogue, each step taking the test that catches the most faults not
yet caught per second it costs). The datasets tests share are session fixtures, set up once
whatever the order. A test the schedule does not name keeps its place after the ranked ones.
Order never changes a verdict: every test is independent; it changes only how soon the first
failure arrives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from orchestrator_contract.contract.locations import suites_dir

SCHEDULE_FILE = "schedule.json"


class _Item(Protocol):
    nodeid: str


def base_id(nodeid: str) -> str:
    """`module.py::test` of a node id (parameters dropped, path reduced to the file name)."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).name}::{rest.partition('[')[0]}"


@lru_cache(maxsize=1)
def load_schedule(path: Path | None = None) -> dict[str, Any]:
    source = path or suites_dir() / SCHEDULE_FILE
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_ranks() -> dict[str, int]:
    """`module.py::test` -> rank (0 first) from the schedule file; empty when there is none."""
    order = load_schedule().get("order", [])
    return {name: rank for rank, name in enumerate(order) if isinstance(name, str)}


def load_durations() -> dict[str, float]:
    """`module.py::test` -> seconds (all its parameters together) on the clean reference server."""
    durations = load_schedule().get("durations", {})
    return {k: float(v) for k, v in durations.items() if isinstance(v, (int, float))}


def order_for_signal(items: Sequence[_Item], ranks: dict[str, int] | None = None) -> list[_Item]:
    ranks = load_ranks() if ranks is None else ranks
    unranked = len(ranks)
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (ranks.get(base_id(pair[1].nodeid), unranked), pair[0]))
    return [item for _, item in indexed]


def order_longest_first(items: Sequence[_Item], workers: int, durations: dict[str, float] | None = None) -> list[_Item]:
    """Longest first, dealt round-robin into `workers` runs laid end to end: xdist's work-stealing
    scheduler hands each worker a contiguous slice of the list, so each slice starts with one of the
    longest tests (LPT scheduling); a test the schedule does not know counts as long."""
    durations = load_durations() if durations is None else durations
    unknown = max(durations.values(), default=0.0)
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (-durations.get(base_id(pair[1].nodeid), unknown), pair[0]))
    runs: list[list[_Item]] = [[] for _ in range(max(1, workers))]
    for position, (_, item) in enumerate(indexed):
        runs[position % len(runs)].append(item)
    return [item for run in runs for item in run]
