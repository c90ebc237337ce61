"""Idempotency-Key scenarios: replays, mismatches, malformed keys, races, scope.

Clauses checked: IDEM-FORMAT, IDEM-REPLAY, IDEM-MISMATCH, IDEM-4XX, IDEM-CONCURRENT, IDEM-SCOPE,
IDEM-NO-KEY, VER-NOCHANGE (replays and rejected requests change nothing), ERR-BODY (the body of
every rejection), OPS-202 (the 202s the scenarios rely on).

"Nothing was done" is checked twice: at once (no new configuration in the test's own
`memoryStoreId`, `version` unchanged) and after a later settled write, whose `version` must be
exactly one more than before the rejected or replayed requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import CONFIGURATIONS, ApiClient
from orchestrator_contract.scenarios.expectations import expect_error
from orchestrator_contract.scenarios.polling import accepted_operation, operation_path
from orchestrator_contract.scenarios.steps import (
    Scenario,
    created_id,
    distinct_operations,
    new_key,
    operation_id,
    race,
    settle_all,
)
from orchestrator_contract.spec_data.strategies import create_bodies

# -- helpers ----------------------------------------------------------------------------------


def probe_version(scenario: Scenario, cid: str, before: int, after: str) -> None:
    """One settled empty PATCH must move `version` from `before` to exactly `before + 1`.

    Catches a rejected or replayed request that the server applied behind a fresh operation.
    """
    scenario.settle(scenario.api.patch(cid, {}))
    rep = scenario.read(cid)
    expect(
        rep.get("version") == before + 1,
        Clause.VER_NOCHANGE,
        f"{after}, then 1 applied empty PATCH: version went {before} -> {rep.get('version')} (expected {before + 1})",
    )


def expect_replay(original: httpx.Response, replay: httpx.Response, what: str) -> None:
    expect(
        replay.status_code == 202,
        Clause.IDEM_REPLAY,
        f"{what}: expected the original 202 again, got {replay.status_code}: {replay.text[:300]}",
    )
    expect(
        operation_id(replay) == operation_id(original),
        Clause.IDEM_REPLAY,
        f"{what}: Operation-Id {operation_id(replay)!r} differs from the original {operation_id(original)!r}",
    )
    expect(
        replay.content == original.content,
        Clause.IDEM_REPLAY,
        f"{what}: body is not the original byte for byte\n  original: {original.text!r}\n  replay:   {replay.text!r}",
    )


def reordered(value: Any) -> Any:
    """The same JSON value with every object's members in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def reformatted(body: dict[str, Any]) -> bytes:
    """JSON-equal to `body`, but with other member order, whitespace and escapes."""
    return json.dumps(reordered(body), indent=3, ensure_ascii=True, separators=(" ,  ", " : ")).encode()


# -- replays ----------------------------------------------------------------------------------


@pytest.mark.idempotency
def test_replayed_create_returns_the_original_202_and_creates_nothing(scenario: Scenario) -> None:
    """Replays (also JSON-equal bodies with other member order and whitespace) change nothing;
    the same key with another body is 422 and creates nothing."""
    api, marks = scenario.api, scenario.marks

    @scenario.profile.scenario_settings(share=3)
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        store_tag, store = scenario.store("idem-replay")
        body = data.draw(create_bodies(marks, "idem replay", store_tag), label="body")
        key = new_key()
        original = scenario.create(body, key=key)
        cid = original.id

        expect_replay(original.response, api.create(body, key=key), "POST replayed with the same key and body")
        same_json = api.request(
            "POST",
            CONFIGURATIONS,
            content=reformatted(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        expect_replay(
            original.response,
            same_json,
            "POST with the same key and a JSON-equal body (other member order, whitespace)",
        )
        ids = scenario.store_ids(store)
        expect(
            ids == [cid],
            Clause.IDEM_REPLAY,
            f"after 1 create and 2 replays the test's store holds {len(ids)} configurations {ids}, expected only {cid}",
        )
        scenario.expect_version(cid, 1, Clause.VER_NOCHANGE, "after a create and 2 replays")

        other = data.draw(create_bodies(marks, "idem replay", store_tag), label="other body")
        if other == body:
            other = {**body, "description": "x" if body.get("description") != "x" else "y"}
        expect_error(api.create(other, key=key), 422, Clause.IDEM_MISMATCH, "POST with a used key and another body")
        ids = scenario.store_ids(store)
        expect(
            ids == [cid],
            Clause.IDEM_MISMATCH,
            f"after a 422 for a used key with another body the store holds {len(ids)} configurations {ids}, "
            f"expected only {cid}",
        )

    example()


@pytest.mark.idempotency
def test_replays_after_update_and_delete_return_the_original_and_do_nothing(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, store = scenario.store("idem-later")
    k_create, k_put, k_patch, k_delete = (new_key() for _ in range(4))
    body = scenario.body("idem later", store_tag)
    created = scenario.create(body, key=k_create)
    create, cid = created.response, created.id
    put_body = scenario.put_body("idem later", store_tag, "replaced")
    put = api.replace(cid, put_body, key=k_put)
    scenario.settle(put)
    patch_body = {"description": "patched"}
    patch = api.patch(cid, patch_body, key=k_patch)
    scenario.settle(patch)
    scenario.expect_version(cid, 3, Clause.VER_ARITH, "after a create, a PUT and a PATCH")

    expect_replay(create, api.create(body, key=k_create), "POST replayed after the configuration was updated")
    expect_replay(put, api.replace(cid, put_body, key=k_put), "PUT replayed after a later PATCH")
    expect_replay(patch, api.patch(cid, patch_body, key=k_patch), "PATCH replayed")
    ids = scenario.store_ids(store)
    expect(ids == [cid], Clause.IDEM_REPLAY, f"after replays the test's store holds {ids}, expected only {cid}")
    rep = scenario.expect_version(cid, 3, Clause.VER_NOCHANGE, "after replaying the create, the PUT and the PATCH")
    expect(
        rep.get("description") == "patched",
        Clause.IDEM_REPLAY,
        f"the replayed PUT was applied again: description is {rep.get('description')!r}, expected 'patched'",
    )
    probe_version(scenario, cid, 3, "after replaying the create, the PUT and the PATCH")

    delete = api.delete(cid, key=k_delete)
    scenario.settle(delete)
    expect(api.fetch(cid).status_code == 404, Clause.OPS_DELETE, f"GET {cid} after its completed DELETE is not 404")
    expect_replay(create, api.create(body, key=k_create), "POST replayed after the configuration was deleted")
    expect_replay(patch, api.patch(cid, patch_body, key=k_patch), "PATCH replayed after the configuration was deleted")
    expect_replay(delete, api.delete(cid, key=k_delete), "DELETE replayed after it completed")
    ids = scenario.store_ids(store)
    expect(
        ids == [],
        Clause.IDEM_REPLAY,
        f"a replayed create after the delete re-created a configuration: store holds {ids}",
    )
    expect(
        api.fetch(cid).status_code == 404,
        Clause.IDEM_REPLAY,
        f"{cid} exists again after replays of its create and PATCH",
    )
    expect_error(api.delete(cid), 404, Clause.OPS_DELETE, "a new DELETE (no key) of a deleted configuration")


# -- mismatches -------------------------------------------------------------------------------


@pytest.mark.idempotency
def test_same_key_with_another_request_is_422_and_does_nothing(scenario: Scenario) -> None:
    """Each mismatching request below would otherwise be valid, so 422 is the only answer."""
    api = scenario.api
    store_tag, store = scenario.store("idem-mismatch")
    body_a = scenario.body("idem mismatch a", store_tag)
    body_b = scenario.body("idem mismatch b", store_tag)
    k_a, k_b, k_p = new_key(), new_key(), new_key()
    created = [api.create(body_a, key=k_a), api.create(body_b, key=k_b)]
    a, b = (created_id(r) for r in created)
    scenario.settle_all(created)
    patch_body = {"description": "patched once"}
    original_patch = api.patch(a, patch_body, key=k_p, if_match='"1"')
    scenario.settle(original_patch)

    mismatches: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("POST with a used key and another body", lambda: api.create({**body_a, "description": "changed"}, key=k_a)),
        (
            "POST with a used key, the same body and an If-Match",
            lambda: api.create(body_a, key=k_a, headers={"If-Match": '"1"'}),
        ),
        ("PATCH with the key of a POST (other method and path)", lambda: api.patch(a, {}, key=k_a)),
        (
            "PATCH of another configuration with a used key (other path)",
            lambda: api.patch(b, patch_body, key=k_p, if_match='"1"'),
        ),
        ("PATCH with a used key and another If-Match", lambda: api.patch(a, patch_body, key=k_p, if_match='"2"')),
        ("PATCH with a used key and no If-Match", lambda: api.patch(a, patch_body, key=k_p)),
        (
            "PUT with the key of a PATCH (other method)",
            lambda: api.replace(a, scenario.put_body("idem mismatch a", store_tag, "put"), key=k_p),
        ),
        ("DELETE with the key of a PATCH (other method)", lambda: api.delete(a, key=k_p)),
        ("POST with the key of a PATCH (other method and path)", lambda: api.create(body_a, key=k_p)),
    ]
    for what, send in mismatches:
        expect_error(send(), 422, Clause.IDEM_MISMATCH, what)

    done = f"after {len(mismatches)} requests answered 422"
    ids = scenario.store_ids(store)
    expect(
        ids == sorted([a, b]),
        Clause.IDEM_MISMATCH,
        f"{done} the test's store holds {ids}, expected only {sorted([a, b])}",
    )
    rep_a = scenario.expect_version(a, 2, Clause.IDEM_MISMATCH, done)
    expect(
        rep_a.get("description") == "patched once",
        Clause.IDEM_MISMATCH,
        f"{done} description of {a} is {rep_a.get('description')!r}, expected 'patched once'",
    )
    scenario.expect_version(b, 1, Clause.IDEM_MISMATCH, done)
    expect_replay(
        original_patch,
        api.patch(a, patch_body, key=k_p, if_match='"1"'),
        f"the original PATCH replayed {done} (a 4xx must not replace the stored response)",
    )
    probe_version(scenario, a, 2, done)
    probe_version(scenario, b, 1, done)


# -- malformed keys ---------------------------------------------------------------------------

MALFORMED_KEYS: dict[str, Callable[[str], str]] = {
    "not UUID-shaped": lambda u: "not-a-uuid",
    "too short": lambda u: "1234",
    "one character short": lambda u: u[:-1],
    "one extra character": lambda u: u + "0",
    "in braces": lambda u: "{" + u + "}",
    "without hyphens": lambda u: u.replace("-", ""),
    "with a urn prefix": lambda u: "urn:uuid:" + u,
    "with a non-hex digit": lambda u: "g" + u[1:],
    "two keys in one value": lambda u: f"{u}, {u}",
}


@pytest.mark.idempotency
def test_malformed_or_repeated_keys_are_400_and_do_nothing(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, store = scenario.store("idem-format")
    body = scenario.body("idem format", store_tag)
    cid = scenario.create(body).id
    put_body = scenario.put_body("idem format", store_tag, "must not apply")
    senders: dict[str, Callable[[list[tuple[str, str]]], httpx.Response]] = {
        "POST": lambda h: api.request("POST", CONFIGURATIONS, json=body, headers=h),
        "PUT": lambda h: api.request("PUT", f"{CONFIGURATIONS}/{cid}", json=put_body, headers=h),
        "PATCH": lambda h: api.request(
            "PATCH", f"{CONFIGURATIONS}/{cid}", json={"description": "must not apply"}, headers=h
        ),
        "DELETE": lambda h: api.request("DELETE", f"{CONFIGURATIONS}/{cid}", headers=h),
    }
    sent = 0
    for method, send in senders.items():
        for form, make in MALFORMED_KEYS.items():
            value = make(new_key())
            expect_error(
                send([("Idempotency-Key", value)]),
                400,
                Clause.IDEM_FORMAT,
                f"{method} with an Idempotency-Key {form} ({value!r})",
            )
            sent += 1
        k1, k2 = new_key(), new_key()
        for what, headers in (
            ("the same key twice", [("Idempotency-Key", k1), ("Idempotency-Key", k1)]),
            ("two different keys", [("Idempotency-Key", k1), ("Idempotency-Key", k2)]),
        ):
            expect_error(send(headers), 400, Clause.IDEM_FORMAT, f"{method} with two Idempotency-Key headers ({what})")
            sent += 1

    done = f"after {sent} requests answered 400 for their Idempotency-Key"
    ids = scenario.store_ids(store)
    expect(ids == [cid], Clause.IDEM_FORMAT, f"{done} the test's store holds {ids}, expected only {cid}")
    rep = scenario.expect_version(cid, 1, Clause.VER_NOCHANGE, done)
    expect(
        rep.get("description") == body["description"],
        Clause.VER_NOCHANGE,
        f"{done} description is {rep.get('description')!r}, expected {body['description']!r}",
    )

    # The key sent twice was not stored by the 400: alone it is processed.
    retried = api.create(body, key=k1)
    new_id = created_id(retried)
    scenario.settle(retried)
    ids = scenario.store_ids(store)
    expect(
        ids == sorted([cid, new_id]),
        Clause.IDEM_4XX,
        f"a POST with a key first sent twice (400) was not processed: the store holds {ids}",
    )


# -- 4xx are not stored ------------------------------------------------------------------------


@pytest.mark.idempotency
def test_a_request_answered_4xx_is_not_stored(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, store = scenario.store("idem-4xx")
    body = scenario.body("idem 4xx", store_tag)
    k_post, k_stale, k_type, k_path = (new_key() for _ in range(4))

    expect_error(
        api.create({**body, "unknownField": True}, key=k_post), 400, Clause.ERR_400, "POST with an unknown field"
    )
    corrected = api.create(body, key=k_post)
    cid = scenario.accept(corrected, Clause.IDEM_4XX, "the corrected POST with the key of a 400")
    expect(scenario.store_ids(store) == [cid], Clause.IDEM_4XX, f"the corrected POST did not create {cid} in the store")
    expect_replay(corrected, api.create(body, key=k_post), "the corrected POST replayed")

    steps: list[tuple[str, Callable[[], httpx.Response], int, Callable[[], httpx.Response]]] = [
        (
            "PATCH with a stale If-Match",
            lambda: api.patch(cid, {"description": "v2"}, key=k_stale, if_match='"0"'),
            412,
            lambda: api.patch(cid, {"description": "v2"}, key=k_stale, if_match='"1"'),
        ),
        (
            "PATCH with a wrongly typed field",
            lambda: api.patch(cid, {"description": 2}, key=k_type),
            400,
            lambda: api.patch(cid, {"description": "v3"}, key=k_type),
        ),
    ]
    version = 1
    for what, reject, status, correct in steps:
        expect_error(reject(), status, Clause.VER_IF_MATCH if status == 412 else Clause.ERR_400, what)
        scenario.accept(correct(), Clause.IDEM_4XX, f"corrected retry of a {what} ({status}) with the same key")
        version += 1
        scenario.expect_version(cid, version, Clause.IDEM_4XX, f"after the corrected retry of a {what}")

    # A 404 (unknown path) is not stored either: the same key on the real path is processed.
    missing = api.patch(f"{cid}0", {"description": "v4"}, key=k_path)
    expect(400 <= missing.status_code < 500, Clause.IDEM_4XX, f"PATCH of an unknown id answered {missing.status_code}")
    scenario.accept(
        api.patch(cid, {"description": "v4"}, key=k_path),
        Clause.IDEM_4XX,
        f"PATCH with the key of a {missing.status_code} on another path",
    )
    scenario.expect_version(
        cid, version + 1, Clause.IDEM_4XX, f"after a PATCH reusing the key of a {missing.status_code}"
    )


# -- races ------------------------------------------------------------------------------------


def check_one_operation(responses: Sequence[httpx.Response], what: str, outcome: str) -> httpx.Response:
    """All answers are 202 or 409; the 202s are one operation, byte for byte the same."""
    statuses = [r.status_code for r in responses]
    expect(
        all(s in (202, 409) for s in statuses),
        Clause.IDEM_CONCURRENT,
        f"{what}: statuses {statuses}, only 202 or 409 allowed",
    )
    for r in responses:
        if r.status_code == 409:
            expect_error(r, 409, Clause.IDEM_CONCURRENT, f"{what}: a 409")
    accepted = [r for r in responses if r.status_code == 202]
    expect(accepted, Clause.IDEM_CONCURRENT, f"{what}: none was accepted ({statuses})")
    ops = sorted({operation_id(r) for r in accepted})
    expect(len(ops) == 1, Clause.IDEM_CONCURRENT, f"{what}: {len(ops)} operations were created {ops}; {outcome}")
    expect(
        all(r.content == accepted[0].content for r in accepted),
        Clause.IDEM_CONCURRENT,
        f"{what}: the 202 bodies differ: {sorted({r.text for r in accepted})}",
    )
    return accepted[0]


@pytest.mark.idempotency
def test_concurrent_identical_creates_with_one_key_make_one_configuration(scenario: Scenario) -> None:
    n = max(2, scenario.profile.concurrency)
    store_tag, store = scenario.store("idem-race")
    body = scenario.body("idem race", store_tag)
    key = new_key()
    responses = race(n, lambda _: scenario.api.create(body, key=key))
    scenario.wait_all(distinct_operations(responses))
    ids = scenario.store_ids(store)
    what = f"{n} concurrent identical POSTs with one key"
    winner = check_one_operation(responses, what, f"the store holds {len(ids)} configurations")
    cid = created_id(winner)
    scenario.settle(winner)
    expect(ids == [cid], Clause.IDEM_CONCURRENT, f"{what}: after settling the store holds {ids}, expected only {cid}")


@pytest.mark.idempotency
def test_concurrent_identical_patches_with_one_key_apply_once(scenario: Scenario) -> None:
    n = max(2, scenario.profile.concurrency)
    store_tag, _ = scenario.store("idem-race-patch")
    cid = scenario.create(scenario.body("idem race patch", store_tag)).id
    key = new_key()
    responses = race(n, lambda _: scenario.api.patch(cid, {"description": "raced"}, key=key))
    scenario.wait_all(distinct_operations(responses))
    version = scenario.read(cid).get("version")
    what = f"{n} concurrent identical PATCHes with one key"
    scenario.settle(check_one_operation(responses, what, f"version went 1 -> {version}"))
    expect(version == 2, Clause.IDEM_CONCURRENT, f"{what}: version went 1 -> {version}, expected 2")


# -- scope ------------------------------------------------------------------------------------


@pytest.mark.idempotency
def test_keys_are_exact_strings_upper_and_lower_case_are_different_keys(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, store = scenario.store("idem-case")
    body = scenario.body("idem case", store_tag)
    key = new_key()
    while key.upper() == key:  # a UUID without hex letters has a single case
        key = new_key()
    upper = api.create(body, key=key.upper())
    lower = api.create(body, key=key.lower())
    expect(
        lower.status_code == 202,
        Clause.IDEM_FORMAT,
        f"POST with the lower-case form of an upper-case key answered {lower.status_code}: {lower.text[:200]}",
    )
    expect(
        operation_id(upper) != operation_id(lower),
        Clause.IDEM_REPLAY,
        f"keys {key.upper()!r} and {key.lower()!r} are different strings, "
        f"but the second POST replayed operation {operation_id(upper)!r}",
    )
    ids_made = sorted({created_id(upper), created_id(lower)})
    scenario.settle_all([upper, lower])
    ids = scenario.store_ids(store)
    expect(
        len(ids_made) == 2 and ids == ids_made,
        Clause.IDEM_REPLAY,
        f"POSTs with an upper-case and a lower-case key must both create: store holds {ids}",
    )
    expect_replay(upper, api.create(body, key=key.upper()), "POST replayed with the upper-case key")


@pytest.mark.idempotency
@pytest.mark.isolation
def test_two_accounts_using_one_key_are_independent(scenario: Scenario, api2: ApiClient) -> None:
    api = scenario.api
    store_tag, store = scenario.store("idem-scope")
    body = scenario.body("idem scope", store_tag)
    key = new_key()
    first, second = api.create(body, key=key), api2.create(body, key=key)
    expect(
        second.status_code == 202,
        Clause.IDEM_SCOPE,
        f"the second account's POST with a key the first used answered {second.status_code}: {second.text[:200]}",
    )
    cid1, cid2 = created_id(first), created_id(second)
    own = api2.request("GET", operation_path(accepted_operation(second)[1]))
    expect(
        own.status_code == 200,
        Clause.IDEM_SCOPE,
        f"the second account's 202 for a key the first account used names an operation the second account "
        f"cannot read ({own.status_code}): it replayed the first account's request",
    )
    settle_all([(api, first), (api2, second)], scenario.poll)
    ids1, ids2 = scenario.store_ids(store), scenario.store_ids(store, api2)
    expect(ids1 == [cid1], Clause.IDEM_SCOPE, f"the first account's store holds {ids1}, expected only {cid1}")
    expect(
        ids2 == [cid2],
        Clause.IDEM_SCOPE,
        f"the second account's POST with the first's key was not processed on its own: its store holds {ids2}, "
        f"its 202 named {cid2} (the first account's configuration is {cid1})",
    )
    expect_replay(first, api.create(body, key=key), "the first account's POST replayed after the second used its key")


@pytest.mark.idempotency
def test_requests_without_a_key_are_never_deduplicated(scenario: Scenario) -> None:
    store_tag, store = scenario.store("idem-nokey")
    body = scenario.body("idem nokey", store_tag)
    responses = [scenario.api.create(body), scenario.api.create(body)]
    made = sorted({created_id(r) for r in responses})
    scenario.settle_all(responses)
    ids = scenario.store_ids(store)
    expect(
        len(made) == 2 and ids == made,
        Clause.IDEM_NO_KEY,
        f"two identical POSTs without a key must create two configurations: 202s named {made}, store holds {ids}",
    )
