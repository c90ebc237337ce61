"""Expectations the suites and checks share: statuses (with their Date), error answers and their
body, the 202 of an accepted write. Each rule of the contract is judged here once, so that every
suite, the Schemathesis checks and the edge runner hold a server to the same reading of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import httpx

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import MISSING, json_or_none
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import OPERATIONS

ERROR_MEMBERS = frozenset({"code", "message", "more_info", "status"})
SECONDS = re.compile(r"[0-9]+")  # an integer number of seconds >= 0, as Retry-After carries it


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
    expect(not problem, Clause.ERR_BODY, f"{what}: {problem}" if what else problem)
    return cast(dict[str, Any], json_or_none(response))


@dataclass(frozen=True)
class Accepted:
    """What a 202 that honours OPS-202 tells: its operation, where to follow it, what it concerns."""

    operation_id: str
    status_url: str
    configuration_id: str
    body: dict[str, Any]


def expect_accepted(
    response: httpx.Response, what: str = "", configuration_id: str | None = None, *, complete: bool = True
) -> Accepted:
    """OPS-202: a 202 with body `{statusUrl, related: {configurationId}}` and the headers that agree
    with it: `Operation-Id`, `Location` equal to `statusUrl` (an absolute URL of
    /v2/ControlPlane/Operations/{Operation-Id}) and an integer `Retry-After` >= 0. With
    `configuration_id` (the path id of a PUT, PATCH or DELETE), `related.configurationId` names it.

    `complete=False` checks only what a client waiting on the operation needs (the status, the body
    and `Operation-Id`): every wait of every scenario goes through it, and a defect in the 202's
    other headers, judged completely where OPS-202 is the subject (the conformance checks, the
    operations suite), must not mask what those scenarios check."""
    prefix = f"{what}: " if what else ""
    expect(
        response.status_code == 202,
        Clause.OPS_202,
        f"{prefix}expected 202, got {response.status_code}: {response.text[:300]}",
    )
    body = json_or_none(response)
    related = body.get("related") if isinstance(body, dict) else None
    cid = related.get("configurationId") if isinstance(related, dict) else None
    status_url = body.get("statusUrl") if isinstance(body, dict) else None
    expect(
        isinstance(status_url, str) and isinstance(cid, str) and cid,
        Clause.OPS_202,
        f"{prefix}202 body is not {{statusUrl, related: {{configurationId}}}}: {response.text[:300]}",
    )
    body, status_url, cid = cast(dict[str, Any], body), str(status_url), str(cid)
    op_id = response.headers.get("Operation-Id", "")
    expect(op_id, Clause.OPS_202, f"{prefix}202 without an Operation-Id header")
    if not complete:
        return Accepted(op_id, status_url, cid, body)
    expect(
        response.headers.get("Location") == status_url,
        Clause.OPS_202,
        f"{prefix}Location {response.headers.get('Location')!r} differs from statusUrl {status_url!r}",
    )
    parts = urlsplit(status_url)
    expect(
        parts.scheme in {"http", "https"} and parts.netloc,
        Clause.OPS_202,
        f"{prefix}statusUrl {status_url!r} is not an absolute URL",
    )
    expect(
        unquote(parts.path).endswith(f"{OPERATIONS}/{op_id}"),
        Clause.OPS_202,
        f"{prefix}statusUrl {status_url!r} does not end with {OPERATIONS}/{op_id} (the Operation-Id)",
    )
    retry_after = response.headers.get("Retry-After")
    expect(
        retry_after is not None and SECONDS.fullmatch(retry_after.strip()),
        Clause.OPS_202,
        f"{prefix}Retry-After {retry_after!r} is not an integer number of seconds >= 0",
    )
    if configuration_id is not None:
        expect(
            cid == configuration_id,
            Clause.OPS_202,
            f"{prefix}related.configurationId {cid!r} is not the path id {configuration_id!r}",
        )
    return Accepted(op_id, status_url, cid, body)


def expect_json(response: httpx.Response, clause: Clause, what: str) -> Any:
    """The JSON value of an answer that must hold one (anything else violates `clause`)."""
    body = json_or_none(response, default=MISSING)
    expect(body is not MISSING, clause, f"{what}: the {response.status_code} answer is not JSON: {response.text[:200]}")
    return body


def _request_line(response: httpx.Response) -> str:
    try:
        return f"{response.request.method} {response.request.url.path}"
    except RuntimeError:  # a response built without its request
        return "a request"


def expect_status(response: httpx.Response, status: int, clause: Clause, what: str) -> None:
    """A `Date` header (GEN-DATE: every response carries one), then `status` (naming `clause` if not)."""
    expect(
        response.headers.get("Date"),
        Clause.GEN_DATE,
        f"{_request_line(response)} -> {response.status_code} has no Date header",
    )
    expect(
        response.status_code == status,
        clause,
        f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}",
    )


def expect_error(response: httpx.Response, status: int, clause: Clause, what: str) -> dict[str, Any]:
    """`expect_status`, then the error body."""
    expect_status(response, status, clause, what)
    return expect_error_body(response, status, what)
