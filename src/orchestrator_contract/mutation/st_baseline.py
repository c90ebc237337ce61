"""The plain-Schemathesis baseline: `st run` against the same faults, and how its kills are judged.

How st's kills are decided: plain st misfires on this asynchronous API (e.g. ST202 on a
`pageToken` it invented, ST301/ST302 on eventually consistent deletes/creates), so it fails on
the clean server too. Each st failure is reduced to a *signature* `(check code, operation)`
read from st's NDJSON event stream (`failure_info` of every failed check). The clean server's
signatures are st's false positives (the union of several clean runs at consecutive seeds, since
which misfires st hits depends on the data it draws and on timing); a fault is killed by st only
when st reports a signature none of the clean runs did. Codes rather than messages are compared
because messages carry generated data (ids, bodies) that differ from run to run; the operation is
kept so that a new kind of failure on an operation counts even when the same check already misfired elsewhere.

Some st failures are dropped before any comparison (`ST_MISFIRES`): an ST201 whose only claimed
violations are an unknown query parameter (the contract says those are ignored) or a missing
`Authorization` header (st sends it on every request). They show up at random, on the clean server
as on any fault, so six clean runs do not reliably list them.

`rejudge` recomputes st's verdicts from the NDJSON files a matrix left behind, so a change to
these rules never needs the matrix to run again.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.mutation.rows import CLEAN, Row, StResult
from orchestrator_contract.mutation.suite_runs import RUN_GRACE_S, st_executable


def st_signatures(ndjson: Path) -> dict[str, float]:
    """`CODE operation` -> seconds from st's start to its first occurrence, from the NDJSON events."""
    found: dict[str, float] = {}
    start: float | None = None
    if not ndjson.is_file():
        return found
    for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
        event = json_or_none(line)
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
    from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
    from orchestrator_contract.contract.locations import spec_path
    from orchestrator_contract.server import ServerConfig, start_background

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
        command = [
            st,
            "run",
            str(spec_path()),
            "--url",
            server.base_url,
            "--auth",
            f"{PRIMARY_ACCOUNT.username}:{PRIMARY_ACCOUNT.secret}",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--checks",
            "all",
            "--seed",
            str(seed),
            "--generation-deterministic",
            "--max-examples",
            str(max_examples),
            "--max-time",
            str(budget_s),
            "--report",
            "ndjson,json",
            "--report-ndjson-path",
            str(ndjson),
            "--report-json-path",
            str(out_dir / "st.json"),
        ]
        with (out_dir / "st.log").open("w", encoding="utf-8") as log:
            try:
                code: int | None = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, timeout=budget_s + RUN_GRACE_S
                ).returncode
            except subprocess.TimeoutExpired:
                code = None
    wall = round(time.monotonic() - started, 1)
    signatures = st_signatures(ndjson)
    if code not in (0, 1) and not signatures:
        return StResult(
            "error", code, wall, budget_s, detail=f"st exited {code}; see {out_dir / 'st.log'}", seeds=[seed]
        )
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
    return StResult(
        "ran",
        max(r.exit_code or 0 for r in ran),
        round(sum(r.wall_s for r in results), 1),
        ran[0].budget_s,
        signatures,
        detail="; ".join(failed),
        seeds=[s for r in results for s in r.seeds],
    )


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
