"""The mutation matrix: the clean server and every fault, the suites (and plain st) against each."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from orchestrator_contract.mutation.report import verdict, write_reports
from orchestrator_contract.mutation.rows import CLEAN, Row, StResult, SuiteResult
from orchestrator_contract.mutation.st_baseline import earliest, judge_st, merge_st, run_st, st_signatures
from orchestrator_contract.mutation.suite_runs import run_suite


def st_dirs(report_dir: Path, row: Row) -> list[Path]:
    """Where `run_matrix` left the st output of `row`."""
    if row.fault != CLEAN:
        return [report_dir / "mutation" / row.fault / "st"]
    runs = len(row.st.seeds) if row.st and row.st.seeds else 1
    return [report_dir / "mutation" / "clean" / f"st-{i + 1}" for i in range(runs)]


def load_rows(report_dir: Path) -> tuple[dict[str, Any], list[Row]]:
    """The rows of an earlier matrix, from its mutation.json."""
    data = json.loads((report_dir / "mutation.json").read_text(encoding="utf-8"))
    rows = []
    for raw in data["rows"]:
        st = raw.get("st")
        rows.append(Row(raw["fault"], raw["clause"], SuiteResult(**raw["suite"]), StResult(**st) if st else None))
    return data, rows


def rejudge(report_dir: Path) -> tuple[int, list[Row]]:
    """Re-read st's NDJSON output of an earlier matrix with today's rules and rewrite the reports."""
    data, rows = load_rows(report_dir)
    for row in rows:
        if row.st is None or row.st.status != "ran":
            continue
        row.st.signatures = earliest(st_signatures(d / "st.ndjson") for d in st_dirs(report_dir, row))
    judge_st(rows)
    write_reports(
        rows,
        report_dir,
        profile=data["profile"],
        wall_s=data["wall_s"],
        fail_fast=data.get("fail_fast", False),
        updates=data.get("updates", []),
    )
    return verdict(rows), rows


def run_matrix(
    faults: Iterable[str],
    *,
    report_dir: Path,
    profile: str = "ci",
    jobs: int = 2,
    baseline: bool = True,
    max_time_per_run: int | None = None,
    fail_fast: bool = False,
    clean_runs: int = 6,
    progress: Callable[[str], None] = print,
    update: bool = False,
) -> tuple[int, list[Row]]:
    """Run the clean server and every fault (suite, then st with the suite's wall time as budget).

    The clean server's st baseline is `clean_runs` st runs at seeds seed, seed+1, ... merged.
    `update`: run only `faults` and put their rows into the matrix already in `report_dir` (its
    clean row, st's false-positive set, is kept); the reports list each update with its commit.
    """
    from orchestrator_contract.planning import profiles
    from orchestrator_contract.server import FAULTS

    loaded = profiles.load(profile)
    faults = list(faults)
    earlier, kept = load_rows(report_dir) if update else ({}, [])
    if update and earlier.get("profile") != profile:
        raise ValueError(f"--update: the matrix in {report_dir} was run with the {earlier.get('profile')!r} profile")
    kept = [r for r in kept if r.fault not in faults]
    names = [*faults] if update else [CLEAN, *faults]
    lock = threading.Lock()

    def one(name: str) -> Row:
        fault = None if name == CLEAN else name
        out = report_dir / "mutation" / (name if fault else "clean")
        suite = run_suite(
            fault,
            out,
            profile=profile,
            max_time_s=max_time_per_run,
            fail_fast=fail_fast,
            clause=FAULTS[fault].clause if fault else "",
        )
        row = Row(name, FAULTS[fault].clause if fault else "", suite)
        if baseline:
            budget = max(1, round(suite.wall_s))
            if max_time_per_run:
                budget = min(budget, max_time_per_run)
            if fault:
                row.st = run_st(fault, out / "st", budget_s=budget, seed=loaded.seed, max_examples=loaded.max_examples)
            else:
                row.st = merge_st(
                    [
                        run_st(
                            None,
                            out / f"st-{i + 1}",
                            budget_s=budget,
                            seed=loaded.seed + i,
                            max_examples=loaded.max_examples,
                        )
                        for i in range(clean_runs)
                    ]
                )
        with lock:
            st_note = "" if row.st is None else f"; st {'error' if row.st.status != 'ran' else len(row.st.signatures)}"
            progress(f"mutate: {name}: suite {suite.status} ({suite.wall_s:.0f} s){st_note}")
        return row

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, names))
    wall_s = time.monotonic() - started
    updates: list[dict[str, Any]] = []
    if update:
        order = {name: i for i, name in enumerate(sorted(FAULTS))}
        rows = sorted([*kept, *rows], key=lambda r: -1 if r.fault == CLEAN else order.get(r.fault, len(order)))
        updates = [*earlier.get("updates", []), {"faults": faults, "commit": git_commit(), "wall_s": round(wall_s, 1)}]
        wall_s = float(earlier.get("wall_s", 0.0))
    judge_st(rows)
    write_reports(rows, report_dir, profile=profile, wall_s=wall_s, fail_fast=fail_fast, updates=updates)
    return verdict(rows), rows


def git_commit() -> str:
    """The checkout's commit (short), for the record of an update; "" outside a git checkout."""
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
    )
    return done.stdout.strip() if done.returncode == 0 else ""
