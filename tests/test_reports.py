"""The reports a person opens first (report.html, summary.md), the per-failure reproductions
(cassettes/*.har, failures/*.json), and proof that none of them carries a secret."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from cli_harness import REPO, run_cli
from orchestrator_contract.contract.clauses import CLAUSES
from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT
from orchestrator_contract.contract.locations import suites_dir
from orchestrator_contract.exchanges import journal
from orchestrator_contract.plugin.pytest_plugin import har_text
from orchestrator_contract.reporting.html_report import Context, clause_statuses, write_html_report
from orchestrator_contract.reporting.junit import write_junit
from orchestrator_contract.reporting.summary import (
    RunResult,
    artifact_stem,
    junit_key,
    record_file,
    result_from,
    write_summary,
)
from orchestrator_contract.verdict.decide import decide
from orchestrator_contract.verdict.outcomes import RESULTS_FILE, Outcome, OutcomeLog, StageFacts
from orchestrator_contract.verdict.outcomes import read as read_outcomes

CREDENTIALS = (PRIMARY_ACCOUNT, SECOND_ACCOUNT, PRIMARY_API_KEY)
SECRETS = [c.secret for c in CREDENTIALS]
AUTH_VALUES = [base64.b64encode(f"{c.username}:{c.secret}".encode()).decode() for c in CREDENTIALS]
GET_LIST = "GET /v2/ControlPlane/Configurations"
FAILED_ID = f"test_conformance.py::test_operation_conforms[{GET_LIST}]"
ORPHAN_ID = "test_semantics.py::test_patch_absent_and_null_keep_fields"
POST_ID = "test_conformance.py::test_operation_conforms[POST /v2/ControlPlane/Configurations]"
SKIPPED_ID = "test_isolation.py::test_api_key_authenticates_as_its_account"
PASSED_ID = "test_versioning.py::test_if_match_on_updates"

MESSAGE = f"""[RES-SHAPE] The Configuration resource: {CLAUSES["RES-SHAPE"].text}
  violation: GET /v2/ControlPlane/Configurations: unexpected member <script>alert(1)</script>
reproduce (secrets redacted):
# GET /v2/ControlPlane/Configurations -> 200
curl -i -X GET 'http://127.0.0.1:9/v2/ControlPlane/Configurations?pageSize=1&x=2' -u "$SID:$TOKEN"
# response body: {{"note": "the server said {PRIMARY_ACCOUNT.secret}"}}"""


def _record(test: str, clause: str, violation: str, message: str) -> dict[str, object]:
    stem = artifact_stem(test)
    return {
        "test": test,
        "verdict": "violation",
        "clause": clause,
        "violation": f"violation: {violation}",
        "seed": 7,
        "profile": "ci",
        "curl": ["curl -i -X GET http://127.0.0.1:9/v2/ControlPlane/Configurations"],
        "reproduction": "# GET /v2/ControlPlane/Configurations -> 200\ncurl -i -X GET http://127.0.0.1:9/x",
        "cassette": f"cassettes/{stem}.har",
        "exchanges": 1,
        "message": message,
        "rerun": f"orchestrator-contract run --test '{test}' --profile ci --seed 7",
    }


def _hand_made_log(report_dir: Path) -> OutcomeLog:
    """A run's outcomes as the plugin yields them: two violations, a pass, a skip, a pass."""
    report_dir.mkdir(parents=True, exist_ok=True)
    log = OutcomeLog()
    log.start(report_dir / RESULTS_FILE)
    log.add_stage(StageFacts("all", (FAILED_ID, POST_ID, SKIPPED_ID, PASSED_ID, ORPHAN_ID), True))
    for test, clause, violation, message in (
        (FAILED_ID, "RES-SHAPE", "GET: unexpected member <script>alert(1)</script>", MESSAGE),
        (ORPHAN_ID, "RES-PATCH", "PATCH dropped a field", "PATCH dropped a field"),
    ):
        record = _record(test, clause, violation, message)
        log.add(Outcome(test, "failed", verdict="violation", clause=clause, headline=violation, record=record))
        (report_dir / "cassettes").mkdir(exist_ok=True)
        (report_dir / str(record["cassette"])).write_text('{"log": {"entries": []}}', encoding="utf-8")
        (report_dir / "failures").mkdir(exist_ok=True)
        (report_dir / record_file(test)).write_text(json.dumps(record), encoding="utf-8")
    log.add(Outcome(POST_ID, "passed", duration_s=0.7))
    log.add(Outcome(SKIPPED_ID, "skipped", reason="no API key: set TWILIO_API_KEY and TWILIO_API_SECRET"))
    log.add(Outcome(PASSED_ID, "passed", duration_s=0.1))
    return log


def _context() -> Context:
    return Context("embedded reference server", "ci (test)", 7, 1.5)


def _result(log: OutcomeLog) -> RunResult:
    return result_from(log, decide(log))


def test_html_report_puts_failures_first_with_clause_and_reproduction(tmp_path: Path) -> None:
    result = _result(_hand_made_log(tmp_path))
    assert (result.tests, result.failed, result.skipped) == (5, 2, 1)

    page = write_html_report(tmp_path, result, _context(), suites=suites_dir()).read_text(encoding="utf-8")

    assert "<title>orchestrator-contract: FAIL</title>" in page
    assert page.index('id="failures"') < page.index('id="clauses"') < page.index('id="operations"')
    assert "RES-SHAPE" in page and CLAUSES["RES-SHAPE"].text in page
    assert "curl -i -X GET" in page and "pageSize=1&amp;x=2" in page
    assert "&lt;script&gt;" in page and "<script" not in page
    stem = artifact_stem(FAILED_ID)
    assert f'href="cassettes/{stem}.har"' in page and f'href="failures/{stem}.json"' in page
    assert "no API key: set TWILIO_API_KEY" in page
    assert "POST /v2/ControlPlane/Configurations" in page  # the per-operation table
    assert PRIMARY_ACCOUNT.secret not in page


def test_clause_status_fail_pass_and_not_run(tmp_path: Path) -> None:
    result = _result(_hand_made_log(tmp_path))
    trace = {
        "RES-SHAPE": ["test_conformance.py::test_operation_conforms"],
        "GEN-DATE": ["test_conformance.py::test_operation_conforms"],
        "VER-ETAG": ["test_versioning.py::test_if_match_on_updates"],
        "AUTH-BASIC": ["test_isolation.py::test_api_key_authenticates_as_its_account"],
        "RES-PATCH": [ORPHAN_ID],
        "OPS-404": [],
    }
    statuses = {cid: status for cid, (status, _) in clause_statuses(result, trace).items()}
    assert statuses == {
        "RES-SHAPE": "FAIL",
        "GEN-DATE": "PASS",
        "VER-ETAG": "PASS",
        "AUTH-BASIC": "NOT RUN",
        "RES-PATCH": "FAIL",
        "OPS-404": "NOT RUN",
    }


def test_reports_come_from_the_outcome_stream_even_when_a_killed_run_cut_it(tmp_path: Path) -> None:
    """results.jsonl is the run's record: read back (as `merge` and the benches do), a line cut short
    by a killed run is left out and everything before it counts; junit.xml is written from it."""
    _hand_made_log(tmp_path)
    path = tmp_path / RESULTS_FILE
    path.write_text(path.read_text(encoding="utf-8") + '{"event": "test", "test": "cut sh', encoding="utf-8")
    log = read_outcomes(tmp_path)
    assert len(log.outcomes) == 5 and len(log.stages) == 1
    result = _result(log)
    assert result.verdict.label == "FAIL" and result.failed == 2
    summary = write_summary(result, tmp_path / "summary.md", header=["target: x"], wall_s=1.0)
    assert "FAIL" in summary and "RES-PATCH" in summary and PRIMARY_ACCOUNT.secret not in summary
    junit = ET.parse(write_junit(tmp_path, result)).getroot()
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    assert len(cases) == 5 and junit.find("testsuite").get("failures") == "2"  # type: ignore[union-attr]
    failed = cases[f"test_operation_conforms[{GET_LIST}]"]
    assert failed.find("failure") is not None and PRIMARY_ACCOUNT.secret not in ET.tostring(junit, encoding="unicode")
    assert {p.get("name"): p.get("value") for p in failed.iter("property")} == {
        "verdict": "violation",
        "clause": "RES-SHAPE",
    }


def test_artifact_names_are_unique_and_match_junit() -> None:
    a = artifact_stem("test_conformance.py::test_operation_conforms[POST /v2/ControlPlane/Configurations]")
    b = artifact_stem("test_conformance.py::test_operation_conforms[POST_/v2/ControlPlane/Configurations]")
    assert a != b and "/" not in a and " " not in a
    assert junit_key(FAILED_ID) == f"test_conformance::test_operation_conforms[{GET_LIST}]"
    assert junit_key("sub/test_x.py::TestY::test_z[a.b]") == "sub.test_x.TestY::test_z[a.b]"


def test_har_masks_authorization_and_redacts_every_secret() -> None:
    unregistered = "a-secret-only-the-header-knows"
    header = base64.b64encode(f"ACwrongpair:{unregistered}".encode()).decode()
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:9/v2/ControlPlane/Configurations?pageSize=2",
        headers={"Authorization": f"Basic {header}", "Content-Type": "application/json"},
        content=json.dumps({"description": PRIMARY_API_KEY.secret}).encode(),
    )
    echo = f"Authentication failed for ACwrongpair with secret '{unregistered}' ({AUTH_VALUES[0]})"
    response = httpx.Response(
        401,
        headers={"Date": "Wed, 25 Nov 2026 10:00:00 GMT"},
        content=json.dumps({"message": echo}).encode(),
        request=request,
    )
    failed = journal.Exchange(httpx.Request("GET", "http://127.0.0.1:9/x"), error="ConnectError: refused")

    text = har_text([journal.Exchange(request, response), failed])

    log = json.loads(text)["log"]
    assert log["version"] == "1.2" and len(log["entries"]) == 2
    first = log["entries"][0]
    assert {"name": "Authorization", "value": "Basic ***"} in first["request"]["headers"]
    assert first["response"]["status"] == 401 and first["startedDateTime"].startswith("2026-11-25T10:00:00")
    assert first["request"]["queryString"] == [{"name": "pageSize", "value": "2"}]
    assert log["entries"][1]["response"]["_error"] == "ConnectError: refused"
    for leaked in [*SECRETS, *AUTH_VALUES, unregistered, header]:
        assert leaked not in text


PLUGIN_SUITE = """
import httpx
import pytest
from orchestrator_contract.exchanges import journal
from orchestrator_contract.exchanges.recording import active
from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.contract.violations import expect


@pytest.fixture
def credential():
    return PRIMARY_ACCOUNT  # pytest prints it in the traceback: Credential(..., secret=...)


def test_passes():
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_echo_fails(credential, n):
    request = httpx.Request("GET", "http://127.0.0.1:9/v2/ControlPlane/Configurations",
                            headers={"Authorization": "Basic " + AUTH})
    body = '{"message": "bad secret %s"}' % credential.secret
    active().journal.add(journal.Exchange(request, httpx.Response(401, text=body, request=request)))
    expect(False, "AUTH-NO-ECHO", "401 echoes " + credential.secret)
"""


def test_plugin_records_each_failure_and_scrubs_pytest_reports(tmp_path: Path) -> None:
    """A small suite using the plugin, as `suites/` does: records, cassettes, and a clean junit.xml."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text('pytest_plugins = ["orchestrator_contract.plugin.pytest_plugin"]\n')
    (suite / "test_echo.py").write_text(f"AUTH = {AUTH_VALUES[0]!r}\n" + PLUGIN_SUITE)
    reports = tmp_path / "reports"
    (reports / "failures").mkdir(parents=True)
    (reports / "failures" / "stale.json").write_text("{}")  # an earlier run's record goes
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={reports / 'junit.xml'}",
            f"--report-dir={reports}",
            str(suite),
        ],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-2000:]

    records = [json.loads(p.read_text()) for p in sorted((reports / "failures").glob("*.json"))]
    assert [r["test"] for r in records] == ["test_echo.py::test_echo_fails[1]", "test_echo.py::test_echo_fails[2]"]
    assert all(r["clause"] == "AUTH-NO-ECHO" and r["violation"] == "violation: 401 echoes ***" for r in records)
    har = json.loads((reports / records[0]["cassette"]).read_text())
    assert har["log"]["entries"][0]["response"]["content"]["text"] == '{"message": "bad secret ***"}'
    junit = (reports / "junit.xml").read_text()
    assert "[AUTH-NO-ECHO]" in junit and f"Credential(username='{PRIMARY_ACCOUNT.username}', secret='***')" in junit
    for path in _files(reports):
        for leaked in [*SECRETS, *AUTH_VALUES]:
            assert leaked not in path.read_text(), f"{leaked!r} in {path.name}"
    assert PRIMARY_ACCOUNT.secret not in completed.stdout + completed.stderr


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_a_failing_run_writes_every_report_and_no_secret(tmp_path: Path) -> None:
    """Two workers (xdist), faults that fail several tests, one of which echoes credentials."""
    run = run_cli(
        tmp_path,
        "--workers",
        "2",
        "--server-fault",
        "leak-internal-field",
        "--server-fault",
        "error-echoes-credentials",
        "--",
        "-m",
        "conformance or operations or auth",
    )

    assert run.returncode == 1, run.explain()
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (tmp_path / name).is_file(), name
    hars, records = sorted((tmp_path / "cassettes").glob("*.har")), sorted((tmp_path / "failures").glob("*.json"))
    assert len(hars) >= 2 and len(records) == len(hars)
    for har in hars:
        assert isinstance(json.loads(har.read_text(encoding="utf-8"))["log"]["entries"], list)
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["seed"] == 20261125 and record["profile"] == "ci"
        assert record["clause"] in CLAUSES and record["violation"].startswith("violation:")
        assert (tmp_path / record["cassette"]).is_file() and record["curl"]

    for path in _files(tmp_path):
        content = path.read_bytes()
        for leaked in [*SECRETS, *AUTH_VALUES]:
            assert leaked.encode() not in content, f"{leaked!r} in {path.relative_to(tmp_path)}"
    for leaked in SECRETS:
        assert leaked not in run.stdout + run.stderr

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "orchestrator-contract: FAIL" in page
    assert "RES-SHAPE" in page and "AUTH-NO-ECHO" in page and "curl -i -X" in page
    verdict = next(line for line in run.stdout.splitlines() if line.startswith("orchestrator-contract: FAIL"))
    assert "report.html" in verdict
    assert run.stdout.index(verdict) < run.stdout.index("orchestrator-contract: triage"), "verdict before triage"


def test_the_plugin_is_enabled_by_the_suites_conftest() -> None:
    conftest = (REPO / "suites" / "conftest.py").read_text(encoding="utf-8")
    assert 'pytest_plugins = ["orchestrator_contract.plugin.pytest_plugin"]' in conftest


BUDGET_SUITE = '''
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.errors import FlakyStrategyDefinition

from orchestrator_contract.exchanges.client import BudgetExhausted


def test_budget_ran_out_inside_hypothesis():
    """What Hypothesis does when the run's time runs out mid-example: the skip it was handed
    becomes the context of a FlakyStrategyDefinition (the example drew less than its first run)."""
    try:
        raise BudgetExhausted("the run's global time budget (--max-time) ran out during this test")
    except BudgetExhausted:
        raise FlakyStrategyDefinition("Inconsistent data generation!")


def test_a_real_error_stays_an_error():
    raise FlakyStrategyDefinition("Inconsistent data generation!")
'''


def test_the_time_budget_running_out_inside_hypothesis_is_a_skip(tmp_path: Path) -> None:
    """A test stopped by --max-time is skipped, even when Hypothesis wraps the stop in an error of
    its own; the same error without the budget behind it is still the suite's (exit 3)."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text('pytest_plugins = ["orchestrator_contract.plugin.pytest_plugin"]\n')
    (suite / "test_budget.py").write_text(BUDGET_SUITE)
    reports = tmp_path / "reports"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", f"--report-dir={reports}"],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert "1 failed, 1 skipped" in output, output[-3000:]
    assert "global time budget" in output and "test_a_real_error_stays_an_error" in output
    assert completed.returncode == 3, output[-3000:]
