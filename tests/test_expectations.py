"""The shared expectations every suite and check judges answers with (one copy each)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrator_contract.contract.violations import ContractViolation
from orchestrator_contract.scenarios.expectations import (
    Accepted,
    error_body_problem,
    expect_accepted,
    expect_error_body,
)

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


OP = "op_0123"
STATUS_URL = f"https://api.example.test/v2/ControlPlane/Operations/{OP}"


def accepted(body: Any = None, status: int = 202, **headers: str) -> httpx.Response:
    body = {"statusUrl": STATUS_URL, "related": {"configurationId": "cfg_1"}} if body is None else body
    defaults = {"Operation-Id": OP, "Location": STATUS_URL, "Retry-After": "1"}
    sent = {name.replace("_", "-"): value for name, value in {**defaults, **headers}.items()}
    return httpx.Response(status, json=body, headers={k: v for k, v in sent.items() if v != "-"})


def with_header(response: httpx.Response, name: str, raw: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.raw if k.decode().lower() != name.lower()] + [(name.encode(), raw)]
    return httpx.Response(response.status_code, content=response.content, headers=headers)


def test_a_202_that_honours_ops_202() -> None:
    assert expect_accepted(accepted(), "create") == Accepted(
        OP, STATUS_URL, "cfg_1", {"statusUrl": STATUS_URL, "related": {"configurationId": "cfg_1"}}
    )
    assert expect_accepted(accepted(Retry_After=" 0 "), configuration_id="cfg_1").configuration_id == "cfg_1"
    encoded = "https://api.example.test/v2/ControlPlane/Operations/op%200"  # the path is compared decoded
    body = {"statusUrl": encoded, "related": {"configurationId": "cfg_1"}}
    assert expect_accepted(accepted(body, Operation_Id="op 0", Location=encoded)).operation_id == "op 0"


@pytest.mark.parametrize(
    ("why", "response", "path_id"),
    [
        ("not a 202", accepted(status=200), None),
        ("no statusUrl", accepted({"related": {"configurationId": "cfg_1"}}), None),
        ("no related", accepted({"statusUrl": STATUS_URL}), None),
        ("empty configurationId", accepted({"statusUrl": STATUS_URL, "related": {"configurationId": ""}}), None),
        (
            "body not JSON",
            httpx.Response(202, content=b"{", headers={"Operation-Id": OP, "Location": STATUS_URL}),
            None,
        ),
        ("no Operation-Id", accepted(Operation_Id="-"), None),
        ("Location differs", accepted(Location=f"/v2/ControlPlane/Operations/{OP}"), None),
        (
            "statusUrl relative",
            accepted(
                {"statusUrl": f"/v2/ControlPlane/Operations/{OP}", "related": {"configurationId": "cfg_1"}},
                Location=f"/v2/ControlPlane/Operations/{OP}",
            ),
            None,
        ),
        ("statusUrl names another operation", accepted(Operation_Id="op_9"), None),
        ("no Retry-After", accepted(Retry_After="-"), None),
        ("Retry-After not an integer", accepted(Retry_After="1.5"), None),
        ("Retry-After negative", accepted(Retry_After="-1"), None),
        ("Retry-After in other digits: str.isdigit takes '²'", with_header(accepted(), "Retry-After", b"\xb2"), None),
        ("related names another configuration", accepted(), "cfg_2"),
    ],
)
def test_anything_else_is_an_ops_202_violation(why: str, response: httpx.Response, path_id: str | None) -> None:
    with pytest.raises(ContractViolation) as raised:
        expect_accepted(response, "a write", path_id)
    assert raised.value.clause == "OPS-202", why
    assert raised.value.detail.startswith("a write: ")
