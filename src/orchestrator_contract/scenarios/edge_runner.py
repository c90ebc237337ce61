"""Sending edge cases and judging the answers (the edges suite's engine).

Cases run side by side (the profile's concurrency): rejections are single requests; accepted writes
are sent together, waited for together, then read back together, each on a configuration of its
own (a PUT/PATCH case gets a fresh one, so no two cases read each other's writes). A verdict per
case; the test fails with the first failing case in case order (the same whatever order the answers
came in), listing how many others failed. A packed case that fails is taken apart, so the failure
names the one value the server mishandles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import MISSING, json_or_none, walk
from orchestrator_contract.contract.violations import ContractViolation
from orchestrator_contract.exchanges.client import ApiClient, UnsendableRequest, json_bytes
from orchestrator_contract.scenarios import expected_state as model
from orchestrator_contract.scenarios.expectations import error_body_problem
from orchestrator_contract.scenarios.polling import wait_for_operation
from orchestrator_contract.scenarios.steps import Scenario, in_parallel
from orchestrator_contract.spec_data.edge_cases import ACCEPT, REJECT, EdgeCase, operation_specs

WRITES = ("createConfiguration", "updateConfiguration", "patchConfiguration", "deleteConfiguration")


@dataclass
class Verdict:
    case: EdgeCase
    problem: str = ""  # empty: as the contract says
    clause: str = ""
    response: httpx.Response | None = None
    set_aside: bool = False  # HTTP/1.1 could not carry the request (a header value)


def _path(case: EdgeCase, target: str | None) -> str:
    spec = operation_specs()[case.operation_id]
    if "{id}" not in spec.path:
        return spec.path
    identifier = case.path_id if case.path_id is not None else target
    assert identifier is not None, f"{case.describe()} needs a target"
    return spec.path.replace("{id}", quote(identifier, safe=""))


def send(api: ApiClient, case: EdgeCase, target: str | None) -> httpx.Response:
    spec = operation_specs()[case.operation_id]
    headers: dict[str, Any] = dict(case.headers)
    content: bytes | None = None
    if case.raw_body is not None:
        content = case.raw_body
    elif case.base is not None:
        content = json_bytes(case.body)
    if case.content_type is not None and content is not None:
        headers["Content-Type"] = case.content_type
    return api.request(spec.method, _path(case, target), content=content, headers=headers, params=case.query or None)


def judge_answer(case: EdgeCase, response: httpx.Response) -> Verdict:
    """The verdict on the first answer (a write's read-back is judged later)."""
    status = response.status_code
    what = case.describe()
    if status >= 500:
        return Verdict(case, f"{what}: answered {status}: {response.text[:200]}", Clause.GEN_NO_5XX, response)
    if case.expect == ACCEPT:
        wanted = 202 if case.operation_id in WRITES else 200
        if status != wanted:
            return Verdict(
                case,
                f"{what}: a valid request answered {status}, not {wanted}: {response.text[:200]}",
                case.clause if case.clause != Clause.RES_ROUNDTRIP else Clause.ERR_400,
                response,
            )
        return Verdict(case, response=response)
    if case.expect == REJECT and status != case.reject_status:
        accepted = "accepted" if status < 300 else f"answered {status}"
        return Verdict(
            case, f"{what}: {accepted}, expected {case.reject_status}: {response.text[:200]}", case.clause, response
        )
    if status >= 400:
        problem = error_body_problem(response)
        if problem:
            return Verdict(case, f"{what}: {problem}", Clause.ERR_BODY, response)
    return Verdict(case, response=response)


class EdgeRunner:
    """Runs cases against the target for one test (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.api = scenario.api
        self._target: str | None = None

    # -- targets ------------------------------------------------------------------------------
    def shared_target(self) -> str:
        """A configuration the rejected writes aim at (created once per runner)."""
        if self._target is None:
            self._target = self.s.create(self.s.body("edge target", "edges")).id
        return self._target

    def _fresh_targets(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """`count` new configurations, with the fields each was created with."""
        bodies = [self.s.body(f"edge {i}", "edges") for i in range(count)]
        ids = self.s.create_many(bodies) if count else []
        return [(cid, model.expected_after_create(body)) for cid, body in zip(ids, bodies, strict=True)]

    # -- running ----------------------------------------------------------------------------------
    def run(self, cases: Sequence[EdgeCase]) -> list[Verdict]:
        """The verdict on every case, in case order."""
        needs_target = [c for c in cases if c.path_id is None and "{id}" in operation_specs()[c.operation_id].path]
        accepted_writes = [c for c in needs_target if c.expect == ACCEPT]
        fresh = iter(self._fresh_targets(len(accepted_writes)))
        targets = {id(c): next(fresh) for c in accepted_writes}
        shared = self.shared_target() if len(accepted_writes) < len(needs_target) else None

        def one(case: EdgeCase) -> Verdict:
            target = targets[id(case)][0] if id(case) in targets else shared
            try:
                response = send(self.api, case, target)
            except UnsendableRequest:
                return Verdict(case, set_aside=True)
            return judge_answer(case, response)

        verdicts = in_parallel([partial(one, c) for c in cases], self.s.profile.concurrency)
        self._settle_and_read_back(verdicts, targets)
        for index, verdict in enumerate(verdicts):
            if verdict.problem and verdict.case.parts and len(verdict.case.parts) > 1:
                verdicts[index] = self._take_apart(verdict)
        return verdicts

    def _settle_and_read_back(self, verdicts: list[Verdict], targets: dict[int, tuple[str, dict[str, Any]]]) -> None:
        """Accepted writes must COMPLETE, and what they wrote must read back exactly."""
        pending = [v for v in verdicts if not v.problem and v.response is not None and v.response.status_code == 202]
        finals = in_parallel(
            [
                partial(wait_for_operation, self.api, v.response, self.s.poll)  # type: ignore[arg-type]
                for v in pending
            ],
            self.s.profile.concurrency,
        )
        readable = []
        for verdict, final in zip(pending, finals, strict=True):
            if final.get("status") != "COMPLETED" and verdict.case.expect == ACCEPT:
                verdict.problem = (
                    f"{verdict.case.describe()}: accepted, but its operation ended "
                    f"{final.get('status')}: {final.get('error')}"
                )
                verdict.clause = Clause.OPS_SYNC
            elif verdict.case.read_back:
                readable.append(verdict)
        reads = in_parallel(
            [partial(self.api.fetch, self._configuration_of(v, targets)) for v in readable], self.s.profile.concurrency
        )
        for verdict, read in zip(readable, reads, strict=True):
            representation = json_or_none(read) if read.status_code == 200 else None
            if not isinstance(representation, dict):
                verdict.problem = (
                    f"{verdict.case.describe()}: its write COMPLETED but GET answered "
                    f"{read.status_code}: {read.text[:200]}"
                )
                verdict.clause, verdict.response = Clause.OPS_VISIBLE, read
                continue
            expected = self._expected(verdict.case, targets)
            for path, written in verdict.case.read_back:
                shown, wanted = walk(representation, path), walk(expected, path)
                if shown != wanted:
                    label = ".".join(str(p) for p in path)
                    shown_text = "nothing" if shown is MISSING else repr(shown)[:200]
                    verdict.problem = (
                        f"{verdict.case.describe()}: {label} was written as {repr(written)[:200]} "
                        f"and reads back as {shown_text}"
                    )
                    verdict.clause, verdict.response = Clause.RES_ROUNDTRIP, read
                    break

    @staticmethod
    def _expected(case: EdgeCase, targets: dict[int, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """The representation's mutable fields the contract predicts after the case's write."""
        body = case.body
        if case.operation_id == "createConfiguration":
            return model.expected_after_create(body)
        current = targets[id(case)][1]
        if case.operation_id == "updateConfiguration":
            return model.expected_after_put(current, body)
        return model.expected_after_patch(current, body)

    def _configuration_of(self, verdict: Verdict, targets: dict[int, tuple[str, dict[str, Any]]]) -> str:
        if id(verdict.case) in targets:
            return targets[id(verdict.case)][0]
        body = json_or_none(verdict.response) if verdict.response is not None else None
        return str(((body or {}).get("related") or {}).get("configurationId"))

    def _take_apart(self, failed: Verdict) -> Verdict:
        """Run a failed pack's values one by one; the first that fails alone names the problem."""
        for part in failed.case.parts:
            [alone] = self.run([part])
            if alone.problem:
                alone.problem += f" (found by taking apart: {failed.case.describe()[:300]})"
                return alone
        failed.problem += " (each of its values passes alone: only the combination fails)"
        return failed


def raise_first(verdicts: Sequence[Verdict], what: str) -> int:
    """Raise a ContractViolation for the first failing case (case order); return how many cases ran."""
    failing = [v for v in verdicts if v.problem]
    if failing:
        first = failing[0]
        others = len(failing) - 1
        more = (
            (
                f"\n  ({others} more {what} case(s) failed: "
                + "; ".join(f"[{v.clause}] {v.case.describe()[:120]}" for v in failing[1:6])
                + ("; ..." if others > 5 else "")
                + ")"
            )
            if others
            else ""
        )
        raise ContractViolation(first.clause, first.problem + more, response=first.response)
    return sum(1 for v in verdicts if not v.set_aside)
