"""Idempotency keys, over real HTTP."""

from __future__ import annotations

import threading
import time

import httpx

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.server import ServerConfig, start_background

from .helpers import CONFIGS, Api, new_key, valid_body


def count_configs(api: Api, memory_store_id: str) -> int:
    items = api.get(CONFIGS, params={"pageSize": 1000}).json()["configurations"]
    return sum(1 for c in items if c["memoryStoreId"] == memory_store_id)


def test_replay_returns_original_202_and_does_nothing(api: Api) -> None:
    key, store = new_key(), "idem-replay-store"
    first = api.post(CONFIGS, json=valid_body(memoryStoreId=store), headers={"Idempotency-Key": key})
    assert first.status_code == 202
    api.wait(first)
    # same body with members in another order is the same request
    body = dict(reversed(list(valid_body(memoryStoreId=store).items())))
    replay = api.post(CONFIGS, json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 202 and replay.content == first.content
    assert replay.headers["operation-id"] == first.headers["operation-id"]
    assert replay.headers["location"] == first.headers["location"]
    assert count_configs(api, store) == 1
    # a query string is not part of the path
    assert api.post(CONFIGS + "?x=1", json=body, headers={"Idempotency-Key": key}).content == first.content


def test_replay_after_state_changed(api: Api) -> None:
    config_id = api.create()
    key = new_key()
    first = api.patch(f"{CONFIGS}/{config_id}", json={"description": "x"}, headers={"Idempotency-Key": key})
    api.wait(first)
    api.write_and_wait("DELETE", config_id)
    replay = api.patch(f"{CONFIGS}/{config_id}", json={"description": "x"}, headers={"Idempotency-Key": key})
    assert replay.status_code == 202 and replay.content == first.content
    assert replay.headers["operation-id"] == first.headers["operation-id"]


def test_replay_does_not_bump_version(api: Api) -> None:
    config_id = api.create()
    key = new_key()
    for _ in range(3):
        r = api.put(f"{CONFIGS}/{config_id}", json=valid_body(channelSettings={}), headers={"Idempotency-Key": key})
        api.wait(r)
    assert api.get_config(config_id)["version"] == 2


def test_same_key_different_request_is_422(api: Api) -> None:
    config_id = api.create()
    other_id = api.create()
    key = new_key()
    url = f"{CONFIGS}/{config_id}"
    first = api.patch(url, json={"description": "a"}, headers={"Idempotency-Key": key, "If-Match": '"1"'})
    assert first.status_code == 202
    api.wait(first)
    variants = [
        ("PATCH", url, {"description": "b"}, {"If-Match": '"1"'}),  # body
        ("PATCH", url, {"description": "a"}, {}),  # If-Match absent
        ("PATCH", url, {"description": "a"}, {"If-Match": '"1", "2"'}),  # If-Match differs
        ("PATCH", f"{CONFIGS}/{other_id}", {"description": "a"}, {"If-Match": '"1"'}),  # path
        ("PUT", url, valid_body(channelSettings={}), {"If-Match": '"1"'}),  # method
        ("DELETE", url, None, {"If-Match": '"1"'}),
        ("POST", CONFIGS, valid_body(), {}),
    ]
    for method, path, body, headers in variants:
        r = api.request(method, path, json=body, headers={"Idempotency-Key": key, **headers})
        assert r.status_code == 422, (method, path, body, headers)
        assert r.json()["status"] == 422
    assert api.get_config(config_id)["version"] == 2
    assert api.get_config(other_id)["version"] == 1


def test_key_format_and_repetition(api: Api) -> None:
    for key in ("not-a-uuid", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"):
        r = api.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
        assert r.status_code == 400
    key = new_key()
    r = api.post(CONFIGS, json=valid_body(), headers=[("Idempotency-Key", key), ("Idempotency-Key", key)])
    assert r.status_code == 400
    r = api.delete(f"{CONFIGS}/cfg_x", headers={"Idempotency-Key": "x"})
    assert r.status_code in (400, 404)


def test_4xx_is_not_stored(api: Api) -> None:
    key, store = new_key(), "idem-4xx-store"
    bad = api.post(CONFIGS, json=valid_body(memoryStoreId=store, displayName="bad!"), headers={"Idempotency-Key": key})
    assert bad.status_code == 400
    good = api.post(CONFIGS, json=valid_body(memoryStoreId=store), headers={"Idempotency-Key": key})
    assert good.status_code == 202 and api.wait(good)["status"] == "COMPLETED"
    key2 = new_key()
    assert api.delete(f"{CONFIGS}/cfg_missing", headers={"Idempotency-Key": key2}).status_code == 404
    assert api.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key2}).status_code == 202


def test_keys_are_scoped_per_account(api: Api, other: Api, keyed: Api) -> None:
    key = new_key()
    a = api.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    b = other.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    assert a.status_code == b.status_code == 202
    assert a.headers["operation-id"] != b.headers["operation-id"]
    # the API key is the same account as the Account SID
    c = keyed.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    assert c.content == a.content


def test_no_key_never_deduplicates(api: Api) -> None:
    store = "idem-nokey-store"
    for _ in range(2):
        api.wait(api.post(CONFIGS, json=valid_body(memoryStoreId=store)))
    assert count_configs(api, store) == 2


def test_concurrent_same_key_creates_one_operation(api: Api) -> None:
    key, store = new_key(), "idem-concurrent-store"
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:  # httpx.Client is thread-safe: one pool, concurrent connections
        barrier.wait()
        r = api.http.post(CONFIGS, json=valid_body(memoryStoreId=store), headers={"Idempotency-Key": key})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in results if r.status_code == 202]
    assert all(r.status_code in (202, 409) for r in results) and accepted
    assert len({r.headers["operation-id"] for r in accepted}) == 1
    assert len({r.content for r in accepted}) == 1
    api.wait(accepted[0])
    assert count_configs(api, store) == 1


def test_keys_expire_after_ttl() -> None:
    with start_background(ServerConfig(op_delay_ms=0, idempotency_ttl_s=0.05)) as running:
        client = Api(running.base_url, PRIMARY_ACCOUNT)
        key = new_key()
        first = client.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
        client.wait(first)
        time.sleep(0.1)
        again = client.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
        assert again.status_code == 202 and again.headers["operation-id"] != first.headers["operation-id"]
        client.close()
