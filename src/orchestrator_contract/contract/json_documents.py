"""JSON documents: decoding a body, and walking a document by path, JSON pointer or local `$ref`.

Answers, recordings and the spec are all read this way, from one place: separate copies had
drifted apart in what they took for "not JSON" and in how they read a pointer's segments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import httpx

MISSING: Any = object()  # what `walk` and `at_pointer` give for a place the document does not have
_INDEX = re.compile(r"0|[1-9][0-9]*")  # an array index as RFC 6901 spells it (no sign, no leading zero)


def json_or_none(source: httpx.Response | bytes | str, default: Any = None) -> Any:
    """The JSON value of a body (an answer, its bytes or its text), or `default` when it holds none.

    Bytes are decoded as `json.loads` does (UTF-8, -16 or -32), as `httpx.Response.json()` does.
    """
    data = source.content if isinstance(source, httpx.Response) else source
    try:
        return json.loads(data)
    except ValueError:  # not JSON, or bytes that are no Unicode text (UnicodeDecodeError is a ValueError)
        return default


def pointer_parts(pointer: str) -> list[str]:
    """The reference tokens of a JSON pointer (RFC 6901), `~1` and `~0` unescaped; "" is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def walk(document: Any, path: Iterable[str | int], default: Any = MISSING) -> Any:
    """The value at `path` (object members and array indices, as ints or as RFC 6901 index strings),
    or `default` where the document has no such place."""
    node = document
    for part in path:
        if isinstance(node, dict):
            if part not in node:
                return default
            node = node[part]
        elif isinstance(node, list):
            index = int(part) if isinstance(part, str) and _INDEX.fullmatch(part) else part
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(node):
                return default
            node = node[index]
        else:
            return default
    return node


def at_pointer(document: Any, pointer: str, default: Any = MISSING) -> Any:
    """The value a JSON pointer names, or `default` where the document has no such place."""
    return walk(document, pointer_parts(pointer), default)


def ref_target(document: Any, ref: str) -> Any:
    """What a local `$ref` (`#/components/...`) names; a reference to nothing is an error of the spec."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    target = at_pointer(document, ref[1:])
    if target is MISSING:
        raise LookupError(f"$ref {ref!r} names nothing in the document")
    return target


def resolve_ref(document: Any, node: Any) -> Any:
    """`node`, or while it is a `{"$ref": ...}`, what its reference names (the siblings are not kept)."""
    while isinstance(node, dict) and "$ref" in node:
        node = ref_target(document, node["$ref"])
    return node
