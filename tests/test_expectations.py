"""The shared expectations every suite and check judges answers with (one copy each)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrator_contract.expectations import error_body_problem, expect_error_body
from orchestrator_contract.violations import ContractViolation

GOOD = {"code": 20404, "message": "not found", "more_info": "https://example.test/20404", "status": 404}


def error(body: Any, status: int = 404, content_type: str = "application/json; charset=utf-8") -> httpx.Response:
    content = httpx.Response(200, json=body).content if not isinstance(body, bytes) else body
    return httpx.Response(status, content=content, headers={"Content-Type": content_type})


def test_the_error_body_of_the_contract_passes() -> None:
    assert error_body_problem(error(GOOD)) == ""
    assert expect_error_body(error(GOOD), 404) == GOOD


@pytest.mark.parametrize(
    ("why", "response"),
    [
        ("not JSON media type", error(GOOD, content_type="text/plain")),
        ("+json is not the error body's type", error(GOOD, content_type="application/problem+json")),
        ("no Content-Type", httpx.Response(404, content=httpx.Response(200, json=GOOD).content)),
        ("not JSON", error(b"{oops")),
        ("not an object", error([GOOD])),
        ("status differs from the HTTP status", error({**GOOD, "status": 400})),
        ("a member missing", error({k: v for k, v in GOOD.items() if k != "more_info"})),
        ("an extra member", error({**GOOD, "detail": "x"})),
        ("code a string", error({**GOOD, "code": "20404"})),
        ("code a boolean", error({**GOOD, "code": True})),
        ("message not a string", error({**GOOD, "message": None})),
        ("more_info not a string", error({**GOOD, "more_info": 1})),
    ],
)
def test_anything_else_is_an_err_body_violation(why: str, response: httpx.Response) -> None:
    assert error_body_problem(response), why
    with pytest.raises(ContractViolation) as raised:
        expect_error_body(response, what="a lookup")
    assert raised.value.clause == "ERR-BODY"
    assert "a lookup: " in raised.value.detail


def test_the_expected_status_is_the_callers() -> None:
    assert "status=409" in error_body_problem(error(GOOD), 409)
