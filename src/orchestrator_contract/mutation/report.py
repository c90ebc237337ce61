"""mutation.md, mutation.json and the README's table, from the rows of a matrix."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from orchestrator_contract.mutation.rows import CLEAN, Row

EXIT_OK, EXIT_CAUGHT = 0, 1


def _rate(killed: int, total: int) -> dict[str, Any]:
    return {"killed": killed, "total": total, "rate": round(killed / total, 3) if total else None}


def summarize(rows: Sequence[Row]) -> dict[str, Any]:
    """Kill rates and false positives of the suite and of st."""
    faults = [r for r in rows if r.fault != CLEAN]
    clean = next((r for r in rows if r.fault == CLEAN), None)
    st_rows = [r for r in faults if r.st is not None and r.st.status == "ran"]
    return {
        "suite": {
            **_rate(sum(r.caught for r in faults), len(faults)),
            "expected_clause_named": sum(r.caught and r.expected_named for r in faults),
            "clean": clean.suite.status if clean else None,
            "false_positives": (clean.suite.tests if clean else []),
        },
        "st": {
            **_rate(sum(bool(r.st and r.st.killed) for r in st_rows), len(st_rows)),
            "not_run": [r.fault for r in faults if r not in st_rows],
            "false_positives": sorted(clean.st.signatures) if clean and clean.st else [],
        },
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


def render_markdown(
    rows: Sequence[Row], totals: dict[str, Any], *, profile: str, wall_s: float, fail_fast: bool = False
) -> str:
    suite, st = totals["suite"], totals["st"]
    clean = next((r for r in rows if r.fault == CLEAN), None)
    seeds = clean.st.seeds if clean and clean.st else []
    mode = (
        "fail-fast: each run stops at its first failing test, so only that test is listed"
        if fail_fast
        else "every test of the profile runs against every fault"
    )
    lines = [
        f"# Mutation gate ({profile} profile)",
        "",
        f"- mode: {mode}",
        f"- suite kill rate: {_pct(suite)}; expected clause named: {suite['expected_clause_named']}",
        (
            f"- st kill rate: {_pct(st)}" + (f" (st not run: {', '.join(st['not_run'])})" if st["not_run"] else "")
            if st["total"] or not st["not_run"]
            else "- st: not run (--no-baseline)"
        ),
        f"- clean server, suite: {suite['clean']}; false positives: "
        + (", ".join(f"`{t}`" for t in suite["false_positives"]) or "none"),
        *(
            [
                f"- clean server, st (its false positives, union of {len(seeds)} run(s), seeds "
                f"{', '.join(map(str, seeds))}; excluded from its kills): "
                + (", ".join(f"`{s}`" for s in st["false_positives"]) or "none")
            ]
            if seeds
            else []
        ),
        f"- total wall time: {wall_s:.1f} s",
        "",
        "st kills a fault only with a failure signature (check code, operation) that none of its "
        "clean-server runs reported.",
        "",
        "| fault | clause | suite caught | tests that caught it | clause named | first failure s | wall s "
        "| st killed | st new signatures | st first kill s | st wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        caught = {"caught": "y", "survived": "n"}.get(r.suite.status, f"error ({r.suite.exit_code})")
        if r.fault == CLEAN:
            caught = "n (pass)" if r.suite.status == "survived" else f"FALSE POSITIVE ({r.suite.status})"
        tests = "<br>".join(f"`{t}`" for t in r.suite.tests[:5]) + (
            f"<br>(+{len(r.suite.tests) - 5})" if len(r.suite.tests) > 5 else ""
        )
        named = "-" if r.fault == CLEAN else ("y" if r.expected_named else "n")
        st = r.st
        if st is None:
            st_cells = ["-", "-", "-", "-"]
        elif st.status != "ran":
            st_cells = [f"{st.status}", st.detail.replace("|", "/"), "-", _s(st.wall_s)]
        elif r.fault == CLEAN:
            st_cells = [f"({len(st.signatures)} false positives)", "-", "-", _s(st.wall_s)]
        else:
            st_cells = [
                "y" if st.killed else "n",
                "<br>".join(f"`{s}`" for s in st.new) or "-",
                _s(st.first_kill_s),
                _s(st.wall_s),
            ]
        lines.append(
            "| "
            + " | ".join(
                [
                    r.fault,
                    r.clause or "-",
                    caught,
                    tests or "-",
                    named,
                    _s(r.suite.first_failure_s),
                    _s(r.suite.wall_s),
                    *st_cells,
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_reports(
    rows: Sequence[Row],
    report_dir: Path,
    *,
    profile: str,
    wall_s: float,
    fail_fast: bool = False,
    updates: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """`updates`: the faults re-measured since the full matrix (`mutate --update`), each with its commit."""
    totals = summarize(rows)
    data = {
        "profile": profile,
        "fail_fast": fail_fast,
        "wall_s": round(wall_s, 1),
        "updates": list(updates),
        **totals,
        "rows": [
            {**asdict(r), "caught": r.caught, "expected_clause_named": None if r.fault == CLEAN else r.expected_named}
            for r in rows
        ],
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "mutation.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    markdown = render_markdown(rows, totals, profile=profile, wall_s=wall_s, fail_fast=fail_fast)
    if updates:
        markdown += "\n## Rows measured since the full matrix (`mutate --update`)\n\n" + "".join(
            f"- at {u.get('commit') or 'an unknown commit'}, {u.get('wall_s', 0):.0f} s: {', '.join(u['faults'])}\n"
            for u in updates
        )
    (report_dir / "mutation.md").write_text(markdown, encoding="utf-8")
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
        (
            "clean server",
            "passes" if suite["clean"] == "survived" else f"FAILS ({suite['clean']})",
            f"fails: {st_fp} (check, operation) failures over {len(st_clean.get('seeds') or [])} runs, "
            "counted as false positives"
            if st_fp
            else "passes",
        ),
        (
            "failure names the fault's own clause",
            f"{suite['expected_clause_named']}/{suite['total']}",
            "- (no clauses)",
        ),
        (
            "median time to the first failure, caught faults",
            f"{_s(_median(r['suite']['first_failure_s'] for r in faults if r['caught']))} s",
            f"{_s(_median((r.get('st') or {}).get('first_kill_s') for r in faults))} s",
        ),
        (
            "median wall time per fault",
            f"{_s(_median(r['suite']['wall_s'] for r in faults))} s",
            f"{_s(_median((r.get('st') or {}).get('wall_s') for r in faults))} s (budget: the suite's time)",
        ),
    ]
    lines = [
        README_START,
        "| | the suites (`" + data["profile"] + "` profile) | plain Schemathesis (`st run`) |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        f"\nOne `orchestrator-contract mutate` run, {len(faults)} faults, "
        f"{data['wall_s'] / 60:.0f} min in all; per fault: [`reports/mutation.md`](reports/mutation.md).",
        README_END,
    ]
    return "\n".join(lines)
