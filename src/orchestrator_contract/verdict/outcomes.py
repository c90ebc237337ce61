"""The run's outcomes: one typed record per test, and the few facts about the run as a whole.

The pytest plugin yields an `Outcome` for each test as it finishes (on the xdist controller, for
every worker's tests) and the run's other facts as they happen: what each stage was asked to run
(`StageFacts`), what the target did when it stopped answering sanely (`TargetFacts`), the triage
labels. `OutcomeLog` keeps them in memory and appends each, the moment it arrives, as one JSON
line to `results.jsonl` in the report directory, so a run that is killed still leaves its
outcomes. The verdict, the summary, the HTML and JUnit reports, the baseline status and `merge`
are consumers of these records; none of them reads pytest's own files.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator_contract.exchanges.target_health import TargetFacts

RESULTS_FILE = "results.jsonl"

PASSED, FAILED, SKIPPED, KNOWN = "passed", "failed", "skipped", "known"
VIOLATION, SUITE_ERROR = "violation", "suite-error"


@dataclass(frozen=True)
class Outcome:
    """What one test came to. `verdict` says why a failed (or known) test failed: a violation of
    `clause` in an answer to `operation`, or an error of the suite; `budget` marks a test skipped
    because the run's time ran out (it did not run)."""

    test: str  # the pytest node id
    outcome: str  # passed, failed, skipped or known (failed as the baseline expects)
    stage: str = "all"
    verdict: str = ""  # violation or suite-error, for failed and known
    clause: str = ""
    operation: str = ""  # the spec's operationId of the answer that broke the clause
    headline: str = ""  # the violation (or the error) in one line
    phase: str = "call"  # setup, call or teardown: where it failed
    duration_s: float = 0.0
    reason: str = ""  # why it was skipped, or the baseline's reason for a known violation
    budget: bool = False  # skipped because the time budget ran out
    record: dict[str, Any] | None = None  # the failure record (failures/<id>.json), for failed and known
    worker: str = "main"
    shard: str = ""  # the report directory it came from, in a merged report
    triage: str = ""  # reproducible / intermittent (...) / not replayed, once replayed

    @property
    def is_violation(self) -> bool:
        return self.outcome == FAILED and self.verdict == VIOLATION

    @property
    def is_suite_error(self) -> bool:
        return self.outcome == FAILED and self.verdict != VIOLATION

    @property
    def ran(self) -> bool:
        """Judged: passed, failed, known, or skipped for a reason of its own (not for time)."""
        return not self.budget


@dataclass(frozen=True)
class StageFacts:
    """One pytest session of the run: the tests it was asked to run (after every selection the
    user passed through, `-k`, `-m`, `--deselect`), and how it ended."""

    stage: str
    expected: tuple[str, ...]
    counts_for_completeness: bool  # a breadth or single stage: every expected test must run once
    pytest_status: int = 0
    interrupted: bool = False  # Ctrl-C (KeyboardInterrupt), not a -x or --maxfail stop
    usage_error: str = ""  # pytest refused its arguments
    internal_error: bool = False  # pytest (or a plugin of the suite) crashed: the suite's own fault
    stopped: str = ""  # why the session stopped early (-x, --maxfail, --stop-at-clause, a broken target)


@dataclass
class OutcomeLog:
    """The run's records in memory, each appended to `results.jsonl` as it arrives (thread-safe)."""

    path: Path | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    stages: list[StageFacts] = field(default_factory=list)
    target: TargetFacts | None = None
    hard_stopped: bool = False  # the run outlived its budget and the grace after it
    tallies: list[dict[str, Any]] = field(default_factory=list)  # coverage tallies, one per process and stage
    runs: list[dict[str, Any]] = field(default_factory=list)  # what each run (each shard, once merged) was
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps({"event": kind, **data}, ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as stream:  # closed at once: a killed run loses no line
            stream.write(line + "\n")

    def start(self, path: Path | None) -> None:
        """Begin a fresh log at `path` (an earlier run's is replaced)."""
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
            self._append("test", asdict(outcome))

    def add_stage(self, stage: StageFacts) -> None:
        with self._lock:
            self.stages.append(stage)
            self._append("stage", asdict(stage))

    def add_run(self, info: dict[str, Any]) -> None:
        """What the run is (`RunPlan.summary`): its profile, seed, target, example database."""
        with self._lock:
            self.runs.append(info)
            self._append("run", info)

    def add_tallies(self, tallies: list[dict[str, Any]]) -> None:
        with self._lock:
            for tally in tallies:
                self.tallies.append(tally)
                self._append("tally", tally)

    def set_target(self, target: TargetFacts) -> None:
        with self._lock:
            if self.target is None:
                self.target = target
                self._append("target", asdict(target))

    def label(self, test: str, triage: str) -> None:
        """Triage's label for every failed outcome of `test`."""
        with self._lock:
            self.outcomes = relabelled(self.outcomes, test, triage)
            self._append("triage", {"test": test, "triage": triage})

    def mark_hard_stopped(self) -> None:
        with self._lock:
            self.hard_stopped = True
            self._append("hard-stop", {})

    def snapshot(self) -> OutcomeLog:
        """A copy to judge or report from while the run may still add to this one."""
        with self._lock:
            return OutcomeLog(
                None,
                list(self.outcomes),
                list(self.stages),
                self.target,
                self.hard_stopped,
                list(self.tallies),
                list(self.runs),
            )


_RANK = {"failed": 0, "known": 1, "passed": 2, "skipped": 3}


def decisive_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """One outcome per test, in first-seen order: a failure in any stage, else a known violation,
    else a pass, else a skip (a test that passed at breadth and was cut short deeper passed)."""
    best: dict[str, Outcome] = {}
    for outcome in outcomes:
        held = best.get(outcome.test)
        if held is None or _RANK.get(outcome.outcome, 9) < _RANK.get(held.outcome, 9):
            best[outcome.test] = outcome
    return list(best.values())


def relabelled(outcomes: list[Outcome], test: str, triage: str) -> list[Outcome]:
    """`outcomes` with triage's label on every failed outcome of `test` (and in its record)."""

    def label(o: Outcome) -> Outcome:
        record = dict(o.record, triage=triage) if o.record is not None else None
        return replace(o, triage=triage, record=record)

    return [label(o) if o.test == test and o.outcome == FAILED else o for o in outcomes]


def read(report_dir: Path, *, shard: str = "") -> OutcomeLog:
    """The records a finished run left in `report_dir` (for `merge` and the benches); a line cut
    short by a killed run is left out."""
    log = OutcomeLog()
    path = report_dir / RESULTS_FILE
    if not path.is_file():
        return log
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        kind = data.pop("event", "")
        if kind == "test":
            log.outcomes.append(Outcome(**{**data, "shard": shard or data.get("shard", "")}))
        elif kind == "stage":
            data["expected"] = tuple(data["expected"])
            log.stages.append(StageFacts(**data))
        elif kind == "target" and log.target is None:
            log.target = TargetFacts(**data)
        elif kind == "triage":
            log.outcomes = relabelled(log.outcomes, data["test"], data["triage"])
        elif kind == "hard-stop":
            log.hard_stopped = True
        elif kind == "tally":
            log.tallies.append(data)
        elif kind == "run":
            log.runs.append(data)
    return log
