"""HAR 1.2 cassettes of a test's exchanges (they open in any browser's developer tools).

Written as plain JSON rather than with `harfile` (a transitive dependency of Schemathesis, not one
of ours): the whole document is redacted as text before it is written, and exchanges that ended in
a transport error need a response-less entry.
"""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orchestrator_contract import __version__
from orchestrator_contract.exchanges import journal
from orchestrator_contract.exchanges.redaction import mask_header, scrub, scrub_tree, sent_credentials

BODY_LIMIT = 256 * 1024  # per HAR body; the contract's own request limit


def _headers(headers: httpx.Headers) -> list[dict[str, str]]:
    out = []
    for raw_name, raw_value in headers.raw:  # as sent: original case, repeated headers kept
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        out.append({"name": name, "value": mask_header(name, value)})
    return out


def _content(raw: bytes, mime: str) -> dict[str, Any]:
    body = raw[:BODY_LIMIT]
    content: dict[str, Any] = {"size": len(raw), "mimeType": mime}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"], content["encoding"] = base64.b64encode(body).decode(), "base64"
    if len(raw) > BODY_LIMIT:
        content["comment"] = f"truncated to the first {BODY_LIMIT} bytes"
    return content


def _started(response: httpx.Response | None, fallback: datetime) -> str:
    """The journal keeps no send time: the response's Date header (1 s resolution) stands in."""
    try:
        when = parsedate_to_datetime(response.headers["date"]) if response is not None else fallback
    except (KeyError, TypeError, ValueError):
        when = fallback
    return when.astimezone(UTC).isoformat()


def _entry(exchange: journal.Exchange, now: datetime) -> dict[str, Any]:
    request, response = exchange.request, exchange.response
    try:
        sent = request.content
    except httpx.RequestNotRead:
        sent = b""
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": str(request.url),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in request.url.params.multi_items()],
        "headersSize": -1,
        "bodySize": len(sent),
    }
    if sent:
        mime = request.headers.get("content-type", "")
        har_request["postData"] = {"mimeType": mime, "text": sent[:BODY_LIMIT].decode("utf-8", errors="replace")}
    elapsed_ms = 0.0
    if response is None:
        har_response: dict[str, Any] = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "comment": exchange.error or "no response",
            "_error": exchange.error or "no response",
        }
    else:
        with contextlib.suppress(RuntimeError):
            elapsed_ms = round(response.elapsed.total_seconds() * 1000, 3)
        har_response = {
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "httpVersion": response.http_version,
            "cookies": [],
            "headers": _headers(response.headers),
            "content": _content(response.content, response.headers.get("content-type", "")),
            "redirectURL": response.headers.get("location", ""),
            "headersSize": -1,
            "bodySize": len(response.content),
        }
    har_request["_credential"] = request.extensions.get("orchestrator_contract_auth", "primary")
    return {
        "startedDateTime": _started(response, now),
        "time": elapsed_ms,
        "request": har_request,
        "response": har_response,
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": elapsed_ms, "receive": 0, "ssl": -1},
        "comment": exchange.headline()
        + (
            f" (the answer was longer than the response size limit: recorded up to {exchange.cut_at} bytes)"
            if exchange.cut_at is not None
            else ""
        ),
    }


def har_text(exchanges: list[journal.Exchange], *, comment: str = "") -> str:
    """A HAR 1.2 document of `exchanges`, with Authorization headers masked and every secret
    (known to the run, or sent in an Authorization header) redacted from the serialized text."""
    now = datetime.now(UTC)
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "orchestrator-contract", "version": __version__},
            "pages": [],
            "entries": [_entry(e, now) for e in exchanges],
            "comment": comment + " (startedDateTime: the response's Date header; time: httpx's elapsed)",
        }
    }
    sent = sent_credentials(e.request.headers.get("authorization", "") for e in exchanges)
    return scrub(json.dumps(scrub_tree(document, sent), indent=1, ensure_ascii=False), sent)
