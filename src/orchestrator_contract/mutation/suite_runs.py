"""Running the suites against the embedded server with one fault (or none), as a user would.

Each run is `orchestrator-contract run --server-fault F` in its own subprocess with its own report
directory. In fail-fast mode (the gate) the run stops at the first violation of the fault's own
clause (`--stop-at-clause`): that failure is the whole verdict the gate needs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from orchestrator_contract.mutation.rows import SuiteResult
from orchestrator_contract.reporting.summary import FAILURES_DIR
from orchestrator_contract.verdict.outcomes import read as read_outcomes

EXIT_OK, EXIT_CAUGHT = 0, 1
RUN_GRACE_S = 180  # beyond --max-time-per-run: pytest start-up, report writing, the run's own grace


def run_command(profile: str, workers: int | str, report_dir: Path, *options: str) -> list[str]:
    """`orchestrator-contract run` with this interpreter, as a user would type it (the gate and the
    benches run the suites exactly so)."""
    command = [sys.executable, "-m", "orchestrator_contract", "run", "--profile", profile]
    return [*command, "--workers", str(workers), "--report-dir", str(report_dir), *options]


def run_suite(
    fault: str | None,
    report_dir: Path,
    *,
    profile: str,
    max_time_s: int | None,
    fail_fast: bool = False,
    clause: str = "",
) -> SuiteResult:
    """Run the suites in a subprocess against the embedded server with `fault` (None: clean).

    With `fail_fast` the run stops at the first failure naming `clause` (or, without one, at the
    first failure): `tests` then names only the failures until then.
    """
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    # In-process (no xdist workers): tests then run in the schedule's order, so the time to the first
    # failure is what a fail-fast run of the profile costs, and N runs side by side share the cores.
    command = run_command(profile, "0", report_dir, "--no-triage")
    if fault:
        command += ["--server-fault", fault]
    if max_time_s:
        command += ["--max-time", str(max_time_s)]
    if fail_fast:
        command += ["--stop-at-clause", clause] if clause else ["--", "--maxfail=1"]
    started_wall, started = time.time(), time.monotonic()
    timeout = (max_time_s or 900) + RUN_GRACE_S
    with (report_dir / "run.log").open("w", encoding="utf-8") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = -1
    wall = time.monotonic() - started
    status = {EXIT_OK: "survived", EXIT_CAUGHT: "caught"}.get(code, "error")
    failures = sorted({(o.test, o.clause) for o in read_outcomes(report_dir).outcomes if o.is_violation})
    return SuiteResult(
        status,
        code,
        round(wall, 1),
        sorted({t for t, _ in failures}),
        sorted({c for _, c in failures}),
        first_failure_after(report_dir / FAILURES_DIR, started_wall),
        [list(pair) for pair in failures],
        first_failure_after(report_dir / FAILURES_DIR, started_wall, clause) if clause else None,
    )


def first_failure_after(failures_dir: Path, started_wall: float, clause: str | None = None) -> float | None:
    """Seconds from the run's start to the earliest failure record (its file's mtime), or to the
    earliest naming `clause`."""
    times = []
    for path in failures_dir.glob("*.json") if failures_dir.is_dir() else []:
        if clause is not None:
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("clause") != clause:
                    continue
            except (OSError, ValueError):
                continue
        times.append(path.stat().st_mtime)
    return round(max(0.0, min(times) - started_wall), 1) if times else None


def st_executable() -> str | None:
    local = Path(sys.executable).parent / "st"
    return str(local) if local.is_file() else shutil.which("st")
