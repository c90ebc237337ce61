"""False alarms: run profiles against the (correct) reference server at many seeds and worker counts.

    python bench/reliability.py --nightly-runs 12 --nightly-seconds 120 --ci-workers 1 2 4 8
    python bench/reliability.py --focus "sdk or long_history" --focus-runs 12 --output reports/reliability-new.md

Every run is `orchestrator-contract run` against the embedded reference server, which honours the
contract: any failure is a false alarm (a suite error counts too: a gate must not go red for the
suite's own reasons). The nightly profile runs at fresh random seeds, cycling through 0, 2 and 4
workers and, independently, through server conditions another implementation may have (the default
loopback server, slow operations, a network round trip, a rate limit), each with a time budget; the
`ci` profile runs once per worker count. `--focus EXPR` runs only the tests a pytest marker expression
selects, at the `ci` profile's depth with fresh seeds, cycling through 0, 2 and 4 workers and the loopback,
25 ms latency and 400 ms operation conditions (new tests are measured so before they join the gate). Writes
`reports/reliability.md` (each run's seed, workers, exit status, counts, wall time, and every
failing test with its clause) and exits 1 if any run was not a clean pass.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from machine import git_commit, loadavg, nested_env
from orchestrator_contract.mutation.suite_runs import run_command
from orchestrator_contract.reporting.summary import read_result

REPORT = REPO / "reports" / "reliability.md"
# Server conditions the nightly runs cycle through: a correct server may be slow, remote or throttled.
CONDITIONS: dict[str, list[str]] = {
    "loopback": [],
    "operations 400 ms": ["--server-op-delay-ms", "400"],
    "latency 20 ms": ["--server-latency-ms", "20"],
    "latency 25 ms": ["--server-latency-ms", "25"],
    "429 above 30/s": ["--server-rate-limit", "30"],
}


@dataclass
class Outcome:
    profile: str
    seed: int | None
    workers: int
    condition: str
    budget_s: int | None
    exit_code: int
    wall_s: float
    counts: str
    failures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not self.failures


def run(
    profile: str,
    seed: int | None,
    workers: int,
    budget_s: int | None,
    work: Path,
    condition: str = "loopback",
    markers: str = "",
) -> Outcome:
    report = work / f"{profile}-{seed}-{workers}-{condition.replace(' ', '-')}"
    command = run_command(profile, workers, report, *CONDITIONS[condition])
    if seed is not None:
        command += ["--seed", str(seed)]
    if budget_s:
        command += ["--max-time", str(budget_s)]
    if markers:
        command += ["--", "-m", markers]
    env = nested_env()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=(budget_s or 900) + 400)
    wall = time.monotonic() - started
    result = read_result(report)
    failures = [f"`{f.test}` [{f.clause or 'suite error'}] {f.headline[:160]}" for f in result.failures]
    counts = (
        f"{result.passed} passed, {len(result.violations)} violations, {len(result.suite_errors)} suite errors, "
        f"{result.skipped} skipped"
    )
    return Outcome(profile, seed, workers, condition, budget_s, done.returncode, round(wall, 1), counts, failures)


def render(outcomes: list[Outcome], started: str, load_before: str, focus: str = "") -> str:
    false = [o for o in outcomes if not o.clean]
    lines = [
        "# Reliability: false alarms against the reference server",
        "",
        f"- commit: {git_commit()}",
        f"- started: {started}; load average before: {load_before}, after: {loadavg()}",
        f"- runs: {len(outcomes)}; clean passes: {len(outcomes) - len(false)}; **false alarms: {len(false)}**",
        *([f"- tests: those the marker expression `{focus}` selects, at the `ci` profile's depth"] if focus else []),
        "- the reference server honours the contract, so every failure (violation or suite error) is a false alarm",
        "",
        "| profile | seed | workers | server | budget s | exit | wall s | tests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.profile} | {o.seed if o.seed is not None else 'profile'} | {o.workers} | {o.condition} | "
            f"{o.budget_s or '-'} | {o.exit_code} | {o.wall_s} | {o.counts} |"
        )
    if false:
        lines += ["", "## False alarms", ""]
        for o in false:
            lines.append(f"- {o.profile} seed {o.seed} workers {o.workers} server {o.condition} (exit {o.exit_code}):")
            lines += [f"  - {f}" for f in o.failures] or ["  - (no failure recorded)"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nightly-runs", type=int, default=12, help="nightly runs at fresh random seeds")
    parser.add_argument("--nightly-seconds", type=int, default=120, help="time budget of each nightly run")
    parser.add_argument("--nightly-workers", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument(
        "--conditions",
        nargs="+",
        default=list(CONDITIONS),
        choices=list(CONDITIONS),
        help="server conditions the nightly runs cycle through",
    )
    parser.add_argument("--ci-workers", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--focus", default="", metavar="EXPR", help="only the tests this marker expression selects")
    parser.add_argument("--focus-runs", type=int, default=12, help="--focus: runs at fresh seeds")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    started, load_before = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), loadavg()
    outcomes: list[Outcome] = []
    seeds = random.SystemRandom()
    with tempfile.TemporaryDirectory(prefix="reliability-") as work:
        focus_conditions = ["loopback", "latency 25 ms", "operations 400 ms"]
        for index in range(args.focus_runs if args.focus else 0):
            workers = (0, 2, 4)[index % 3]
            condition = focus_conditions[(index // 3) % len(focus_conditions)]
            outcome = run("ci", seeds.randrange(1, 2**31), workers, None, Path(work), condition, args.focus)
            outcomes.append(outcome)
            print(
                f"ci [{args.focus}] seed {outcome.seed} workers {workers} {condition}: exit {outcome.exit_code}, "
                f"{outcome.counts}, {outcome.wall_s} s",
                flush=True,
            )
        for index in range(0 if args.focus else args.nightly_runs):
            workers = args.nightly_workers[index % len(args.nightly_workers)]
            # Cycled by a different stride, so each worker count meets every condition.
            condition = args.conditions[(index // len(args.nightly_workers)) % len(args.conditions)]
            outcome = run("nightly", seeds.randrange(1, 2**31), workers, args.nightly_seconds, Path(work), condition)
            outcomes.append(outcome)
            print(
                f"nightly seed {outcome.seed} workers {workers} {condition}: exit {outcome.exit_code}, "
                f"{outcome.counts}, "
                f"{outcome.wall_s} s",
                flush=True,
            )
        for workers in [] if args.focus else args.ci_workers:
            outcome = run("ci", None, workers, None, Path(work))
            outcomes.append(outcome)
            print(f"ci workers {workers}: exit {outcome.exit_code}, {outcome.counts}, {outcome.wall_s} s", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(outcomes, started, load_before, args.focus), encoding="utf-8")
    (args.output.with_suffix(".json")).write_text(
        json.dumps([o.__dict__ for o in outcomes], indent=1) + "\n", encoding="utf-8"
    )
    false = sum(not o.clean for o in outcomes)
    print(f"reliability: {len(outcomes)} runs, {false} false alarm(s); {args.output}")
    return 1 if false else 0


if __name__ == "__main__":
    raise SystemExit(main())
