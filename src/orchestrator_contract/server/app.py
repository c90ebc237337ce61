"""The ASGI application: routes, authentication and the seven operations of CONTRACT.md."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from orchestrator_contract.server.auth import Authenticator, RateLimiter
from orchestrator_contract.server.config import ServerConfig
from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.http_io import (
    DateHeaderMiddleware,
    LatencyMiddleware,
    error_response,
    json_response,
    raw_json_response,
    read_json_request_body,
)
from orchestrator_contract.server.listing import list_page
from orchestrator_contract.server.model import PENDING, ConfigRecord, configuration_json, http_date, operation_json
from orchestrator_contract.server.operations import OperationEngine, WriteRequest
from orchestrator_contract.server.store import Store
from orchestrator_contract.server.tokens import TokenCodec
from orchestrator_contract.server.validation import (
    bad,
    parse_if_match,
    parse_json,
    parse_memory_store_filter,
    parse_page_size,
    validate_create,
    validate_patch,
    validate_replace,
)

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

CONFIGURATIONS = "/v2/ControlPlane/Configurations"
OPERATIONS = "/v2/ControlPlane/Operations"
_VALIDATORS = {"create": validate_create, "replace": validate_replace, "patch": validate_patch}
RACE_WINDOW_S = 0.05  # fault idempotency-key-race: the await between checking a key and storing it


class Service:
    """Everything one server instance owns: config, store, worker, token codec, auth."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = Store(config.db_path, has=config.has)
        self.engine = OperationEngine(self.store, config)
        self.codec = TokenCodec(config.token_secret or secrets.token_bytes(32))
        self.auth = Authenticator(config.accounts, config.api_keys, config.has)
        rate = config.rate_limit_per_s
        self.limiter = RateLimiter(rate, config.rate_limit_burst or max(1, int(rate))) if rate else None

    def close(self) -> None:
        self.engine.close()
        self.store.close()


class Api:
    """The request handlers; each raises ApiError for every 4xx."""

    def __init__(self, service: Service) -> None:
        self.s = service
        self.cfg = service.config
        self._terminal_reads: Counter[str] = Counter()  # fault terminal-status-flips

    def authenticate(self, request: Request) -> str:
        account = self.s.auth.authenticate(request.headers.get("authorization"))
        if account is None:
            headers = (
                {}
                if self.cfg.has(Fault.NO_WWW_AUTHENTICATE)
                else {"WWW-Authenticate": f'Basic realm="{self.cfg.realm}", charset="UTF-8"'}
            )
            message = "Authentication failed: valid HTTP Basic credentials are required"
            sent = self.s.auth.credentials(request.headers.get("authorization"))
            if sent is not None and self.cfg.has(Fault.ERROR_ECHOES_CREDENTIALS):
                message = f"Authentication failed for {sent[0]} with secret {sent[1]!r}"
            raise ApiError(401, message, headers)
        if self.s.limiter is not None:
            wait = self.s.limiter.acquire(account)
            if wait is not None:
                raise ApiError(429, "Too many requests", {"Retry-After": str(wait)})
        return account

    # ------------------------------------------------------------------ reads

    def _representation(self, rec: ConfigRecord) -> dict[str, Any]:
        return configuration_json(
            rec,
            fractional=self.cfg.has(Fault.FRACTIONAL_TIMESTAMPS),
            leak_account=self.cfg.has(Fault.LEAK_INTERNAL_FIELD),
        )

    async def list_configurations(self, request: Request) -> Response:
        account = self.authenticate(request)
        query = request.query_params
        page_size = parse_page_size(
            query.getlist("pageSize"),
            default=20 if self.cfg.has(Fault.WRONG_DEFAULT_PAGE_SIZE) else 50,
            maximum=1001 if self.cfg.has(Fault.PAGE_SIZE_OFF_BY_ONE) else 1000,
        )
        memory_store_id = parse_memory_store_filter(query.getlist("memoryStoreId"))
        tokens = query.getlist("pageToken")
        if len(tokens) > 1:
            raise bad("pageToken must be given at most once")
        body = list_page(
            self.s.store, self.s.codec, self.cfg, account, memory_store_id, page_size, tokens[0] if tokens else None
        )
        return json_response(200, body)

    async def fetch_configuration(self, request: Request) -> Response:
        account = self.authenticate(request)
        scope_account = None if self.cfg.has(Fault.CROSS_ACCOUNT_FETCH) else account
        rec = self.s.store.get_config(scope_account, request.path_params["id"])
        if rec is None and self.cfg.has(Fault.CONFIG_ID_PREFIX_LOOKUP):  # "short ids", as git allows
            rec = self.s.store.get_config_by_prefix(scope_account, request.path_params["id"])
        if rec is None and self.cfg.has(Fault.CROSS_ACCOUNT_403):
            rec = self.s.store.get_config(None, request.path_params["id"])
            if rec is not None and rec.account != account:
                raise ApiError(403, "This configuration belongs to another account")
        if rec is None:
            raise ApiError(404, "The requested configuration was not found")
        etag = f'W/"{rec.version}"' if self.cfg.has(Fault.WEAK_ETAG) else f'"{rec.version}"'
        headers = {} if self.cfg.has(Fault.MISSING_ETAG) else {"ETag": etag}
        return json_response(200, self._representation(rec), headers)

    async def fetch_operation(self, request: Request) -> Response:
        account = self.authenticate(request)
        scope_account = None if self.cfg.has(Fault.FOREIGN_OPERATION_VISIBLE) else account
        op_id = request.path_params["id"]
        if self.cfg.has(Fault.OPERATION_ID_CASE_INSENSITIVE):
            op_id = op_id.lower()  # ids are generated in lower case
        op = self.s.store.get_op(scope_account, op_id)
        if op is None:
            raise ApiError(404, "The requested operation was not found")
        if op.status != PENDING and self.cfg.has(Fault.TERMINAL_STATUS_FLIPS):
            self._terminal_reads[op.id] += 1
            if self._terminal_reads[op.id] % 3 == 0:  # served by a replica that has not seen the completion
                op = dataclasses.replace(op, status=PENDING, completed_us=None, error=None)
        body = operation_json(
            op,
            fractional=self.cfg.has(Fault.FRACTIONAL_TIMESTAMPS),
            completed_at_when_pending=self.cfg.has(Fault.COMPLETED_AT_WHILE_PENDING),
        )
        if self.cfg.has(Fault.OPERATION_STATUS_URL_RELATIVE):
            body["statusUrl"] = request.url.path
        return json_response(200, body)

    # ------------------------------------------------------------------ writes

    async def create(self, request: Request) -> Response:
        return await self._write(request, "create")

    async def replace(self, request: Request) -> Response:
        return await self._write(request, "replace")

    async def patch(self, request: Request) -> Response:
        return await self._write(request, "patch")

    async def delete(self, request: Request) -> Response:
        return await self._write(request, "delete")

    def _if_match(self, kind: str, values: list[str]) -> Any:
        if kind == "create" and not self.cfg.has(Fault.POST_HONOURS_IF_MATCH):
            return None  # POST ignores If-Match
        return parse_if_match(
            values,
            weak_matches=self.cfg.has(Fault.WEAK_ETAG_MATCHES),
            lenient=self.cfg.has(Fault.IF_MATCH_UNQUOTED_ACCEPTED),
        )

    async def _write(self, request: Request, kind: str) -> Response:
        account = self.authenticate(request)
        keys = self.s.engine.keys
        key_headers = request.headers.getlist("idempotency-key")
        keys.key_of(key_headers, account, kind, None)  # a malformed key is a 400 before the body is read
        if_match_values = request.headers.getlist("if-match")
        config_id = None if kind == "create" else request.path_params["id"]
        body = changes = deferred_error = None
        if kind != "delete":  # a DELETE body is ignored
            body = parse_json(await read_json_request_body(request, self.cfg.has))
        key = keys.key_of(key_headers, account, kind, body)

        def request_fingerprint() -> str:
            return keys.fingerprint_of(request.method, request.url.path, body, if_match_values)

        try:
            if kind != "delete":
                try:
                    changes = _VALIDATORS[kind](
                        body, allow_unknown=self.cfg.has(Fault.ACCEPTS_UNKNOWN_FIELDS), has=self.cfg.has
                    )
                except ApiError as err:
                    if kind != "patch" or not self.cfg.has(Fault.ASYNC_VALIDATION):
                        raise
                    changes, deferred_error = {}, err.message  # the worker will find it
            write = WriteRequest(
                account=account,
                kind=kind,
                config_id=config_id,
                changes=changes,
                if_match=self._if_match(kind, if_match_values),
                idempotency_key=key,
                fingerprint=None if key is None else request_fingerprint(),
                base_url=str(request.base_url).rstrip("/"),
                deferred_error=deferred_error,
            )
            if key is not None and self.cfg.has(Fault.IDEMPOTENCY_KEY_RACE) and keys.stored(account, key) is None:
                await asyncio.sleep(RACE_WINDOW_S)  # another request with the key slips in here
                write.key_checked = True
            accepted = self.s.engine.submit(write)
        except ApiError as err:
            if err.status == 400 and self.cfg.has(Fault.ERROR_DETAIL_HEADER):
                err.headers["Twilio-Error-Detail"] = err.message  # encoded as Latin-1 by the response
            if key is not None and err.status != 422:
                keys.remember_rejected(account, key, request_fingerprint())
            if err.status == 412 and config_id is not None and self.cfg.has(Fault.REJECTED_WRITE_BUMPS_VERSION):
                self.s.engine.touch(account, config_id)
            raise
        location = accepted.status_url
        if self.cfg.has(Fault.LOCATION_DIFFERS_FROM_STATUS_URL):
            location = urlsplit(location).path
        headers = {
            "Operation-Id": accepted.operation_id,
            "Location": location,
            "Retry-After": str(accepted.retry_after),
        }
        if accepted.accepted_us is not None:
            headers["Date"] = http_date(accepted.accepted_us)
        return raw_json_response(202, accepted.body, headers)


class _Endpoint:
    """One path: dispatches by method; other methods get 405 with Allow. Errors become JSON."""

    def __init__(self, handlers: dict[str, Handler], *, not_found: bool = False) -> None:
        self.handlers = handlers
        self.allow = ", ".join(handlers)
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            if self.not_found:
                raise ApiError(404, "The requested resource was not found")
            handler = self.handlers.get(request.method)
            if handler is None:
                raise ApiError(405, "Method not allowed on this resource", {"Allow": self.allow})
            response = await handler(request)
        except ApiError as err:
            response = error_response(err)
        except ClientDisconnect:
            return
        except Exception:  # never expected: a conformant server has no such path
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = error_response(ApiError(500, "Internal server error"))
        await response(scope, receive, send)


def create_app(config: ServerConfig | None = None) -> Starlette:
    """A fresh server instance (its own database, worker and token secret)."""
    service = Service(config or ServerConfig())
    api = Api(service)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.close()

    routes = [
        Route(CONFIGURATIONS, _Endpoint({"GET": api.list_configurations, "POST": api.create})),
        Route(
            CONFIGURATIONS + "/{id}",
            _Endpoint({"GET": api.fetch_configuration, "PUT": api.replace, "PATCH": api.patch, "DELETE": api.delete}),
        ),
        Route(OPERATIONS + "/{id}", _Endpoint({"GET": api.fetch_operation})),
        Route("/{path:path}", _Endpoint({}, not_found=True)),
    ]
    middleware = [Middleware(DateHeaderMiddleware)]
    if service.config.latency_ms:
        middleware.insert(0, Middleware(LatencyMiddleware, latency_s=service.config.latency_ms / 1000))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    return app
