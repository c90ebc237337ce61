"""`orchestrator-contract mutate`: check the arguments, run (or rejudge) the matrix, print the totals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from orchestrator_contract.mutation.matrix import rejudge, run_matrix
from orchestrator_contract.mutation.report import _pct, summarize

EXIT_ERROR = 2


def command(args: Any) -> int:
    """`orchestrator-contract mutate`: validate the arguments, run the matrix, print the totals."""
    from orchestrator_contract.planning import profiles
    from orchestrator_contract.server import FAULTS
    from orchestrator_contract.server.faults import check_fault_names

    try:
        check_fault_names(args.faults or [])
        unknown = ""
    except ValueError as exc:
        unknown = str(exc)
    problem = (
        unknown
        if unknown
        else "--jobs must be at least 1"
        if args.jobs < 1
        else "--max-time-per-run must be at least 1"
        if args.max_time_per_run is not None and args.max_time_per_run < 1
        else "--clean-runs must be at least 1"
        if args.clean_runs < 1
        else f"unknown profile {args.profile!r}"
        if args.profile not in profiles.available() and not Path(args.profile).is_file()
        else ""
    )
    if not problem and args.update and not args.faults:
        problem = "--update needs --faults: the faults to measure again"
    if not problem and args.update and not (args.report_dir / "mutation.json").is_file():
        problem = f"--update: no mutation.json in {args.report_dir} to update"
    if problem:
        print(f"orchestrator-contract: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if args.rejudge:
        if not (args.report_dir / "mutation.json").is_file():
            print(f"orchestrator-contract: no mutation.json in {args.report_dir} to rejudge", file=sys.stderr)
            return EXIT_ERROR
        code, rows = rejudge(args.report_dir)
        totals = summarize(rows)
        print(
            f"mutate: st rejudged from its NDJSON output: st kill rate {_pct(totals['st'])}; "
            f"report: {args.report_dir / 'mutation.md'}"
        )
        return code
    faults = list(dict.fromkeys(args.faults)) if args.faults else sorted(FAULTS)
    code, rows = run_matrix(
        faults,
        report_dir=args.report_dir,
        profile=args.profile,
        jobs=args.jobs,
        baseline=args.baseline,
        max_time_per_run=args.max_time_per_run,
        fail_fast=args.fail_fast,
        clean_runs=args.clean_runs,
        update=args.update,
    )
    totals = summarize(rows)
    st = f"st kill rate {_pct(totals['st'])}" if args.baseline else "st not run"
    print(
        f"mutate: suite kill rate {_pct(totals['suite'])}, clean server: {totals['suite']['clean']}; "
        f"{st}; report: {args.report_dir / 'mutation.md'}"
    )
    return code
