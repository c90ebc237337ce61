"""Checks that wait for an operation, run side by side instead of one after another.

An accepted write takes effect when its operation completes; checking that effect means waiting
for it. Run inline, every accepted write of a conformance test waits its operation's full delay
before the next example goes out. Deferred, the waits overlap (up to the profile's concurrency),
and the test is judged when it ends: `join` raises the first violation in the order the checks
were submitted, so the verdict and the failure shown are the same whatever order they finished in.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from orchestrator_contract.exchanges.recording import ContextThreadPool


class DeferredChecks:
    def __init__(self, concurrency: int) -> None:
        self._pool = ContextThreadPool(max_workers=max(1, concurrency), thread_name_prefix="deferred-check")
        self._futures: list[Future[object]] = []

    def submit(self, check: Callable[[], object]) -> None:
        self._futures.append(self._pool.submit(check))

    def join(self) -> None:
        """Wait for every check; raise the first one's exception (submission order)."""
        first: BaseException | None = None
        try:
            for future in self._futures:
                problem = future.exception()
                if problem is not None and first is None:
                    first = problem
        finally:
            self._pool.shutdown(wait=True)
        if first is not None:
            raise first
