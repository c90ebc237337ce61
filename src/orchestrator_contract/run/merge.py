"""`orchestrator-contract merge REPORT_DIR... --out DIR`: one report from several runs' outcomes.

The nightly job runs shards (one CI runner each, each with its own seed); merging their
`results.jsonl` gives one verdict over the union (the same `verdict.decide`: a violation in any
shard fails the whole), failures kept with their shard and seed, coverage summed over every
process of every shard, and one example database: the union of the shards' Hypothesis
directories, so a run given it (`--example-db DIR/.hypothesis-nightly`) replays every shard's
failures first.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from orchestrator_contract.contract.errors import UsageError
from orchestrator_contract.reporting.html_report import Context
from orchestrator_contract.reporting.summary import CASSETTES_DIR, clear_stale, record_file
from orchestrator_contract.run.report import Reporter
from orchestrator_contract.verdict.outcomes import RESULTS_FILE, OutcomeLog, read


def merge_logs(shards: list[Path], out: OutcomeLog) -> None:
    """Every shard's records into `out`, each outcome marked with its shard."""
    for shard in shards:
        if not (shard / RESULTS_FILE).is_file():
            raise UsageError(f"{shard} holds no run (no {RESULTS_FILE})")
        log = read(shard, shard=str(shard))
        for info in log.runs or [{}]:
            out.add_run({**info, "shard": str(shard)})
        for stage in log.stages:
            out.add_stage(stage)
        for outcome in log.outcomes:
            out.add(outcome)
        out.add_tallies(log.tallies)
        if log.target is not None:
            out.set_target(log.target)
        if log.hard_stopped:
            out.mark_hard_stopped()


def copy_artifacts(out_dir: Path, log: OutcomeLog) -> None:
    """The failure records and cassettes of the failed outcomes (the first shard's, for a test
    that failed in several)."""
    for outcome in log.outcomes:
        if outcome.record is None or not outcome.shard:
            continue
        shard = Path(outcome.shard)
        for relative in (record_file(outcome.test), str(outcome.record.get("cassette") or "")):
            source, target = shard / relative, out_dir / relative
            if relative and source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


def merge_databases(out_dir: Path, log: OutcomeLog) -> Path | None:
    """The union of the shards' example databases (Hypothesis' directory layout: one folder per
    key, one file per example, so copying every file merges them), under the name they share."""
    merged: Path | None = None
    for info in log.runs:
        name, shard = str(info.get("example_database") or ""), Path(str(info.get("shard", "")))
        source = Path(name) if Path(name).is_absolute() else shard / name
        if not name or not source.is_dir():
            continue
        merged = out_dir / Path(name).name
        shutil.copytree(source, merged, dirs_exist_ok=True)
    return merged


def command(args: argparse.Namespace) -> int:
    started = time.monotonic()
    out_dir: Path = args.out.resolve()
    shards = [Path(d).resolve() for d in args.report_dirs]
    if out_dir in shards:
        raise UsageError("--out must be a new directory, not one of the merged ones")
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_stale(out_dir, extra=(RESULTS_FILE, f"{CASSETTES_DIR}/*.har"))
    log = OutcomeLog()
    log.start(out_dir / RESULTS_FILE)
    merge_logs(shards, log)
    copy_artifacts(out_dir, log)
    database = merge_databases(out_dir, log)
    seeds = ", ".join(f"{Path(str(r.get('shard'))).name} (seed {r.get('seed', '?')})" for r in log.runs)
    header = [f"merged from {len(shards)} report directories: {seeds}"]
    if database is not None:
        header.append(f"merged example database: {database}")
    targets = sorted({str(r.get("target", "")) for r in log.runs})
    profiles = sorted({str(r.get("profile", "")) for r in log.runs})
    context = Context(", ".join(targets), ", ".join(profiles), ", ".join(str(r.get("seed")) for r in log.runs), 0.0)
    print("orchestrator-contract: " + "; ".join(header), flush=True)
    return Reporter(out_dir, header, context, started).finish(log)
