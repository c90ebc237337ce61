"""Coverage of a run, from its own exchanges: which documented responses it saw, which checks ran.

Every answer the suites' client receives is tallied by operation (the spec's operationId, found
from the method and the path templates), status, and, where the status alone does not say which
rule was exercised, the kind of problem (a 409 naming a conflicting serviceId, a 409 from a
concurrent Idempotency-Key, an operation that FAILED because it went stale). Every check
(`expect`, Schemathesis's checks in the conformance tests) is tallied by clause. Each process of
the run writes its tallies to `observed/<process>.json` when its session ends; `coverage.json`
merges them with what the spec documents, so the gaps (documented, never observed) come first.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.spec_data.links import load_spec, operations

COVERAGE_FILE = "coverage.json"
# Statuses a correct run need not see: a server that never throttles answers no 429, and a
# conformant one never answers 5xx.
NOT_REQUIRED = {"429": "seen only when the target throttles the run", "5XX": "a conformant server never answers 5xx"}
# Documented statuses that no rule forces for that operation: a correct server may never answer them.
NOT_REQUIRED_FOR = {
    ("deleteConfiguration", "409"): "a DELETE answers 409 only to concurrent requests with one "
    "Idempotency-Key, where a replayed 202 is just as right"
}


@lru_cache(maxsize=1)
def _matchers() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for op_id, op in operations().items():
        pattern = re.escape(op.path).replace(r"\{id\}", r"[^/]+")
        out.append((op.method, re.compile(pattern + r"/?\Z"), op_id))
    return out


def operation_of(method: str, path: str) -> str:
    """The spec's operationId for a method and a concrete path ("" when none matches)."""
    for op_method, pattern, op_id in _matchers():
        if op_method == method.upper() and pattern.search(path):
            return op_id
    return ""


def problem_of(status: int, path: str, headers: httpx.Headers, body: bytes) -> str:
    """What a status alone does not tell: which rule a 409 or a FAILED operation exercised."""
    if status == 409:
        return "serviceId conflict" if headers.get("X-Conflicting-Resource-Id") else "concurrent key"
    if status == 412:
        return "stale If-Match"
    if status == 422:
        return "Idempotency-Key mismatch"
    if status == 200 and "/Operations/" in path:
        document = json_or_none(body)
        if isinstance(document, dict) and document.get("status") == "FAILED":
            error = document.get("error")
            return f"operation FAILED ({error.get('status') if isinstance(error, dict) else None})"
        if isinstance(document, dict) and document.get("status") in ("PENDING", "COMPLETED"):
            return f"operation {document['status']}"
    return ""


class CoverageTally:
    """One process's tally: answers by operation, status and problem; checks by clause. Responses
    are tallied by the client's transport, checks where they are judged (`expect`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: Counter[tuple[str, str, str]] = Counter()  # (operationId, status, problem)
        self._checks: Counter[str] = Counter()  # clause -> checks evaluated
        self._failed: Counter[str] = Counter()  # clause -> checks that failed

    def record_response(self, request: httpx.Request, status: int, headers: httpx.Headers, body: bytes) -> None:
        """Tally one answer (from the transport, which has its raw bytes before the client reads them)."""
        path = request.url.path
        key = (
            operation_of(request.method, path) or f"{request.method} (undocumented path)",
            str(status),
            problem_of(status, path, headers, body),
        )
        with self._lock:
            self._responses[key] += 1

    def record_check(self, clause: str, passed: bool = True) -> None:
        clause = str(clause)  # a plain str, not a Clause member: xdist carries the tally to its controller
        with self._lock:
            self._checks[clause] += 1
            if not passed:
                self._failed[clause] += 1

    def record_checks(self, clauses: Iterable[str]) -> None:
        with self._lock:
            for clause in clauses:
                self._checks[str(clause)] += 1

    def take(self) -> dict[str, Any]:
        """The tally since the last one taken (the counters start again from zero: a process that runs
        several stages of a run hands each stage's tally over once)."""
        with self._lock:
            tally = {
                "responses": [[op, status, problem, n] for (op, status, problem), n in sorted(self._responses.items())],
                "checks": dict(self._checks),
                "failed": dict(self._failed),
            }
            self._responses.clear()
            self._checks.clear()
            self._failed.clear()
        return tally


def documented() -> dict[str, list[str]]:
    """operationId -> the response statuses the spec documents for it."""
    document = load_spec()
    out: dict[str, list[str]] = {}
    for item in document.get("paths", {}).values():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = item.get(method)
            if operation and "operationId" in operation:
                out[operation["operationId"]] = sorted(str(s) for s in operation.get("responses", {}))
    return out


# The problems worth seeing on their own, per operation: the rules a status alone cannot tell.
EXPECTED_PROBLEMS: dict[str, list[tuple[str, str]]] = {
    "createConfiguration": [("409", "serviceId conflict"), ("422", "Idempotency-Key mismatch")],
    "updateConfiguration": [
        ("409", "serviceId conflict"),
        ("412", "stale If-Match"),
        ("422", "Idempotency-Key mismatch"),
    ],
    "patchConfiguration": [
        ("409", "serviceId conflict"),
        ("412", "stale If-Match"),
        ("422", "Idempotency-Key mismatch"),
    ],
    "deleteConfiguration": [("412", "stale If-Match"), ("422", "Idempotency-Key mismatch")],
    "fetchOperation": [("200", "operation PENDING"), ("200", "operation COMPLETED"), ("200", "operation FAILED (412)")],
}


def coverage(tallies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """coverage.json's content from the tallies of every process of the run: per operation, each
    documented status (and problem) observed or not; per clause, checks run and failed. Gaps first."""
    responses: Counter[tuple[str, str, str]] = Counter()
    checks: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    processes = 0
    for data in tallies:
        processes += 1
        for op, status, problem, n in data.get("responses", []):
            responses[(op, status, problem)] += n
        checks.update(data.get("checks", {}))
        failed.update(data.get("failed", {}))
    operations_out: dict[str, Any] = {}
    gaps: list[dict[str, str]] = []
    for op_id, statuses in documented().items():
        seen: Counter[str] = Counter()
        for (op, status, _problem), n in responses.items():
            if op == op_id:
                seen[status] += n
        rows = []
        for status in statuses:
            required = (
                status not in NOT_REQUIRED and not status.startswith("5") and (op_id, status) not in NOT_REQUIRED_FOR
            )
            row = {"status": status, "observed": seen.get(status, 0), "required": required}
            if not required:
                row["why_not_required"] = NOT_REQUIRED_FOR.get((op_id, status)) or NOT_REQUIRED.get(
                    status, NOT_REQUIRED["5XX"]
                )
            rows.append(row)
            if required and not row["observed"]:
                gaps.append({"operation": op_id, "status": status, "problem": ""})
        problems = []
        for status, problem in EXPECTED_PROBLEMS.get(op_id, []):
            count = responses.get((op_id, status, problem), 0)
            problems.append({"status": status, "problem": problem, "observed": count})
            if not count:
                gaps.append({"operation": op_id, "status": status, "problem": problem})
        undocumented = sorted(s for s in seen if s not in statuses)
        operations_out[op_id] = {"statuses": rows, "problems": problems, "undocumented_observed": undocumented}
    clauses = {clause: {"checks": checks[clause], "failed": failed.get(clause, 0)} for clause in sorted(checks)}
    return {
        "gaps": gaps,
        "operations": operations_out,
        "clauses": clauses,
        "processes": processes,
    }


def write_coverage(report_dir: Path, data: dict[str, Any]) -> None:
    (report_dir / COVERAGE_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
