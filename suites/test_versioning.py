"""Versions, timestamps, ETag and If-Match (optimistic locking).

Clauses checked: VER-ARITH, VER-NOCHANGE, VER-TIMES, VER-ETAG, VER-IF-MATCH, VER-POST-IF-MATCH,
VER-STALE-APPLY, VER-CONCURRENT, RES-EMPTY-PATCH, OPS-FAILED-NOOP, OPS-ERROR (the problem details of
the operations that FAILED as stale), RES-TIMESTAMP (parsing the timestamps the checks compare),
ERR-BODY (the body of every rejection).

Timestamps are compared with the `Date` headers in whole seconds: a write's timestamps lie
between the `Date` of its 202 and the `Date` of a response that shows its effect (the GET after
its operation completed, which is no earlier than the first such response).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.target import RunMarks
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import ApiClient
from orchestrator_contract.scenarios.expectations import expect_error
from orchestrator_contract.scenarios.steps import Scenario, date_of, new_key, parse_timestamp, race
from orchestrator_contract.spec_data.strategies import PATCH, REPLACE, create_bodies, marked, request_bodies

# -- helpers ----------------------------------------------------------------------------------


def expect_etag(response: httpx.Response, version: Any) -> None:
    etag = response.headers.get("ETag")
    expect(
        etag == f'"{version}"',
        Clause.VER_ETAG,
        f"GET of version {version} answered ETag {etag!r}, expected '\"{version}\"'",
    )


def updates(operation_id: str, marks: RunMarks, store_tag: str) -> st.SearchStrategy[dict[str, Any]]:
    """Spec-generated PUT/PATCH bodies kept in the test's store, without a V1 bridge (no 409s)."""

    def prepare(body: Any) -> dict[str, Any]:
        body = marked(body if isinstance(body, dict) else {}, marks, "ver", store_tag=store_tag)
        return {k: v for k, v in body.items() if k != "conversationsV1Bridge"}

    return request_bodies(operation_id).map(prepare)


def without(rep: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in rep.items() if k not in names}


class History:
    """The timestamps of one configuration across its writes, checked at every step."""

    def __init__(self, created: httpx.Response, shown: httpx.Response) -> None:
        rep = shown.json()
        self.created_at = parse_timestamp(rep.get("createdAt"), "createdAt")
        self.updated_at = parse_timestamp(rep.get("updatedAt"), "updatedAt")
        self.version = rep.get("version")
        expect(self.version == 1, Clause.VER_ARITH, f"version after create is {self.version!r}, expected 1")
        self._within("create", created, shown, self.created_at, "createdAt")
        self._within("create", created, shown, self.updated_at, "updatedAt")
        expect(
            self.updated_at >= self.created_at,
            Clause.VER_TIMES,
            f"updatedAt {rep.get('updatedAt')} is before createdAt {rep.get('createdAt')}",
        )
        expect_etag(shown, 1)

    @staticmethod
    def _within(what: str, accepted: httpx.Response, shown: httpx.Response, value: datetime, name: str) -> None:
        low, high = date_of(accepted), date_of(shown)
        expect(
            low <= value <= high,
            Clause.VER_TIMES,
            f"the {what} accepted at {low:%H:%M:%S} and shown at {high:%H:%M:%S} set {name} "
            f"{value:%Y-%m-%dT%H:%M:%SZ}, outside that window",
        )

    def applied(self, what: str, accepted: httpx.Response, shown: httpx.Response, writes: int = 1) -> None:
        """`writes` more writes were applied, the last accepted by `accepted`, shown by `shown`."""
        rep = shown.json()
        before = self.version
        expect(
            rep.get("version") == before + writes,
            Clause.VER_ARITH,
            f"after {writes} applied {what} version went {before} -> {rep.get('version')}, expected {before + writes}",
        )
        created_at = parse_timestamp(rep.get("createdAt"), "createdAt")
        updated_at = parse_timestamp(rep.get("updatedAt"), "updatedAt")
        expect(
            created_at == self.created_at,
            Clause.VER_TIMES,
            f"{what} changed createdAt from {self.created_at:%Y-%m-%dT%H:%M:%SZ} to {rep.get('createdAt')}",
        )
        expect(
            updated_at >= self.updated_at,
            Clause.VER_TIMES,
            f"{what} moved updatedAt backwards: {self.updated_at:%Y-%m-%dT%H:%M:%SZ} -> {rep.get('updatedAt')}",
        )
        self._within(what, accepted, shown, updated_at, "updatedAt")
        expect_etag(shown, rep.get("version"))
        self.version, self.updated_at = rep.get("version"), updated_at


def write(api: ApiClient, method: str, cid: str, body: Any, if_match: str | None = None) -> httpx.Response:
    if method == "PUT":
        return api.replace(cid, body, if_match=if_match)
    if method == "PATCH":
        return api.patch(cid, body, if_match=if_match)
    return api.delete(cid, if_match=if_match)


# -- arithmetic and timestamps ----------------------------------------------------------------


@pytest.mark.versioning
def test_version_and_timestamps_follow_the_applied_writes(scenario: Scenario) -> None:
    """Spec-generated create, PUT and PATCH bodies: +1 per applied write, GETs change nothing."""
    api, marks = scenario.api, scenario.marks

    @scenario.profile.scenario_settings(share=3)
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        store_tag, _ = scenario.store("ver-arith")
        body = data.draw(create_bodies(marks, "ver arith", store_tag), label="create")
        created = scenario.create(body)
        cid = created.id
        history = History(created.response, scenario.fetch(cid))
        methods = data.draw(st.lists(st.sampled_from(["PUT", "PATCH"]), min_size=1, max_size=3), label="writes")
        for method in methods:
            update = data.draw(updates(REPLACE if method == "PUT" else PATCH, marks, store_tag), label=method)
            accepted = write(api, method, cid, update)
            scenario.settle(accepted)
            shown = scenario.fetch(cid)
            history.applied(method, accepted, shown)
            again = scenario.fetch(cid)
            expect(
                again.json() == shown.json(),
                Clause.VER_NOCHANGE,
                f"two GETs in a row differ:\n  {shown.text}\n  {again.text}",
            )
            expect_etag(again, history.version)

    example()


@pytest.mark.versioning
def test_an_empty_patch_is_applied_and_bumps_the_version(scenario: Scenario) -> None:
    store_tag, _ = scenario.store("ver-empty")
    created = scenario.create(scenario.body("ver empty", store_tag))
    cid = created.id
    first = scenario.fetch(cid)
    history = History(created.response, first)
    accepted = scenario.api.patch(cid, {})
    scenario.settle(accepted)
    shown = scenario.fetch(cid)
    expect(
        shown.json().get("version") == 2,
        Clause.RES_EMPTY_PATCH,
        f"after 1 applied empty PATCH version went 1 -> {shown.json().get('version')}",
    )
    history.applied("empty PATCH", accepted, shown)
    expect(
        without(shown.json(), "version", "updatedAt") == without(first.json(), "version", "updatedAt"),
        Clause.RES_EMPTY_PATCH,
        f"an empty PATCH changed fields:\n  before {first.text}\n  after  {shown.text}",
    )


@pytest.mark.versioning
def test_reads_replays_and_rejected_requests_change_nothing(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, _ = scenario.store("ver-nochange")
    key = new_key()
    body = scenario.body("ver nochange", store_tag)
    created = scenario.create(body, key=key)
    cid = created.id
    before = scenario.fetch(cid)

    rejections: list[tuple[str, Callable[[], httpx.Response], int, Clause]] = [
        ("PATCH with a wrongly typed field", lambda: api.patch(cid, {"description": 5}), 400, Clause.ERR_400),
        ("PATCH with a read-only field", lambda: api.patch(cid, {"version": 7}), 400, Clause.ERR_400),
        ("PUT without the required members", lambda: api.replace(cid, {"description": "x"}), 400, Clause.ERR_400),
        (
            "PATCH with a stale If-Match",
            lambda: api.patch(cid, {"description": "stale"}, if_match='"0"'),
            412,
            Clause.VER_IF_MATCH,
        ),
        (
            "PUT with a stale If-Match",
            lambda: api.replace(cid, scenario.put_body("ver put", store_tag, "stale"), if_match='"0"'),
            412,
            Clause.VER_IF_MATCH,
        ),
        ("DELETE with a stale If-Match", lambda: api.delete(cid, if_match='"0"'), 412, Clause.VER_IF_MATCH),
        ("PATCH with the key of the create", lambda: api.patch(cid, {}, key=key), 422, Clause.IDEM_MISMATCH),
    ]
    for what, send, status, clause in rejections:
        expect_error(send(), status, clause, what)
    replay = api.create(body, key=key)
    expect(
        replay.status_code == 202 and replay.content == created.response.content,
        Clause.IDEM_REPLAY,
        f"the create replayed answered {replay.status_code}: {replay.text[:200]}",
    )
    for _ in range(2):
        scenario.fetch(cid)

    after = scenario.fetch(cid)
    done = f"after 3 GETs, a replayed create and {len(rejections)} rejected writes (400, 412, 422)"
    expect(
        after.json() == before.json(),
        Clause.VER_NOCHANGE,
        f"{done} the configuration changed:\n  before {before.text}\n  after  {after.text}",
    )
    expect_etag(after, 1)
    history = History(created.response, before)
    accepted = api.patch(cid, {})
    scenario.settle(accepted)
    history.applied(f"empty PATCH {done}", accepted, scenario.fetch(cid))


@pytest.mark.versioning
def test_an_update_accepted_in_a_later_second_moves_updated_at_forward(scenario: Scenario) -> None:
    """The one test that waits for the server's clock to reach the next whole second (~1 s)."""
    api = scenario.api
    store_tag, _ = scenario.store("ver-clock")
    created = scenario.create(scenario.body("ver clock", store_tag))
    cid = created.id
    history = History(created.response, scenario.fetch(cid))
    previous = history.updated_at
    time.sleep(1.0 - time.time() % 1.0 + 0.005)
    deadline = time.monotonic() + 3.0
    while date_of(api.fetch(cid)) <= previous and time.monotonic() < deadline:  # the server's clock may lag ours
        time.sleep(0.05)
    accepted = api.patch(cid, {"description": "a later second"})
    expect(
        date_of(accepted) > previous,
        Clause.GEN_DATE,
        f"the server's Date did not pass {previous:%H:%M:%S} within 3 s: {accepted.headers.get('Date')}",
    )
    scenario.settle(accepted)
    after = scenario.fetch(cid)
    history.applied("PATCH", accepted, after)
    expect(
        history.updated_at > previous,
        Clause.VER_TIMES,
        f"a PATCH accepted at {date_of(accepted):%H:%M:%S}, a later second than the create's updatedAt "
        f"{previous:%H:%M:%S}, left updatedAt at {after.json().get('updatedAt')}",
    )


# -- ETag and If-Match ------------------------------------------------------------------------

# `{v}` is the current version. Each value must not match it (RFC 9110 strong comparison).
NOT_MATCHING = {
    "a stale tag": '"{p}"',
    "the current tag, weak": 'W/"{v}"',
    "the current version unquoted": "{v}",
    "an unterminated tag": '"{v}',
    "a malformed tag": '"abc',
    "a list whose only match is weak": '"77", W/"{v}"',
}
MATCHING = {
    "the current tag": '"{v}"',
    "a list with the current tag": '"7", "{v}"',
    "*": "*",
}


@pytest.mark.versioning
@pytest.mark.conditional
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_if_match_on_updates(scenario: Scenario, method: str) -> None:
    api = scenario.api
    store_tag, _ = scenario.store(f"ver-ifm-{method.lower()}")
    created = scenario.create(scenario.body("ver if-match", store_tag))
    cid = created.id
    history = History(created.response, scenario.fetch(cid))

    def body(n: int) -> dict[str, Any]:
        text = f"if-match {n}"
        return scenario.put_body("ver put", store_tag, text) if method == "PUT" else {"description": text}

    for n, (label, template) in enumerate(MATCHING.items(), start=1):
        v = history.version
        if_match = template.format(v=v)
        if n > 1:  # from version 2 on there is a stale tag to try
            for bad_label, bad in NOT_MATCHING.items():
                value = bad.format(v=v, p=v - 1)
                expect_error(
                    write(api, method, cid, body(99), value),
                    412,
                    Clause.VER_IF_MATCH,
                    f"{method} with If-Match {bad_label} ({value!r}) at version {v}",
                )
            shown = scenario.fetch(cid)
            expect(
                shown.json().get("version") == v and shown.json().get("description") == f"if-match {n - 1}",
                Clause.VER_IF_MATCH,
                f"after {len(NOT_MATCHING)} {method}s answered 412 the configuration changed: {shown.text[:300]}",
            )
        accepted = write(api, method, cid, body(n), if_match)
        expect(
            accepted.status_code == 202,
            Clause.VER_IF_MATCH,
            f"{method} with If-Match {label} ({if_match!r}) at version {v} answered {accepted.status_code}: "
            f"{accepted.text[:200]}",
        )
        scenario.settle(accepted)
        shown = scenario.fetch(cid)
        history.applied(f"{method} with If-Match {label}", accepted, shown)
        expect(
            shown.json().get("description") == f"if-match {n}",
            Clause.VER_IF_MATCH,
            f"{method} with If-Match {label} completed but description is {shown.json().get('description')!r}",
        )


@pytest.mark.versioning
@pytest.mark.conditional
def test_if_match_on_delete(scenario: Scenario) -> None:
    api = scenario.api
    store_tag, _ = scenario.store("ver-ifm-delete")
    cids = scenario.create_many([scenario.body(f"ver delete {i}", store_tag) for i in range(len(MATCHING))])
    first = cids[0]
    for bad_label, bad in NOT_MATCHING.items():
        value = bad.format(v=1, p=0)
        expect_error(
            api.delete(first, if_match=value),
            412,
            Clause.VER_IF_MATCH,
            f"DELETE with If-Match {bad_label} ({value!r}) at version 1",
        )
    rep = scenario.read(first)
    expect(
        rep.get("version") == 1,
        Clause.VER_IF_MATCH,
        f"after {len(NOT_MATCHING)} DELETEs answered 412 the configuration changed: version {rep.get('version')}",
    )
    for cid, (label, template) in zip(cids, MATCHING.items(), strict=True):
        if_match = template.format(v=1)
        accepted = api.delete(cid, if_match=if_match)
        expect(
            accepted.status_code == 202,
            Clause.VER_IF_MATCH,
            f"DELETE with If-Match {label} ({if_match!r}) at version 1 answered {accepted.status_code}: "
            f"{accepted.text[:200]}",
        )
        scenario.settle(accepted)
        expect(
            api.fetch(cid).status_code == 404,
            Clause.OPS_DELETE,
            f"GET after a completed DELETE with If-Match {label} is not 404",
        )


@pytest.mark.versioning
@pytest.mark.conditional
def test_post_ignores_if_match(scenario: Scenario) -> None:
    store_tag, _ = scenario.store("ver-post-ifm")
    accepted = scenario.api.create(scenario.body("ver post if-match", store_tag), headers={"If-Match": '"999"'})
    cid = scenario.accept(accepted, Clause.VER_POST_IF_MATCH, "POST with If-Match '\"999\"'")
    History(accepted, scenario.fetch(cid))


@pytest.mark.versioning
@pytest.mark.conditional
def test_concurrent_conditional_patches_apply_exactly_once(scenario: Scenario) -> None:
    n = max(2, scenario.profile.concurrency)
    store_tag, _ = scenario.store("ver-race")
    cid = scenario.create(scenario.body("ver race", store_tag)).id
    responses = race(n, lambda i: scenario.api.patch(cid, {"description": f"racer {i}"}, if_match='"1"'))
    statuses = [r.status_code for r in responses]
    what = f"{n} concurrent PATCHes with If-Match '\"1\"'"
    expect(
        all(s in (202, 412) for s in statuses),
        Clause.VER_CONCURRENT,
        f"{what}: statuses {statuses}, only 202 or 412 allowed",
    )
    for r in responses:
        if r.status_code == 412:
            expect_error(r, 412, Clause.VER_IF_MATCH, f"{what}: a loser")
    accepted = [(i, r) for i, r in enumerate(responses) if r.status_code == 202]
    finals = list(zip([i for i, _ in accepted], scenario.wait_all([r for _, r in accepted]), strict=True))
    completed = [i for i, op in finals if op["status"] == "COMPLETED"]
    rep = scenario.read(cid)
    expect(
        len(completed) == 1,
        Clause.VER_CONCURRENT,
        f"{what}: {len(completed)} operations completed and version went 1 -> {rep.get('version')}, expected "
        f"exactly one to apply (statuses {statuses})",
    )
    failed = len(finals) - 1
    expect(
        rep.get("version") == 2,
        Clause.OPS_FAILED_NOOP,
        f"{what}: 1 operation completed and {failed} FAILED, yet version went 1 -> {rep.get('version')}, expected 2",
    )
    for _, op in finals:
        if op["status"] == "FAILED":
            error = op.get("error")
            expect(
                isinstance(error, dict)
                and isinstance(error.get("type"), str)
                and isinstance(error.get("title"), str)
                and type(error.get("status")) is int
                and isinstance(error.get("detail"), str),
                Clause.OPS_ERROR,
                f"{what}: the error of a FAILED operation is not RFC 9457 problem details "
                f"{{type, title, status, detail}}: {error!r}",
            )
            expect(
                isinstance(error, dict) and error.get("status") == 412,
                Clause.VER_STALE_APPLY,
                f"{what}: a losing operation FAILED with error {error!r}, expected error.status 412",
            )
    expect(
        rep.get("description") == f"racer {completed[0]}",
        Clause.OPS_FAILED_NOOP,
        f"{what}: the winner was racer {completed[0]} but description is {rep.get('description')!r}",
    )
