"""Run the `ci` profile N times against the embedded reference server and compare the outcomes.

    python bench/flakiness.py --runs 20

A run is flaky when any test's outcome differs between runs (or any run fails): the `ci` profile
is deterministic, so every run must give the same, passing, result. Writes
`reports/flakiness.md` with each run's exit code, counts and wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from orchestrator_contract.reporting.summary import read_result


def outcomes(report_dir: Path) -> dict[str, str]:
    """Each test's outcome (passed, failed, error, skipped) in a run's report directory."""
    return {case.key: case.outcome for case in read_result(report_dir).cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "flakiness")
    args = parser.parse_args()
    rows: list[str] = []
    baseline: dict[str, str] | None = None
    flaky: set[str] = set()
    failed_runs = 0
    for run in range(1, args.runs + 1):
        report_dir = args.out / f"run-{run:02d}"
        started = time.monotonic()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestrator_contract",
                "run",
                "--profile",
                args.profile,
                "--report-dir",
                str(report_dir),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=dict(os.environ),
        )
        wall = time.monotonic() - started
        seen = outcomes(report_dir)
        if baseline is None:
            baseline = seen
        flaky |= {name for name in baseline.keys() | seen.keys() if baseline.get(name) != seen.get(name)}
        failed_runs += completed.returncode != 0
        passed = sum(1 for s in seen.values() if s == "passed")
        rows.append(f"| {run} | {completed.returncode} | {len(seen)} | {passed} | {wall:.1f} |")
        print(f"run {run}: exit {completed.returncode}, {passed}/{len(seen)} passed, {wall:.1f} s", flush=True)
    verdict = (
        "no flaky results"
        if not flaky and not failed_runs
        else (f"{failed_runs} failing run(s), {len(flaky)} test(s) with differing outcomes")
    )
    text = (
        "\n".join(
            [
                f"# Flakiness check: {args.runs} runs of the `{args.profile}` profile",
                "",
                f"Command: `python bench/flakiness.py --runs {args.runs} --profile {args.profile}`; "
                f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                f"load average at the end {os.getloadavg()[0]:.2f} (2 cores).",
                "",
                f"**Verdict: {verdict}.**",
                "",
                "| run | exit | tests | passed | wall s |",
                "|---|---|---|---|---|",
                *rows,
                "",
                *(f"- differing: `{name}`" for name in sorted(flaky)),
            ]
        )
        + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    (args.out.parent / "flakiness.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if not flaky and not failed_runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
