"""The suites' client: what goes on the wire, and what it does with what comes back."""

from __future__ import annotations

import json

import httpx
import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.contract.violations import ContractViolation
from orchestrator_contract.exchanges.client import (
    ApiClient,
    RunShared,
    SuiteError,
    UnsendableRequest,
    json_bytes,
    wire_headers,
)
from orchestrator_contract.exchanges.recording import Recording, in_scope


def test_non_ascii_header_values_go_as_bytes() -> None:
    """Latin-1 as HTTP's obs-text, beyond it UTF-8 (a careless client); ASCII stays text."""
    assert wire_headers({"If-Match": '"1"'}) == [("If-Match", '"1"')]
    assert wire_headers({"If-Match": "\x80\xff"}) == [("If-Match", b"\x80\xff")]
    assert wire_headers({"X": "\u20ac"}) == [("X", "\u20ac".encode())]


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "nul\x00", " leading", "trailing\t", "v\x0bt"])
def test_header_values_http_cannot_carry_are_set_aside(value: str) -> None:
    with pytest.raises(UnsendableRequest):
        wire_headers({"Idempotency-Key": value})


def test_lone_surrogates_go_escaped() -> None:
    assert json_bytes({"d": "\u00e9\U0001f600"}) == '{"d": "\u00e9\U0001f600"}'.encode()
    assert json.loads(json_bytes({"d": "a\ud800b"})) == {"d": "a\ud800b"}
    assert b"\\ud800" in json_bytes({"d": "a\ud800b"})


def _client(handler: httpx.MockTransport, shared: RunShared | None = None) -> ApiClient:
    return ApiClient("http://target.test", PRIMARY_ACCOUNT, shared=shared or RunShared(), transport=handler)


def test_a_connection_the_server_drops_is_a_violation_and_an_unbuildable_request_is_the_suites() -> None:
    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    recording = Recording()
    with pytest.raises(ContractViolation) as caught, in_scope(recording):
        _client(httpx.MockTransport(dropped)).fetch("cfg_1")
    assert caught.value.clause == "GEN-NO-5XX" and "no HTTP answer" in str(caught.value)
    assert recording.journal.exchanges[-1].error  # recorded, response-less

    def local(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError("Illegal header value")

    with pytest.raises(SuiteError):
        _client(httpx.MockTransport(local)).fetch("cfg_1")


def test_429_is_retried_after_retry_after_and_held_back_for_every_request() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}, json={"status": 429}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    shared = RunShared()
    client = _client(httpx.MockTransport(lambda request: next(answers)), shared)
    assert client.fetch("cfg_1").status_code == 200
    assert shared.throttled == 1


def test_a_429_without_an_integer_retry_after_is_a_violation() -> None:
    client = _client(httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "soon"}, json={})))
    with pytest.raises(ContractViolation) as caught:
        client.fetch("cfg_1")
    assert caught.value.clause == "ERR-429"
