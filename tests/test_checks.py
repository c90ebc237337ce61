"""Which clause a failure of a Schemathesis check is reported under."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from schemathesis.openapi.checks import MissingHeaders

from orchestrator_contract.scenarios.schemathesis_checks import failure_clause


@pytest.mark.parametrize(
    ("missing", "status", "clause"),
    [
        (["ETag"], 200, "VER-ETAG"),
        (["Location"], 202, "OPS-202"),
        (["Retry-After"], 202, "OPS-202"),
        (["Retry-After"], 429, "ERR-429"),
        (["WWW-Authenticate"], 401, "AUTH-401"),
        (["Date"], 404, "GEN-DATE"),
    ],
)
def test_a_missing_header_is_reported_under_the_header_s_own_clause(
    missing: list[str], status: int, clause: str
) -> None:
    failure = MissingHeaders(operation="GET /x", message="missing", missing_headers=missing)
    assert failure_clause(failure, status, {}) == clause


def test_a_malformed_header_is_found_by_its_value() -> None:
    failure = SimpleNamespace(
        checks=("response_schema_conformance", "response_headers_conformance"),
        title="Response header does not conform to the schema",
        instance='W/"1"',
    )
    headers = {"date": ["Mon, 30 Nov 2026 06:00:00 GMT"], "etag": ['W/"1"']}
    assert failure_clause(failure, 200, headers) == "VER-ETAG"


def test_other_checks_keep_their_own_clause() -> None:
    assert failure_clause(SimpleNamespace(checks=("not_a_server_error",)), 500, {}) == "GEN-NO-5XX"
    assert failure_clause(SimpleNamespace(checks=("unknown_check",)), 200, {}) == "GEN-STATUS"


def test_a_body_that_breaks_its_schema_is_res_shape() -> None:
    """Schemathesis reports body and header schema errors with one class (both checks named)."""
    failure = SimpleNamespace(
        checks=("response_schema_conformance", "response_headers_conformance"),
        title="Response violates schema",
        instance={"accountSid": "AC1"},
    )
    assert failure_clause(failure, 200, {"etag": '"1"'}) == "RES-SHAPE"
