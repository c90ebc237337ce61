"""`orchestrator-contract merge`: shards of a nightly run become one report and one example database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARD = """
import os
from hypothesis import given, strategies as st
from orchestrator_contract.contract.violations import expect

@given(st.integers(0, 1000))
def test_rare(n):
    if os.environ.get("RARE_EXACT"):
        expect(n != 500, "PAGE-SIZE", f"fails only on the example the night shrank to ({n})")
    elif os.environ.get("SHARD_FAILS"):
        expect(n < 500, "PAGE-SIZE", f"pageSize {n} answered 200")

def test_plain():
    pass
"""


def _pytest(suite: Path, report: Path, profile: str, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    plugin = "orchestrator_contract.plugin.pytest_plugin"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", plugin]
    return subprocess.run(
        [*command, "test_shard.py", "--profile", profile, f"--report-dir={report}", *options],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.slow
def test_merge_of_two_shards_gives_one_verdict_and_one_database_that_replays_the_failure(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_shard.py").write_text(SHARD, encoding="utf-8")
    failing = _pytest(suite, tmp_path / "shard-1", "nightly", "--seed", "11", SHARD_FAILS="1")
    assert failing.returncode == 1, failing.stdout[-3000:]
    clean = _pytest(suite, tmp_path / "shard-2", "nightly", "--seed", "12")
    assert clean.returncode == 0, clean.stdout[-3000:]

    merged = subprocess.run(
        [sys.executable, "-m", "orchestrator_contract", "merge", "shard-1", "shard-2", "--out", "merged"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 1, merged.stdout + merged.stderr
    out = tmp_path / "merged"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "FAIL" in summary and "PAGE-SIZE" in summary and "seed 11" in summary and "seed 12" in summary
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    tests = [line for line in lines if line["event"] == "test"]
    assert len(tests) == 4 and {Path(t["shard"]).name for t in tests} == {"shard-1", "shard-2"}
    failed = [t for t in tests if t["outcome"] == "failed"]
    assert len(failed) == 1 and (out / failed[0]["record"]["cassette"]).is_file()
    database = out / ".hypothesis-nightly"
    assert database.is_dir() and any(p.is_file() for p in database.rglob("*"))

    alone = _pytest(suite, tmp_path / "alone", "local", RARE_EXACT="1")
    assert alone.returncode == 0, alone.stdout[-2000:]
    replayed = _pytest(suite, tmp_path / "replayed", "local", f"--example-db={database}", RARE_EXACT="1")
    assert replayed.returncode == 1 and "fails only on the example" in replayed.stdout, replayed.stdout[-2000:]
