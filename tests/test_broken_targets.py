"""Acceptance test: `orchestrator-contract run --base-url` against a broken target ends quickly with a
verdict that names what the target did.

Each mode of `tests/broken_target.py` is a target a user may meet (an outage page, a login wall, a
redirect loop, a 64 MiB answer, a host that never answers, credentials that stop working mid-run).
For each one the CLI runs in a subprocess, exactly as a user types it, and must: end within
`VERDICT_S`, exit 1 (the target is broken, or violations found) or 2 (unreachable), print no
traceback, and say what happened, on stdout/stderr and, for exit 1, in `summary.md`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from broken_target import BrokenTarget
from cli_harness import REPO, CliRun, dev_credentials_env

VERDICT_S = 120  # what a user may wait for a verdict on a broken target
HARD_TIMEOUT_S = 150  # past this the run is killed and the test fails

UNREACHABLE = r"cannot reach|no answer|timed out|unreachable"


@dataclass(frozen=True)
class Expected:
    exit_code: int
    output: tuple[str, ...]  # each must match stdout+stderr (case-insensitive)
    summary: tuple[str, ...] = ()  # if any: summary.md must exist and match each


def broken(*patterns: str) -> Expected:
    """Exit 1 with a verdict naming the broken target, on the terminal and in summary.md."""
    both = ("target broken", *patterns)
    return Expected(1, both, both)


EXPECTED: dict[str, Expected] = {
    "html-500": broken(r"\b500\b"),
    "truncated-json": broken(r"not (valid )?json"),
    "redirect-self": broken(r"redirect"),
    "huge-json": broken(r"response size limit"),
    "html-login": broken(r"not json|text/html"),
    "never-answers": Expected(2, (UNREACHABLE,)),
    "slow-20s": Expected(2, (UNREACHABLE,)),
    "closes-connection": Expected(2, (UNREACHABLE,)),
    # The target answered, then rejected the credentials it had accepted: violations, listed by clause.
    "401-after-20": Expected(1, (r"violation",), (r"violations by clause", r"^- `[A-Z]+(-[A-Z0-9]+)+`: \d+ test")),
}


def run_against(base_url: str, report_dir: Path) -> tuple[CliRun, float]:
    """`orchestrator-contract run --base-url URL --report-dir DIR` as a user types it: (run, wall seconds).

    In its own process group, so a run past `HARD_TIMEOUT_S` is killed with its pytest children."""
    command = [sys.executable, "-m", "orchestrator_contract", "run", "--base-url", base_url]
    command += ["--report-dir", str(report_dir)]
    started = time.perf_counter()
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **dev_credentials_env()},
        cwd=REPO,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=HARD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            wall = time.perf_counter() - started
            pytest.fail(
                f"no verdict after {wall:.0f} s (killed at the {HARD_TIMEOUT_S} s hard timeout; a user must get "
                f"one within {VERDICT_S} s)\n--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-3000:]}"
            )
    return CliRun(process.returncode, stdout, stderr, report_dir), time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(EXPECTED))
def test_broken_target_gets_a_verdict(mode: str, tmp_path: Path) -> None:
    expected = EXPECTED[mode]
    with BrokenTarget(mode) as base_url:
        run, wall = run_against(base_url, tmp_path / "r")
    output = run.stdout + "\n" + run.stderr
    what = f"{mode}: exit {run.returncode} after {wall:.1f} s\n{run.explain()}\n--- summary.md\n{run.summary[-3000:]}"

    assert wall <= VERDICT_S, f"the verdict took {wall:.1f} s (at most {VERDICT_S} s)\n{what}"
    assert "Traceback" not in output, f"a traceback reached the user\n{what}"
    assert run.returncode in (1, 2), f"exit {run.returncode}: a broken target is exit 1 or 2\n{what}"
    assert run.returncode == expected.exit_code, f"expected exit {expected.exit_code}\n{what}"
    for pattern in expected.output:
        assert re.search(pattern, output, re.IGNORECASE), f"stdout/stderr do not match /{pattern}/i\n{what}"
    if expected.summary:
        assert (run.report_dir / "summary.md").is_file(), f"no summary.md in {run.report_dir}\n{what}"
    for pattern in expected.summary:
        assert re.search(pattern, run.summary, re.IGNORECASE | re.MULTILINE), (
            f"summary.md does not match /{pattern}/i\n{what}"
        )
