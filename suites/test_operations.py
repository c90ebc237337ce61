"""The asynchronous operation lifecycle of the four writes.

Clauses: OPS-202, OPS-CREATE-ID, OPS-RESOURCE, OPS-TERMINAL, OPS-COMPLETED-AT, OPS-ERROR,
OPS-404, OPS-VISIBLE, OPS-FAILED-NOOP (checked whenever an operation is seen FAILED; the race
that provokes one is in the versioning suite), OPS-DELETE, OPS-SYNC; RES-TIMESTAMP for the
operation's timestamps; ERR-BODY for the 4xx; and, when a request that must be rejected is
accepted and applied instead, the rule that should have rejected it (ERR-400, RES-CONFLICT,
VER-IF-MATCH, IDEM-MISMATCH).

The session fixture `world` runs a create, a PUT, a PATCH and a DELETE (each write on its own
configuration, so the waits overlap) and records for each its 202, every poll of its operation
(and a few more after the terminal status) and the GET that immediately follows the first terminal
status; the tests judge those records clause by clause. The fixture asserts only what it needs to
carry on (a create accepted with an id). Whether PENDING is ever observed is not asserted: a fast
server may complete at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import json_or_none as json_of
from orchestrator_contract.contract.violations import ContractViolation, expect
from orchestrator_contract.exchanges.client import OPERATIONS, ApiClient, retry_after_seconds
from orchestrator_contract.exchanges.recording import ContextThreadPool
from orchestrator_contract.scenarios.expectations import expect_accepted, expect_error
from orchestrator_contract.scenarios.polling import PollSettings, operation_path, wait_for_operation
from orchestrator_contract.scenarios.steps import Scenario, created_id, new_key, parse_timestamp, replace_body

pytestmark = pytest.mark.operations

STATUSES = frozenset({"PENDING", "COMPLETED", "FAILED"})
TERMINAL = frozenset({"COMPLETED", "FAILED"})
EXTRA_POLLS = 3
STEPS = ["create", "replace", "patch", "delete"]


@dataclass
class Step:
    name: str
    configuration_id: str
    sent: dict[str, Any] | None
    before: httpx.Response | None  # GET of the configuration before the write
    accepted: httpx.Response
    observations: list[httpx.Response] = field(default_factory=list)  # GETs of the operation, in order
    terminal_index: int | None = None  # the first observation with a terminal status
    after: httpx.Response | None = None  # GET of the configuration right after that observation
    later: dict[str, httpx.Response] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return str(self.accepted.headers.get("Operation-Id", ""))

    @property
    def accepted_body(self) -> dict[str, Any]:
        body = json_of(self.accepted)
        return body if isinstance(body, dict) else {}

    @property
    def final_status(self) -> str | None:
        if self.terminal_index is None:
            return None
        status = json_of(self.observations[self.terminal_index])["status"]
        return str(status) if status is not None else None


def status_of(response: httpx.Response) -> Any:
    body = json_of(response)
    return body.get("status") if response.status_code == 200 and isinstance(body, dict) else None


def path_of_operation(accepted: httpx.Response) -> str | None:
    body = json_of(accepted)
    url = body.get("statusUrl") if isinstance(body, dict) else None
    if isinstance(url, str) and url:
        return operation_path(url)
    op_id = accepted.headers.get("Operation-Id")
    return f"{OPERATIONS}/{op_id}" if op_id else None


OBSERVE_CAP_S = 0.05  # the observer polls sooner than Retry-After asks (a client may): see `observe`


def observe(api: ApiClient, step: Step, poll: PollSettings, on_terminal: Callable[[], None]) -> None:
    """Poll the step's operation until terminal (or the budget), run `on_terminal`, poll a few more.

    Retry-After is capped at 50 ms here: the point is to watch the transition closely, so that the
    request right after the first COMPLETED is as early as a client can make it (OPS-VISIBLE).
    """
    path = path_of_operation(step.accepted)
    if step.accepted.status_code != 202 or path is None:
        return
    cap = min(OBSERVE_CAP_S, poll.retry_after_cap_s)
    time.sleep(retry_after_seconds(step.accepted, cap))
    deadline = time.monotonic() + poll.budget_s
    delay = poll.first_delay_s
    while True:
        response = api.request("GET", path)
        step.observations.append(response)
        if status_of(response) in TERMINAL:
            step.terminal_index = len(step.observations) - 1
            break
        if response.status_code != 200 or time.monotonic() > deadline:
            return
        time.sleep(max(min(delay, poll.max_delay_s, 0.1), retry_after_seconds(response, cap)))
        delay *= 2
    on_terminal()
    step.observations.extend(api.request("GET", path) for _ in range(EXTRA_POLLS))


def run_step(
    api: ApiClient,
    poll: PollSettings,
    name: str,
    configuration_id: str | None,
    sent: dict[str, Any] | None,
    send: Callable[[], httpx.Response],
) -> Step:
    before = api.fetch(configuration_id) if configuration_id else None
    accepted = send()
    if configuration_id is None:
        configuration_id = expect_accepted(accepted, "a valid create").configuration_id
    step = Step(name, configuration_id, sent, before, accepted)

    def right_after() -> None:
        step.after = api.fetch(step.configuration_id)

    observe(api, step, poll, right_after)
    return step


def expect_created_under(api: ApiClient, cid: str, body: dict[str, Any]) -> None:
    """A completed create whose related.configurationId answers 404: is the configuration there under
    another id? Its store is run-owned and its displayName unique to the body, so a listed configuration
    with that displayName is the one created (OPS-CREATE-ID); otherwise the effect is not visible."""
    listed = json_of(api.list(memoryStoreId=body["memoryStoreId"], pageSize=1000)) or {}
    items = listed.get("configurations", []) if isinstance(listed, dict) else []
    others = [i.get("id") for i in items if isinstance(i, dict) and i.get("displayName") == body["displayName"]]
    expect(
        not others,
        Clause.OPS_CREATE_ID,
        f"the create's related.configurationId {cid!r} answers 404, but its store lists the configuration it "
        f"created (displayName {body['displayName']!r}) under {others}",
    )


@dataclass
class OpsWorld:
    steps: dict[str, Step]  # the observed lifecycle: create, replace, patch, delete
    held_id: str  # a completed configuration holding `marks.service_id("ops-sync")`
    key: str  # an Idempotency-Key used by `keyed`
    keyed: httpx.Response  # a create sent with `key` (not waited for)


@pytest.fixture(scope="session")
def world(scenario: Scenario) -> Iterator[OpsWorld]:
    """Two concurrent rounds, so the waits overlap.

    Round 1: the observed create; three settled configurations for the other writes; the
    configurations the synchronous-validation test needs. Round 2: PUT, PATCH and DELETE, one on
    each prepared configuration.
    """
    api, poll = scenario.api, scenario.poll
    store = scenario.marks.memory_store_id("ops-life")
    created = scenario.body("ops life", "ops-life")
    replaced = scenario.put_body(
        "ops replaced",
        "ops-life",
        "replaced by the operations suite",
        conversationGroupingType="GROUP_BY_PARTICIPANT_ADDRESSES",
    )
    patched = {"description": "patched by the operations suite", "memoryExtractionEnabled": True}
    held = scenario.body(
        "ops sync held", "ops-sync", conversationsV1Bridge={"serviceId": scenario.marks.service_id("ops-sync")}
    )
    key = new_key()

    def prepared(body: dict[str, Any]) -> str:
        cid = scenario.create(body).id
        status = api.fetch(cid).status_code
        if status == 404:
            expect_created_under(api, cid, body)
        expect(status == 200, Clause.OPS_VISIBLE, f"configuration {cid}, whose create COMPLETED, answers GET {status}")
        return cid

    with ContextThreadPool(max_workers=6) as pool:
        creating = pool.submit(run_step, api, poll, "create", None, created, lambda: api.create(created))
        keyed = pool.submit(api.create, scenario.body("ops sync key", "ops-sync"), key=key)
        targets = [scenario.body(f"ops target {n}", "ops-life") for n in range(3)]
        put_id, patch_id, delete_id, held_id = pool.map(prepared, [*targets, held])
        steps = {"create": creating.result()}
        writes = {
            "replace": pool.submit(
                run_step, api, poll, "replace", put_id, replaced, lambda: api.replace(put_id, replaced)
            ),
            "patch": pool.submit(run_step, api, poll, "patch", patch_id, patched, lambda: api.patch(patch_id, patched)),
            "delete": pool.submit(run_step, api, poll, "delete", delete_id, None, lambda: api.delete(delete_id)),
        }
        steps.update({name: future.result() for name, future in writes.items()})
    if steps["delete"].terminal_index is not None:
        steps["delete"].later["redelete"] = api.delete(delete_id)
        steps["delete"].later["list"] = api.list(memoryStoreId=store, pageSize=1000)
    state = OpsWorld(steps, held_id, key, keyed.result())
    yield state
    keyed_body = json_of(state.keyed)
    keyed_id = keyed_body.get("related", {}).get("configurationId") if isinstance(keyed_body, dict) else None
    scenario.discard([steps["create"].configuration_id, put_id, patch_id, held_id, *([keyed_id] if keyed_id else [])])


@pytest.fixture(scope="session")
def lifecycle(world: OpsWorld) -> dict[str, Step]:
    return world.steps


# -- the 202 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STEPS)
def test_accepted_body_and_headers_agree(lifecycle: dict[str, Step], api: ApiClient, name: str) -> None:
    step = lifecycle[name]
    if name != "create":
        expect_accepted(step.accepted, name, step.configuration_id)
        return
    related = expect_accepted(step.accepted, name).configuration_id
    expect(
        step.final_status == "COMPLETED",
        Clause.OPS_TERMINAL,
        f"the create's operation ended {step.final_status or 'never (poll budget spent)'}",
    )
    expect(
        step.after is not None and step.after.status_code == 200,
        Clause.OPS_CREATE_ID,
        f"related.configurationId {related!r} of a completed create cannot be fetched: "
        f"{step.after.status_code if step.after is not None else '-'}",
    )
    got = json_of(step.after) if step.after is not None else {}
    expect(
        isinstance(got, dict) and got.get("id") == related,
        Clause.OPS_CREATE_ID,
        f"GET of related.configurationId {related!r} returns id {got.get('id') if isinstance(got, dict) else got!r}",
    )
    assert step.sent is not None
    expect(
        got.get("displayName") == step.sent["displayName"] and got.get("memoryStoreId") == step.sent["memoryStoreId"],
        Clause.OPS_CREATE_ID,
        f"related.configurationId {related!r} names a configuration other than the one created",
    )


# -- the operation resource ----------------------------------------------------------------------


def check_operation(response: httpx.Response, op_id: str, accepted: dict[str, Any], what: str) -> str:
    """One GET of an operation: shape, status, timestamps, error; returns the status."""
    expect(
        response.status_code == 200,
        Clause.OPS_RESOURCE,
        f"{what}: GET operation {op_id} answered {response.status_code}: {response.text[:300]}",
    )
    body = json_of(response)
    expect(
        isinstance(body, dict), Clause.OPS_RESOURCE, f"{what}: operation body is not an object: {response.text[:300]}"
    )
    expect(
        body.get("operationId") == op_id,
        Clause.OPS_RESOURCE,
        f"{what}: operationId {body.get('operationId')!r} is not the Operation-Id {op_id!r}",
    )
    status = body.get("status")
    expect(status in STATUSES, Clause.OPS_RESOURCE, f"{what}: status {status!r} is not PENDING, COMPLETED or FAILED")
    created_at = body.get("createdAt")
    expect(isinstance(created_at, str), Clause.OPS_RESOURCE, f"{what}: createdAt is {created_at!r}")
    parse_timestamp(created_at, f"{what}: createdAt")
    expect(
        body.get("statusUrl") == accepted.get("statusUrl"),
        Clause.OPS_RESOURCE,
        f"{what}: statusUrl {body.get('statusUrl')!r} differs from the 202's {accepted.get('statusUrl')!r}",
    )
    expect(
        body.get("related") == accepted.get("related"),
        Clause.OPS_RESOURCE,
        f"{what}: related {body.get('related')!r} differs from the 202's {accepted.get('related')!r}",
    )
    completed_at = body.get("completedAt")
    if status in TERMINAL:
        expect(
            isinstance(completed_at, str),
            Clause.OPS_COMPLETED_AT,
            f"{what}: a {status} operation has completedAt {completed_at!r}",
        )
        parse_timestamp(completed_at, f"{what}: completedAt")
        expect(
            completed_at >= created_at,
            Clause.OPS_COMPLETED_AT,
            f"{what}: completedAt {completed_at} is before createdAt {created_at}",
        )
    else:
        expect(
            completed_at is None,
            Clause.OPS_COMPLETED_AT,
            f"{what}: a {status} operation has completedAt {completed_at!r}",
        )
    error = body.get("error")
    if status == "FAILED":
        ok = (
            isinstance(error, dict)
            and isinstance(error.get("type"), str)
            and isinstance(error.get("title"), str)
            and type(error.get("status")) is int
            and isinstance(error.get("detail"), str)
        )
        expect(
            ok,
            Clause.OPS_ERROR,
            f"{what}: error of a FAILED operation is not {{type, title, status, detail}}: {error!r}",
        )
    else:
        expect(error is None, Clause.OPS_ERROR, f"{what}: a {status} operation carries an error: {error!r}")
    return str(status)


@pytest.mark.parametrize("name", STEPS)
def test_operation_resource_matches_the_202(lifecycle: dict[str, Step], name: str) -> None:
    step = lifecycle[name]
    accepted = expect_accepted(step.accepted, name)
    expect(step.observations, Clause.OPS_RESOURCE, f"{name}: the operation was never fetched")
    for number, response in enumerate(step.observations, 1):
        check_operation(response, accepted.operation_id, accepted.body, f"{name}, poll {number}")


@pytest.mark.parametrize("name", STEPS)
def test_terminal_status_never_changes(lifecycle: dict[str, Step], name: str) -> None:
    step = lifecycle[name]
    expect_accepted(step.accepted, name)
    statuses = [status_of(r) for r in step.observations]
    expect(
        step.terminal_index is not None,
        Clause.OPS_TERMINAL,
        f"{name}: operation {step.operation_id} never left PENDING in the poll budget; statuses {statuses[-5:]}",
    )
    assert step.terminal_index is not None
    expect(
        all(s == "PENDING" for s in statuses[: step.terminal_index]),
        Clause.OPS_TERMINAL,
        f"{name}: before the terminal status the operation was {statuses[: step.terminal_index]}",
    )
    expect(
        len(set(statuses[step.terminal_index :])) == 1,
        Clause.OPS_TERMINAL,
        f"{name}: a terminal status changed: {statuses[step.terminal_index :]}",
    )


# -- effects -------------------------------------------------------------------------------------


def representation(response: httpx.Response | None) -> Any:
    return json_of(response) if response is not None and response.status_code == 200 else None


@pytest.mark.parametrize("name", STEPS)
def test_completed_effect_is_visible_to_the_next_request(lifecycle: dict[str, Step], name: str) -> None:
    step = lifecycle[name]
    expect_accepted(step.accepted, name)
    if step.final_status == "FAILED":
        unchanged = (step.before is None and step.after is not None and step.after.status_code == 404) or (
            representation(step.before) is not None and representation(step.before) == representation(step.after)
        )
        expect(unchanged, Clause.OPS_FAILED_NOOP, f"{name}: the operation FAILED but the configuration changed")
    expect(
        step.final_status == "COMPLETED",
        Clause.OPS_TERMINAL,
        f"{name}: a valid, unconditional {name} ended {step.final_status or 'never (poll budget spent)'}",
    )
    assert step.after is not None
    if name == "delete":
        expect(
            step.after.status_code == 404,
            Clause.OPS_DELETE,
            f"GET after a completed DELETE answered {step.after.status_code}, not 404",
        )
        redelete = step.later["redelete"]
        expect_error(redelete, 404, Clause.OPS_DELETE, "a new DELETE after a completed DELETE")
        listed = json_of(step.later["list"]) or {}
        ids = [i.get("id") for i in listed.get("configurations", []) if isinstance(i, dict)]
        expect(
            step.configuration_id not in ids,
            Clause.OPS_VISIBLE,
            "a configuration whose DELETE completed is still listed",
        )
        return
    expect(
        step.after.status_code == 200,
        Clause.OPS_VISIBLE,
        f"GET right after a completed {name} answered {step.after.status_code}",
    )
    got = json_of(step.after)
    assert step.sent is not None
    wrong = {k: (v, got.get(k)) for k, v in step.sent.items() if got.get(k) != v}
    expect(
        not wrong,
        Clause.OPS_VISIBLE,
        f"right after the {name} completed, GET shows other values (written, read): {wrong}",
    )


def test_writes_to_a_deleted_configuration_are_404(lifecycle: dict[str, Step], api: ApiClient) -> None:
    """A completed DELETE is visible to later writes too: PUT and PATCH find nothing."""
    step = lifecycle["delete"]
    expect(step.final_status == "COMPLETED", Clause.OPS_TERMINAL, f"the DELETE ended {step.final_status}")
    cid, replaced = step.configuration_id, lifecycle["replace"].sent
    assert replaced is not None
    body = replace_body(replaced, description="after delete", conversationGroupingType="GROUP_BY_PROFILE")
    for method, response in (("PUT", api.replace(cid, body)), ("PATCH", api.patch(cid, {"description": "x"}))):
        expect_error(response, 404, Clause.OPS_VISIBLE, f"{method} of a configuration whose DELETE completed")


# -- synchronous validation ----------------------------------------------------------------------


def test_invalid_writes_are_answered_at_once(scenario: Scenario, world: OpsWorld) -> None:
    """400, 409, 412 and 422 come as the answer to the request, never as a 202 and a FAILED operation.

    A 202 is followed to its end to name the right clause: FAILED breaks OPS-SYNC (the rejection
    came late); COMPLETED breaks the rule that should have rejected the request.
    """
    api = scenario.api
    expect(
        world.keyed.status_code == 202,
        Clause.OPS_202,
        f"a valid create with a fresh Idempotency-Key answered {world.keyed.status_code}",
    )
    missing_description = {k: v for k, v in scenario.body("ops sync bad", "ops-sync").items() if k != "description"}
    duplicate = scenario.body(
        "ops sync dup", "ops-sync", conversationsV1Bridge={"serviceId": scenario.marks.service_id("ops-sync")}
    )
    cases: list[tuple[int, Clause, str, Callable[[], httpx.Response]]] = [
        (400, Clause.ERR_400, "POST without description", lambda: api.create(missing_description)),
        (409, Clause.RES_CONFLICT, "POST with a serviceId another configuration holds", lambda: api.create(duplicate)),
        (
            412,
            Clause.VER_IF_MATCH,
            'PATCH with If-Match: "999999" (the version is 1)',
            lambda: api.patch(world.held_id, {"description": "x"}, if_match='"999999"'),
        ),
        (
            422,
            Clause.IDEM_MISMATCH,
            "POST reusing an Idempotency-Key with another body",
            lambda: api.create(scenario.body("ops sync other", "ops-sync"), key=world.key),
        ),
    ]
    for status, rule, what, send in cases:
        response = send()
        if response.status_code == 202:
            final = scenario.wait(response)
            expect(
                final["status"] != "FAILED",
                Clause.OPS_SYNC,
                f"{what}: answered 202 and then FAILED ({final.get('error')}), not {status} at once",
            )
            raise ContractViolation(rule, f"{what}: answered 202 and the operation COMPLETED; expected {status}")
        expect_error(response, status, rule, what)


# -- unknown and foreign operation ids -----------------------------------------------------------


def unknown_operation_ids(real: str, configuration_id: str) -> dict[str, str]:
    return {
        "real-plus-suffix": f"{real}x9zq",
        "prefix-plus-real": f"zq9x{real}",
        "zeros": "proc_job_" + "0" * 26,
        "uuid": "00000000-0000-0000-0000-000000000000",
        "one-char": "x",
        "long": "o" * 300,
        "configuration-id": configuration_id,
    }


@pytest.mark.parametrize("shape", sorted(unknown_operation_ids("r", "c")))
def test_unknown_operation_id_is_404(lifecycle: dict[str, Step], api: ApiClient, shape: str) -> None:
    step = lifecycle["create"]
    op_id = unknown_operation_ids(step.operation_id, step.configuration_id)[shape]
    expect_error(api.operation(op_id), 404, Clause.OPS_404, f"GET operation {op_id!r} ({shape})")


@pytest.mark.isolation
def test_another_accounts_operation_id_is_404(lifecycle: dict[str, Step], api2: ApiClient) -> None:
    for name in ("create", "delete"):
        op_id = lifecycle[name].operation_id
        expect_error(
            api2.operation(op_id),
            404,
            Clause.OPS_404,
            f"the second account's GET of the first's {name} operation {op_id}",
        )


# -- Retry-After ---------------------------------------------------------------------------------


def test_polling_with_a_capped_retry_after_reaches_completion(scenario: Scenario) -> None:
    """A client may cap Retry-After (here at 0.2 s) and poll sooner: it still sees COMPLETED and the effect."""
    accepted = scenario.api.create(scenario.body("ops retry", "ops-retry"))
    expect_accepted(accepted, "create")
    poll = scenario.poll
    capped = dataclasses.replace(poll, retry_after_cap_s=min(0.2, poll.retry_after_cap_s))
    final = wait_for_operation(scenario.api, accepted, capped)
    expect(final["status"] == "COMPLETED", Clause.OPS_TERMINAL, f"a valid create ended {final['status']}")
    cid = created_id(accepted)
    scenario.fetch(cid)
    scenario.discard([cid])
