"""Schemathesis checks for this API, and the clause each built-in check enforces.

Schemathesis's `use_after_free` and `ensure_resource_availability` assume a write takes effect
when its response arrives; here a write answers 202 and takes effect when its operation
completes, so both would misfire. They are replaced by `async_resource_availability` and
`async_use_after_free`, which follow `statusUrl` until the operation is terminal and only then
assert what must be visible. The other custom checks enforce clauses no schema can express.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import ApiClient
from orchestrator_contract.scenarios.deferred import DeferredChecks
from orchestrator_contract.scenarios.expectations import expect_accepted, expect_error_body
from orchestrator_contract.scenarios.polling import PollSettings, wait_for_operation

# The clause a failure of each check violates (used to name it in reports).
BUILTIN_CLAUSES: dict[str, Clause] = {
    "not_a_server_error": Clause.GEN_NO_5XX,
    "status_code_conformance": Clause.GEN_STATUS,
    "content_type_conformance": Clause.ERR_BODY,
    "response_headers_conformance": Clause.OPS_202,
    "response_schema_conformance": Clause.RES_SHAPE,
    "negative_data_rejection": Clause.ERR_400,
    "positive_data_acceptance": Clause.ERR_400,
    "missing_required_header": Clause.ERR_400,
    "unsupported_method": Clause.GEN_405,
    "ignored_auth": Clause.AUTH_401,
    "ignored_auth_once": Clause.AUTH_401,
}

# `response_headers_conformance` judges every documented header: its failure belongs to the clause of
# the header it concerns (a missing ETag is VER-ETAG, not OPS-202). Retry-After depends on the status.
HEADER_CLAUSES: dict[str, Clause] = {
    "etag": Clause.VER_ETAG,
    "operation-id": Clause.OPS_202,
    "location": Clause.OPS_202,
    "www-authenticate": Clause.AUTH_401,
    "allow": Clause.GEN_405,
    "date": Clause.GEN_DATE,
}
STATUS_HEADER_CLAUSES: dict[int, Clause] = {
    202: Clause.OPS_202,
    401: Clause.AUTH_401,
    405: Clause.GEN_405,
    429: Clause.ERR_429,
}


def failure_clause(failure: Any, status: int, headers: Mapping[str, Any]) -> Clause:
    """The clause a failure of a Schemathesis check violates: the check's own, except for response
    headers, where it is the clause of the header that is missing or malformed."""
    names = list(getattr(failure, "checks", ()))
    # One failure class (JsonSchemaError) serves both the body's and the headers' schemas: only its
    # title tells them apart.
    about_headers = hasattr(failure, "missing_headers") or str(getattr(failure, "title", "")).startswith(
        "Response header"
    )
    if not about_headers:
        names = [n for n in names if n != "response_headers_conformance"]
        return next((BUILTIN_CLAUSES[n] for n in names if n in BUILTIN_CLAUSES), Clause.GEN_STATUS)
    concerned = list(getattr(failure, "missing_headers", None) or [])
    if not concerned and hasattr(failure, "instance"):  # a header that is there but breaks its schema
        concerned = [name for name, value in headers.items() if _first(value) == str(failure.instance)]
    for name in concerned:
        lowered = name.lower()
        if lowered in HEADER_CLAUSES:
            return HEADER_CLAUSES[lowered]
    return STATUS_HEADER_CLAUSES.get(status, Clause.GEN_STATUS)


def _first(value: Any) -> str:
    """A header's value as text (Schemathesis keeps a list per header, httpx a string)."""
    return str(value[0]) if isinstance(value, list) and value else str(value)


@dataclass
class _Runtime:
    client: ApiClient | None = None
    poll: PollSettings = field(default_factory=PollSettings)
    deferred: DeferredChecks | None = None  # set: the async-aware checks run there, judged at test end
    auth_confirmed: set[str] = field(default_factory=set)  # operations whose auth enforcement was probed


# Schemathesis calls a check with (ctx, response, case) only: the async-aware checks find the client
# they poll with in scope (`bound`, around each conformance module; a test's threads inherit it).
_runtime_in_scope: ContextVar[_Runtime | None] = ContextVar("orchestrator_contract_check_runtime", default=None)


def _runtime() -> _Runtime:
    return _runtime_in_scope.get() or _Runtime()


@contextmanager
def bound(client: ApiClient, poll: PollSettings) -> Iterator[None]:
    """Give the async-aware checks the client (credentials, recording) they poll with."""
    token = _runtime_in_scope.set(_Runtime(client=client, poll=poll))
    try:
        yield
    finally:
        _runtime_in_scope.reset(token)


@contextmanager
def deferred_to(deferred: DeferredChecks) -> Iterator[None]:
    """Run the async-aware checks in `deferred` (side by side) while in this block."""
    runtime = _runtime()
    previous, runtime.deferred = runtime.deferred, deferred
    try:
        yield
    finally:
        runtime.deferred = previous


def _run_or_defer(check: Callable[[], None]) -> None:
    deferred = _runtime().deferred
    if deferred is not None:
        deferred.submit(check)
    else:
        check()


def _as_httpx(response: Response) -> httpx.Response:
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return httpx.Response(response.status_code, headers=headers, content=response.content)


def _header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    return values[0] if values else None


@schemathesis.check
def date_header(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """GEN-DATE: every response carries a valid `Date` header."""
    value = _header(response, "Date")
    expect(value is not None, Clause.GEN_DATE, f"{case.method} {case.formatted_path} answered without a Date header")
    try:
        email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        expect(False, Clause.GEN_DATE, f"Date header {value!r} is not an HTTP date")
    return True


@schemathesis.check
def error_body(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """ERR-BODY: every 4xx/5xx is JSON `{code, message, more_info, status}` with status = HTTP status."""
    if response.status_code < 400:
        return None
    expect_error_body(_as_httpx(response), what=f"{case.method} {case.formatted_path}")
    if response.status_code == 429:
        retry_after = (_header(response, "Retry-After") or "").strip()
        expect(retry_after.isdigit(), Clause.ERR_429, f"429 with Retry-After {retry_after!r}, not an integer")
    if response.status_code == 401:
        expect(
            (_header(response, "WWW-Authenticate") or "").lower().startswith("basic"),
            Clause.AUTH_401,
            "401 without a `WWW-Authenticate: Basic` header",
        )
    return True


@schemathesis.check
def accepted_operation_headers(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """OPS-202 (`expect_accepted`); a PUT, PATCH or DELETE's 202 names the configuration of its path."""
    if response.status_code != 202:
        return None
    path_id = None
    if case.method.upper() in {"PUT", "PATCH", "DELETE"} and "id" in (case.path_parameters or {}):
        path_id = unquote(str(case.path_parameters["id"]))  # Schemathesis keeps it percent-encoded
    expect_accepted(_as_httpx(response), f"{case.method} {case.formatted_path}", path_id)
    return True


def _completed(response: Response, case: Case[Any], methods: set[str]) -> tuple[ApiClient, dict[str, Any]] | None:
    """(client, final operation) when `case` is an accepted write of `methods` whose operation
    COMPLETED; None when there is nothing to check (another method, not a 202, or FAILED)."""
    client = _runtime().client
    if client is None or response.status_code != 202 or case.method.upper() not in methods:
        return None
    final = wait_for_operation(client, _as_httpx(response), _runtime().poll)
    return (client, final) if final["status"] == "COMPLETED" else None


def _wants(response: Response, case: Case[Any], methods: set[str]) -> bool:
    return _runtime().client is not None and response.status_code == 202 and case.method.upper() in methods


@schemathesis.check
def async_resource_availability(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """OPS-VISIBLE: once the operation of an accepted create/PUT/PATCH COMPLETED, the resource is there."""
    if not _wants(response, case, {"POST", "PUT", "PATCH"}):
        return None

    def check() -> None:
        completed = _completed(response, case, {"POST", "PUT", "PATCH"})
        if completed is None:
            return
        client, final = completed
        cid = (
            final.get("related", {}).get("configurationId")
            or json_or_none(response.content)["related"]["configurationId"]
        )
        fetched = client.fetch(cid)
        expect(
            fetched.status_code == 200,
            Clause.OPS_VISIBLE,
            f"operation {final.get('operationId')} of {case.method} {case.formatted_path} COMPLETED but GET {cid} "
            f"answered {fetched.status_code}",
        )

    _run_or_defer(check)
    return True


@schemathesis.check
def async_use_after_free(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """OPS-DELETE: once an accepted DELETE COMPLETED, GET and a new DELETE answer 404."""
    if not _wants(response, case, {"DELETE"}):
        return None

    def check() -> None:
        completed = _completed(response, case, {"DELETE"})
        if completed is None:
            return
        client, _ = completed
        cid = json_or_none(response.content)["related"]["configurationId"]
        fetched = client.fetch(cid)
        expect(
            fetched.status_code == 404,
            Clause.OPS_DELETE,
            f"DELETE {cid} COMPLETED but GET answered {fetched.status_code}",
        )
        again = client.delete(cid)
        expect(again.status_code == 404, Clause.OPS_DELETE, f"a second DELETE {cid} answered {again.status_code}")

    _run_or_defer(check)
    return True


@schemathesis.check
def ignored_auth_once(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """AUTH-401: Schemathesis's `ignored_auth` (a 2xx answer re-sent without, then with wrong,
    credentials must be refused), confirmed once per operation per run, as Schemathesis's own runner
    does: enforcement belongs to the operation, and every 2xx would otherwise cost two more requests
    (the isolation suite sends every operation with thirteen kinds of bad credentials)."""
    label = case.operation.label
    if label in _runtime().auth_confirmed:
        return None
    result = ignored_auth(ctx, response, case)
    if 200 <= response.status_code < 300 and not (
        case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    ):
        _runtime().auth_confirmed.add(label)
    return result


BUILTIN_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    ignored_auth_once,
]
CUSTOM_CHECKS = [date_header, error_body, accepted_operation_headers]
ASYNC_CHECKS = [async_resource_availability, async_use_after_free]
