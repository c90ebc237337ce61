"""Each deliberate fault really changes the server's behaviour (against the clean baseline)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from orchestrator_contract.contract.clauses import CLAUSES
from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT
from orchestrator_contract.server import FAULTS, ServerConfig, start_background

from .helpers import CONFIGS, OPS, Api, client, new_key, service_id, store_filter, valid_body

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
    second = a.get(
        CONFIGS, params={"pageSize": 2, "memoryStoreId": store_filter(1), "pageToken": first["meta"]["nextToken"]}
    ).json()
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


# -- authentication and isolation ------------------------------------------------------------


def status_with(a: Api, auth: tuple[str, str]) -> httpx.Response:
    with client(str(a.base_url), auth) as other:
        return other.get(CONFIGS)


@check("api-key-rejected")
def _(a: Api, b: Api) -> bool:
    return status_with(a, (PRIMARY_API_KEY.username, PRIMARY_API_KEY.secret)).status_code == 401


@check("token-prefix-compare")
def _(a: Api, b: Api) -> bool:
    return status_with(a, (PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret + "x")).status_code == 200


@check("cross-account-403")
def _(a: Api, b: Api) -> bool:
    return b.get(f"{CONFIGS}/{a.create()}").status_code == 403


@check("list-ignores-account-with-filter")
def _(a: Api, b: Api) -> bool:
    a.create(memoryStoreId=store_filter(30))
    return len(b.get(CONFIGS, params={"memoryStoreId": store_filter(30)}).json()["configurations"]) > 0


@check("error-echoes-credentials")
def _(a: Api, b: Api) -> bool:
    r = status_with(a, (PRIMARY_ACCOUNT.username, "wrong-secret-4711"))
    return r.status_code == 401 and "wrong-secret-4711" in r.text


# -- operations --------------------------------------------------------------------------------


def stale_write(a: Api) -> tuple[str, dict[str, object]]:
    """A PATCH with If-Match "1" accepted while an earlier PATCH is still pending: it goes stale.

    Returns (configuration id, the conditional PATCH's final operation). Retried a few times in
    case the first PATCH applied before the second was accepted (then the second is a plain 412).
    """
    for _ in range(10):
        config_id = a.create()
        first = a.patch(f"{CONFIGS}/{config_id}", json={"description": "first"})
        second = a.patch(f"{CONFIGS}/{config_id}", json={"description": "second"}, headers={"If-Match": '"1"'})
        a.wait(first)
        if second.status_code == 202:
            return config_id, a.wait(second)
    raise AssertionError("could not make a conditional write stale before it applied")


@check("async-validation")
def _(a: Api, b: Api) -> bool:
    r = a.patch(f"{CONFIGS}/{a.create()}", json={"description": 5})
    return r.status_code == 202 and a.wait(r)["status"] == "FAILED"


@check("location-differs-from-status-url")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    return r.headers["location"] != r.json()["statusUrl"]


@check("create-id-mismatch")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    assert a.wait(r)["status"] == "COMPLETED"
    return a.get(f"{CONFIGS}/{r.json()['related']['configurationId']}").status_code == 404


@check("operation-status-url-relative")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    return a.wait(r)["statusUrl"] != r.json()["statusUrl"]


@check("completed-at-while-pending")
def _(a: Api, b: Api) -> bool:
    for _ in range(20):
        op = a.get(a.post(CONFIGS, json=valid_body()).json()["statusUrl"]).json()
        if op["status"] == "PENDING":
            return "completedAt" in op
    raise AssertionError("never saw a PENDING operation")


@check("terminal-status-flips")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    assert a.wait(r)["status"] == "COMPLETED"
    return any(a.get(r.headers["location"]).json()["status"] == "PENDING" for _ in range(3))


@check("failed-op-error-body")
def _(a: Api, b: Api) -> bool:
    _, op = stale_write(a)
    assert op["status"] == "FAILED", op
    return set(op["error"]) != {"type", "title", "status", "detail"}  # type: ignore[arg-type]


@check("foreign-operation-visible")
def _(a: Api, b: Api) -> bool:
    return b.get(a.post(CONFIGS, json=valid_body()).json()["statusUrl"]).status_code == 200


@check("second-delete-accepted")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    assert a.write_and_wait("DELETE", config_id)["status"] == "COMPLETED"
    return a.delete(f"{CONFIGS}/{config_id}").status_code == 202


@check("failed-op-bumps-version")
def _(a: Api, b: Api) -> bool:
    config_id, op = stale_write(a)
    assert op["status"] == "FAILED", op
    return a.get_config(config_id)["version"] == 3


# -- idempotency ---------------------------------------------------------------------------------


@check("duplicate-key-header-first-wins")
def _(a: Api, b: Api) -> bool:
    headers = [("Idempotency-Key", new_key()), ("Idempotency-Key", new_key())]
    return a.post(CONFIGS, json=valid_body(), headers=headers).status_code == 202


@check("lenient-key-format")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": new_key() + "0"}).status_code == 202


@check("idempotency-key-case-insensitive")
def _(a: Api, b: Api) -> bool:
    key = "abcdef01-2345-4678-9abc-def012345678"
    upper = a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key.upper()})
    lower = a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    return upper.headers["operation-id"] == lower.headers.get("operation-id")


@check("replay-after-delete-404")
def _(a: Api, b: Api) -> bool:
    config_id, key = a.create(), new_key()
    a.wait(a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key}))
    a.write_and_wait("DELETE", config_id)
    return a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key}).status_code == 404


@check("fingerprint-ignores-if-match")
def _(a: Api, b: Api) -> bool:
    config_id, key = a.create(), new_key()
    a.wait(a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key, "If-Match": '"1"'}))
    again = a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"Idempotency-Key": key, "If-Match": '"2"'})
    return again.status_code == 202


@check("idempotency-stores-4xx")
def _(a: Api, b: Api) -> bool:
    key = new_key()
    assert a.post(CONFIGS, json=valid_body(unknownField=1), headers={"Idempotency-Key": key}).status_code == 400
    return a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key}).status_code == 422


@check("idempotency-key-race")
def _(a: Api, b: Api) -> bool:
    key, n = new_key(), 6
    barrier = threading.Barrier(n)

    def send(_: int) -> httpx.Response:
        barrier.wait(timeout=10)
        return a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=n) as pool:
        responses = list(pool.map(send, range(n)))
    return len({r.headers.get("operation-id") for r in responses if r.status_code == 202}) > 1


@check("idempotency-keys-global")
def _(a: Api, b: Api) -> bool:
    key = new_key()
    first = a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    second = b.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
    return first.headers["operation-id"] == second.headers.get("operation-id")


@check("dedupe-without-key")
def _(a: Api, b: Api) -> bool:
    body = valid_body(description="no key")
    return a.post(CONFIGS, json=body).headers["operation-id"] == a.post(CONFIGS, json=body).headers["operation-id"]


# -- versions ------------------------------------------------------------------------------------


def update_in_a_later_second(a: Api) -> tuple[dict[str, object], dict[str, object]]:
    """(representation after create, after a PATCH applied in a later second): waits up to 1 s."""
    config_id = a.create()
    before = a.get_config(config_id)
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    a.write_and_wait("PATCH", config_id, json={"description": "later"})
    return before, a.get_config(config_id)


@check("rejected-write-bumps-version")
def _(a: Api, b: Api) -> bool:
    config_id = a.create()
    assert a.patch(f"{CONFIGS}/{config_id}", json={}, headers={"If-Match": '"9"'}).status_code == 412
    return a.get_config(config_id)["version"] != 1


@check("updated-at-not-bumped")
def _(a: Api, b: Api) -> bool:
    before, after = update_in_a_later_second(a)
    return after["updatedAt"] == before["updatedAt"]


@check("created-at-changes-on-update")
def _(a: Api, b: Api) -> bool:
    before, after = update_in_a_later_second(a)
    return after["createdAt"] != before["createdAt"]


@check("weak-etag")
def _(a: Api, b: Api) -> bool:
    return a.get(f"{CONFIGS}/{a.create()}").headers["etag"].startswith("W/")


@check("weak-etag-matches")
def _(a: Api, b: Api) -> bool:
    return a.patch(f"{CONFIGS}/{a.create()}", json={}, headers={"If-Match": 'W/"1"'}).status_code == 202


@check("if-match-unquoted-accepted")
def _(a: Api, b: Api) -> bool:
    return a.patch(f"{CONFIGS}/{a.create()}", json={}, headers={"If-Match": "1"}).status_code == 202


@check("post-honours-if-match")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(), headers={"If-Match": '"1"'}).status_code == 412


@check("stale-apply-not-rechecked")
def _(a: Api, b: Api) -> bool:
    config_id, op = stale_write(a)
    return op["status"] == "COMPLETED" and a.get_config(config_id)["version"] == 3


@check("stale-apply-fails-409")
def _(a: Api, b: Api) -> bool:
    _, op = stale_write(a)
    return op["status"] == "FAILED" and op["error"]["status"] == 409  # type: ignore[index]


# -- pagination ----------------------------------------------------------------------------------


def page(a: Api, store: int, **params: object) -> httpx.Response:
    return a.get(CONFIGS, params={"memoryStoreId": store_filter(store), **params})


@check("empty-next-token")
def _(a: Api, b: Api) -> bool:
    return page(a, 31).json()["meta"].get("nextToken") == ""


@check("meta-page-size-requested")
def _(a: Api, b: Api) -> bool:
    return page(a, 32, pageSize=7).json()["meta"]["pageSize"] == 7


@check("newest-first")
def _(a: Api, b: Api) -> bool:
    created = create_many(a, 3, memoryStoreId=store_filter(33))
    return [c["id"] for c in page(a, 33).json()["configurations"]] == created[::-1]


@check("token-bound-to-page-size")
def _(a: Api, b: Api) -> bool:
    create_many(a, 3, memoryStoreId=store_filter(34))
    token = page(a, 34, pageSize=1).json()["meta"]["nextToken"]
    return page(a, 34, pageSize=2, pageToken=token).status_code == 400


@check("foreign-token-accepted")
def _(a: Api, b: Api) -> bool:
    create_many(b, 2, memoryStoreId=store_filter(35))
    token = page(b, 35, pageSize=1).json()["meta"]["nextToken"]
    return page(a, 35, pageSize=1, pageToken=token).status_code == 200


@check("wrong-filter-token-accepted")
def _(a: Api, b: Api) -> bool:
    create_many(a, 2, memoryStoreId=store_filter(36))
    token = page(a, 36, pageSize=1).json()["meta"]["nextToken"]
    return page(a, 37, pageSize=1, pageToken=token).status_code == 200


@check("previous-token-off-by-one")
def _(a: Api, b: Api) -> bool:
    create_many(a, 3, memoryStoreId=store_filter(38))
    first = page(a, 38, pageSize=1).json()
    second = page(a, 38, pageSize=1, pageToken=first["meta"]["nextToken"]).json()
    back = page(a, 38, pageSize=1, pageToken=second["meta"]["previousToken"]).json()
    return back["configurations"] != first["configurations"]


# -- exact bounds ------------------------------------------------------------------------------


def post_raw(a: Api, content: bytes, content_type: str = "application/json") -> httpx.Response:
    return a.post(CONFIGS, content=content, headers={"Content-Type": content_type})


@check("body-limit-inclusive")
def _(a: Api, b: Api) -> bool:
    raw = json.dumps(valid_body()).encode()
    exactly_the_limit = raw + b" " * (256 * 1024 - len(raw))  # trailing whitespace is valid JSON
    return post_raw(a, exactly_the_limit).status_code == 413


@check("intelligence-ids-limit-exclusive")
def _(a: Api, b: Api) -> bool:
    five = [f"intelligence-{i}" for i in range(5)]
    return a.post(CONFIGS, json=valid_body(intelligenceConfigurationIds=five)).status_code == 400


@check("put-status-callbacks-unbounded")
def _(a: Api, b: Api) -> bool:
    three = [{"url": f"https://example.com/callbacks/{i}"} for i in range(3)]
    r = a.put(f"{CONFIGS}/{a.create()}", json=valid_body(channelSettings={}, statusCallbacks=three))
    return r.status_code == 202


@check("description-length-utf16")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(description="a" * 511 + "\U0001f600")).status_code == 400


# -- near misses of a pattern, format or enum ----------------------------------------------------


@check("grouping-type-case-insensitive")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(conversationGroupingType="group_by_profile")).status_code == 202


@check("display-name-unanchored-on-put")
def _(a: Api, b: Api) -> bool:
    r = a.put(f"{CONFIGS}/{a.create()}", json=valid_body(displayName="Support!", channelSettings={}))
    return r.status_code == 202


@check("callback-url-relative-accepted")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(statusCallbacks=[{"url": "/callbacks"}])).status_code == 202


@check("idempotency-key-uuid-parse")
def _(a: Api, b: Api) -> bool:
    braced = "{" + new_key() + "}"
    return a.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": braced}).status_code == 202


# -- hostile structure and text ------------------------------------------------------------------


@check("recursive-body-scan")
def _(a: Api, b: Api) -> bool:
    depth = 800  # json.loads takes it; a recursive walk with two frames per level does not
    raw = json.dumps(valid_body())[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    return post_raw(a, raw.encode()).status_code >= 500


@check("description-cut-at-nul")
def _(a: Api, b: Api) -> bool:
    return a.get_config(a.create(description="before\u0000after"))["description"] == "before"


@check("metadata-non-bmp-replaced")
def _(a: Api, b: Api) -> bool:
    rule = {"from": "*", "to": "*", "metadata": {"mood": "\U0001f600"}}
    got = a.get_config(a.create(channelSettings={"SMS": {"captureRules": [rule]}}))
    return got["channelSettings"]["SMS"]["captureRules"][0]["metadata"]["mood"] != "\U0001f600"


@check("error-detail-header")
def _(a: Api, b: Api) -> bool:
    return a.post(CONFIGS, json=valid_body(поле=1)).status_code >= 500


# -- media types ---------------------------------------------------------------------------------


@check("content-type-case-sensitive")
def _(a: Api, b: Api) -> bool:
    return post_raw(a, json.dumps(valid_body()).encode(), "Application/JSON").status_code == 415


@check("media-type-not-stripped")
def _(a: Api, b: Api) -> bool:
    return post_raw(a, json.dumps(valid_body()).encode(), "application/json ; charset=utf-8").status_code == 415


@check("json-media-type-prefix-match")
def _(a: Api, b: Api) -> bool:
    return post_raw(a, json.dumps(valid_body()).encode(), "application/jsonx").status_code == 202


# -- exactness of filters and look-ups -----------------------------------------------------------


@check("memory-store-filter-nocase")
def _(a: Api, b: Api) -> bool:
    a.create(memoryStoreId=store_filter(40).upper())
    return len(page(a, 40).json()["configurations"]) > 0


@check("config-id-prefix-lookup")
def _(a: Api, b: Api) -> bool:
    return a.get(f"{CONFIGS}/{a.create()[:-1]}").status_code == 200


@check("operation-id-case-insensitive")
def _(a: Api, b: Api) -> bool:
    r = a.post(CONFIGS, json=valid_body())
    return a.get(f"{OPS}/{r.headers['operation-id'].upper()}").status_code == 200


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


SECTIONS_WITH_A_FAULT_PER_CLAUSE = ("AUTH", "OPS", "IDEM", "VER", "PAGE")
CLASSES_OF_INPUT = ("ERR-400", "ERR-413", "ERR-415", "ERR-EXACT", "GEN-NO-5XX", "RES-ROUNDTRIP")


def test_every_clause_of_the_five_sections_is_broken_by_some_fault() -> None:
    """The mutation gate then proves, clause by clause, that the suites notice it broken (a fault
    counts as caught only with a failure naming its own clause)."""
    broken = {fault.clause for fault in FAULTS.values()}
    wanted = [cid for cid in CLAUSES if cid.split("-", 1)[0] in SECTIONS_WITH_A_FAULT_PER_CLAUSE]
    assert [cid for cid in wanted if cid not in broken] == [], "clauses no deliberate fault breaks"


def test_every_input_class_has_realistic_faults() -> None:
    """Bounds, near misses, hostile text, media types and exactness each break some clause of these
    at least three times over the catalogue (the edges suite must catch each)."""
    counts = {clause: sum(1 for f in FAULTS.values() if f.clause == clause) for clause in CLASSES_OF_INPUT}
    assert sum(counts.values()) >= 15 and all(counts[c] >= 1 for c in CLASSES_OF_INPUT), counts
