"""Expectations the scenario suites share: statuses (with their Date), error answers and their body."""

from __future__ import annotations

from typing import Any, cast

import httpx

from .json_documents import MISSING, json_or_none
from .violations import expect

ERROR_MEMBERS = frozenset({"code", "message", "more_info", "status"})


def error_body_problem(response: httpx.Response, status: int | None = None) -> str:
    """Why an error answer is not the contract's error body (ERR-BODY), or "" when it is one:
    `application/json` `{code: int, message: str, more_info: str, status}`, nothing else, `status`
    the HTTP status (`status`, when the caller expects a particular one)."""
    status = response.status_code if status is None else status
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return f"a {status} has Content-Type {media or 'none'!r}"
    body = json_or_none(response)
    if not (
        isinstance(body, dict)
        and set(body) == ERROR_MEMBERS
        and body["status"] == status
        and type(body["code"]) is int
        and isinstance(body["message"], str)
        and isinstance(body["more_info"], str)
    ):
        return (
            f"the {status} is not the error body {{code: int, message: str, more_info: str, status={status}}}: "
            f"{response.text[:300]}"
        )
    return ""


def expect_error_body(response: httpx.Response, status: int | None = None, what: str = "") -> dict[str, Any]:
    """The error body of an answer (`error_body_problem`), which must be the contract's: else ERR-BODY."""
    problem = error_body_problem(response, status)
    expect(not problem, "ERR-BODY", f"{what}: {problem}" if what else problem)
    return cast(dict[str, Any], json_or_none(response))


def expect_json(response: httpx.Response, clause: str, what: str) -> Any:
    """The JSON value of an answer that must hold one (anything else violates `clause`)."""
    body = json_or_none(response, default=MISSING)
    expect(body is not MISSING, clause, f"{what}: the {response.status_code} answer is not JSON: {response.text[:200]}")
    return body


def _request_line(response: httpx.Response) -> str:
    try:
        return f"{response.request.method} {response.request.url.path}"
    except RuntimeError:  # a response built without its request
        return "a request"


def expect_status(response: httpx.Response, status: int, clause: str, what: str) -> None:
    """A `Date` header (GEN-DATE: every response carries one), then `status` (naming `clause` if not)."""
    expect(
        response.headers.get("Date"),
        "GEN-DATE",
        f"{_request_line(response)} -> {response.status_code} has no Date header",
    )
    expect(
        response.status_code == status,
        clause,
        f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}",
    )


def expect_error(response: httpx.Response, status: int, clause: str, what: str) -> dict[str, Any]:
    """`expect_status`, then the error body."""
    expect_status(response, status, clause, what)
    return expect_error_body(response, status, what)
