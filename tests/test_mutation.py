"""The mutation gate (`orchestrator-contract mutate`): kill-rate logic on fabricated results, and
one small real matrix (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator_contract.mutation import (
    CLEAN,
    Row,
    StResult,
    SuiteResult,
    is_st_misfire,
    judge_st,
    merge_st,
    readme_table,
    rejudge,
    st_signatures,
    summarize,
    verdict,
    write_reports,
)
from orchestrator_contract.server import FAULTS

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "reports" / "mutation.json"
README = REPO / "README.md"


def _st(*signatures: str) -> StResult:
    return StResult("ran", 1, 10.0, 10, {s: float(i) for i, s in enumerate(signatures, start=1)})


def _rows(clean_status: str = "survived") -> list[Row]:
    return [
        Row(
            CLEAN,
            "",
            SuiteResult(clean_status, 0 if clean_status == "survived" else 1, 60.0),
            _st("ST202 POST /x", "ST301 Stateful tests"),
        ),
        Row(
            "caught-named",
            "VER-ETAG",
            SuiteResult("caught", 1, 61.0, ["t::a", "t::b"], ["VER-ETAG"], 3.5),
            _st("ST202 POST /x", "ST001 GET /x"),
        ),
        Row(
            "caught-other",
            "AUTH-CHALLENGE",
            SuiteResult("caught", 1, 62.0, ["t::c"], ["AUTH-401"], 7.0),
            _st("ST301 Stateful tests"),
        ),
        Row("survivor", "OPS-STATUS", SuiteResult("survived", 0, 59.0), _st()),
        Row(
            "st-broken",
            "OPS-STATUS",
            SuiteResult("error", 2, 5.0),
            StResult("error", None, 0.0, 5, detail="st exited 4"),
        ),
    ]


def test_kill_rates_false_positives_and_verdict(tmp_path: Path) -> None:
    rows = _rows()
    judge_st(rows)
    by_name = {r.fault: r for r in rows}
    # st: only a signature absent on the clean server kills; the clean server's are false positives
    assert by_name["caught-named"].st.killed and by_name["caught-named"].st.new == ["ST001 GET /x"]
    assert by_name["caught-named"].st.first_kill_s == 2.0
    assert not by_name["caught-other"].st.killed and not by_name["survivor"].st.killed
    totals = summarize(rows)
    assert totals["suite"] == {
        "killed": 2,
        "total": 4,
        "rate": 0.5,
        "expected_clause_named": 1,
        "clean": "survived",
        "false_positives": [],
    }
    assert totals["st"]["killed"] == 1 and totals["st"]["total"] == 3 and totals["st"]["not_run"] == ["st-broken"]
    assert totals["st"]["false_positives"] == ["ST202 POST /x", "ST301 Stateful tests"]
    assert verdict(rows) == 1  # a survivor and an errored run
    assert verdict([r for r in rows if r.fault in (CLEAN, "caught-named", "caught-other")]) == 0

    data = write_reports(rows, tmp_path, profile="ci", wall_s=123.4)
    table = (tmp_path / "mutation.md").read_text(encoding="utf-8")
    assert "suite kill rate: 2/4 (50%)" in table and "st kill rate: 1/3 (33%)" in table
    assert "| caught-other | AUTH-CHALLENGE | y | `t::c` | n | 7.0 | 62.0 | n |" in table
    assert json.loads((tmp_path / "mutation.json").read_text()) == json.loads(json.dumps(data))


def test_clean_st_runs_merge_into_one_false_positive_set() -> None:
    first = StResult("ran", 1, 10.0, 10, {"ST202 POST /x": 4.0, "ST301 Stateful tests": 9.0}, seeds=[7])
    second = StResult("ran", 1, 11.0, 10, {"ST202 POST /x": 2.5, "ST002 GET /y": 6.0}, seeds=[8])
    broken = StResult("error", 4, 1.0, 10, detail="st exited 4", seeds=[9])
    merged = merge_st([first, second, broken])
    assert merged.status == "ran" and merged.seeds == [7, 8, 9] and merged.wall_s == 22.0
    assert merged.signatures == {"ST202 POST /x": 2.5, "ST301 Stateful tests": 9.0, "ST002 GET /y": 6.0}
    assert "seed 9: st exited 4" in merged.detail
    # a fault's st failure is a kill only when no clean run reported it
    rows = [
        Row(CLEAN, "", SuiteResult("survived", 0, 60.0), merged),
        Row(
            "f",
            "VER-ETAG",
            SuiteResult("caught", 1, 60.0, ["t::a"], ["VER-ETAG"], 1.0),
            _st("ST002 GET /y", "ST001 GET /x"),
        ),
    ]
    judge_st(rows)
    assert rows[1].st.new == ["ST001 GET /x"]
    assert merge_st([broken]).status == "error"


def test_a_gate_without_baseline_says_so_and_nothing_about_st_runs(tmp_path: Path) -> None:
    rows = [
        Row(CLEAN, "", SuiteResult("survived", 0, 60.0)),
        Row("f", "VER-ETAG", SuiteResult("caught", 1, 9.0, ["t::a"], ["VER-ETAG"], 3.0)),
    ]
    write_reports(rows, tmp_path, profile="ci", wall_s=70.0, fail_fast=True)
    table = (tmp_path / "mutation.md").read_text(encoding="utf-8")
    assert "- st: not run (--no-baseline)" in table and "clean server, st" not in table
    assert "mode: fail-fast" in table and "suite kill rate: 1/1 (100%)" in table


def test_a_false_positive_of_the_suite_fails_the_gate() -> None:
    rows = [r for r in _rows("caught") if r.fault in (CLEAN, "caught-named")]
    assert verdict(rows) == 1
    assert summarize(rows)["suite"]["clean"] == "caught"


def test_st_signatures_from_ndjson(tmp_path: Path) -> None:
    def scenario(stamp: float, code: str, operation: str, status: str = "failure") -> dict:
        check = {"name": "c", "status": status}
        if status == "failure":
            check["failure_info"] = {"failure": {"code": code, "operation": operation}}
        return {"ScenarioFinished": {"timestamp": stamp, "recorder": {"checks": {"id1": [check]}}}}

    events = [
        {"Initialize": {"timestamp": 100.0}},
        scenario(101.0, "ST202", "POST /x"),
        scenario(104.5, "ST202", "POST /x"),
        scenario(103.0, "ST001", "GET /x"),
        scenario(105.0, "ST999", "GET /y", status="success"),
    ]
    path = tmp_path / "st.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\nnot json\n", encoding="utf-8")
    assert st_signatures(path) == {"ST202 POST /x": 1.0, "ST001 GET /x": 3.0}


def _st201(*components: str) -> dict:
    return {
        "code": "ST201",
        "operation": "GET /x",
        "message": "Invalid data should have been rejected\n"
        "Expected: 400\nInvalid component:\n" + "\n".join(f"  - {c}" for c in components),
    }


def test_st_misfires_are_only_contract_allowed_or_self_contradicting_st201s() -> None:
    assert is_st_misfire(_st201("query: violates `additionalProperties`"))
    assert is_st_misfire(
        _st201("query: violates `additionalProperties`", "header: violates `required` (was Authorization)")
    )
    # one real violation among them keeps the failure
    assert not is_st_misfire(
        _st201("header: violates `required` (was Authorization)", "body: violates `type` at /properties/displayName")
    )
    single = {"code": "ST201", "message": "Invalid data\nInvalid component: in body - violates `pattern` at /x"}
    assert not is_st_misfire(single)
    assert not is_st_misfire({**_st201("query: violates `additionalProperties`"), "code": "ST202"})


def _ndjson(path: Path, *failures: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    checks = [{"name": "c", "status": "failure", "failure_info": {"failure": f}} for f in failures]
    events = [
        {"Initialize": {"timestamp": 0.0}},
        {"ScenarioFinished": {"timestamp": 5.0, "recorder": {"checks": {"id": checks}}}},
    ]
    path.write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")


def test_rejudge_rereads_st_output_with_the_current_rules(tmp_path: Path) -> None:
    real = {"code": "ST108", "operation": "GET /x", "message": "schema"}
    noise = _st201("query: violates `additionalProperties`")
    clean_st = StResult("ran", 1, 20.0, 10, {}, seeds=[1, 2])
    rows = [
        Row(CLEAN, "", SuiteResult("survived", 0, 10.0), clean_st),
        Row(
            "noisy",
            "VER-ETAG",
            SuiteResult("caught", 1, 10.0, ["t::a"], ["VER-ETAG"], 1.0),
            StResult("ran", 1, 10.0, 10, {"ST201 GET /x": 5.0}, new=["ST201 GET /x"], killed=True),
        ),
        Row(
            "real",
            "VER-ETAG",
            SuiteResult("caught", 1, 10.0, ["t::a"], ["VER-ETAG"], 1.0),
            StResult("ran", 1, 10.0, 10, {}),
        ),
    ]
    write_reports(rows, tmp_path, profile="ci", wall_s=30.0)
    _ndjson(tmp_path / "mutation" / "clean" / "st-1" / "st.ndjson")
    _ndjson(tmp_path / "mutation" / "clean" / "st-2" / "st.ndjson")
    _ndjson(tmp_path / "mutation" / "noisy" / "st" / "st.ndjson", noise)
    _ndjson(tmp_path / "mutation" / "real" / "st" / "st.ndjson", real, noise)
    code, rejudged = rejudge(tmp_path)
    by_name = {r.fault: r for r in rejudged}
    assert not by_name["noisy"].st.killed and by_name["real"].st.new == ["ST108 GET /x"]
    assert code == 0 and by_name["real"].suite.tests == ["t::a"]
    data = json.loads((tmp_path / "mutation.json").read_text(encoding="utf-8"))
    assert data["st"]["killed"] == 1 and data["wall_s"] == 30.0


def test_the_published_matrix_is_current_and_the_readme_shows_it() -> None:
    """reports/mutation.json comes from a full `orchestrator-contract mutate` over today's catalogue,
    and the README's table is rendered from it (so neither drifts from the other or from FAULTS)."""
    data = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    faults = {r["fault"] for r in data["rows"]} - {CLEAN}
    assert faults == set(FAULTS), (
        f"reports/mutation.json is stale (missing: {sorted(set(FAULTS) - faults)}, "
        f"gone: {sorted(faults - set(FAULTS))}); "
        "rerun `orchestrator-contract mutate` (tox -e mutate)"
    )
    assert data["fail_fast"] is False and data["profile"] == "ci"
    assert data["suite"]["clean"] == "survived" and data["suite"]["killed"] == data["suite"]["total"] == len(FAULTS)
    assert data["st"]["total"] == len(FAULTS) and not data["st"]["not_run"]
    table = readme_table(data)
    assert table in README.read_text(encoding="utf-8"), "README's mutation table is not the published one:\n" + table


def test_unknown_fault_is_a_usage_error(tmp_path: Path) -> None:
    from orchestrator_contract.cli import main

    assert main(["mutate", "--faults", "no-such-fault", "--report-dir", str(tmp_path)]) == 2
    assert main(["mutate", "--jobs", "0", "--report-dir", str(tmp_path)]) == 2


@pytest.mark.slow
def test_mutate_small_matrix(tmp_path: Path) -> None:
    """The whole path, st baseline included, on one fault with a short budget per run (past it the
    suite skips what is left, so the clean run still passes)."""
    report = tmp_path / "tmp"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator_contract",
            "mutate",
            "--faults",
            "missing-etag",
            "--jobs",
            "2",
            "--clean-runs",
            "2",
            "--max-time-per-run",
            "8",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env=dict(os.environ),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    data = json.loads((report / "mutation.json").read_text(encoding="utf-8"))
    rows = {r["fault"]: r for r in data["rows"]}
    assert rows[CLEAN]["suite"]["status"] == "survived"
    assert rows["missing-etag"]["caught"] and rows["missing-etag"]["suite"]["tests"]
    assert data["suite"]["killed"] == 1 and data["suite"]["total"] == 1
    assert data["st"]["total"] == 1 and data["st"]["rate"] is not None
    assert len(rows[CLEAN]["st"]["seeds"]) == 2 and data["fail_fast"] is False
    table = (report / "mutation.md").read_text(encoding="utf-8")
    assert "suite kill rate: 1/1 (100%)" in table and "st kill rate:" in table
    assert "union of 2 run(s)" in table


def test_update_measures_only_the_named_faults_and_keeps_the_rest(tmp_path: Path, monkeypatch) -> None:
    """`mutate --update`: the named faults' rows are replaced, every other row and the clean row (st's
    false-positive set) are kept, and the reports say which faults were measured again, at which commit."""
    from orchestrator_contract.mutation import matrix

    faults = sorted(FAULTS)[:3]
    rows = [
        Row(CLEAN, "", SuiteResult("survived", 0, 10.0), _st("ST202 POST /x")),
        *(Row(f, FAULTS[f].clause, SuiteResult("survived", 0, 10.0), _st("ST202 POST /x")) for f in faults),
    ]
    write_reports(rows, tmp_path, profile="ci", wall_s=30.0)
    ran: list[str | None] = []

    def fake_suite(fault: str | None, out: Path, **_: object) -> SuiteResult:
        ran.append(fault)
        return SuiteResult("caught", 1, 5.0, ["t::a"], [FAULTS[fault].clause if fault else ""], 1.0)

    monkeypatch.setattr(matrix, "run_suite", fake_suite)
    monkeypatch.setattr(matrix, "run_st", lambda *a, **k: _st("ST202 POST /x", "ST001 GET /x"))
    code, updated = matrix.run_matrix([faults[1]], report_dir=tmp_path, profile="ci", jobs=1, update=True)

    assert ran == [faults[1]]  # neither the clean server nor the other faults ran again
    by_fault = {r.fault: r for r in updated}
    assert [r.fault for r in updated] == [CLEAN, *faults]
    assert by_fault[faults[1]].caught and not by_fault[faults[0]].caught and not by_fault[faults[2]].caught
    assert by_fault[faults[1]].st is not None and by_fault[faults[1]].st.new == ["ST001 GET /x"]
    data = json.loads((tmp_path / "mutation.json").read_text(encoding="utf-8"))
    assert data["wall_s"] == 30.0 and data["updates"][0]["faults"] == [faults[1]]
    assert faults[1] in (tmp_path / "mutation.md").read_text(encoding="utf-8").split("mutate --update")[1]
    assert code == 1  # two faults still survive
