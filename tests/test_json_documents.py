"""Reading JSON documents (`json_documents`) and filling links from an exchange (`links.evaluate`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import schemathesis

from orchestrator_contract.contract.json_documents import (
    MISSING,
    at_pointer,
    json_or_none,
    pointer_parts,
    ref_target,
    resolve_ref,
    walk,
)
from orchestrator_contract.contract.locations import spec_path
from orchestrator_contract.spec_data.links import UNRESOLVED, evaluate, spec_links


def test_json_or_none_reads_answers_bytes_and_text() -> None:
    assert json_or_none(httpx.Response(200, json={"a": [1]})) == {"a": [1]}
    assert json_or_none('{"a": 1}') == {"a": 1}
    assert json_or_none('"\\u00e9"'.encode("utf-16")) == "\u00e9"  # bytes: UTF-8, -16 or -32, as json.loads
    assert json_or_none(b"null", default=MISSING) is None  # JSON null is a value, not "no JSON"
    for not_json in (b"", b"{", b"\xff\xfe\xfd", "text", httpx.Response(200, text="<html>")):
        assert json_or_none(not_json) is None
        assert json_or_none(not_json, default=MISSING) is MISSING


def test_pointers_and_paths() -> None:
    document = {"a/b": {"m~n": [10, {"": "empty key"}]}, "list": [0, 1]}
    assert pointer_parts("") == []
    assert pointer_parts("/a~1b/m~0n/1") == ["a/b", "m~n", "1"]
    assert at_pointer(document, "") is document
    assert at_pointer(document, "/a~1b/m~0n/0") == 10
    assert at_pointer(document, "/a~1b/m~0n/1/") == "empty key"
    assert walk(document, ["list", 1]) == 1
    for missing in ("/nope", "/list/2", "/list/-1", "/list/01", "/list/+1", "/list/x", "/list/0/deeper"):
        assert at_pointer(document, missing) is MISSING, missing
        assert at_pointer(document, missing, None) is None
    assert walk(document, ["list", True]) is MISSING  # a bool is not an index
    with pytest.raises(ValueError):
        pointer_parts("a/b")


def test_local_references() -> None:
    document = {"components": {"x": {"$ref": "#/components/y"}, "y": {"type": "string"}}}
    assert ref_target(document, "#/components/y") == {"type": "string"}
    assert resolve_ref(document, {"$ref": "#/components/x"}) == {"type": "string"}  # a chain is followed
    assert resolve_ref(document, {"type": "integer"}) == {"type": "integer"}
    with pytest.raises(LookupError):
        ref_target(document, "#/components/z")
    with pytest.raises(ValueError):
        ref_target(document, "other.yaml#/components/y")


def _answer(request: httpx.Request, **kwargs: object) -> httpx.Response:
    response = httpx.Response(request=request, **kwargs)
    response.elapsed = timedelta(0)  # as a sent request's answer has it
    return response


def test_links_are_filled_by_schemathesis_evaluation() -> None:
    schema = schemathesis.openapi.from_path(spec_path())
    case = schema.find_operation_by_id("listConfigurations").Case(
        query={"memoryStoreId": "mem_store_0x", "pageSize": 2}
    )
    request = httpx.Request("GET", "http://server/v2/ControlPlane/Configurations?memoryStoreId=mem_store_0x&pageSize=2")
    page = _answer(
        request, status_code=200, json={"configurations": [], "meta": {"nextToken": "t1"}}, headers={"ETag": '"3"'}
    )
    assert evaluate("$response.body#/meta/nextToken", case, page) == "t1"
    assert evaluate("$request.query.memoryStoreId", case, page) == "mem_store_0x"
    assert evaluate("$response.header.ETag", case, page) == '"3"'
    assert evaluate("a constant", case, page) == "a constant"
    assert evaluate("$response.body#/meta/previousToken", case, page) is UNRESOLVED
    assert evaluate("$response.header.Operation-Id", case, page) is UNRESOLVED
    not_json = _answer(request, status_code=200, content=b"{", headers={"Content-Type": "application/json"})
    assert evaluate("$response.body#/meta/nextToken", case, not_json) is UNRESOLVED
    text = _answer(request, status_code=200, content=b"x", headers={"Content-Type": "text/plain"})
    assert evaluate("$response.body#/meta/nextToken", case, text) is UNRESOLVED


def test_every_link_of_the_spec_is_read() -> None:
    links = spec_links()
    assert {(link.source, link.status, link.target) for link in links} >= {
        ("createConfiguration", 202, "fetchOperation"),
        ("listConfigurations", 200, "listConfigurations"),
    }
    assert all(expression.startswith("$") for link in links for _, expression in link.parameters)
