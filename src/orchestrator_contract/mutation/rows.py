"""The rows of a mutation matrix: one per server (the clean one and each fault)."""

from __future__ import annotations

from dataclasses import dataclass, field

CLEAN = "(clean)"


@dataclass
class SuiteResult:
    """One `orchestrator-contract run`: status is caught (exit 1), survived (exit 0) or error.

    `failures` pairs each failing test with the clause it named (empty for a suite error);
    `first_failure_s` is the time to the first failure of any kind, `first_named_s` to the first
    naming the fault's own clause (the gate's verdict).
    """

    status: str
    exit_code: int
    wall_s: float
    tests: list[str] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    first_failure_s: float | None = None
    failures: list[list[str]] = field(default_factory=list)
    first_named_s: float | None = None


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
