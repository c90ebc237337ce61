"""`report.html`: the page a person opens first after a run.

One self-contained file (inline CSS, no scripts): the verdict and the run's facts, then every
failure with its clause, violation and curl reproduction (linking the HAR cassette and the failure
record), then the clause table, the per-operation table of the conformance tests, and the skips.
It is built from the run's outcomes (`reporting.result_from`), with the verdict already decided.
Every text is scrubbed and escaped.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from orchestrator_contract.contract.clauses import CLAUSES
from orchestrator_contract.exchanges.redaction import scrub
from orchestrator_contract.reporting.summary import (
    HTML_REPORT,
    REPRODUCE_MARK,
    CaseResult,
    Failure,
    RunResult,
    failure_groups,
    record_file,
)

CONFORMANCE_MODULE = "test_conformance"

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2327;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:0 20px 40px}
header.verdict{padding:18px 20px;color:#fff}
header.pass{background:#1a7f37} header.fail,header.targetbroken{background:#b42318}
header.incomplete,header.suiteerror,header.coverageincomplete,header.usage,header.interrupted{background:#9a6700}
header h1{margin:0 0 8px;font-size:26px}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;max-width:1160px}
header dt{font-weight:600;opacity:.85} header dd{margin:0}
nav{margin:14px 0;font-size:14px} nav a{margin-right:16px}
h2{margin:28px 0 10px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
article.failure{background:#fff;border:1px solid #d0d7de;border-left:6px solid #b42318;border-radius:6px;
  padding:12px 16px;margin:0 0 16px}
article h3{margin:0 0 6px;font-size:16px;word-break:break-all}
.clause{margin:4px 0} .violation{margin:6px 0;font-family:ui-monospace,monospace;background:#fff1f0;
  padding:6px 8px;border-radius:4px;white-space:pre-wrap;word-break:break-word}
pre{background:#0d1117;color:#e6edf3;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:12.5px;
  white-space:pre-wrap;word-break:break-all;max-height:520px}
details pre{background:#f6f8fa;color:#1d2327;border:1px solid #d0d7de}
code{font-family:ui-monospace,monospace;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff;
  white-space:nowrap}
.FAIL,.failed,.error{background:#b42318} .PASS,.passed{background:#1a7f37}
.NOTRUN,.skipped{background:#8c959f} .INCONCLUSIVE{background:#9a6700}
.muted{color:#57606a;font-size:13px} .links a{margin-right:14px}
"""


@dataclass
class Context:
    """The facts of the run its outcomes do not hold (the CLI knows them)."""

    target: str
    profile: str
    seed: int | str
    wall_s: float


def esc(value: object) -> str:
    return html.escape(scrub(str(value)), quote=True)


def _badge(status: str, label: str | None = None) -> str:
    return f'<span class="badge {status.replace(" ", "")}">{esc(label or status)}</span>'


def _triage_badge(triage: str) -> str:
    """INCONCLUSIVE for a failure that did not show again on replay, FAIL otherwise."""
    return "INCONCLUSIVE" if "intermittent" in triage else "FAIL"


# -- mapping junit cases to the traceability table ------------------------------------------------
def trace_key(case: CaseResult, known: set[str]) -> str:
    """`file.py::[Class::]test` (traceability's key) of a junit case, parameters dropped."""
    base = case.name.partition("[")[0]
    parts = case.classname.split(".")
    candidates = [f"{parts[i - 1]}.py::" + "::".join([*parts[i:], base]) for i in range(len(parts), 0, -1)]
    return next((c for c in candidates if c in known), candidates[-1] if candidates else base)


def _cases_by_test(result: RunResult, known: set[str]) -> dict[str, list[CaseResult]]:
    table: dict[str, list[CaseResult]] = defaultdict(list)
    for case in result.cases:
        table[trace_key(case, known)].append(case)
    return table


def _tally(cases: list[CaseResult]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        counts[case.outcome] += 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "not run"


# -- sections --------------------------------------------------------------------------------------
def _header(result: RunResult, ctx: Context, status: str) -> str:
    headline = result.verdict.line
    facts = [
        ("target", ctx.target),
        ("profile", ctx.profile),
        ("seed", ctx.seed),
        ("report written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("wall time", f"{ctx.wall_s:.1f} s"),
        (
            "tests",
            f"{result.tests}: {result.passed} passed, {result.failed} failed, {result.errors} errors, "
            f"{result.skipped} skipped",
        ),
    ]
    facts += [("stage", stage) for stage in result.stages]
    if result.target is not None:
        facts += [
            ("target broken", f"{result.target.reason} [{result.target.clause}]"),
            ("one answer", result.target.example),
        ]
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f'<header class="verdict {status.lower().replace(" ", "")}"><h1>{esc(headline)}</h1><dl>{rows}</dl></header>'


def _reproduction(failure: Failure) -> str:
    record = failure.record or {}
    text = str(record.get("reproduction") or "")
    if not text and REPRODUCE_MARK in failure.message:
        text = failure.message.partition(REPRODUCE_MARK)[2].strip("\n")
    if not text and record.get("curl"):
        text = "\n".join(record["curl"])
    if not text:
        return '<p class="muted">No HTTP exchange was recorded for this failure.</p>'
    note = "# first: export TWILIO_ACCOUNT_SID=... TWILIO_AUTH_TOKEN=... (secrets are redacted here)\n"
    return f"<pre>{esc(note + text)}</pre>"


def _link(report_dir: Path, relative: object, label: str) -> str:
    if not isinstance(relative, str) or not (report_dir / relative).is_file():
        return ""
    return f'<a href="{esc(quote(relative))}">{esc(label)}: {esc(relative)}</a>'


def _suite_error(report_dir: Path, index: int, failure: Failure) -> str:
    record = failure.record or {}
    links = [
        _link(report_dir, record.get("cassette"), f"cassette ({record.get('exchanges', '?')} exchanges)"),
        _link(report_dir, record_file(failure.test), "failure record"),
    ]
    message = failure.message or str(record.get("message", ""))
    parts = [
        f'<article class="failure suite" id="suite-error-{index}">',
        f"<h3>{_badge('INCONCLUSIVE', 'suite error')} {esc(record.get('test') or failure.test)}</h3>",
        '<p class="clause">The suite could not judge this test: the exception below is the suite\'s own, '
        "not a contract violation of the server. Please report it.</p>",
        f'<div class="violation">{esc(record.get("detail") or failure.headline)}</div>',
    ]
    if any(links):
        parts.append(f'<p class="links">{"".join(link for link in links if link)}</p>')
    if record.get("rerun"):
        parts.append(f'<p class="muted">Rerun this test: <code>{esc(record["rerun"])}</code></p>')
    if message:
        parts.append(f"<details open><summary>Traceback</summary><pre>{esc(message)}</pre></details>")
    parts.append("</article>")
    return "\n".join(parts)


def _failure(report_dir: Path, index: int, failure: Failure) -> str:
    record = failure.record or {}
    clause = CLAUSES.get(failure.clause)
    clause_text = f"{clause.section}: {clause.text}" if clause else "no contract clause named (not a ContractViolation)"
    violation = str(record.get("violation") or failure.headline)
    links = [
        _link(report_dir, record.get("cassette"), f"cassette ({record.get('exchanges', '?')} exchanges)"),
        _link(report_dir, record_file(failure.test), "failure record"),
    ]
    parts = [
        f'<article class="failure" id="failure-{index}">',
        f"<h3>{_badge('FAIL', failure.clause)} {esc(record.get('test') or failure.test)}"
        + (" " + _badge(_triage_badge(str(record["triage"])), str(record["triage"])) if record.get("triage") else "")
        + "</h3>",
        f'<p class="clause"><b>{esc(failure.clause)}</b> &middot; {esc(clause_text)}</p>',
        f'<div class="violation">{esc(violation)}</div>',
        "<h4>Reproduce</h4>",
        _reproduction(failure),
    ]
    if any(links):
        parts.append(f'<p class="links">{"".join(link for link in links if link)}</p>')
    if record.get("rerun"):
        parts.append(
            f'<p class="muted">Rerun exactly this test (seed {esc(record.get("seed"))}, profile '
            f"{esc(record.get('profile'))}, the same target; credentials from the environment): "
            f"<code>{esc(record['rerun'])}</code></p>"
        )
    message = failure.message or str(record.get("message", ""))
    if record.get("hypothesis"):
        message += "\n\n" + str(record["hypothesis"])
    if message:
        parts.append(f"<details><summary>Full failure message</summary><pre>{esc(message)}</pre></details>")
    parts.append("</article>")
    return "\n".join(parts)


def _failures(report_dir: Path, result: RunResult) -> str:
    violations = result.violations
    if not violations:
        section = '<h2 id="failures">Contract violations</h2><p>None.</p>'
    else:
        articles = "\n".join(_failure(report_dir, i, f) for i, f in enumerate(violations, 1))
        section = f'<h2 id="failures">Contract violations ({len(violations)})</h2>\n{_groups(result)}{articles}'
    errors = result.suite_errors
    if errors:
        articles = "\n".join(_suite_error(report_dir, i, f) for i, f in enumerate(errors, 1))
        section += (
            f'\n<h2 id="suite-errors">The suite could not judge ({len(errors)})</h2>'
            '<p class="muted">Exceptions of the suite itself: they are not the server\'s fault and do not '
            f"count as violations (exit status 3 when nothing else failed).</p>\n{articles}"
        )
    return section


def _groups(result: RunResult) -> str:
    """Violations by clause and operation, each with its smallest example (the nightly's many failures)."""
    groups = failure_groups(result)
    if len(groups) < 2:
        return ""
    index = {id(f): i for i, f in enumerate(result.violations, 1)}
    rows = "".join(
        f"<tr><td><code>{esc(clause)}</code></td><td><code>{esc(operation or '-')}</code></td><td>{len(members)}</td>"
        f'<td><a href="#failure-{index[id(members[0])]}">{esc(members[0].test)}</a> '
        f"({esc((members[0].record or {}).get('exchanges', '?'))} exchanges)</td></tr>"
        for (clause, operation), members in groups.items()
    )
    return f"<table><tr><th>clause</th><th>operation</th><th>tests</th><th>smallest example</th></tr>{rows}</table>"


def clause_statuses(result: RunResult, trace: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """Clause id -> (status, note). FAIL: a failure names it; PASS: one of its tests ran and passed;
    INCONCLUSIVE: its tests ran but all failed on other clauses; NOT RUN: none of its tests ran."""
    known = {t for tests in trace.values() for t in tests}
    by_test = _cases_by_test(result, known)
    failed = {f.clause for f in result.violations}
    statuses: dict[str, tuple[str, str]] = {}
    for cid, tests in trace.items():
        ran = [c for t in tests for c in by_test.get(t, []) if c.outcome != "skipped"]
        others = sum(1 for c in ran if c.outcome in ("failed", "error"))
        if cid in failed:
            statuses[cid] = ("FAIL", f"{sum(1 for f in result.violations if f.clause == cid)} failing test(s)")
        elif any(c.outcome == "passed" for c in ran):
            note = f"{len(ran) - others} passed" + (f"; {others} failed on other clauses" if others else "")
            statuses[cid] = ("PASS", note)
        elif ran:
            statuses[cid] = ("INCONCLUSIVE", "its tests failed on other clauses first")
        else:
            statuses[cid] = ("NOT RUN", "no test checks it" if not tests else "its tests were deselected or skipped")
    return statuses


def _test_list(tests: list[str], by_test: dict[str, list[CaseResult]]) -> str:
    """The tests that ran, with their outcomes; those that did not, folded away."""
    ran = [t for t in tests if by_test.get(t)]
    idle = [t for t in tests if not by_test.get(t)]
    lines = [f"<code>{esc(t)}</code> <span class=muted>({esc(_tally(by_test[t]))})</span>" for t in ran]
    if idle:
        names = "<br>".join(f"<code>{esc(t)}</code>" for t in idle)
        lines.append(f"<details><summary class=muted>{len(idle)} not run</summary>{names}</details>")
    return "<br>".join(lines) or '<span class="muted">none</span>'


def _clauses(result: RunResult, trace: dict[str, list[str]]) -> str:
    known = {t for tests in trace.values() for t in tests}
    by_test = _cases_by_test(result, known)
    statuses = clause_statuses(result, trace)
    first_failure: dict[str, int] = {}
    for i, f in enumerate(result.violations, 1):
        first_failure.setdefault(f.clause, i)
    rows = []
    for cid, clause in CLAUSES.items():
        status, note = statuses.get(cid, ("NOT RUN", "no test checks it"))
        badge = _badge(status)
        if cid in first_failure:
            badge = f'<a href="#failure-{first_failure[cid]}">{badge}</a>'
        tests = _test_list(trace.get(cid, []), by_test)
        rows.append(
            f"<tr><td><code>{esc(cid)}</code></td><td>{badge}<br><span class=muted>{esc(note)}</span></td>"
            f"<td>{esc(clause.section)}: {esc(clause.text)}</td><td>{tests}</td></tr>"
        )
    for cid in sorted({f.clause for f in result.violations} - CLAUSES.keys()):
        rows.append(
            f'<tr><td><code>{esc(cid)}</code></td><td><a href="#failure-{first_failure[cid]}">'
            f"{_badge('FAIL')}</a></td><td>failures that name no contract clause</td><td></td></tr>"
        )
    counts: dict[str, int] = defaultdict(int)
    for status, _ in statuses.values():
        counts[status] += 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (
        f'<h2 id="clauses">Contract clauses ({esc(tally)})</h2>'
        "<table><tr><th>clause</th><th>status</th><th>rule</th><th>tests that check it</th></tr>"
        + "\n".join(rows)
        + "</table>"
    )


def _coverage(result: RunResult) -> str:
    """Documented responses never observed first, then per operation and per clause."""
    data = result.coverage
    if not data:
        return '<h2 id="coverage">Coverage</h2><p class="muted">No coverage data (coverage.json) for this run.</p>'
    gaps = data.get("gaps", [])
    parts = [f'<h2 id="coverage">Coverage: what this run exercised ({len(gaps)} gap(s))</h2>']
    if gaps:
        items = "".join(
            f"<li><code>{esc(g['operation'])}</code> {esc(g['status'])}"
            + (f" ({esc(g['problem'])})" if g.get("problem") else "")
            + "</li>"
            for g in gaps
        )
        parts.append(
            f"<p>Documented responses this run never observed (<code>--require-coverage</code> fails on "
            f"them):</p><ul>{items}</ul>"
        )
    else:
        parts.append("<p>Every documented response the contract requires was observed.</p>")
    rows = []
    for op, info in data.get("operations", {}).items():
        cells = []
        for row in info.get("statuses", []):
            label = f"{row['status']}: {row['observed']}"
            status = "PASS" if row["observed"] else ("NOTRUN" if not row.get("required") else "FAIL")
            title = row.get("why_not_required", "")
            cells.append(f'<span title="{esc(title)}">{_badge(status, label)}</span>')
        for row in info.get("problems", []):
            status = "PASS" if row["observed"] else "FAIL"
            cells.append(_badge(status, f"{row['status']} {row['problem']}: {row['observed']}"))
        extra = (
            (
                f"<br><span class=muted>undocumented statuses seen: {esc(', '.join(info['undocumented_observed']))}"
                "</span>"
            )
            if info.get("undocumented_observed")
            else ""
        )
        rows.append(f"<tr><td><code>{esc(op)}</code></td><td>{' '.join(cells)}{extra}</td></tr>")
    parts.append(
        "<table><tr><th>operation</th><th>documented responses (times observed)</th></tr>" + "".join(rows) + "</table>"
    )
    clause_rows = "".join(
        f"<tr><td><code>{esc(cid)}</code></td><td>{info.get('checks', 0)}</td><td>{info.get('failed', 0)}</td></tr>"
        for cid, info in data.get("clauses", {}).items()
    )
    parts.append(
        "<h3>Checks evaluated per clause</h3><table><tr><th>clause</th><th>checks</th><th>failed</th></tr>"
        f"{clause_rows}</table>"
    )
    return "\n".join(parts)


def _known(result: RunResult) -> str:
    if not result.baseline and not result.known:
        return ""
    items = "".join(
        f"<li><code>{esc(r.get('test'))}</code> [{esc(r.get('clause'))}] {esc(r.get('known'))}</li>"
        for r in result.known
    )
    fixed = [e for e in result.baseline if e.get("status") == "fixed"]
    fixed_items = "".join(
        f"<li>[{esc(e['clause'])}] <code>{esc(e.get('test') or '')}</code> {esc(e.get('operation') or '')}:"
        f" {esc(e['reason'])}</li>"
        for e in fixed
    )
    return (
        f'<h2 id="known">Known violations (baseline): {len(result.known)}</h2>'
        + (f"<ul>{items}</ul>" if items else "<p>None of them failed in this run.</p>")
        + (
            f"<p><b>Fixed: remove these entries from the baseline</b> (their tests ran and nothing failed their "
            f"way):</p><ul>{fixed_items}</ul>"
            if fixed_items
            else ""
        )
    )


def _operation_order(case: CaseResult) -> tuple[int, str, int]:
    """Operations by path, then method in CRUD order; the other conformance tests last."""
    base, bracket, params = case.name.partition("[")
    method, _, path = params[:-1].partition(" ")
    methods = ["POST", "GET", "PUT", "PATCH", "DELETE"]
    return (0 if bracket else 1, path or base, methods.index(method) if method in methods else len(methods))


def _operations(result: RunResult) -> str:
    failures = {f.test: f for f in result.failures}
    rows = []
    cases = [c for c in result.cases if c.classname.rpartition(".")[2] == CONFORMANCE_MODULE]
    for case in sorted(cases, key=_operation_order):
        base, bracket, params = case.name.partition("[")
        label = params[:-1] if bracket else base
        failure = failures.get(case.key)
        note = (
            (f"[{failure.clause}] {failure.headline}" if failure.is_violation else f"suite error: {failure.headline}")
            if failure
            else ""
        )
        if case.outcome == "skipped":
            note = case.message
        rows.append(
            f"<tr><td><code>{esc(label)}</code></td><td>{_badge(case.outcome)}</td>"
            f"<td>{case.seconds:.1f} s</td><td>{esc(note)}</td></tr>"
        )
    if not rows:
        return '<h2 id="operations">Operations (conformance tests)</h2><p class="muted">No conformance test ran.</p>'
    return (
        '<h2 id="operations">Operations (conformance tests)</h2>'
        "<table><tr><th>operation</th><th>result</th><th>time</th><th>violation</th></tr>"
        + "\n".join(rows)
        + "</table>"
    )


def _skipped(result: RunResult) -> str:
    skipped = [c for c in result.cases if c.outcome == "skipped"]
    if not skipped:
        return '<h2 id="skipped">Skipped tests</h2><p class="muted">None (deselected tests are not listed).</p>'
    rows = "\n".join(f"<tr><td><code>{esc(c.key)}</code></td><td>{esc(c.message)}</td></tr>" for c in skipped)
    return (
        f'<h2 id="skipped">Skipped tests ({len(skipped)})</h2>'
        f"<table><tr><th>test</th><th>reason</th></tr>{rows}</table>"
    )


def render(report_dir: Path, result: RunResult, ctx: Context, trace: dict[str, list[str]]) -> str:
    status = result.verdict.label
    nav = (
        '<nav><a href="#failures">Violations</a><a href="#suite-errors">Suite errors</a><a href="#known">Known</a>'
        '<a href="#coverage">Coverage</a><a href="#clauses">Clauses</a>'
        '<a href="#operations">Operations</a><a href="#skipped">Skipped</a>'
        '<a href="summary.md">summary.md</a><a href="junit.xml">junit.xml</a></nav>'
    )
    body = "\n".join(
        [
            _header(result, ctx, status),
            "<main>",
            nav,
            _failures(report_dir, result),
            _known(result),
            _coverage(result),
            _clauses(result, trace),
            _operations(result),
            _skipped(result),
            "</main>",
        ]
    )
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>orchestrator-contract: {esc(status)}</title><style>{CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
    return scrub(page)


def _fallback(result: RunResult, ctx: Context, error: BaseException) -> str:
    """A minimal page when rendering failed: the verdict must still be readable."""
    status = result.verdict.label
    items = "".join(f"<li><code>{esc(f.test)}</code> [{esc(f.clause)}] {esc(f.headline)}</li>" for f in result.failures)
    return scrub(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>orchestrator-contract: '
        f"{esc(status)}</title></head><body><h1>{esc(status)}</h1><p>target {esc(ctx.target)}, profile "
        f"{esc(ctx.profile)}, seed {esc(ctx.seed)}</p><ul>{items}</ul><p>(the full report could not be "
        f"rendered: {esc(repr(error))}; see summary.md and junit.xml)</p></body></html>\n"
    )


def write_html_report(report_dir: Path, result: RunResult, ctx: Context, *, suites: Path | None = None) -> Path:
    """Write `report.html` into `report_dir` and return its path."""
    path = report_dir / HTML_REPORT
    try:
        from orchestrator_contract.adoption.traceability import load
        from orchestrator_contract.contract.locations import suites_dir

        trace = load(suites or suites_dir())
        text = render(report_dir, result, ctx, trace)
    except Exception as exc:
        text = _fallback(result, ctx, exc)
    path.write_text(text, encoding="utf-8")
    return path
