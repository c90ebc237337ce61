"""The mutation gate: run the suites against every deliberate fault of the reference server.

For the clean server and each fault, `orchestrator-contract run --server-fault F` runs in its own
subprocess (N at a time). A fault is *caught* when that run exits 1; the clean run must exit 0.
The baseline is plain Schemathesis (`st run`, every phase, every check) against a fresh embedded
server per fault, with a time budget equal to the suite's wall time on that fault.

How st's kills are decided: plain st misfires on this asynchronous API (e.g. ST202 on a
`pageToken` it invented, ST301/ST302 on eventually consistent deletes/creates), so it fails on
the clean server too. Each st failure is reduced to a *signature* `(check code, operation)`
read from st's NDJSON event stream (`failure_info` of every failed check). The clean server's
signatures are st's false positives (the union of several clean runs at consecutive seeds, since
which misfires st hits depends on the data it draws and on timing); a fault is killed by st only
when st reports a signature none of the clean runs did. Codes rather than messages are compared because messages carry generated data
(ids, bodies) that differ from run to run; the operation is kept so that a new kind of failure on
an operation counts even when the same check already misfired elsewhere.

Some st failures are dropped before any comparison (`ST_MISFIRES`): an ST201 whose only claimed
violations are an unknown query parameter (the contract says those are ignored) or a missing
`Authorization` header (st sends it on every request). They show up at random, on the clean server
as on any fault, so six clean runs do not reliably list them.

`rejudge` recomputes st's verdicts from the NDJSON files a matrix left behind, so a change to
these rules never needs the matrix to run again.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .reporting import FAILURES_DIR, read_run

CLEAN = "(clean)"
EXIT_OK, EXIT_CAUGHT, EXIT_ERROR = 0, 1, 2
RUN_GRACE_S = 180  # beyond --max-time-per-run: pytest start-up, report writing, the run's own grace


@dataclass
class SuiteResult:
    """One `orchestrator-contract run`: status is caught (exit 1), survived (exit 0) or error."""

    status: str
    exit_code: int
    wall_s: float
    tests: list[str] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    first_failure_s: float | None = None


@dataclass
class StResult:
    """One `st run`: signatures are `CODE operation` strings; killed/new are set by `judge_st`."""

    status: str  # ran, error, skipped
    exit_code: int | None
    wall_s: float
    budget_s: int
    signatures: dict[str, float] = field(default_factory=dict)  # signature -> seconds to first seen
    new: list[str] = field(default_factory=list)
    killed: bool = False
    first_kill_s: float | None = None
    detail: str = ""
    seeds: list[int] = field(default_factory=list)


@dataclass
class Row:
    fault: str  # CLEAN for the clean server
    clause: str
    suite: SuiteResult
    st: StResult | None = None

    @property
    def caught(self) -> bool:
        return self.suite.status == "caught"

    @property
    def expected_named(self) -> bool:
        return self.clause in self.suite.clauses


# -- the suite ---------------------------------------------------------------------------------------
def run_suite(fault: str | None, report_dir: Path, *, profile: str, max_time_s: int | None,
              fail_fast: bool = False) -> SuiteResult:
    """Run the suites in a subprocess against the embedded server with `fault` (None: clean).

    With `fail_fast` the run stops at its first failing test (pytest `--maxfail=1`): enough for a
    verdict, but `tests` then names only that first test.
    """
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "orchestrator_contract", "run", "--profile", profile,
               "--report-dir", str(report_dir)]
    if fault:
        command += ["--server-fault", fault]
    if max_time_s:
        command += ["--max-time", str(max_time_s)]
    if fail_fast:
        command += ["--", "--maxfail=1"]
    started_wall, started = time.time(), time.monotonic()
    timeout = (max_time_s or 900) + RUN_GRACE_S
    with (report_dir / "run.log").open("w", encoding="utf-8") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = -1
    wall = time.monotonic() - started
    status = {EXIT_OK: "survived", EXIT_CAUGHT: "caught"}.get(code, "error")
    result = read_run(report_dir)
    tests = sorted({f.test for f in result.failures})
    clauses = sorted({f.clause for f in result.failures})
    return SuiteResult(status, code, round(wall, 1), tests, clauses,
                       first_failure_after(report_dir / FAILURES_DIR, started_wall))


def first_failure_after(failures_dir: Path, started_wall: float) -> float | None:
    """Seconds from the run's start to the earliest failure record (its file's mtime)."""
    times = [p.stat().st_mtime for p in failures_dir.glob("*.json")] if failures_dir.is_dir() else []
    return round(max(0.0, min(times) - started_wall), 1) if times else None


# -- the Schemathesis baseline ----------------------------------------------------------------------
def st_executable() -> str | None:
    local = Path(sys.executable).parent / "st"
    return str(local) if local.is_file() else shutil.which("st")


def st_signatures(ndjson: Path) -> dict[str, float]:
    """`CODE operation` -> seconds from st's start to its first occurrence, from the NDJSON events."""
    found: dict[str, float] = {}
    start: float | None = None
    if not ndjson.is_file():
        return found
    for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not event:
            continue
        kind, body = next(iter(event.items()))
        if not isinstance(body, dict):
            continue
        if start is None and isinstance(body.get("timestamp"), (int, float)):
            start = body["timestamp"]
        if kind != "ScenarioFinished":
            continue
        stamp = float(body.get("timestamp") or start or 0.0) - (start or 0.0)
        checks = (body.get("recorder") or {}).get("checks") or {}
        for case_checks in checks.values():
            for check in case_checks or []:
                failure = ((check or {}).get("failure_info") or {}).get("failure")
                if check.get("status") != "failure" or not isinstance(failure, dict):
                    continue
                if is_st_misfire(failure):
                    continue
                key = f"{failure.get('code') or check.get('name')} {failure.get('operation', '?')}"
                found[key] = min(found.get(key, stamp), round(stamp, 1))
    return found


# An ST201 ("schema-violating request accepted") is dropped when every invalid component it names
# is one of these: none of them is a defect of the server.
ST_MISFIRES = {
    # CONTRACT.md: "Unknown query parameters are ignored (the SDK sends some)."
    "query: violates `additionalProperties`",
    # st sends Authorization on every request (`--auth`), so the header it calls missing was there.
    "header: violates `required` (was Authorization)",
}


def is_st_misfire(failure: dict[str, Any]) -> bool:
    """True for an ST201 whose claimed violations are all in `ST_MISFIRES`."""
    if failure.get("code") != "ST201":
        return False
    message = str(failure.get("message") or "")
    _, marker, rest = message.partition("Invalid component:")
    if not marker:
        return False
    components = [line.strip().removeprefix("- ").strip() for line in rest.strip().splitlines() if line.strip()]
    return bool(components) and all(c in ST_MISFIRES for c in components)


def run_st(fault: str | None, out_dir: Path, *, budget_s: int, seed: int, max_examples: int) -> StResult:
    """Plain `st run` against a fresh embedded server with `fault`, for `budget_s` seconds."""
    from .defaults import PRIMARY_ACCOUNT
    from .resources import spec_path
    from .server import ServerConfig, start_background

    # st sends deliberately malformed requests; uvicorn's warning about each is noise here.
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
    st = st_executable()
    if st is None:
        return StResult("error", None, 0.0, budget_s, detail="st (schemathesis CLI) not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    ndjson = out_dir / "st.ndjson"
    ndjson.unlink(missing_ok=True)
    started = time.monotonic()
    with start_background(ServerConfig(faults=frozenset({fault} if fault else ()))) as server:
        command = [st, "run", str(spec_path()), "--url", server.base_url,
                   "--auth", f"{PRIMARY_ACCOUNT.username}:{PRIMARY_ACCOUNT.secret}",
                   "--phases", "examples,coverage,fuzzing,stateful", "--checks", "all",
                   "--seed", str(seed), "--generation-deterministic", "--max-examples", str(max_examples),
                   "--max-time", str(budget_s), "--report", "ndjson,json",
                   "--report-ndjson-path", str(ndjson), "--report-json-path", str(out_dir / "st.json")]
        with (out_dir / "st.log").open("w", encoding="utf-8") as log:
            try:
                code: int | None = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                                  timeout=budget_s + RUN_GRACE_S).returncode
            except subprocess.TimeoutExpired:
                code = None
    wall = round(time.monotonic() - started, 1)
    signatures = st_signatures(ndjson)
    if code not in (0, 1) and not signatures:
        return StResult("error", code, wall, budget_s, detail=f"st exited {code}; see {out_dir / 'st.log'}",
                        seeds=[seed])
    return StResult("ran", code, wall, budget_s, signatures, seeds=[seed])


def earliest(maps: Iterable[dict[str, float]]) -> dict[str, float]:
    """The union of signature maps, each signature at the earliest time any of them saw it."""
    union: dict[str, float] = {}
    for signatures in maps:
        for signature, seconds in signatures.items():
            union[signature] = min(union.get(signature, seconds), seconds)
    return union


def merge_st(results: Sequence[StResult]) -> StResult:
    """One clean-server result from several st runs: the union of their signatures (earliest time)."""
    ran = [r for r in results if r.status == "ran"]
    if not ran:
        return results[0]
    signatures = earliest(r.signatures for r in ran)
    failed = [f"seed {r.seeds[0] if r.seeds else '?'}: {r.detail}" for r in results if r.status != "ran"]
    return StResult("ran", max(r.exit_code or 0 for r in ran), round(sum(r.wall_s for r in results), 1),
                    ran[0].budget_s, signatures, detail="; ".join(failed),
                    seeds=[s for r in results for s in r.seeds])


def judge_st(rows: Sequence[Row]) -> None:
    """Mark st's kills: a fault row is killed when st found a signature absent on the clean server."""
    clean = next((r for r in rows if r.fault == CLEAN), None)
    baseline = set(clean.st.signatures) if clean and clean.st and clean.st.status == "ran" else None
    for row in rows:
        st = row.st
        if st is None or st.status != "ran" or row.fault == CLEAN:
            continue
        st.new, st.killed, st.first_kill_s = [], False, None
        if baseline is None:
            st.detail = "no clean-server st run to compare with"
            continue
        st.new = sorted(set(st.signatures) - baseline)
        st.killed = bool(st.new)
        st.first_kill_s = min((st.signatures[s] for s in st.new), default=None)


def st_dirs(report_dir: Path, row: Row) -> list[Path]:
    """Where `run_matrix` left the st output of `row`."""
    if row.fault != CLEAN:
        return [report_dir / "mutation" / row.fault / "st"]
    runs = len(row.st.seeds) if row.st and row.st.seeds else 1
    return [report_dir / "mutation" / "clean" / f"st-{i + 1}" for i in range(runs)]


def load_rows(report_dir: Path) -> tuple[dict[str, Any], list[Row]]:
    """The rows of an earlier matrix, from its mutation.json."""
    data = json.loads((report_dir / "mutation.json").read_text(encoding="utf-8"))
    rows = []
    for raw in data["rows"]:
        st = raw.get("st")
        rows.append(Row(raw["fault"], raw["clause"], SuiteResult(**raw["suite"]), StResult(**st) if st else None))
    return data, rows


def rejudge(report_dir: Path) -> tuple[int, list[Row]]:
    """Re-read st's NDJSON output of an earlier matrix with today's rules and rewrite the reports."""
    data, rows = load_rows(report_dir)
    for row in rows:
        if row.st is None or row.st.status != "ran":
            continue
        row.st.signatures = earliest(st_signatures(d / "st.ndjson") for d in st_dirs(report_dir, row))
    judge_st(rows)
    write_reports(rows, report_dir, profile=data["profile"], wall_s=data["wall_s"],
                  fail_fast=data.get("fail_fast", False))
    return verdict(rows), rows


# -- the table --------------------------------------------------------------------------------------
def _rate(killed: int, total: int) -> dict[str, Any]:
    return {"killed": killed, "total": total, "rate": round(killed / total, 3) if total else None}


def summarize(rows: Sequence[Row]) -> dict[str, Any]:
    """Kill rates and false positives of the suite and of st."""
    faults = [r for r in rows if r.fault != CLEAN]
    clean = next((r for r in rows if r.fault == CLEAN), None)
    st_rows = [r for r in faults if r.st is not None and r.st.status == "ran"]
    return {
        "suite": {**_rate(sum(r.caught for r in faults), len(faults)),
                  "expected_clause_named": sum(r.caught and r.expected_named for r in faults),
                  "clean": clean.suite.status if clean else None,
                  "false_positives": (clean.suite.tests if clean else [])},
        "st": {**_rate(sum(r.st.killed for r in st_rows), len(st_rows)),
               "not_run": [r.fault for r in faults if r not in st_rows],
               "false_positives": sorted(clean.st.signatures) if clean and clean.st else []},
    }


def verdict(rows: Sequence[Row]) -> int:
    """0 when the clean server passes the suite and the suite catches every fault; 1 otherwise."""
    clean_ok = any(r.fault == CLEAN and r.suite.status == "survived" for r in rows)
    return EXIT_OK if clean_ok and all(r.caught for r in rows if r.fault != CLEAN) else EXIT_CAUGHT


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pct(rate: dict[str, Any]) -> str:
    share = "n/a" if rate["rate"] is None else f"{100 * rate['rate']:.0f}%"
    return f"{rate['killed']}/{rate['total']} ({share})"


def render_markdown(rows: Sequence[Row], totals: dict[str, Any], *, profile: str, wall_s: float,
                    fail_fast: bool = False) -> str:
    suite, st = totals["suite"], totals["st"]
    clean = next((r for r in rows if r.fault == CLEAN), None)
    seeds = clean.st.seeds if clean and clean.st else []
    mode = ("fail-fast: each run stops at its first failing test, so only that test is listed"
            if fail_fast else "every test of the profile runs against every fault")
    lines = [f"# Mutation gate ({profile} profile)", "", f"- mode: {mode}",
             f"- suite kill rate: {_pct(suite)}; expected clause named: {suite['expected_clause_named']}",
             (f"- st kill rate: {_pct(st)}" + (f" (st not run: {', '.join(st['not_run'])})" if st["not_run"] else "")
              if st["total"] or not st["not_run"] else "- st: not run (--no-baseline)"),
             f"- clean server, suite: {suite['clean']}; false positives: "
             + (", ".join(f"`{t}`" for t in suite["false_positives"]) or "none"),
             *([f"- clean server, st (its false positives, union of {len(seeds)} run(s), seeds "
                f"{', '.join(map(str, seeds))}; excluded from its kills): "
                + (", ".join(f"`{s}`" for s in st["false_positives"]) or "none")] if seeds else []),
             f"- total wall time: {wall_s:.1f} s", "",
             "st kills a fault only with a failure signature (check code, operation) that none of its "
             "clean-server runs reported.", "",
             "| fault | clause | suite caught | tests that caught it | clause named | first failure s | wall s "
             "| st killed | st new signatures | st first kill s | st wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        caught = {"caught": "y", "survived": "n"}.get(r.suite.status, f"error ({r.suite.exit_code})")
        if r.fault == CLEAN:
            caught = "n (pass)" if r.suite.status == "survived" else f"FALSE POSITIVE ({r.suite.status})"
        tests = "<br>".join(f"`{t}`" for t in r.suite.tests[:5]) + (
            f"<br>(+{len(r.suite.tests) - 5})" if len(r.suite.tests) > 5 else "")
        named = "-" if r.fault == CLEAN else ("y" if r.expected_named else "n")
        st = r.st
        if st is None:
            st_cells = ["-", "-", "-", "-"]
        elif st.status != "ran":
            st_cells = [f"{st.status}", st.detail.replace("|", "/"), "-", _s(st.wall_s)]
        elif r.fault == CLEAN:
            st_cells = [f"({len(st.signatures)} false positives)", "-", "-", _s(st.wall_s)]
        else:
            st_cells = ["y" if st.killed else "n", "<br>".join(f"`{s}`" for s in st.new) or "-",
                        _s(st.first_kill_s), _s(st.wall_s)]
        lines.append("| " + " | ".join([r.fault, r.clause or "-", caught, tests or "-", named,
                                         _s(r.suite.first_failure_s), _s(r.suite.wall_s), *st_cells]) + " |")
    return "\n".join(lines) + "\n"


def write_reports(rows: Sequence[Row], report_dir: Path, *, profile: str, wall_s: float,
                  fail_fast: bool = False) -> dict[str, Any]:
    totals = summarize(rows)
    data = {"profile": profile, "fail_fast": fail_fast, "wall_s": round(wall_s, 1), **totals,
            "rows": [{**asdict(r), "caught": r.caught,
                      "expected_clause_named": None if r.fault == CLEAN else r.expected_named} for r in rows]}
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "mutation.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (report_dir / "mutation.md").write_text(
        render_markdown(rows, totals, profile=profile, wall_s=wall_s, fail_fast=fail_fast), encoding="utf-8")
    return data


README_START, README_END = "<!-- mutation-table:start -->", "<!-- mutation-table:end -->"


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def readme_table(data: dict[str, Any]) -> str:
    """The README's side-by-side table, from a full matrix's mutation.json (markers included)."""
    suite, st = data["suite"], data["st"]
    faults = [r for r in data["rows"] if r["fault"] != CLEAN]
    clean = next(r for r in data["rows"] if r["fault"] == CLEAN)
    st_clean = clean.get("st") or {}
    st_fp = len(st["false_positives"])
    rows = [
        ("faults caught", _pct(suite), _pct(st)),
        ("clean server", "passes" if suite["clean"] == "survived" else f"FAILS ({suite['clean']})",
         f"fails: {st_fp} (check, operation) failures over {len(st_clean.get('seeds') or [])} runs, "
         "counted as false positives" if st_fp else "passes"),
        ("failure names the fault's own clause", f"{suite['expected_clause_named']}/{suite['total']}",
         "- (no clauses)"),
        ("median time to the first failure, caught faults",
         f"{_s(_median(r['suite']['first_failure_s'] for r in faults if r['caught']))} s",
         f"{_s(_median((r.get('st') or {}).get('first_kill_s') for r in faults))} s"),
        ("median wall time per fault", f"{_s(_median(r['suite']['wall_s'] for r in faults))} s",
         f"{_s(_median((r.get('st') or {}).get('wall_s') for r in faults))} s (budget: the suite's time)"),
    ]
    lines = [README_START, "| | the suites (`" + data["profile"] + "` profile) | plain Schemathesis (`st run`) |",
             "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows),
             f"\nOne `orchestrator-contract mutate` run, {len(faults)} faults, "
             f"{data['wall_s'] / 60:.0f} min in all; per fault: [`reports/mutation.md`](reports/mutation.md).",
             README_END]
    return "\n".join(lines)


# -- the matrix -------------------------------------------------------------------------------------
def run_matrix(faults: Iterable[str], *, report_dir: Path, profile: str = "ci", jobs: int = 2,
               baseline: bool = True, max_time_per_run: int | None = None, fail_fast: bool = False,
               clean_runs: int = 6, progress: Callable[[str], None] = print) -> tuple[int, list[Row]]:
    """Run the clean server and every fault (suite, then st with the suite's wall time as budget).

    The clean server's st baseline is `clean_runs` st runs at seeds seed, seed+1, ... merged.
    """
    from . import profiles
    from .server import FAULTS

    loaded = profiles.load(profile)
    names = [CLEAN, *faults]
    lock = threading.Lock()

    def one(name: str) -> Row:
        fault = None if name == CLEAN else name
        out = report_dir / "mutation" / (name if fault else "clean")
        suite = run_suite(fault, out, profile=profile, max_time_s=max_time_per_run, fail_fast=fail_fast)
        row = Row(name, FAULTS[fault].clause if fault else "", suite)
        if baseline:
            budget = max(1, round(suite.wall_s))
            if max_time_per_run:
                budget = min(budget, max_time_per_run)
            if fault:
                row.st = run_st(fault, out / "st", budget_s=budget, seed=loaded.seed,
                                max_examples=loaded.max_examples)
            else:
                row.st = merge_st([run_st(None, out / f"st-{i + 1}", budget_s=budget, seed=loaded.seed + i,
                                          max_examples=loaded.max_examples) for i in range(clean_runs)])
        with lock:
            st_note = "" if row.st is None else f"; st {'error' if row.st.status != 'ran' else len(row.st.signatures)}"
            progress(f"mutate: {name}: suite {suite.status} ({suite.wall_s:.0f} s){st_note}")
        return row

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, names))
    judge_st(rows)
    write_reports(rows, report_dir, profile=profile, wall_s=time.monotonic() - started, fail_fast=fail_fast)
    return verdict(rows), rows


def command(args: Any) -> int:
    """`orchestrator-contract mutate`: validate the arguments, run the matrix, print the totals."""
    from . import profiles
    from .server import FAULTS

    unknown = [f for f in args.faults or [] if f not in FAULTS]
    problem = (f"unknown fault(s) {', '.join(unknown)}; see `orchestrator-contract faults`" if unknown
               else "--jobs must be at least 1" if args.jobs < 1
               else "--max-time-per-run must be at least 1" if args.max_time_per_run is not None
               and args.max_time_per_run < 1
               else "--clean-runs must be at least 1" if args.clean_runs < 1
               else f"unknown profile {args.profile!r}" if args.profile not in profiles.available()
               and not Path(args.profile).is_file() else "")
    if problem:
        print(f"orchestrator-contract: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if args.rejudge:
        if not (args.report_dir / "mutation.json").is_file():
            print(f"orchestrator-contract: no mutation.json in {args.report_dir} to rejudge", file=sys.stderr)
            return EXIT_ERROR
        code, rows = rejudge(args.report_dir)
        totals = summarize(rows)
        print(f"mutate: st rejudged from its NDJSON output: st kill rate {_pct(totals['st'])}; "
              f"report: {args.report_dir / 'mutation.md'}")
        return code
    faults = list(dict.fromkeys(args.faults)) if args.faults else sorted(FAULTS)
    code, rows = run_matrix(faults, report_dir=args.report_dir, profile=args.profile, jobs=args.jobs,
                            baseline=args.baseline, max_time_per_run=args.max_time_per_run,
                            fail_fast=args.fail_fast, clean_runs=args.clean_runs)
    totals = summarize(rows)
    st = f"st kill rate {_pct(totals['st'])}" if args.baseline else "st not run"
    print(f"mutate: suite kill rate {_pct(totals['suite'])}, clean server: {totals['suite']['clean']}; "
          f"{st}; report: {args.report_dir / 'mutation.md'}")
    return code
