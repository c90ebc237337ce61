"""The run's consumers: every report written from its outcome log, and the verdict printed.

`Reporter.finish` decides the verdict (`verdict.decide`, the one place), computes coverage from the
processes' tallies and the baseline's statuses, and writes summary.md, report.html, junit.xml,
coverage.json and baseline.json from the same snapshot of the log; `orchestrator-contract run`
and `merge` both end with it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from orchestrator_contract.exchanges.coverage import coverage as coverage_of
from orchestrator_contract.exchanges.coverage import write_coverage
from orchestrator_contract.plugin.pytest_plugin import write_atomically
from orchestrator_contract.reporting.html_report import Context, write_html_report
from orchestrator_contract.reporting.junit import write_junit
from orchestrator_contract.reporting.summary import (
    BASELINE_STATUS,
    coverage_gaps,
    record_file,
    result_from,
    write_summary,
)
from orchestrator_contract.verdict.decide import Exit, decide
from orchestrator_contract.verdict.outcomes import OutcomeLog


class Reporter:
    """Writes every report of a run from its outcomes and prints the verdict line (thread-safe: the
    watchdog may call it while the run is still going)."""

    def __init__(
        self,
        report_dir: Path,
        header: list[str],
        context: Context,
        started: float,
        *,
        baseline_file: Path | None = None,
        require_coverage: bool = False,
    ) -> None:
        self.report_dir = report_dir
        self.header = header
        self.context = context
        self.started = started
        self.baseline_file = baseline_file
        self.require_coverage = require_coverage
        self._lock = threading.Lock()

    def finish(self, live: OutcomeLog, *, quiet: bool = False) -> int:
        """Decide, write the reports, print the verdict line (unless `quiet`); return the exit status."""
        with self._lock:
            log = live.snapshot()
            coverage = coverage_of(log.tallies) if log.tallies else {}
            verdict = decide(log, coverage_gaps=coverage_gaps(coverage), require_coverage=self.require_coverage)
            entries = []
            if self.baseline_file is not None:
                from orchestrator_contract.adoption import baseline

                entries = baseline.statuses(baseline.load(self.baseline_file), log.outcomes)
            result = result_from(log, verdict, coverage=coverage, baseline=entries)
            wall = time.monotonic() - self.started
            if coverage:
                write_coverage(self.report_dir, coverage)
            if entries:
                text = json.dumps({"entries": entries}, indent=1) + "\n"
                write_atomically(self.report_dir / BASELINE_STATUS, text)
            summary = write_summary(result, self.report_dir / "summary.md", header=self.header, wall_s=wall)
            write_junit(self.report_dir, result)
            html = write_html_report(self.report_dir, result, replace(self.context, wall_s=wall))
            if quiet:
                return int(verdict.code)
            if result.failures or log.target is not None:
                print(summary)
            stream = sys.stdout if verdict.code in (Exit.OK, Exit.VIOLATIONS) else sys.stderr
            print(f"orchestrator-contract: {verdict.line} ({wall:.1f} s); report: {html}", file=stream, flush=True)
            return int(verdict.code)

    def rewrite_records(self, log: OutcomeLog) -> None:
        """The failure records again, with their triage labels."""
        for outcome in log.outcomes:
            if outcome.record is not None and outcome.triage:
                text = json.dumps(outcome.record, indent=2, ensure_ascii=False) + "\n"
                write_atomically(self.report_dir / record_file(outcome.test), text)
