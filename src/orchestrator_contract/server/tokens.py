"""Opaque, signed keyset page tokens.

A token names a position in the (createdAt, id) order and a direction:
`gt`/`ge` = the items after / from the key (a next page), `lt`/`le` = the items before / up to
the key (a previous page). Its HMAC binds it to the account and the memoryStoreId filter (not to
pageSize), so a token from another account, for another filter, or tampered with is rejected.
The account is only in the MAC, never in the token text: responses never echo a credential.
Format: base64url(JSON payload) "." base64url(16-byte MAC), without padding (URL-safe).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

MODES = ("gt", "ge", "lt", "le")
_B64_RE = re.compile(r"[A-Za-z0-9_-]+")
_MAX_TOKEN_LEN = 512


class InvalidToken(Exception):
    """The token is malformed, tampered with, or bound to another account or filter."""


@dataclass(frozen=True)
class Cursor:
    mode: str
    created_us: int
    id: str

    @property
    def key(self) -> tuple[int, str]:
        return (self.created_us, self.id)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None


class TokenCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes, account: str, memory_store_id: str | None, page_size: int | None) -> bytes:
        bound: list[object] = [account, memory_store_id] if page_size is None else [account, memory_store_id, page_size]
        scope = json.dumps(bound, separators=(",", ":")).encode()
        return hmac.new(self._secret, b"page-token/v1\x00" + scope + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def encode(self, cursor: Cursor, *, account: str, memory_store_id: str | None, page_size: int | None = None) -> str:
        """`page_size` binds the token to it too (only the fault token-bound-to-page-size does)."""
        payload = json.dumps([cursor.mode, cursor.created_us, cursor.id], separators=(",", ":")).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload, account, memory_store_id, page_size))}"

    def decode(self, token: str, *, account: str, memory_store_id: str | None, page_size: int | None = None) -> Cursor:
        if len(token) > _MAX_TOKEN_LEN or token.count(".") != 1:
            raise InvalidToken("malformed")
        payload_text, mac_text = token.split(".")
        payload, mac = _b64decode(payload_text), _b64decode(mac_text)
        if not hmac.compare_digest(mac, self._mac(payload, account, memory_store_id, page_size)):
            raise InvalidToken("signature mismatch")
        try:
            mode, created_us, config_id = json.loads(payload)
        except (ValueError, TypeError):
            raise InvalidToken("malformed payload") from None
        if mode not in MODES or type(created_us) is not int or not isinstance(config_id, str):
            raise InvalidToken("malformed payload")
        return Cursor(mode, created_us, config_id)


def encode_offset(offset: int) -> str:
    """Unsigned offset token: the offset-page-tokens fault (deliberately weak)."""
    return _b64encode(json.dumps({"offset": offset}).encode())


def decode_offset(token: str) -> int:
    try:
        offset = json.loads(_b64decode(token))["offset"]
    except (InvalidToken, ValueError, TypeError, KeyError):
        raise InvalidToken("malformed") from None
    if type(offset) is not int or not 0 <= offset < 2**62:
        raise InvalidToken("malformed")
    return offset
