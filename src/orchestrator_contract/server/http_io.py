"""HTTP plumbing: request bodies (415/413), JSON responses and the Date header."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.model import dumps, http_date, now_us

MAX_BODY_BYTES = 256 * 1024
# Past the limit the rest of the body is still read (and dropped) up to this much, so the client
# finishes sending and reads its 413 instead of a connection reset.
_DRAIN_BYTES = 16 * MAX_BODY_BYTES
_JSON_MEDIA_RE = re.compile(r"application/(?:[A-Za-z0-9!#$&^_.+-]+\+)?json")


def _no_faults(fault: Fault) -> bool:
    return False


def is_json_media_type(content_type: str, has: Callable[[Fault], bool] = _no_faults) -> bool:
    """`application/json` or `application/*+json`, any parameters (e.g. charset).

    `has` is ServerConfig.has (the deliberate faults)."""
    media = content_type.split(";", 1)[0]
    if not has(Fault.MEDIA_TYPE_NOT_STRIPPED):
        media = media.strip()
    if not has(Fault.CONTENT_TYPE_CASE_SENSITIVE):
        media = media.lower()
    if has(Fault.JSON_MEDIA_TYPE_PREFIX_MATCH):
        return bool(_JSON_MEDIA_RE.match(media))
    return bool(_JSON_MEDIA_RE.fullmatch(media))


async def read_json_request_body(request: Request, has: Callable[[Fault], bool] = _no_faults) -> bytes:
    """The raw body of a POST/PUT/PATCH after the Content-Type and size checks."""
    content_type = request.headers.get("content-type")
    if content_type is not None and not is_json_media_type(content_type, has):
        raise ApiError(415, "The request body must be application/json")
    inclusive = has(Fault.BODY_LIMIT_INCLUSIVE)
    size, too_big = 0, False
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size >= MAX_BODY_BYTES if inclusive else size > MAX_BODY_BYTES:
            too_big = True
            chunks.clear()
            if size > _DRAIN_BYTES:
                break
        else:
            chunks.append(chunk)
    if too_big:
        raise ApiError(413, f"The request body exceeds {MAX_BODY_BYTES} bytes")
    body = b"".join(chunks)
    if content_type is None and body:
        raise ApiError(415, "The request body must be application/json (Content-Type is missing)")
    return body


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return raw_json_response(status, dumps(payload), headers)


def raw_json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, headers=headers, media_type="application/json")


def error_response(err: ApiError) -> Response:
    return json_response(err.status, err.body(), err.headers)


class DateHeaderMiddleware:
    """Adds `Date` (taken when the response starts) unless the handler already set one.

    Run uvicorn with `date_header=False`: its own Date is refreshed only about once a second and
    could name a second earlier than the state the response shows.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"date" for name, _ in headers):
                    headers.append((b"date", http_date(now_us()).encode("ascii")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_date)


class LatencyMiddleware:
    """Answers every request `latency_s` later, as a network round trip would: half before the
    request is handled, half after the answer is ready (so `Date` is the time it was produced)."""

    def __init__(self, app: ASGIApp, latency_s: float) -> None:
        self.app = app
        self.half = latency_s / 2

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.half <= 0:
            await self.app(scope, receive, send)
            return
        await asyncio.sleep(self.half)

        async def send_later(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(self.half)
            await send(message)

        await self.app(scope, receive, send_later)
