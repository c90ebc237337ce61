"""The speed targets, measured side by side with one build: `reports/bench.md`.

    python bench/speed.py                 # the ci profile under each target condition (about 10 minutes)
    python bench/speed.py --gate          # also the mutation gate: time to the first failure per fault
    python bench/speed.py --ci            # also `.ci/run` in a fresh clone of HEAD (about 10 minutes more)

Rows: the `ci` profile against the embedded reference server on loopback, with every answer 25 and
50 ms later (a remote target), with operations applied 500 ms after they were accepted, and with 429
above 20 requests per second per account; the loopback, latency and slow-operation rows run
serially (`--workers 0`, one request at a time) and with the profile's default (`workers = "auto"`),
so the ratio shows what overlap buys. Then the median time to the first failure over the fault
catalogue (the gate, fail-fast, serial), and the project's own CI.
The machine's load is recorded before and after: the figures are only as quiet as the machine was.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from machine import describe, git_commit, loadavg, nested_env
from orchestrator_contract.mutation.suite_runs import run_command
from orchestrator_contract.reporting.summary import read_result

REPORT = REPO / "reports" / "bench.md"
TARGETS = {"loopback": 30, "latency 25 ms": 60, "latency 50 ms": 90, "operations 500 ms": 90}


@dataclass
class Row:
    label: str
    workers: str
    wall_s: float
    exit_code: int
    tests: str
    load: str


def run_ci(label: str, options: list[str], workers: str, work: Path) -> Row:
    report = work / f"{label.replace(' ', '-')}-{workers}"
    command = run_command("ci", workers, report, *options)
    env = nested_env()
    load = loadavg()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=1800)
    wall = time.monotonic() - started
    result = read_result(report)
    chosen = next(
        (
            line.split("workers")[0].split(":")[-1].strip()
            for line in done.stdout.splitlines()
            if "workers (auto" in line
        ),
        workers,
    )
    tests = f"{result.passed} passed, {result.failed + result.errors} failed, {result.skipped} skipped"
    return Row(label, chosen if workers == "auto" else workers, round(wall, 1), done.returncode, tests, load)


def run_gate(work: Path) -> tuple[float | None, float, int, int]:
    """(median seconds to the failure naming the fault's clause, wall, caught, faults) over the catalogue."""
    report = work / "gate"
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator_contract",
            "mutate",
            "--no-baseline",
            "--fail-fast",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=work,
    )
    wall = time.monotonic() - started
    data = json.loads((report / "mutation.json").read_text(encoding="utf-8"))
    rows = [r for r in data["rows"] if r["fault"] != "(clean)"]
    times = [r["suite"].get("first_named_s") for r in rows if r["caught"] and r.get("expected_clause_named")]
    caught = sum(1 for r in rows if r["caught"] and r.get("expected_clause_named"))
    return (statistics.median(t for t in times if t is not None) if times else None), wall, caught, len(rows)


def run_project_ci(work: Path) -> tuple[float, int]:
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = nested_env(drop=("PYTEST_", "VIRTUAL_ENV"), TMPDIR=str(work))
    started = time.monotonic()
    done = subprocess.run(["bash", ".ci/run"], cwd=clone, capture_output=True, text=True, env=env, timeout=5400)
    (work / "ci.log").write_text(done.stdout[-20000:] + done.stderr[-20000:], encoding="utf-8")
    return time.monotonic() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="also run the mutation gate (fail-fast) for the median")
    parser.add_argument("--ci", action="store_true", help="also time .ci/run in a fresh clone of HEAD")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    load_before = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rows: list[Row] = []
    extra: list[str] = []
    with tempfile.TemporaryDirectory(prefix="speed-") as temporary:
        work = Path(temporary)
        rows.append(run_ci("loopback", [], "0", work))
        rows.append(run_ci("loopback", [], "auto", work))
        for label, options in (
            ("latency 25 ms", ["--server-latency-ms", "25"]),
            ("latency 50 ms", ["--server-latency-ms", "50"]),
            ("operations 500 ms", ["--server-op-delay-ms", "500"]),
        ):
            rows.append(run_ci(label, options, "0", work))
            rows.append(run_ci(label, options, "auto", work))
            print(f"speed: {label}: serial {rows[-2].wall_s} s, default {rows[-1].wall_s} s", flush=True)
        # No target: above the limit the server answers 429, so the rate, not the overlap, sets the pace.
        rows.append(run_ci("rate limit 20/s per account", ["--server-rate-limit", "20"], "auto", work))
        if args.gate:
            median, wall, caught, faults = run_gate(work)
            extra.append(
                f"| median time to the failure naming the fault's clause, fail-fast, over the fault "
                f"catalogue | {median if median is None else f'{median:.1f} s'} | <= 5 s | gate: {caught}/"
                f"{faults} faults caught with their clause, {wall:.0f} s in all (2 jobs) |"
            )
        if args.ci:
            wall, code = run_project_ci(work)
            extra.append(
                f"| project CI (`.ci/run`, fresh clone of HEAD) | {wall / 60:.1f} min | <= 10 min | exit {code} |"
            )
            shutil.copy(work / "ci.log", args.output.with_name("bench-ci.log"))
    lines = [
        "# Speed (`python bench/speed.py`)",
        "",
        f"- commit: {git_commit()}; started {started}",
        f"- machine: {describe()}; load average before: {load_before}, after: {loadavg()}",
        "- every row is one `orchestrator-contract run --profile ci` against the embedded reference server "
        "(the correct one: every run must pass)",
        "",
        "| what | workers | wall time | target | exit | tests | load average at start |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = TARGETS.get(row.label)
        mark = "" if target is None or row.workers == "0" else (" (met)" if row.wall_s <= target else " (MISSED)")
        lines.append(
            f"| ci profile, {row.label} | {row.workers}{' (serial)' if row.workers == '0' else ' (default)'}"
            f" | {row.wall_s} s{mark} | {f'<= {target} s' if target and row.workers != '0' else '-'} | "
            f"{row.exit_code} | {row.tests} | {row.load} |"
        )
    if extra:
        lines += ["", "| what | figure | target | note |", "|---|---|---|---|", *extra]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if all(r.exit_code == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
