"""The suites' toolkit: creating and settling, reading, discarding, racing, tagging, bodies, time.

Every scenario module uses these instead of its own copies. `Scenario` (the `scenario` fixture)
bundles what most scenarios take (the primary account's client, the run's marks, the poll
settings and the profile); the free functions need none of it. Tags need no per-worker suffix:
`RunMarks` already makes stores, serviceIds and tags unique per process of the run.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar, cast

import httpx

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.dev_credentials import Credential
from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.contract.target import RunMarks, Target
from orchestrator_contract.contract.violations import ContractViolation, expect
from orchestrator_contract.exchanges.client import (
    ApiClient,
    ClientSettings,
    RunShared,
    retry_after_seconds,
)
from orchestrator_contract.exchanges.recording import ContextThreadPool
from orchestrator_contract.planning.profiles import Profile
from orchestrator_contract.scenarios.expectations import expect_status
from orchestrator_contract.scenarios.polling import (
    PollSettings,
    accepted_configuration_id,
    accepted_operation,
    operation_path,
    settle,
    wait_for_operation,
)
from orchestrator_contract.spec_data.strategies import minimal_create_body

T = TypeVar("T")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# ASCII digits only: strptime alone also takes other Unicode digits and a space-padded day.
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
RACE_TIMEOUT_S = 30


# -- time -------------------------------------------------------------------------------------------
def parse_timestamp(value: Any, what: str) -> datetime:
    """A timestamp of a representation or an operation (RES-TIMESTAMP: `YYYY-MM-DDTHH:MM:SSZ`, a real
    date and time, nothing else); `what` names it in the violation."""
    try:
        if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ContractViolation(Clause.RES_TIMESTAMP, f"{what} is {value!r}, not YYYY-MM-DDTHH:MM:SSZ") from None


def date_of(response: httpx.Response) -> datetime:
    """The response's `Date` header (GEN-DATE), in UTC."""
    raw = response.headers.get("Date", "")
    try:
        return parsedate_to_datetime(raw).astimezone(UTC)
    except (TypeError, ValueError):
        raise ContractViolation(
            Clause.GEN_DATE,
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} without a valid Date header: {raw!r}",
        ) from None


# -- concurrency ------------------------------------------------------------------------------------
def in_parallel(jobs: Sequence[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Run the jobs in threads; their results in order (the first exception is raised)."""
    if not jobs:
        return []
    with ContextThreadPool(max_workers=max(1, workers or len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def race(n: int, send: Callable[[int], T]) -> list[T]:
    """`send(0..n-1)` from `n` threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait(timeout=RACE_TIMEOUT_S)
        return send(i)

    with ContextThreadPool(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


# -- keys and bodies --------------------------------------------------------------------------------
def new_key() -> str:
    """A fresh Idempotency-Key: a random UUID, so no other request of any run has used it."""
    return str(uuid.uuid4())


def replace_body(current: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A minimal valid PUT for a configuration or create body: its required members, unchanged."""
    return {
        "description": current["description"],
        "conversationGroupingType": current["conversationGroupingType"],
        "memoryStoreId": current["memoryStoreId"],
        "channelSettings": {},
        **changes,
    }


def created_id(response: httpx.Response) -> str:
    """`related.configurationId` of a create's 202."""
    return accepted_configuration_id(response)


def operation_id(response: httpx.Response) -> str:
    """The `Operation-Id` header of a 202 ("" when it has none)."""
    return str(response.headers.get("Operation-Id", ""))


def distinct_operations(responses: Sequence[httpx.Response]) -> list[httpx.Response]:
    """One 202 per distinct Operation-Id."""
    by_id: dict[str, httpx.Response] = {}
    for r in responses:
        if r.status_code == 202:
            by_id.setdefault(operation_id(r), r)
    return list(by_id.values())


# -- waiting for many operations -------------------------------------------------------------------
def settle_all(accepted: Sequence[tuple[ApiClient, httpx.Response]], poll: PollSettings, *, workers: int = 8) -> None:
    """Wait for many operations together, as `settle` waits for one: every one must COMPLETE.

    One wait for the largest Retry-After (capped as `settle` caps it), then rounds of polls of the
    operations still PENDING, backing off between rounds, until none is left or the budget is spent
    (time the target throttled the polls is not counted). Like `settle`, once an operation of the
    target outlived a whole budget, later waits are cut short (`RunShared.budget_after_stuck`): a
    server whose operations never complete costs the run one budget, not one per call.
    """
    pending: dict[str, tuple[ApiClient, str]] = {}
    for client, response in accepted:
        op, status_url = accepted_operation(response)
        pending[op] = (client, operation_path(status_url))
    if not pending:
        return
    shared = accepted[0][0].shared
    stuck = shared.stuck()
    budget = shared.budget_after_stuck(poll.budget_s) if stuck else poll.budget_s
    retry_after = max((retry_after_seconds(r, poll.retry_after_cap_s) for _, r in accepted), default=0.0)
    time.sleep(min(budget, retry_after))
    started, throttled = time.monotonic(), 0.0
    delay = poll.first_delay_s

    def poll_one(target: tuple[ApiClient, str]) -> tuple[httpx.Response, float]:
        before = shared.throttled_seconds()
        answer = target[0].request("GET", target[1])
        return answer, shared.throttled_seconds() - before

    with ContextThreadPool(max_workers=workers) as pool:
        while pending:
            results = list(pool.map(poll_one, pending.values()))
            throttled += max(waited for _, waited in results)  # the round's 429 waits ran side by side
            for op, (answer, _) in zip(list(pending), results, strict=True):
                expect(
                    answer.status_code == 200, Clause.OPS_RESOURCE, f"GET operation {op} answered {answer.status_code}"
                )
                body = json_or_none(answer)
                status = body.get("status") if isinstance(body, dict) else None
                if status == "PENDING":
                    continue
                expect(
                    status == "COMPLETED",
                    Clause.OPS_TERMINAL,
                    f"operation {op} ended {status}: {body.get('error') if isinstance(body, dict) else answer.text}",
                )
                pending[op][0].shared.record_completion(time.monotonic() - started - throttled)
                del pending[op]
            elapsed = time.monotonic() - started - throttled
            if pending and elapsed >= budget and not stuck:
                shared.mark_stuck(next(iter(pending)))
            why = (
                f"after the poll budget of {poll.budget_s:.0f} s"
                if not stuck
                else f"after {budget:.1f} s; this run no longer waits the full poll budget of {poll.budget_s:.0f} s "
                f"on this server because operation {stuck} never completed within it"
            )
            expect(
                not pending or elapsed < budget, Clause.OPS_TERMINAL, f"{len(pending)} operations still PENDING {why}"
            )
            if pending:
                time.sleep(min(delay, poll.max_delay_s))
                delay *= 2


def create_all(
    jobs: Sequence[tuple[ApiClient, dict[str, Any]]],
    poll: PollSettings,
    *,
    workers: int | None = None,
    clause: Clause | None = None,
) -> list[str]:
    """Send every create concurrently, each with its own client (accounts may differ), then wait for
    all of them together (`settle_all`); the ids in the jobs' order.

    With `clause`, a create that is not answered 202 fails naming it: a scenario whose bodies are
    valid by a rule (a length, a null) names that rule, not OPS-202.
    """
    responses = in_parallel([partial(client.create, body) for client, body in jobs], workers)
    if clause is not None:
        for response in responses:
            expect_status(response, 202, clause, "create")
    ids = [created_id(r) for r in responses]
    settle_all([(client, r) for (client, _), r in zip(jobs, responses, strict=True)], poll)
    return ids


def discard(client: ApiClient, ids: Iterable[str], workers: int = 8) -> None:
    """Send DELETEs without waiting (the session cleanup then finds nothing left to wait for)."""

    def one(cid: str) -> None:
        with contextlib.suppress(httpx.HTTPError, ContractViolation):
            client.delete(cid)

    in_parallel([partial(one, cid) for cid in ids], workers)


# -- the scenario fixture ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Created:
    """A create that was accepted and whose operation COMPLETED."""

    response: httpx.Response
    id: str


@dataclass(frozen=True)
class Scenario:
    """The client, marks, poll settings and profile most scenarios take, with the helpers they share."""

    api: ApiClient
    marks: RunMarks
    poll: PollSettings
    profile: Profile
    target: Target
    shared: RunShared
    client_settings: ClientSettings

    # -- names and bodies -------------------------------------------------------------------------
    def store(self, prefix: str) -> tuple[str, str]:
        """(tag, memoryStoreId) of a store no other test or example of the run shares."""
        tag = self.marks.unique(prefix)
        return tag, self.marks.memory_store_id(tag)

    def body(self, name: str, store_tag: str = "", **extra: Any) -> dict[str, Any]:
        """The minimal valid create body, marked for this run, with `extra` members."""
        return {**minimal_create_body(self.marks, name, store_tag or name), **extra}

    def put_body(self, name: str, store_tag: str, description: str, **extra: Any) -> dict[str, Any]:
        """A small fixed PUT body of this run: the create body with `description` and the
        `channelSettings` PUT requires (its marked displayName replaces the current one)."""
        return self.body(name, store_tag, description=description, channelSettings={}, **extra)

    def client_for(self, credential: Credential) -> ApiClient:
        """Another client of the run (an API key, a second account): the caller closes it. Its role
        tells a reproduction which credential to send."""
        role = (
            "api-key"
            if credential == self.target.api_key
            else "second"
            if credential == self.target.second
            else "primary"
            if credential == self.target.primary
            else "custom"
        )
        return ApiClient(self.target.base_url, credential, shared=self.shared, settings=self.client_settings, role=role)

    # -- writes -------------------------------------------------------------------------------------
    def settle(self, response: httpx.Response, client: ApiClient | None = None) -> dict[str, Any]:
        """Wait for the operation of a 202, which must COMPLETE; its final representation."""
        return settle(client or self.api, response, self.poll)

    def wait(self, response: httpx.Response, client: ApiClient | None = None) -> dict[str, Any]:
        """Wait for the operation of a 202, whatever its terminal status."""
        return wait_for_operation(client or self.api, response, self.poll)

    def create(
        self,
        body: dict[str, Any],
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        client: ApiClient | None = None,
    ) -> Created:
        """Create, require the 202, wait until the operation COMPLETED."""
        client = client or self.api
        response = client.create(body, key=key, headers=headers)
        cid = created_id(response)
        settle(client, response, self.poll)
        return Created(response, cid)

    def create_many(
        self, bodies: Sequence[dict[str, Any]], client: ApiClient | None = None, *, clause: Clause | None = None
    ) -> list[str]:
        """Send every create concurrently, then wait for all of them together; the ids in order
        (with `clause`, see `create_all`)."""
        client = client or self.api
        return create_all([(client, b) for b in bodies], self.poll, workers=self.profile.concurrency, clause=clause)

    def accept(self, response: httpx.Response, clause: Clause, what: str, client: ApiClient | None = None) -> str:
        """A valid write must be accepted: 202 (else a violation of `clause`, the rule that makes it
        valid), then COMPLETED; the configuration's id."""
        expect_status(response, 202, clause, what)
        self.settle(response, client)
        return created_id(response)

    def settle_all(self, responses: Sequence[httpx.Response], client: ApiClient | None = None) -> None:
        """Wait for the operations of many 202s together; every one must COMPLETE."""
        settle_all([(client or self.api, r) for r in responses], self.poll)

    def wait_all(self, responses: Sequence[httpx.Response], client: ApiClient | None = None) -> list[dict[str, Any]]:
        """Wait for every operation concurrently, whatever its terminal status."""
        return in_parallel([partial(self.wait, r, client) for r in responses])

    def discard(self, ids: Iterable[str], client: ApiClient | None = None) -> None:
        """DELETE without waiting (a fixture's teardown: the session cleanup does the rest)."""
        discard(client or self.api, ids)

    # -- reads --------------------------------------------------------------------------------------
    def fetch(self, cid: str, client: ApiClient | None = None) -> httpx.Response:
        """GET a configuration whose write COMPLETED: 200 (OPS-VISIBLE)."""
        response = (client or self.api).fetch(cid)
        expect_status(response, 200, Clause.OPS_VISIBLE, f"GET {cid} after its write COMPLETED")
        return response

    def read(self, cid: str, client: ApiClient | None = None) -> dict[str, Any]:
        """The representation of a configuration whose write COMPLETED (a JSON object)."""
        body = json_or_none(self.fetch(cid, client))
        expect(isinstance(body, dict), Clause.RES_SHAPE, f"GET {cid} answered a body that is not a JSON object")
        return cast(dict[str, Any], body)

    def expect_version(self, cid: str, expected: int, clause: Clause, after: str) -> dict[str, Any]:
        """Read `cid`, whose `version` must be `expected` `after` what the scenario did (else `clause`)."""
        rep = self.read(cid)
        expect(
            rep.get("version") == expected,
            clause,
            f"{after}: version of {cid} is {rep.get('version')!r}, expected {expected}",
        )
        return rep

    def store_ids(self, store: str, client: ApiClient | None = None) -> list[str]:
        """Ids of the configurations in one of the run's own stores (a filtered list, one page)."""
        response = (client or self.api).list(memoryStoreId=store, pageSize=1000)
        expect(
            response.status_code == 200, Clause.PAGE_FILTER, f"list filtered by {store} answered {response.status_code}"
        )
        body = json_or_none(response)
        items = body.get("configurations") if isinstance(body, dict) else None
        expect(isinstance(items, list), Clause.PAGE_BODY, f"list filtered by {store}: no configurations array")
        return sorted(
            item["id"] for item in cast(list[Any], items) if isinstance(item, dict) and isinstance(item.get("id"), str)
        )
