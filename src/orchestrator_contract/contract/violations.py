"""The two ways a test can fail: the server broke a clause, or the suite could not judge.

A `ContractViolation` names its clause and carries a reproduction; it is the only failure that
counts against the server. Anything else a test raises (a `SuiteError`, or any other exception)
means the suite could not reach a verdict; the reports list it apart and `run` exits 3 for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from orchestrator_contract.contract.clauses import describe
from orchestrator_contract.exchanges import coverage as observed
from orchestrator_contract.exchanges import journal
from orchestrator_contract.exchanges.redaction import redact

E = TypeVar("E", bound=BaseException)


class ContractViolation(AssertionError):
    def __init__(self, clause: str, detail: str, *, response: object = None) -> None:
        """`response`, when given, is the answer that shows the violation: its exchange is printed first."""
        self.clause = str(clause)  # a plain str, not a Clause member: xdist cannot send an enum to its controller
        self.detail = redact(detail)
        observed.record_check(clause, passed=False)
        recorded = journal.current()
        culprit = recorded.find(response) if response is not None else None
        self.culprit = culprit  # the exchange that shows it, when the raiser named its answer
        exchanges = recorded.snapshot()
        # The newest exchange when it was raised: what the operation of an unnamed answer is judged by
        # (requests the test sends afterwards, its cleanup, are not what broke the clause).
        self.last_exchange = exchanges[-1] if exchanges else None
        shown = f"{culprit.describe()}\n" if culprit is not None else ""
        context = recorded.reproduction()
        message = f"{describe(clause)}\n  violation: {self.detail}\nreproduce (secrets redacted):\n{shown}" + (
            f"earlier requests of this test, newest last:\n{context}" if culprit is not None else context
        )
        super().__init__(message)


class SuiteError(Exception):
    """The suite itself could not go on (not the server's fault): reported as such, never as a violation."""


def expect(condition: object, clause: str, detail: str) -> None:
    """Fail with a `ContractViolation` of `clause` unless `condition` holds (tallied either way)."""
    if not condition:
        raise ContractViolation(clause, detail)
    observed.record_check(clause)


def _chain(exc: BaseException | None, seen: set[int]) -> Iterator[BaseException]:
    """`exc`, the members of exception groups (Hypothesis groups failures), causes and contexts."""
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    yield exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _chain(inner, seen)
    yield from _chain(exc.__cause__, seen)
    if not exc.__suppress_context__:
        yield from _chain(exc.__context__, seen)


def violation_in(exc: BaseException | None) -> ContractViolation | None:
    """The ContractViolation behind a failure, wherever Hypothesis or a helper wrapped it."""
    return first_in(exc, ContractViolation)


def first_in(exc: BaseException | None, kind: type[E]) -> E | None:
    """The first exception of `kind` behind `exc` (itself, group members, causes, contexts)."""
    return next((e for e in _chain(exc, set()) if isinstance(e, kind)), None)
