"""The mutation gate, in the project's own tests: the `ci` profile passes on the clean reference
server and fails on every one of its deliberate faults.

This is `orchestrator-contract mutate --no-baseline --fail-fast` over the whole catalogue: each run
is the full `ci` profile in its own subprocess, stopped at the first failure that names the fault's
own clause (that failure is the verdict the gate needs; `orchestrator-contract mutate` without
`--fail-fast` lists every catching test and adds the plain-Schemathesis baseline, see
reports/mutation.md). A fault counts as caught only with a failure naming its clause. Runs go `MUTATION_GATE_JOBS`
at a time (default: one more than the CPU count: a run waits on its server part of the time; on 2
cores 3 jobs took 245 s where 2 took 264-283 s). The reports land in reports/gate/ (mutation.md, and per run
the usual report.html, failures and cassettes), so a CI job can keep them.

A surviving fault is fixed by strengthening the suites, never by weakening the fault.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator_contract.mutation import CLEAN, run_matrix
from orchestrator_contract.server import FAULTS

REPO = Path(__file__).resolve().parents[1]
REPORT_DIR = REPO / "reports" / "gate"
JOBS = max(1, int(os.environ.get("MUTATION_GATE_JOBS", str((os.cpu_count() or 2) + 1))))


@pytest.mark.slow
def test_clean_server_passes_and_every_fault_is_caught() -> None:
    _, rows = run_matrix(sorted(FAULTS), report_dir=REPORT_DIR, profile="ci", jobs=JOBS, baseline=False, fail_fast=True)
    problems: list[str] = []
    for row in rows:
        where = REPORT_DIR / "mutation" / ("clean" if row.fault == CLEAN else row.fault)
        if row.fault == CLEAN and row.suite.status != "survived":
            failing = ", ".join(row.suite.tests) or f"exit code {row.suite.exit_code}"
            problems.append(
                f"false positive: the clean server fails {failing} "
                f"(rerun: orchestrator-contract run; report: {where / 'report.html'})"
            )
        elif row.fault != CLEAN and not (row.caught and row.expected_named):
            named = (
                f"caught, but no failure names {row.clause} (named: {', '.join(row.suite.clauses)})"
                if row.caught
                else row.suite.status
            )
            problems.append(
                f"{row.fault} [{row.clause}] {named} (exit code {row.suite.exit_code}; "
                f"rerun: orchestrator-contract run --server-fault {row.fault}; log: {where / 'run.log'})"
            )
    assert len(rows) == len(FAULTS) + 1
    assert not problems, "mutation gate:\n  " + "\n  ".join(problems)
