"""The mutation gate: run the suites against every deliberate fault of the reference server.

For the clean server and each fault, `orchestrator-contract run --server-fault F` runs in its own
subprocess (N at a time). A fault is *caught* when that run exits 1 and a failure names the fault's
own clause; the clean run must exit 0. The baseline is plain Schemathesis (`st run`, every phase,
every check) against a fresh embedded server per fault, with a time budget equal to the suite's
wall time on that fault.

- `suite_runs`: one suite run per fault; `st_baseline`: running and judging `st`;
- `matrix`: all of them side by side (and re-judging an earlier matrix's st output);
- `report`: mutation.md, mutation.json, the README's table; `command`: the CLI.
"""

from orchestrator_contract.mutation.command import command
from orchestrator_contract.mutation.matrix import load_rows, rejudge, run_matrix
from orchestrator_contract.mutation.report import (
    README_END,
    README_START,
    readme_table,
    render_markdown,
    summarize,
    verdict,
    write_reports,
)
from orchestrator_contract.mutation.rows import CLEAN, Row, StResult, SuiteResult
from orchestrator_contract.mutation.st_baseline import (
    ST_MISFIRES,
    earliest,
    is_st_misfire,
    judge_st,
    merge_st,
    run_st,
    st_signatures,
)
from orchestrator_contract.mutation.suite_runs import first_failure_after, run_suite

__all__ = [
    "CLEAN",
    "README_END",
    "README_START",
    "ST_MISFIRES",
    "Row",
    "StResult",
    "SuiteResult",
    "command",
    "earliest",
    "first_failure_after",
    "is_st_misfire",
    "judge_st",
    "load_rows",
    "merge_st",
    "readme_table",
    "rejudge",
    "render_markdown",
    "run_matrix",
    "run_st",
    "run_suite",
    "st_signatures",
    "summarize",
    "verdict",
    "write_reports",
]
