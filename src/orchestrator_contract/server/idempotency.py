"""Idempotency-Key fingerprints.

Two requests are "the same request" when method, path (without query), body (as JSON, member
order ignored) and the raw If-Match value are equal; the fingerprint is a hash of exactly that.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(method: str, path: str, body: Any, if_match: str | None, *, include_body: bool = True) -> str:
    """`include_body=False` is the fault idempotency-ignores-body."""
    material = [method.upper(), path, body if include_body else None, if_match]
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
