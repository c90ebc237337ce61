"""Pagination and filtering of GET /Configurations, over real HTTP."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orchestrator_contract.server import RunningServer

from .helpers import CONFIGS, Api, store_filter, valid_body


def page(api: Api, **params: Any) -> dict[str, Any]:
    r = api.get(CONFIGS, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"configurations", "meta"}
    meta = body["meta"]
    assert meta["key"] == "configurations" and meta["pageSize"] == len(body["configurations"])
    assert set(meta) <= {"key", "pageSize", "nextToken", "previousToken"}
    for name in ("nextToken", "previousToken"):
        if name in meta:
            assert isinstance(meta[name], str) and meta[name]
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["configurations"]]


def create_many(api: Api, n: int, memory_store_id: str) -> list[str]:
    responses = [api.post(CONFIGS, json=valid_body(memoryStoreId=memory_store_id)) for _ in range(n)]
    for r in responses:
        assert api.wait(r)["status"] == "COMPLETED"
    return [r.json()["related"]["configurationId"] for r in responses]


def walk(api: Api, page_size: int, **params: Any) -> list[dict[str, Any]]:
    pages = [page(api, pageSize=page_size, **params)]
    while "nextToken" in pages[-1]["meta"]:
        pages.append(page(api, pageSize=page_size, pageToken=pages[-1]["meta"]["nextToken"], **params))
        assert len(pages) < 1000
    return pages


@pytest.fixture()
def populated(fresh: tuple[RunningServer, Api, Api]) -> tuple[Api, Api, list[str]]:
    _, a, b = fresh
    created = create_many(a, 12, store_filter(1))
    create_many(a, 5, store_filter(2))
    create_many(b, 3, store_filter(1))
    return a, b, created


def test_empty_list(fresh: tuple[RunningServer, Api, Api]) -> None:
    body = page(fresh[1])
    assert body == {"configurations": [], "meta": {"key": "configurations", "pageSize": 0}}


def test_default_page_size_and_bounds(populated: tuple[Api, Api, list[str]]) -> None:
    a, _, _ = populated
    create_many(a, 40, store_filter(3))
    assert len(page(a)["configurations"]) == 50
    assert len(page(a, pageSize=1000)["configurations"]) == 57
    for bad in ("0", "1001", "-1", "10.0", "+5", " 5", "1e1", "", "x"):
        r = a.get(CONFIGS, params={"pageSize": bad})
        assert r.status_code == 400, bad
        assert r.json()["status"] == 400


def test_order_and_full_walk(populated: tuple[Api, Api, list[str]]) -> None:
    a, b, created = populated
    all_items = page(a, pageSize=1000)["configurations"]
    keys = [(c["createdAt"], c["id"]) for c in all_items]
    assert keys == sorted(keys) and len(keys) == 17
    for size in (1, 4, 5, 17, 50):
        pages = walk(a, size)
        walked = [i for p in pages for i in ids(p)]
        assert walked == [c["id"] for c in all_items]
        assert "previousToken" not in pages[0]["meta"]
        assert all("previousToken" in p["meta"] for p in pages[1:])
        assert "nextToken" not in pages[-1]["meta"]
    assert {c["id"] for c in page(b, pageSize=1000)["configurations"]}.isdisjoint(set(created))


def test_previous_token_returns_previous_page(populated: tuple[Api, Api, list[str]]) -> None:
    a, _, _ = populated
    pages = walk(a, 5)
    assert len(pages) == 4
    for k in range(1, len(pages)):
        back = page(a, pageSize=5, pageToken=pages[k]["meta"]["previousToken"])
        assert ids(back) == ids(pages[k - 1])
        assert ("previousToken" in back["meta"]) == (k - 1 > 0)
        assert "nextToken" in back["meta"]
    # a previous page reached with another pageSize is "first" exactly when nothing precedes it
    back = page(a, pageSize=50, pageToken=pages[2]["meta"]["previousToken"])
    assert ids(back) == ids(pages[0]) + ids(pages[1]) and "previousToken" not in back["meta"]


def test_filter(populated: tuple[Api, Api, list[str]]) -> None:
    a, _, created = populated
    pages = walk(a, 5, memoryStoreId=store_filter(1))
    assert [i for p in pages for i in ids(p)] == created
    assert all(c["memoryStoreId"] == store_filter(1) for p in pages for c in p["configurations"])
    assert page(a, memoryStoreId=store_filter(9))["configurations"] == []
    for bad in ("mem_store_8" + "0" * 25, "x", "", "mem_store_0" + "0" * 24, "MEM_STORE_0" + "0" * 25):
        assert a.get(CONFIGS, params={"memoryStoreId": bad}).status_code == 400, bad


def test_tokens_are_bound_to_account_and_filter(populated: tuple[Api, Api, list[str]]) -> None:
    a, b, _ = populated
    token = page(a, pageSize=2, memoryStoreId=store_filter(1))["meta"]["nextToken"]
    assert page(a, pageSize=7, pageToken=token, memoryStoreId=store_filter(1))["meta"]["pageSize"] == 7
    assert a.get(CONFIGS, params={"pageToken": token}).status_code == 400
    assert a.get(CONFIGS, params={"pageToken": token, "memoryStoreId": store_filter(2)}).status_code == 400
    assert b.get(CONFIGS, params={"pageToken": token, "memoryStoreId": store_filter(1)}).status_code == 400
    plain = page(a, pageSize=2)["meta"]["nextToken"]
    assert a.get(CONFIGS, params={"pageToken": plain, "memoryStoreId": store_filter(1)}).status_code == 400
    payload, mac = plain.split(".")
    tampered = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b"gt", b"ge")).rstrip(b"=")
    for bad in (tampered.decode() + "." + mac, plain[:-2], "garbage", "", plain + plain):
        assert a.get(CONFIGS, params={"pageToken": bad}).status_code == 400, bad


def test_keyset_walk_under_concurrent_creates_and_deletes(populated: tuple[Api, Api, list[str]]) -> None:
    a, _, created = populated
    f = store_filter(1)
    survivors = created[::2]
    doomed = iter(created[1::2])
    seen: list[str] = []
    body = page(a, pageSize=3, memoryStoreId=f)
    while True:
        seen += ids(body)
        # between pages: delete an item (possibly already seen or not yet seen) and add one
        victim = next(doomed, None)
        if victim is not None:
            a.write_and_wait("DELETE", victim)
        create_many(a, 1, f)
        if "nextToken" not in body["meta"]:
            break
        body = page(a, pageSize=3, memoryStoreId=f, pageToken=body["meta"]["nextToken"])
        assert len(seen) < 200
    assert len(seen) == len(set(seen)), "an item was returned twice"
    order = {cid: n for n, cid in enumerate(seen)}
    assert all(s in order for s in survivors), "an item existing throughout was skipped"
    assert [order[s] for s in survivors] == sorted(order[s] for s in survivors)


def test_empty_page_after_deletions_keeps_working_tokens(fresh: tuple[RunningServer, Api, Api]) -> None:
    _, a, _ = fresh
    created = create_many(a, 4, store_filter(4))
    first = page(a, pageSize=2)
    for cid in created[2:]:
        a.write_and_wait("DELETE", cid)
    second = page(a, pageSize=2, pageToken=first["meta"]["nextToken"])
    assert second["configurations"] == [] and "nextToken" not in second["meta"]
    back = page(a, pageSize=2, pageToken=second["meta"]["previousToken"])
    assert ids(back) == created[:2] and "previousToken" not in back["meta"]
    for cid in created[:2]:
        a.write_and_wait("DELETE", cid)
    gone = page(a, pageSize=2, pageToken=first["meta"]["nextToken"])
    assert gone == {"configurations": [], "meta": {"key": "configurations", "pageSize": 0}}
