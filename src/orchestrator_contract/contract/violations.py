"""The two ways a test can fail: the server broke a clause, or the suite could not judge.

A `ContractViolation` names its clause and what shows it; it is the only failure that counts
against the server. Anything else a test raises (a `SuiteError`, or any other exception)
means the suite could not reach a verdict; the reports list it apart and `run` exits 3 for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from orchestrator_contract.contract.clauses import describe

E = TypeVar("E", bound=BaseException)

# Who counts the checks judged (the coverage tally of the process, put in scope by the plugin):
# `expect` is called from everywhere, and a check that passed leaves no other trace.
check_counter: ContextVar[Callable[[str], None] | None] = ContextVar("orchestrator_contract_checks", default=None)


class ContractViolation(AssertionError):
    """Plain data: the clause broken and what shows it. The plugin that classifies the failure adds
    the test's exchanges (the reproduction), counts it, and redacts what it writes."""

    def __init__(self, clause: str, detail: str, *, response: object = None) -> None:
        """`response`, when given, is the answer that shows the violation: its exchange is printed first."""
        self.clause = str(clause)  # a plain str, not a Clause member: xdist cannot send an enum to its controller
        self.detail = detail
        self.response = response
        # When it was raised: the exchange that broke the clause was sent before this (the test's
        # cleanup, which sends requests afterwards, did not break it).
        self.raised_at = time.monotonic()
        super().__init__(f"{describe(clause)}\n  violation: {detail}")


class SuiteError(Exception):
    """The suite itself could not go on (not the server's fault): reported as such, never as a violation."""


def expect(condition: object, clause: str, detail: str) -> None:
    """Fail with a `ContractViolation` of `clause` unless `condition` holds (counted when it holds;
    a failure is counted by the plugin, once per test)."""
    if not condition:
        raise ContractViolation(clause, detail)
    counter = check_counter.get()
    if counter is not None:
        counter(clause)


def count_checks(clauses: Iterable[str]) -> None:
    """Count checks judged elsewhere (Schemathesis's own, on each response) as `expect` counts its own."""
    counter = check_counter.get()
    if counter is not None:
        for clause in clauses:
            counter(clause)


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
