"""Contract violations: an assertion that names its clause and carries a reproduction."""

from __future__ import annotations

from . import journal
from .clauses import describe


class ContractViolation(AssertionError):
    def __init__(self, clause: str, detail: str) -> None:
        self.clause = clause
        self.detail = journal.redact(detail)
        message = (
            f"{describe(clause)}\n  violation: {self.detail}\n"
            f"reproduce (secrets redacted):\n{journal.current().reproduction()}"
        )
        super().__init__(message)


def expect(condition: object, clause: str, detail: str) -> None:
    """Fail with a `ContractViolation` of `clause` unless `condition` holds."""
    if not condition:
        raise ContractViolation(clause, detail)
