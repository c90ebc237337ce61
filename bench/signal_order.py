"""Rank the suites' tests by faults caught per second: `suites/schedule.json`, the order tests run in.

    python bench/signal_order.py --matrix reports/mutation        # a full `mutate` (not --fail-fast)
    python bench/signal_order.py --matrix M --durations reports/ci   # durations of another run

From a full mutation matrix (every test against every fault) it takes, per fault, the tests whose
failure names the fault's own clause, and from the clean server's run (or `--durations`: the report
directory of a serial clean run) each test's duration; then a
greedy cover (the standard one for minimum-sum set cover): repeatedly the test that catches the most
faults not yet caught per second it costs, ties to the cheaper and then the name. Tests that catch
nothing new follow, cheapest first. Each test's duration is written too: with xdist workers the
longest go first. The result is written with the commit and the matrix it came from, so
`scheduling` (and anyone reading the file) knows what it rests on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from orchestrator_contract.planning.scheduling import SCHEDULE_FILE
from orchestrator_contract.reporting.summary import read_result


def junit_base_id(classname: str, name: str) -> str:
    """`module.py::test` of a junit case (classname is the module path with dots)."""
    module = classname.rsplit(".", maxsplit=1)[-1]
    return f"{module}.py::{name.partition('[')[0]}"


def greedy(catches: dict[str, set[str]], cost: dict[str, float]) -> list[str]:
    uncovered = set().union(*catches.values()) if catches else set()
    order: list[str] = []
    left = set(cost)
    while uncovered and left:

        def gain(test: str, uncovered: set[str] = uncovered) -> tuple[float, float, str]:
            new = len(catches.get(test, set()) & uncovered)
            return (new / max(cost[test], 0.01), -cost[test], test)

        best = max(left, key=gain)
        if not catches.get(best, set()) & uncovered:
            break
        order.append(best)
        uncovered -= catches[best]
        left.discard(best)
    order += sorted(left, key=lambda t: (cost[t], t))
    return order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--matrix",
        type=Path,
        default=REPO / "reports" / "mutation",
        help="a report directory of `orchestrator-contract mutate` (full, not --fail-fast)",
    )
    parser.add_argument(
        "--durations",
        type=Path,
        help="the report directory of a serial clean `ci` run to take durations from (default: the matrix's "
        "clean run). A shared fixture's set-up counts to the first test that uses it, so "
        "durations measured in the current schedule's order fit the next order best",
    )
    parser.add_argument("--output", type=Path, default=REPO / "suites" / SCHEDULE_FILE)
    args = parser.parse_args()
    data = json.loads((args.matrix / "mutation.json").read_text(encoding="utf-8"))
    if data.get("fail_fast"):
        print(
            "signal_order: the matrix ran --fail-fast: it names only the first catching test per fault", file=sys.stderr
        )
        return 2
    clean = read_result(args.durations or args.matrix / "mutation" / "clean")
    if clean.failed or clean.errors:
        print(
            f"signal_order: the clean run has {clean.failed} failures and {clean.errors} errors: its durations "
            "are not those of a passing run",
            file=sys.stderr,
        )
        return 2
    cost: dict[str, float] = defaultdict(float)
    for case in clean.cases:
        cost[junit_base_id(case.classname, case.name)] += case.seconds
    catches: dict[str, set[str]] = defaultdict(set)
    for row in data["rows"]:
        for test, clause in row["suite"].get("failures", []):
            if clause == row["clause"]:
                classname, _, name = test.partition("::")
                catches[junit_base_id(classname, name)].add(row["fault"])
    order = greedy(catches, dict(cost))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    faults = [r["fault"] for r in data["rows"] if r["fault"] != "(clean)"]
    uncaught = sorted(f for f in faults if not any(f in catches[t] for t in catches))
    args.output.write_text(
        json.dumps(
            {
                "about": "tests in the order that catches the most faults per second first (bench/signal_order.py)",
                "commit": commit,
                "matrix_wall_s": data.get("wall_s"),
                "faults": len(faults),
                "faults_no_test_names": uncaught,
                "order": order,
                "durations": {test: round(seconds, 2) for test, seconds in sorted(cost.items())},
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"signal_order: {len(order)} tests ranked from {len(faults)} faults; first five: {order[:5]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
