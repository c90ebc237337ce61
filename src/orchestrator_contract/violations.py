"""Contract violations: an assertion that names its clause and carries a reproduction."""

from __future__ import annotations

from . import journal
from .clauses import describe


class ContractViolation(AssertionError):
    def __init__(self, clause: str, detail: str, *, response: object = None) -> None:
        """`response`, when given, is the answer that shows the violation: its exchange is printed first."""
        self.clause = clause
        self.detail = journal.redact(detail)
        recorded = journal.current()
        culprit = recorded.find(response) if response is not None else None
        shown = f"{culprit.describe()}\n" if culprit is not None else ""
        context = recorded.reproduction()
        message = (
            f"{describe(clause)}\n  violation: {self.detail}\n"
            f"reproduce (secrets redacted):\n{shown}"
            + (f"earlier requests of this test, newest last:\n{context}" if culprit is not None else context)
        )
        super().__init__(message)


def expect(condition: object, clause: str, detail: str) -> None:
    """Fail with a `ContractViolation` of `clause` unless `condition` holds."""
    if not condition:
        raise ContractViolation(clause, detail)
