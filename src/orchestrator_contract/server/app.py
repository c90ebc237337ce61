"""The ASGI application: routes, authentication and the seven operations of CONTRACT.md."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .auth import Authenticator, RateLimiter
from .config import ServerConfig
from .errors import ApiError
from .http_io import DateHeaderMiddleware, error_response, json_response, raw_json_response, read_json_request_body
from .idempotency import fingerprint
from .listing import list_page
from .model import ConfigRecord, configuration_json, http_date, operation_json
from .operations import OperationEngine, WriteRequest
from .store import Store
from .tokens import TokenCodec
from .validation import (bad, parse_idempotency_key, parse_if_match, parse_json, parse_memory_store_filter,
                         parse_page_size, validate_create, validate_patch, validate_replace)

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

CONFIGURATIONS = "/v2/ControlPlane/Configurations"
OPERATIONS = "/v2/ControlPlane/Operations"
_VALIDATORS = {"create": validate_create, "replace": validate_replace, "patch": validate_patch}


class Service:
    """Everything one server instance owns: config, store, worker, token codec, auth."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = Store(config.db_path)
        self.engine = OperationEngine(self.store, config)
        self.codec = TokenCodec(config.token_secret or secrets.token_bytes(32))
        self.auth = Authenticator(config.accounts, config.api_keys)
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

    def authenticate(self, request: Request) -> str:
        account = self.s.auth.authenticate(request.headers.get("authorization"))
        if account is None:
            headers = {} if self.cfg.has("no-www-authenticate") else {
                "WWW-Authenticate": f'Basic realm="{self.cfg.realm}", charset="UTF-8"'}
            raise ApiError(401, "Authentication failed: valid HTTP Basic credentials are required", headers)
        if self.s.limiter is not None:
            wait = self.s.limiter.acquire(account)
            if wait is not None:
                raise ApiError(429, "Too many requests", {"Retry-After": str(wait)})
        return account

    # ------------------------------------------------------------------ reads

    def _representation(self, rec: ConfigRecord) -> dict[str, Any]:
        return configuration_json(rec, fractional=self.cfg.has("fractional-timestamps"),
                                  leak_account=self.cfg.has("leak-internal-field"))

    async def list_configurations(self, request: Request) -> Response:
        account = self.authenticate(request)
        query = request.query_params
        page_size = parse_page_size(query.getlist("pageSize"),
                                    default=20 if self.cfg.has("wrong-default-page-size") else 50,
                                    maximum=1001 if self.cfg.has("page-size-off-by-one") else 1000)
        memory_store_id = parse_memory_store_filter(query.getlist("memoryStoreId"))
        tokens = query.getlist("pageToken")
        if len(tokens) > 1:
            raise bad("pageToken must be given at most once")
        body = list_page(self.s.store, self.s.codec, self.cfg, account, memory_store_id, page_size,
                         tokens[0] if tokens else None)
        return json_response(200, body)

    async def fetch_configuration(self, request: Request) -> Response:
        account = self.authenticate(request)
        scope_account = None if self.cfg.has("cross-account-fetch") else account
        rec = self.s.store.get_config(scope_account, request.path_params["id"])
        if rec is None:
            raise ApiError(404, "The requested configuration was not found")
        headers = {} if self.cfg.has("missing-etag") else {"ETag": f'"{rec.version}"'}
        return json_response(200, self._representation(rec), headers)

    async def fetch_operation(self, request: Request) -> Response:
        account = self.authenticate(request)
        op = self.s.store.get_op(account, request.path_params["id"])
        if op is None:
            raise ApiError(404, "The requested operation was not found")
        return json_response(200, operation_json(op, fractional=self.cfg.has("fractional-timestamps")))

    # ------------------------------------------------------------------ writes

    async def create(self, request: Request) -> Response:
        return await self._write(request, "create")

    async def replace(self, request: Request) -> Response:
        return await self._write(request, "replace")

    async def patch(self, request: Request) -> Response:
        return await self._write(request, "patch")

    async def delete(self, request: Request) -> Response:
        return await self._write(request, "delete")

    async def _write(self, request: Request, kind: str) -> Response:
        account = self.authenticate(request)
        key = parse_idempotency_key(request.headers.getlist("idempotency-key"))
        if_match_values = request.headers.getlist("if-match")
        body = changes = None
        if kind != "delete":  # a DELETE body is ignored
            body = parse_json(await read_json_request_body(request))
            changes = _VALIDATORS[kind](body, allow_unknown=self.cfg.has("accepts-unknown-fields"))
        fp = None
        if key is not None:
            fp = fingerprint(request.method, request.url.path, body,
                             ", ".join(if_match_values) if if_match_values else None,
                             include_body=not self.cfg.has("idempotency-ignores-body"))
        accepted = self.s.engine.submit(WriteRequest(
            account=account, kind=kind,
            config_id=None if kind == "create" else request.path_params["id"],
            changes=changes,
            if_match=None if kind == "create" else parse_if_match(if_match_values),  # POST ignores If-Match
            idempotency_key=key, fingerprint=fp,
            base_url=str(request.base_url).rstrip("/"),
        ))
        headers = {"Operation-Id": accepted.operation_id, "Location": accepted.status_url,
                   "Retry-After": str(accepted.retry_after)}
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
        Route(CONFIGURATIONS + "/{id}", _Endpoint({"GET": api.fetch_configuration, "PUT": api.replace,
                                                   "PATCH": api.patch, "DELETE": api.delete})),
        Route(OPERATIONS + "/{id}", _Endpoint({"GET": api.fetch_operation})),
        Route("/{path:path}", _Endpoint({}, not_found=True)),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(DateHeaderMiddleware)], lifespan=lifespan)
    app.state.service = service
    return app
