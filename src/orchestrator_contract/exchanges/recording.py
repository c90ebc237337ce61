"""What one process of a run records while its tests run: the test's exchanges and the coverage tally.

The plugin owns one `Recording` per pytest session and puts it in scope (a context variable, as
Hypothesis keeps its build context), so code that holds no handle on the run still records into it:
a client picks it up when it is made, `expect` tallies into it. Threads do not inherit context
variables; the suites' thread pools (`ContextThreadPool`) run their jobs in a copy of the submitting
thread's context, and a client made in a test keeps the recording it was made with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from orchestrator_contract.contract.violations import check_counter
from orchestrator_contract.exchanges.coverage import CoverageTally
from orchestrator_contract.exchanges.journal import Exchange, Journal

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Recording:
    journal: Journal = field(default_factory=Journal)  # the exchanges of the test in progress
    tally: CoverageTally = field(default_factory=CoverageTally)

    def start_test(self) -> Journal:
        """A new journal for the next test (or a shared fixture's setup), returned."""
        self.journal = Journal()
        return self.journal


_in_scope: ContextVar[Recording | None] = ContextVar("orchestrator_contract_recording", default=None)


def active() -> Recording | None:
    """The recording in scope; None outside a pytest session of the suites (the probe, `reproduce`)."""
    return _in_scope.get()


@contextmanager
def in_scope(recording: Recording) -> Iterator[Recording]:
    """`recording` is where clients made here record, and where `expect` counts its checks."""
    token = _in_scope.set(recording)
    counting = check_counter.set(recording.tally.record_check)
    try:
        yield recording
    finally:
        check_counter.reset(counting)
        _in_scope.reset(token)


def current_exchanges() -> list[Exchange]:
    """The exchanges of the test in progress so far (none outside a session of the suites)."""
    recording = active()
    return recording.journal.snapshot() if recording is not None else []


def in_context(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, to be run in another thread with the context of the thread that wraps it."""
    context = copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(function, *args, **kwargs)

    return run


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose jobs run in the context of the thread that submitted them (the recording
    and the profile in scope there): the suites' one way to run requests side by side."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return super().submit(in_context(fn), *args, **kwargs)
