"""The suite's verdicts: it passes a correct server, fails broken ones, and leaves shared targets as they were.

These run `orchestrator-contract run` as a user does (a subprocess), against the reference server
on a loopback port.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from cli_harness import REPO, dev_credentials_env, run_cli
from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, SECOND_ACCOUNT, Credential
from orchestrator_contract.exchanges.coverage import COVERAGE_FILE

PRE_EXISTING = 1000
CONFIGURATIONS = "/v2/ControlPlane/Configurations"


def _seed_body(i: int) -> dict[str, object]:
    body: dict[str, object] = {
        "displayName": f"existing {i}",
        "description": f"belongs to someone else {i}",
        "conversationGroupingType": ["GROUP_BY_PROFILE", "GROUP_BY_PARTICIPANT_ADDRESSES"][i % 2],
        "memoryStoreId": f"mem_store_1{i:025d}" if i % 3 else "memoryStoreId",
    }
    if i % 7 == 0:
        body["channelSettings"] = {"SMS": {"statusTimeouts": {"inactive": 10, "closed": 15}}}
    return body


def _seed(base_url: str, credential: Credential, count: int) -> None:
    """Create `count` configurations that the run must neither change nor count on."""
    with httpx.Client(base_url=base_url, auth=(credential.username, credential.secret), timeout=30) as client:

        def create(i: int) -> str:
            response = client.post(CONFIGURATIONS, json=_seed_body(i))
            assert response.status_code == 202, response.text
            return response.headers["Operation-Id"]

        with ThreadPoolExecutor(max_workers=16) as pool:
            operations = list(pool.map(create, range(count)))
        for op_id in operations:
            for _ in range(400):
                status = client.get(f"/v2/ControlPlane/Operations/{op_id}").json()["status"]
                if status != "PENDING":
                    break
            assert status == "COMPLETED"


def _snapshot(base_url: str, credential: Credential) -> dict[str, bytes]:
    """Every configuration of the account, as the bytes GET returns for it."""
    with httpx.Client(base_url=base_url, auth=(credential.username, credential.secret), timeout=30) as client:
        ids: list[str] = []
        params: dict[str, object] = {"pageSize": 1000}
        while True:
            page = client.get(CONFIGURATIONS, params=params).json()
            ids += [item["id"] for item in page["configurations"]]
            if "nextToken" not in page["meta"]:
                break
            params = {"pageSize": 1000, "pageToken": page["meta"]["nextToken"]}
        with ThreadPoolExecutor(max_workers=16) as pool:
            bodies = list(pool.map(lambda cid: client.get(f"{CONFIGURATIONS}/{cid}").content, ids))
    return dict(zip(ids, bodies, strict=True))


@pytest.mark.slow
def test_ci_profile_passes_a_correct_server_and_leaves_its_data_alone(embedded_server: str, tmp_path: Path) -> None:
    """Exit 0 on the reference server holding 1000 foreign configurations, which stay byte-identical,
    with the profile's default workers (several processes working on one account at once)."""
    _seed(embedded_server, PRIMARY_ACCOUNT, PRE_EXISTING)
    _seed(embedded_server, SECOND_ACCOUNT, 25)
    before = {c.username: _snapshot(embedded_server, c) for c in (PRIMARY_ACCOUNT, SECOND_ACCOUNT)}
    assert len(before[PRIMARY_ACCOUNT.username]) == PRE_EXISTING

    run = run_cli(tmp_path, "--base-url", embedded_server, "--workers", "auto", env=dev_credentials_env())

    assert run.returncode == 0, run.explain()
    assert "PASS" in run.summary
    assert (tmp_path / "junit.xml").is_file()
    after = {c.username: _snapshot(embedded_server, c) for c in (PRIMARY_ACCOUNT, SECOND_ACCOUNT)}
    for username, snapshot in before.items():
        left_behind = sorted(set(after[username]) - set(snapshot))
        assert not left_behind, f"the run left {len(left_behind)} configuration(s) in {username}: {left_behind[:5]}"
        changed = [cid for cid in snapshot if after[username].get(cid) != snapshot[cid]]
        assert not changed, f"the run changed configurations it did not create: {changed[:5]}"


def _junit_cases(report_dir: Path) -> int:
    return sum(1 for _ in ET.parse(report_dir / "junit.xml").getroot().iter("testcase"))


# (fault, pytest selection after `--`, clause the failure must name)
FAULT_CASES: list[tuple[str, list[str], str]] = [
    ("leak-internal-field", ["-m", "conformance"], "RES-SHAPE"),
    ("missing-etag", ["-m", "conditional"], "VER-ETAG"),
    ("no-www-authenticate", ["-m", "auth"], "AUTH-401"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "selection", "clause"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES])
def test_a_broken_server_fails_with_the_clause_named(
    fault: str, selection: list[str], clause: str, tmp_path: Path
) -> None:
    run = run_cli(tmp_path, "--server-fault", fault, "--", *selection)
    assert run.returncode == 1, run.explain()
    assert f"`{clause}`" in run.summary, run.summary + run.explain()
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "curl" in junit, "a failure must carry a curl reproduction"
    assert PRIMARY_ACCOUNT.secret not in junit + run.stdout + run.stderr + run.summary
    assert _junit_cases(tmp_path) > 0


@pytest.mark.slow
def test_throttled_runs_still_pass(tmp_path: Path) -> None:
    """A rate-limited server (429 + Retry-After) gets the same verdict: the client waits and retries.
    The selection writes, polls and lists, and the run really was throttled on several operations."""
    suites = REPO / "suites"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suites),
            "-c",
            str(suites / "pytest.ini"),
            "--rootdir",
            str(suites),
            "-q",
            "-p",
            "no:cacheprovider",
            "--server-rate-limit",
            "8",
            "-k",
            "throttled or test_post_ignores_if_match or requests_without_a_key",
            f"--report-dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    coverage = json.loads((tmp_path / COVERAGE_FILE).read_text(encoding="utf-8"))
    throttled = {
        operation
        for operation, seen in coverage["operations"].items()
        for row in seen["statuses"]
        if row["status"] == "429" and row["observed"]
    }
    assert len(throttled) >= 2, f"the rate limit was not reached (429 seen on {sorted(throttled)})"


def _records(report_dir: Path) -> list[dict[str, object]]:

    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((report_dir / "failures").glob("*.json"))]


SABOTAGED = "test_post_ignores_if_match"


@pytest.mark.slow
def test_an_error_of_the_suite_is_exit_3_and_never_a_violation(tmp_path: Path) -> None:
    """A test that fails with the suite's own exception: exit 3, its own section in every report,
    its traceback kept; with a real violation in the same run, exit 1 and both are listed."""
    env = {"PYTHONPATH": str(REPO / "tests"), "SABOTAGE_TESTS": SABOTAGED}
    selection = ["--", "-p", "sabotage_plugin", "-k", f"{SABOTAGED} or test_default_page_size_is_50"]
    run = run_cli(tmp_path / "alone", *selection, env=env)
    assert run.returncode == 3, run.explain()
    assert "SUITE ERROR" in run.summary and "could not judge" in run.summary and SABOTAGED in run.summary
    [record] = _records(tmp_path / "alone")
    assert record["verdict"] == "suite-error" and record["clause"] == ""
    assert "KeyError" in str(record["message"]) and "sabotage_plugin.py" in str(record["message"])
    html = (tmp_path / "alone" / "report.html").read_text(encoding="utf-8")
    assert "The suite could not judge" in html and "suite error" in html
    junit = (tmp_path / "alone" / "junit.xml").read_text(encoding="utf-8")
    assert 'value="suite-error"' in junit

    both = run_cli(tmp_path / "both", "--server-fault", "wrong-default-page-size", *selection, env=env)
    assert both.returncode == 1, both.explain()
    assert "`PAGE-SIZE`" in both.summary and "could not judge" in both.summary


@pytest.mark.slow
@pytest.mark.parametrize(
    "selection",
    [["-m", "conditional"], ["-m", "conformance", "-k", "valid_requests_conform"]],
    ids=["scenario", "schemathesis-item"],
)
def test_the_printed_rerun_command_reproduces_the_failure(selection: list[str], tmp_path: Path) -> None:
    """The record's `rerun`, run exactly as printed (the installed command, credentials from the
    environment), runs that one test again against the same target and fails with the same clause;
    for a scenario test and for an item Schemathesis generated (which pytest cannot select by id)."""
    import shlex

    first = run_cli(tmp_path / "first", "--server-fault", "missing-etag", "--", *selection)
    assert first.returncode == 1, first.explain()
    record = _records(tmp_path / "first")[0]
    command = shlex.split(str(record["rerun"]))
    assert command[:2] == ["orchestrator-contract", "run"] and "--server-fault" in command and "--test" in command
    assert "secret" not in str(record["rerun"]).lower()
    assert record.get("triage") == "reproducible", record.get("triage")
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    installed = Path(sys.executable).with_name("orchestrator-contract")
    done = subprocess.run([str(installed), *command[1:]], cwd=again_dir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    summary = (again_dir / "reports" / "summary.md").read_text(encoding="utf-8")
    assert f"`{record['clause']}`" in summary and "1 failed" in summary, summary


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_stop_at_clause_ends_the_run_at_that_violation_with_exit_1(workers: str, tmp_path: Path) -> None:
    """--stop-at-clause (what the mutation gate uses) stops at the first violation of the clause and
    exits 1, as a found violation must, in-process and under xdist (whose controller would say 2)."""
    run = run_cli(
        tmp_path,
        "--workers",
        workers,
        "--server-fault",
        "missing-etag",
        "--stop-at-clause",
        "VER-ETAG",
        "--",
        "-m",
        "conditional",
    )
    assert run.returncode == 1, run.explain()
    assert "`VER-ETAG`" in run.summary, run.summary
    assert _junit_cases(tmp_path) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2", "4"])
@pytest.mark.parametrize("flag", ["-x", "--maxfail=1"])
def test_pytest_fail_fast_flags_never_change_what_the_exit_status_means(
    flag: str, workers: str, tmp_path: Path
) -> None:
    """`-- -x` or `-- --maxfail=1` against a defective server: exit 1 (a violation was found) at any
    number of workers; xdist's "interrupted" session status is not the run's verdict."""
    run = run_cli(tmp_path, "--workers", workers, "--server-fault", "no-version-bump-on-patch", "--", flag)
    assert run.returncode == 1, run.explain()
    assert "FAIL:" in run.stdout and "## Violations by clause" in run.summary, run.explain()


@pytest.mark.slow
def test_a_budget_that_does_not_cover_every_test_once_is_incomplete_not_pass(tmp_path: Path) -> None:
    """The nightly profile with 10 s on a correct server (its breadth stage alone takes about 30 s at
    two workers here): no violation, but not every test ran once: INCOMPLETE (exit 5), in the
    verdict line and the summary, never PASS."""
    run = run_cli(tmp_path, "--profile", "nightly", "--workers", "2", "--max-time", "10", "--no-triage", timeout=400)
    assert run.returncode == 5, run.explain()
    assert "INCOMPLETE" in run.stderr and "INCOMPLETE" in run.summary, run.explain()
    assert "tests ran" in run.summary
