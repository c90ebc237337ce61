"""Adopting the gate on a real implementation: the known-violations baseline, coverage of what the
run did not exercise, triage of failures, reproduction without pytest, and the night's examples
replayed first on a laptop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_harness import REPO, run_cli
from orchestrator_contract.adoption import baseline
from orchestrator_contract.planning.example_databases import combined, read_only

CLI = [sys.executable, "-m", "orchestrator_contract"]


def _records(report_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((report_dir / "failures").glob("*.json"))]


# -- the baseline ------------------------------------------------------------------------------------
def test_a_baseline_entry_covers_only_its_own_clause(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        '[[known]]\nclause = "PAGE-SIZE"\ntest = "test_pagination.py::test_default_page_size_is_50"\n'
        'reason = "ORCH-1"\n\n[[known]]\nclause = "VER-ETAG"\noperation = "fetchConfiguration"\n'
        'reason = "ORCH-2"\n',
        encoding="utf-8",
    )
    entries = baseline.load(path)
    test = "test_pagination.py::test_default_page_size_is_50"
    assert baseline.matching(entries, "PAGE-SIZE", test, "listConfigurations") == entries[0]
    assert baseline.matching(entries, "PAGE-ORDER", test, "listConfigurations") is None  # another clause
    assert (
        baseline.matching(
            entries, "PAGE-SIZE", "test_pagination.py::test_walk_at_the_page_size_bounds[1]", "listConfigurations"
        )
        is None
    )  # another test
    assert (
        baseline.matching(
            entries, "VER-ETAG", "test_versioning.py::test_if_match_on_updates[PUT]", "fetchConfiguration"
        )
        == entries[1]
    )
    assert baseline.matching(entries, "VER-ETAG", "x.py::y", "listConfigurations") is None  # another operation


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[[known]]\nclause = "NO-SUCH"\nreason = "x"\n', "unknown clause"),
        ('[[known]]\nclause = "PAGE-SIZE"\n', "needs a clause and a reason"),
        ('[[known]]\nclause = "PAGE-SIZE"\nreason = "x"\ntests = "typo"\n', "unknown keys"),
    ],
)
def test_a_wrong_baseline_is_refused_naming_the_entry(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "b.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        baseline.load(path)


@pytest.mark.slow
def test_adopting_the_gate_on_a_half_conformant_server(tmp_path: Path) -> None:
    """Three commands: run (red), write the baseline, run with it (green). A baseline that knows one
    fault does not hide another; an entry whose tests pass again is reported fixed."""
    # Tests that fail on one of the two faults, and others that pass on both.
    selection = ["--", "-k", "default_page_size or default_50 or post_ignores_if_match or walk_at_the_page_size"]
    first = run_cli(tmp_path / "first", "--server-fault", "wrong-default-page-size", *selection)
    assert first.returncode == 1, first.explain()
    written = subprocess.run([*CLI, "baseline", str(tmp_path / "first")], capture_output=True, text=True, timeout=60)
    assert written.returncode == 0 and "[[known]]" in written.stdout, written.stderr
    known = tmp_path / "contract-baseline.toml"
    known.write_text(written.stdout, encoding="utf-8")
    assert {e.clause for e in baseline.load(known)} == {"PAGE-SIZE"}

    green = run_cli(
        tmp_path / "green", "--server-fault", "wrong-default-page-size", "--baseline", str(known), *selection
    )
    assert green.returncode == 0, green.explain()
    assert "known violation" in green.summary and "PASS" in green.summary

    other = run_cli(
        tmp_path / "other",
        "--server-fault",
        "wrong-default-page-size",
        "--server-fault",
        "missing-etag",
        "--baseline",
        str(known),
        *selection,
    )
    assert other.returncode == 1, other.explain()
    assert "`VER-ETAG`" in other.summary and "Known violations" in other.summary

    fixed = run_cli(tmp_path / "fixed", "--baseline", str(known), *selection)
    assert fixed.returncode == 0, fixed.explain()
    assert "Fixed: remove these baseline entries" in fixed.summary
    statuses = {e["status"] for e in json.loads((tmp_path / "fixed" / "baseline.json").read_text())["entries"]}
    assert statuses == {"fixed"}


# -- coverage ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_coverage_notices_a_server_that_never_answers_412(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "ignored", "--server-fault", "if-match-ignored", "--no-triage", "--", "-m", "conditional")
    assert run.returncode == 1, run.explain()
    gaps = json.loads((tmp_path / "ignored" / "coverage.json").read_text())["gaps"]
    missing = {(g["operation"], g["status"]) for g in gaps}
    assert {("updateConfiguration", "412"), ("patchConfiguration", "412"), ("deleteConfiguration", "412")} <= missing
    clean = run_cli(tmp_path / "clean", "--no-triage", "--", "-m", "conditional")
    assert clean.returncode == 0, clean.explain()
    clean_missing = {
        (g["operation"], g["status"]) for g in json.loads((tmp_path / "clean" / "coverage.json").read_text())["gaps"]
    }
    assert ("patchConfiguration", "412") not in clean_missing
    assert "never observed" in clean.summary


@pytest.mark.slow
def test_require_coverage_fails_a_run_that_did_not_reach_everything(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--require-coverage", "--", "-m", "pagination")
    assert run.returncode == 4, run.explain()
    assert "COVERAGE INCOMPLETE" in run.stderr and "createConfiguration 415" in run.stderr


# -- triage ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_failures_are_labelled_reproducible_or_intermittent(tmp_path: Path) -> None:
    env = {
        "PYTHONPATH": str(REPO / "tests"),
        "SABOTAGE_VIOLATE_ONCE": "test_post_ignores_if_match",
        "SABOTAGE_MARKER_DIR": str(tmp_path),
    }
    run = run_cli(
        tmp_path / "run",
        "--server-fault",
        "wrong-default-page-size",
        "--",
        "-p",
        "sabotage_plugin",
        "-k",
        "test_post_ignores_if_match or test_default_page_size_is_50",
        env=env,
    )
    assert run.returncode == 1, run.explain()
    labels = {str(r["test"]).split("::")[1]: r.get("triage") for r in _records(tmp_path / "run")}
    assert labels["test_default_page_size_is_50"] == "reproducible"
    assert str(labels["test_post_ignores_if_match"]).startswith("intermittent")
    assert "(reproducible)" in run.summary and "(intermittent" in run.summary


# -- reproduce ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_reproduce_resends_a_recorded_failure_without_pytest(tmp_path: Path) -> None:
    run = run_cli(
        tmp_path / "run",
        "--server-fault",
        "wrong-default-page-size",
        "--no-triage",
        "--",
        "-k",
        "test_default_page_size_is_50",
    )
    assert run.returncode == 1, run.explain()
    [record] = sorted((tmp_path / "run" / "failures").glob("*.json"))
    again = subprocess.run([*CLI, "reproduce", str(record)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr
    assert "the violation appears again" in again.stdout and "<- the failing exchange" in again.stdout

    from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
    from orchestrator_contract.server import ServerConfig, start_background

    with start_background(ServerConfig()) as clean:
        env = {"TWILIO_ACCOUNT_SID": PRIMARY_ACCOUNT.username, "TWILIO_AUTH_TOKEN": PRIMARY_ACCOUNT.secret}
        fixed = subprocess.run(
            [*CLI, "reproduce", str(record), "--base-url", clean.base_url],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr
    assert "did not appear again" in fixed.stdout


# -- the night's examples, first on a laptop ---------------------------------------------------------
RARE = """
import os
from hypothesis import given, strategies as st

@given(st.integers(0, 1000))
def test_rare(n):
    if os.environ.get("RARE_EXACT"):
        assert n != 500  # fails only on the example the night shrank its failure to
    else:
        assert n < 500
"""


def test_extra_example_databases_are_read_only_and_multiplexed(tmp_path: Path) -> None:
    night = tmp_path / "night"
    night.mkdir()
    database = combined(tmp_path / "own", [str(night)])
    database.save(b"key", b"value")
    assert list(database.fetch(b"key")) == [b"value"]
    assert not any(night.iterdir()), "an extra database is never written"
    with pytest.raises(ValueError, match="not a directory"):
        read_only(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="github:OWNER/REPO"):
        read_only("github:only-owner")


@pytest.mark.slow
def test_a_failure_found_at_night_is_tried_first_locally(tmp_path: Path) -> None:
    """The nightly profile saves its failing example (shrunk to n=500) in its database. A local run
    whose test fails only on exactly that value passes on its own, and fails when given the
    night's database (read-only): the night's example was replayed before anything was generated."""

    (tmp_path / "test_rare.py").write_text(RARE, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "test_rare.py",
        "-p",
        "orchestrator_contract.plugin.pytest_plugin",
        "-q",
        "-p",
        "no:cacheprovider",
        "--profile",
    ]

    def pytest_run(profile: str, report: str, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, profile, f"--report-dir={tmp_path / report}", *options],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )

    night = pytest_run("nightly", "night")
    assert night.returncode == 3, night.stdout[-2000:]  # a plain assert: to the plugin, an error of the test itself
    saved = tmp_path / "night" / ".hypothesis-nightly"
    assert saved.is_dir() and any(p.is_file() for p in saved.rglob("*")), "the nightly run saved nothing"
    alone = pytest_run("local", "alone", RARE_EXACT="1")
    assert alone.returncode == 0, alone.stdout[-2000:]
    replayed = pytest_run("local", "replayed", f"--example-db={saved}", RARE_EXACT="1")
    assert replayed.returncode == 3 and "assert 500 != 500" in replayed.stdout, replayed.stdout[-2000:]
    assert not (tmp_path / "replayed" / ".hypothesis-nightly").exists()
