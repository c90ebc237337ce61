"""Unit tests of the page-token codec."""

from __future__ import annotations

import base64
import json

import pytest

from orchestrator_contract.server.tokens import Cursor, InvalidToken, TokenCodec, decode_offset, encode_offset

A, B = "AC" + "1" * 32, "AC" + "2" * 32
F = "mem_store_0" + "a" * 25


def test_round_trip_and_url_safety() -> None:
    codec = TokenCodec(b"k" * 32)
    cursor = Cursor("gt", 1_700_000_000_000_000, "cfg_01abc")
    token = codec.encode(cursor, account=A, memory_store_id=F)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert A not in token and A not in base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert codec.decode(token, account=A, memory_store_id=F) == cursor
    assert (
        codec.decode(codec.encode(cursor, account=A, memory_store_id=None), account=A, memory_store_id=None) == cursor
    )


def test_binding_and_tampering() -> None:
    codec = TokenCodec(b"k" * 32)
    token = codec.encode(Cursor("lt", 5, "cfg_x"), account=A, memory_store_id=F)
    with pytest.raises(InvalidToken):
        codec.decode(token, account=B, memory_store_id=F)
    with pytest.raises(InvalidToken):
        codec.decode(token, account=A, memory_store_id=None)
    with pytest.raises(InvalidToken):
        TokenCodec(b"j" * 32).decode(token, account=A, memory_store_id=F)
    payload, mac = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(["lt", 6, "cfg_x"]).encode()).rstrip(b"=").decode()
    for bad in (
        f"{forged}.{mac}",
        token + "A",
        token[:-1],
        "",
        ".",
        "a.b.c",
        "!!.??",
        payload,
        "x" * 600,
        f"{payload}.{mac}=",
    ):
        with pytest.raises(InvalidToken):
            codec.decode(bad, account=A, memory_store_id=F)


def test_offset_tokens_are_unsigned() -> None:
    assert decode_offset(encode_offset(40)) == 40
    for bad in ("", "zz", encode_offset(-1)):
        with pytest.raises(InvalidToken):
            decode_offset(bad)
