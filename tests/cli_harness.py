"""Running the CLI as a user does, for the project's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def summary(self) -> str:
        path = self.report_dir / "summary.md"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-3000:]}"


def dev_credentials_env() -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": PRIMARY_ACCOUNT.username,
        "TWILIO_AUTH_TOKEN": PRIMARY_ACCOUNT.secret,
        "TWILIO_SECOND_ACCOUNT_SID": SECOND_ACCOUNT.username,
        "TWILIO_SECOND_AUTH_TOKEN": SECOND_ACCOUNT.secret,
        "TWILIO_API_KEY": PRIMARY_API_KEY.username,
        "TWILIO_API_SECRET": PRIMARY_API_KEY.secret,
    }


def run_cli(report_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> CliRun:
    """`orchestrator-contract run ...` in a subprocess, as a user would type it; in-process
    (`--workers 0`) unless the test names its workers: these runs select a few tests, and xdist
    workers would only add their start-up to them."""
    cut = args.index("--") if "--" in args else len(args)
    workers = [] if "--workers" in args[:cut] else ["--workers", "0"]
    command = [sys.executable, "-m", "orchestrator_contract", "run", "--report-dir", str(report_dir), *workers, *args]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO
    )
    return CliRun(completed.returncode, completed.stdout, completed.stderr, report_dir)
