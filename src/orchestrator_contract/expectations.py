"""Expectations the scenario suites share: error answers and their body (ERR-BODY)."""

from __future__ import annotations

from typing import Any

import httpx

from .violations import expect

ERROR_MEMBERS = frozenset({"code", "message", "more_info", "status"})


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def expect_error_body(response: httpx.Response, status: int, what: str = "") -> dict[str, Any]:
    """ERR-BODY: `application/json` `{code: int, message: str, more_info: str, status}`, nothing else."""
    prefix = f"{what}: " if what else ""
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    expect(media == "application/json", "ERR-BODY", f"{prefix}a {status} has Content-Type {media or 'none'!r}")
    body = json_or_none(response)
    ok = (isinstance(body, dict) and set(body) == ERROR_MEMBERS and body["status"] == status
          and type(body["code"]) is int and isinstance(body["message"], str) and isinstance(body["more_info"], str))
    expect(ok, "ERR-BODY", f"{prefix}the {status} is not the error body "
                           f"{{code, message, more_info, status={status}}}: {response.text[:300]}")
    return body


def expect_error(response: httpx.Response, status: int, clause: str, what: str) -> dict[str, Any]:
    """`status` (naming `clause` if not), then the error body."""
    expect(response.status_code == status, clause,
           f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}")
    return expect_error_body(response, status, what)
