"""Each deliberate fault really changes the server's behaviour (against the clean baseline)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import pytest

from orchestrator_contract.clauses import CLAUSES
from orchestrator_contract.defaults import PRIMARY_ACCOUNT, SECOND_ACCOUNT
from orchestrator_contract.server import FAULTS, ServerConfig, start_background

from .helpers import CONFIGS, Api, client, new_key, service_id, store_filter, valid_body

Check = Callable[[Api, Api], bool]  # True when the faulty behaviour shows
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def create_many(a: Api, n: int, **overrides: object) -> list[str]:
    responses = [a.post(CONFIGS, json=valid_body(**overrides)) for _ in range(n)]
    for r in responses:
        assert a.wait(r)["status"] == "COMPLETED"
    return [r.json()["related"]["configurationId"] for r in responses]


@check("wrong-default-page-size")
def _(a: Api, b: Api) -> bool:
    create_many(a, 25)
    return len(a.get(CONFIGS).json()["configurations"]) == 20


@check("page-size-off-by-one")
def _(a: Api, b: Api) -> bool:
    return a.get(CONFIGS, params={"pageSize": 1001}).status_code == 200


@check("leak-internal-field")
def _(a: Api, b: Api) -> bool:
    return "accountSid" in a.get_config(a.create())


@check("missing-etag")
def _(a: Api, b: Api) -> bool:
    return "etag" not in a.get(f"{CONFIGS}/{a.create()}").headers


@check("fractional-timestamps")
def _(a: Api, b: Api) -> bool:
    return "." in a.get_config(a.create())["createdAt"]


@check("no-version-bump-on-patch")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    a.write_and_wait("PATCH", config_id, json={"description": "x"})
    got = a.get_config(config_id)
    return got["version"] == 1 and got["description"] == "x"


@check("idempotency-ignores-body")
def _(a: Api, b: Api) -> bool:
    key = new_key()
    a.wait(a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key}))
    return a.post(CONFIGS, json=valid_body(description="other"), headers={"Idempotency-Key": key}).status_code == 202


@check("replay-new-operation")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    key = new_key()
    first = a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key})
    a.wait(first)
    replay = a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key})
    a.wait(replay)
    return replay.headers["operation-id"] != first.headers["operation-id"] and a.get_config(config_id)["version"] == 3


@check("offset-page-tokens")
def _(a: Api, b: Api) -> bool:
    created = create_many(a, 4)
    first = a.get(CONFIGS, params={"pageSize": 2}).json()
    a.write_and_wait("DELETE", created[0])
    second = a.get(CONFIGS, params={"pageSize": 2, "pageToken": first["meta"]["nextToken"]}).json()
    skipped = [c["id"] for c in second["configurations"]] == [created[3]]  # created[2] was never returned
    forged = base64.urlsafe_b64encode(json.dumps({"offset": 1}).encode()).decode().rstrip("=")
    return skipped and a.get(CONFIGS, params={"pageToken": forged}).status_code == 200


@check("filter-lost-on-later-pages")
def _(a: Api, b: Api) -> bool:
    create_many(a, 3, memoryStoreId=store_filter(1))
    create_many(a, 3, memoryStoreId=store_filter(2))
    first = a.get(CONFIGS, params={"pageSize": 2, "memoryStoreId": store_filter(1)}).json()
    second = a.get(CONFIGS, params={"pageSize": 2, "memoryStoreId": store_filter(1),
                                    "pageToken": first["meta"]["nextToken"]}).json()
    return any(c["memoryStoreId"] != store_filter(1) for c in second["configurations"])


@check("cross-account-fetch")
def _(a: Api, b: Api) -> bool:
    return b.get(f"{CONFIGS}/{a.create()}").status_code == 200


@check("completed-before-visible")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    assert a.wait(r)["status"] == "COMPLETED"
    return a.get(f"{CONFIGS}/{r.json()['related']['configurationId']}").status_code == 404


@check("operation-never-completes")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    op = a.wait(r, timeout=0.5)
    return op["status"] == "PENDING" and a.get(f"{CONFIGS}/{r.json()['related']['configurationId']}").status_code == 200


@check("accepts-unknown-fields")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(unknownField=1)).status_code == 202


@check("if-match-ignored")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    r = a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"If-Match": '"99"'})
    return r.status_code == 202 and a.wait(r)["status"] == "COMPLETED"


@check("no-www-authenticate")
def _(a: Api, b: Api) -> bool:
    with client(str(a.base_url)) as anonymous:
        r = anonymous.get(CONFIGS)
    return r.status_code == 401 and "www-authenticate" not in r.headers


@check("conflict-not-detected")
def _(a: Api, b: Api) -> bool:
    sid = service_id(77)
    a.create(conversationsV1Bridge={"serviceId": sid})
    r = a.post(CONFIGS, json=valid_body(conversationsV1Bridge={"serviceId": sid}))
    return r.status_code == 202 and a.wait(r)["status"] == "COMPLETED"


@check("delete-leaves-resource")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    assert a.write_and_wait("DELETE", config_id)["status"] == "COMPLETED"
    return a.get(f"{CONFIGS}/{config_id}").status_code == 200


def servers(faults: frozenset[str]) -> Iterator[tuple[Api, Api]]:
    with start_background(ServerConfig(op_delay_ms=10, faults=faults)) as running:
        a, b = Api(running.base_url, PRIMARY_ACCOUNT), Api(running.base_url, SECOND_ACCOUNT)
        yield a, b
        a.close()
        b.close()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fault_changes_behaviour(name: str) -> None:
    for a, b in servers(frozenset({name})):
        assert CHECKS[name](a, b), f"fault {name} did not show"


@pytest.fixture(scope="module")
def clean() -> Iterator[tuple[Api, Api]]:
    yield from servers(frozenset())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_clean_server_does_not_show_the_fault(clean: tuple[Api, Api], name: str) -> None:
    started = time.monotonic()
    assert not CHECKS[name](*clean), f"clean server shows {name}"
    assert time.monotonic() - started < 5


def test_registry_is_consistent() -> None:
    assert set(CHECKS) == set(FAULTS), "every fault needs a check here"
    for name, fault in FAULTS.items():
        assert fault.name == name and fault.description and fault.clause in CLAUSES
    with pytest.raises(ValueError, match="unknown fault"):
        ServerConfig(faults=frozenset({"no-such-fault"}))
