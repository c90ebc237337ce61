"""The order tests run in: the most faults caught per second first, so a broken server hears of it fast.

`suites/schedule.json` ranks the tests (written by `bench/signal_order.py` from a mutation matrix:
a greedy cover of the fault catalogue, each step taking the test that catches the most faults not
yet caught per second it costs). The order keeps each module's tests together (a module's shared
datasets are then set up once) and ranks a module by its best test. A test the schedule does not
name keeps its place after the ranked ones. Order never changes a verdict: every test is
independent; it changes only how soon the first failure arrives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .resources import suites_dir

SCHEDULE_FILE = "schedule.json"


class _Item(Protocol):
    nodeid: str


def base_id(nodeid: str) -> str:
    """`module.py::test` of a node id (parameters dropped, path reduced to the file name)."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).name}::{rest.partition('[')[0]}"


@lru_cache(maxsize=1)
def load_ranks(path: Path | None = None) -> dict[str, int]:
    """`module.py::test` -> rank (0 first) from the schedule file; empty when there is none."""
    source = path or suites_dir() / SCHEDULE_FILE
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    order = data.get("order", []) if isinstance(data, dict) else []
    return {name: rank for rank, name in enumerate(order) if isinstance(name, str)}


def order_for_signal(items: Sequence[_Item], ranks: dict[str, int] | None = None) -> list[_Item]:
    ranks = load_ranks() if ranks is None else ranks
    unranked = len(ranks)

    def rank(item: _Item) -> int:
        return ranks.get(base_id(item.nodeid), unranked)

    module_rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.partition("::")[0]
        module_rank[module] = min(module_rank.get(module, unranked), rank(item))
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (module_rank[pair[1].nodeid.partition("::")[0]],
                                   pair[1].nodeid.partition("::")[0], rank(pair[1]), pair[0]))
    return [item for _, item in indexed]
