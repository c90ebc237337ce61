"""What the benchmark scripts record about the machine and the build they measured."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def nested_env(*, drop: tuple[str, ...] = ("PYTEST_",), **extra: str) -> dict[str, str]:
    """The environment for a measured subprocess: no pytest state inherited from the caller."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(drop)}
    env.update(extra)
    return env


def loadavg() -> str:
    """The 1/5/15-minute load averages, e.g. `1.16 1.53 2.43`."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def describe() -> str:
    """One line: cores, CPU, Python (never a path: the report is committed)."""
    return (
        f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()} "
        f"({Path(sys.executable).parent.parent.name or 'venv'})"
    )
