"""Time to a verdict in fail-fast mode, per fault of the reference server: `reports/fail-fast.md`.

    python bench/fail_fast.py                                  # every fault, local profile (about 10 minutes)
    python bench/fail_fast.py --faults conflict-not-detected body-limit-inclusive
    python bench/fail_fast.py --profile ci --extra=-x          # pytest arguments, after `--`

For each fault listed by `orchestrator-contract faults`, one `orchestrator-contract run --profile
local --server-fault NAME --report-dir DIR` (the local profile stops at the first failure), as a user
types it, one after the other, each with a fresh report directory. The figure is the wall time from
start to exit (everything a user waits for: start-up, the embedded server, the suites until the
first failure, the replay of the failed test, the reports). A fault is caught when the run exits 1,
and its clause is named when the clause the catalogue gives it (in brackets in the listing) appears
in the run's summary.md. The subprocesses run this checkout's `src/` (PYTHONPATH), the code of the
commit recorded. The machine's load is recorded before and after: the figures are only as quiet as
the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from machine import describe, git_commit, loadavg, nested_env

REPORT = REPO / "reports" / "fail-fast.md"
RUN_TIMEOUT_S = 900  # the local profile's 300 s budget, its grace, the replay of the failure, start-up
LISTING = re.compile(r"^(?P<name>\S+)\s+\[(?P<clause>[^\]]+)\]")
CLAUSE_LINE = re.compile(r"^- `(?P<clause>[^`]+)`: \d+ test", re.MULTILINE)  # summary.md's "Violations by clause"


@dataclass
class Row:
    fault: str
    clause: str
    wall_s: float
    exit_code: int | None  # None: killed at the timeout
    clause_named: bool
    clauses_in_summary: list[str]
    verdict: str  # the run's last `orchestrator-contract:` line

    @property
    def caught(self) -> bool:
        return self.exit_code == 1


def subprocess_env() -> dict[str, str]:
    """No run context or pytest state of the caller; this checkout's code first on the path."""
    env = nested_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    return env


def list_faults(env: dict[str, str]) -> dict[str, str]:
    """fault name -> its clause, from `orchestrator-contract faults`."""
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator_contract", "faults"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    faults: dict[str, str] = {}
    for line in done.stdout.splitlines():
        match = LISTING.match(line)
        if match:
            faults[match["name"]] = match["clause"]
    return faults


def run_command(profile: str, fault: str, report_dir: Path, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "orchestrator_contract", "run", "--profile", profile]
    command += ["--server-fault", fault, "--report-dir", str(report_dir)]
    return command + (["--", *extra] if extra else [])


def names_clause(summary: str, clause: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(clause)}(?![\w-])", summary) is not None


def run_one(fault: str, clause: str, profile: str, extra: list[str], env: dict[str, str], timeout_s: float) -> Row:
    with tempfile.TemporaryDirectory(prefix=f"fail-fast-{fault}-") as temporary:
        report_dir = Path(temporary) / "report"
        command = run_command(profile, fault, report_dir, extra)
        started = time.perf_counter()
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=REPO,
            start_new_session=True,  # a run killed at the timeout takes its pytest children with it
        ) as process:
            try:
                output, _ = process.communicate(timeout=timeout_s)
                code: int | None = process.returncode
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
                code = None
        wall = time.perf_counter() - started
        summary_path = report_dir / "summary.md"
        summary = summary_path.read_text(encoding="utf-8") if summary_path.is_file() else ""
    verdicts = [line for line in output.splitlines() if line.startswith("orchestrator-contract:")]
    return Row(
        fault=fault,
        clause=clause,
        wall_s=round(wall, 2),
        exit_code=code,
        clause_named=names_clause(summary, clause),
        clauses_in_summary=list(dict.fromkeys(m["clause"] for m in CLAUSE_LINE.finditer(summary))),
        verdict=(verdicts[-1] if verdicts else (output.strip().splitlines() or ["(no output)"])[-1])[:300],
    )


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def render(rows: list[Row], *, header: list[str]) -> tuple[str, dict[str, object]]:
    walls = [r.wall_s for r in rows]
    caught = sum(1 for r in rows if r.caught)
    named = sum(1 for r in rows if r.clause_named)
    stats: dict[str, object] = {
        "median_s": round(statistics.median(walls), 2),
        "p90_s": round(p90(walls), 2),
        "max_s": round(max(walls), 2),
        "caught": caught,
        "clause_named": named,
        "total": len(rows),
    }
    lines = ["# Time to a verdict, fail-fast (`python bench/fail_fast.py`)", "", *[f"- {h}" for h in header], ""]
    lines += [
        "| median | p90 | max | faults caught (exit 1) | faults whose clause was named |",
        "|---|---|---|---|---|",
        f"| {stats['median_s']:.1f} s | {stats['p90_s']:.1f} s | {stats['max_s']:.1f} s | {caught}/{len(rows)} | "
        f"{named}/{len(rows)} |",
        "",
        "| # | fault | its clause | wall time | exit | clause named | clauses in summary.md |",
        "|---|---|---|---|---|---|---|",
    ]
    for rank, row in enumerate(sorted(rows, key=lambda r: r.wall_s), 1):
        exit_text = "timeout" if row.exit_code is None else str(row.exit_code)
        lines.append(
            f"| {rank} | `{row.fault}` | {row.clause} | {row.wall_s:.1f} s | {exit_text} | "
            f"{'yes' if row.clause_named else 'NO'} | {', '.join(row.clauses_in_summary) or '-'} |"
        )
    return "\n".join(lines) + "\n", stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", nargs="+", metavar="NAME", help="only these faults (default: all)")
    parser.add_argument("--profile", default="local", help="run profile (default local: stops at the first failure)")
    parser.add_argument(
        "--extra",
        nargs="+",
        action="extend",
        default=[],
        metavar="ARG",
        help="pytest arguments appended after `--` (write --extra=-x for one that starts with a dash)",
    )
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT_S, help="seconds before a run is killed")
    parser.add_argument("--out", type=Path, default=REPORT, help="the markdown report (default reports/fail-fast.md)")
    parser.add_argument("--json", type=Path, help="also write the figures and every row as JSON here")
    args = parser.parse_args()

    env = subprocess_env()
    catalogue = list_faults(env)
    unknown = [name for name in args.faults or [] if name not in catalogue]
    if unknown:
        parser.error(f"not a fault of the reference server: {', '.join(unknown)}")
    chosen = args.faults or sorted(catalogue)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_before = loadavg()
    rows: list[Row] = []
    for index, fault in enumerate(chosen, 1):
        row = run_one(fault, catalogue[fault], args.profile, args.extra, env, args.timeout)
        rows.append(row)
        print(
            f"fail-fast: [{index}/{len(chosen)}] {fault}: {row.wall_s:.1f} s, exit {row.exit_code}, "
            f"clause {row.clause} {'named' if row.clause_named else 'NOT named'}",
            flush=True,
        )
    template = run_command(args.profile, "NAME", Path("DIR"), args.extra)
    header = [
        f"commit: {git_commit()}; started {started}",
        f"machine: {describe()}; load average before: {load_before}, after: {loadavg()}",
        f"bench: `{shlex.join(['python', 'bench/fail_fast.py', *sys.argv[1:]])}`",
        f"each run: `{shlex.join(['python', *template[1:]])}` (DIR a fresh temporary directory), "
        "sequentially; wall time from start to exit (time.perf_counter)",
        f"faults: {len(rows)} of the {len(catalogue)} in the catalogue",
    ]
    text, stats = render(rows, header=header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {"header": header, **stats, "rows": [{**asdict(r), "caught": r.caught} for r in rows]}
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0 if all(r.caught and r.clause_named for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
