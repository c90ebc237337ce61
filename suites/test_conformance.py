"""Conformance fuzzing: Schemathesis property tests over every operation of the spec.

Positive and negative data from `spec/configurations.yaml` (examples, coverage and fuzzing
phases), sent by the suite's httpx client and judged by the built-in checks that fit this API
(GEN-NO-5XX, GEN-STATUS, ERR-BODY, RES-SHAPE, OPS-202, ERR-400, GEN-405, AUTH-401) plus the
project's own (GEN-DATE, ERR-BODY, OPS-202, and the async-aware OPS-VISIBLE / OPS-DELETE that
replace `ensure_resource_availability` / `use_after_free`). The link-driven state machine walks
the spec's OpenAPI links (create -> operation -> fetch/update/patch/delete).

Adjustments to generated cases, each so that a verdict depends on the contract and not on luck,
and each keeping what Schemathesis generated wherever the contract allows (the generation stays at
least as wide as plain Schemathesis's):
- operations on `{id}` target a configuration (or operation) this run created, except in one case
  in four (chosen by the generated id itself), which keeps its generated id and so reaches the 404
  path with fuzzed text; a case negative in its path keeps it too;
- one of `displayName` / `memoryStoreId` of a positive write carries the run's mark, the other
  keeps its generated value (which one, the body decides): every boundary value of both is sent;
- a UUID-shaped `Idempotency-Key` is replaced by a fresh one with the same letter case: two
  examples that happen to share a key with different bodies would be a legitimate 422;
- a generated `pageToken` is dropped from positive cases: tokens are opaque and only the server
  can mint valid ones (the pagination suite covers them);
- an unfiltered positive list asking for more than 20 items gets the run's own (empty) store as its
  filter, so `pageSize` keeps its generated value (1000 included) whatever else the account holds.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation

from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.contract.locations import spec_path
from orchestrator_contract.contract.target import RunMarks, Target
from orchestrator_contract.contract.violations import ContractViolation, count_checks
from orchestrator_contract.exchanges.client import ApiClient, UnsendableRequest
from orchestrator_contract.planning import profiles
from orchestrator_contract.planning.profiles import Profile
from orchestrator_contract.scenarios import schemathesis_checks as checks
from orchestrator_contract.scenarios.deferred import DeferredChecks
from orchestrator_contract.scenarios.polling import PollSettings
from orchestrator_contract.scenarios.steps import Scenario, new_key, operation_id
from orchestrator_contract.spec_data import edge_cases as edges
from orchestrator_contract.spec_data.links import UNRESOLVED, Link, evaluate, spec_links
from orchestrator_contract.spec_data.strategies import json_integers

UUID_KEY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WRITE_OPERATIONS = {"createConfiguration", "updateConfiguration", "patchConfiguration"}
# Statuses that are a correct answer to data the spec calls valid: 404/409/412/422 depend on state
# (another resource holds the serviceId, a stale If-Match), not on the data's validity.
POSITIVE_STATUSES = ["200", "202", "404", "409", "412", "429"]
NEGATIVE_STATUSES = ["400", "401", "404", "405", "409", "412", "413", "415", "422", "429"]


class LiveResources:
    """A configuration (and its create operation) of this run, for operations on `{id}`."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._lock = threading.Lock()
        self._configuration: str | None = None
        self._operation: str | None = None
        self._broken: ContractViolation | None = None

    def configuration_id(self) -> str:
        with self._lock:
            if self._broken is not None:  # the create failed once: every case on `{id}` fails with it
                raise self._broken
            if self._configuration is None:
                try:
                    created = self._scenario.create(self._scenario.body("conformance"))
                except ContractViolation as violation:
                    self._broken = violation
                    raise
                self._operation, self._configuration = operation_id(created.response), created.id
            return self._configuration

    def operation_id(self) -> str:
        self.configuration_id()
        assert self._operation is not None
        return self._operation

    def owns(self, configuration_id: str) -> bool:
        """Whether this run's create was accepted for `configuration_id` (the ledger says so)."""
        api = self._scenario.api
        return configuration_id in api.shared.ids(api.credential.username)

    def forget(self, configuration_id: str) -> None:
        """The configuration was deleted (by a DELETE case): create another one when next needed."""
        with self._lock:
            if configuration_id == self._configuration:
                self._configuration = None


@pytest.fixture(scope="session")
def live(scenario: Scenario) -> LiveResources:
    return LiveResources(scenario)


def load_contract_schema(profile: Profile, modes: tuple[str, ...] | None = None) -> Any:
    """The spec as Schemathesis sees it, configured by the run profile (and, if given, only `modes`)."""
    loaded = schemathesis.openapi.from_path(spec_path())
    config = loaded.config
    config.generation.update(
        modes=[GenerationMode(mode) for mode in (modes or profile.modes)],
        max_examples=profile.max_examples,
        deterministic=profile.derandomize,
        no_shrink=not profile.shrink,
        with_security_parameters=False,
    )
    default = hypothesis.settings.default
    if default is None or default.database is None:  # else the run's (multiplexed) example database applies
        config.generation.update(database="none")
    config.phases.update(phases=list(profile.phases))
    # A fixed seed is forced only where generation is derandomized (it switches Hypothesis's example
    # database off); a random-seed profile seeds each test from the run's seed (the plugin).
    config.seed = profile.seed if profile.derandomize else None  # type: ignore[assignment]
    config.checks.positive_data_acceptance.expected_statuses = POSITIVE_STATUSES
    config.checks.negative_data_rejection.expected_statuses = NEGATIVE_STATUSES
    return loaded


# Schemathesis parametrizes at import time (one test per operation), so the profile is read here:
# the plugin activated it in pytest_configure, before collection. Valid and invalid data are two
# tests per operation: each is a long sequence of requests, and two halves run side by side.
schema = load_contract_schema(profiles.active())
valid_schema = load_contract_schema(profiles.active(), ("positive",))
# An operation whose only input is a path id has no invalid data to send (a path is always a string).
invalid_schema = load_contract_schema(profiles.active(), ("negative",)).exclude(
    operation_id=[
        op
        for op, spec in edges.operation_specs().items()
        if spec.body_schema is None and all(p["in"] == "path" for p in spec.parameters)
    ]
)


@pytest.fixture(autouse=True, scope="module")
def _bind_checks(api: ApiClient, poll: PollSettings) -> Iterator[None]:
    with checks.bound(api, poll):
        yield


class MintedTokens:
    """Page tokens the server handed out, with the filter they belong to (PAGE-TOKEN): the only
    ones a positive case may send, and only with that filter."""

    def __init__(self) -> None:
        self._tokens: dict[str, str | None] = {}

    def record(self, response: Any) -> None:
        if response.status_code != 200 or not response.request.url.path.endswith("/Configurations"):
            return
        body = json_or_none(response)
        meta = body.get("meta") if isinstance(body, dict) else None
        if not isinstance(meta, dict):
            return
        store = response.request.url.params.get("memoryStoreId")
        for key in ("nextToken", "previousToken"):
            if isinstance(meta.get(key), str):
                self._tokens[meta[key]] = store

    def valid_for(self, token: object, store: object) -> bool:
        return isinstance(token, str) and token in self._tokens and self._tokens[token] == store


@pytest.fixture(scope="session")
def minted() -> MintedTokens:
    return MintedTokens()


def _choice(value: object, share: int) -> bool:
    """A choice made by the generated value itself (stable across runs, no draw): true for about
    one value in `share`."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=repr).encode()).digest()
    return digest[0] % share == 0


def _marked(body: dict[str, Any], marks: RunMarks) -> dict[str, Any]:
    """One of displayName / memoryStoreId carries the run's mark; the other keeps its generated value."""
    out = dict(body)
    name_is_text = isinstance(out.get("displayName"), str)
    keep_name = name_is_text and _choice(out, 2)
    if name_is_text and not keep_name:
        out["displayName"] = marks.display_name("conformance")
    if out.get("memoryStoreId") is not None and (keep_name or not name_is_text):
        out["memoryStoreId"] = marks.memory_store_id("conformance")
    return out


def _fresh_key_like(generated: str) -> str:
    """A new UUID, upper-case where the generated key was."""
    fresh = new_key()
    if len(generated) != len(fresh):
        return fresh
    return "".join(f.upper() if g.isupper() else f for f, g in zip(fresh, generated, strict=True))


def prepare(
    case: Case[Any], marks: RunMarks, live: LiveResources, minted: MintedTokens, *, keep_own_ids: bool = False
) -> None:
    """Adjust a generated case as the module docstring explains.

    With `keep_own_ids` (the link walk), an id that a link carried is kept when this run created
    it; any other id is replaced, so a link from a list of the account's configurations can never
    write to somebody else's.
    """
    positive = case.meta is None or case.meta.generation.mode.is_positive
    path_negated = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    op_id = case.operation.definition.raw.get("operationId")
    if "id" in (case.path_parameters or {}) and not path_negated:
        current = str(case.path_parameters["id"])
        unknown = not keep_own_ids and case.method.upper() in ("GET", "PATCH", "PUT", "DELETE") and _choice(current, 4)
        if op_id == "fetchOperation":
            if not keep_own_ids and not unknown:
                case.path_parameters["id"] = live.operation_id()
        elif keep_own_ids and live.owns(current):
            pass
        elif keep_own_ids or not unknown or live.owns(current):
            case.path_parameters["id"] = live.configuration_id()
        else:
            case.path_parameters["id"] = f"{current}"  # fuzzed text: a configuration that does not exist
    if positive and op_id in WRITE_OPERATIONS and isinstance(case.body, dict):
        case.body = _marked(json_integers(case.body), marks)
    if positive and case.query:
        query = json_integers(case.query)
        if "pageToken" in query and not minted.valid_for(query["pageToken"], query.get("memoryStoreId")):
            del query["pageToken"]
        # Without a filter the page holds the account's other configurations: keep it bounded, so
        # a target holding thousands of them costs the run no more than an empty one.
        if "memoryStoreId" not in query and isinstance(query.get("pageSize"), int) and query["pageSize"] > 20:
            if "pageToken" in query:
                query["pageSize"] = 20  # a token bound to "no filter" cannot take one
            else:
                query["memoryStoreId"] = marks.memory_store_id("conformance-empty")
        case.query = query
    for name in list(case.headers or {}):
        if name.lower() != "idempotency-key" or not isinstance(case.headers[name], str):
            continue
        # A valid key is made fresh; so is an invalid one in a case Schemathesis calls positive
        # (its coverage phase fills optional headers with "0", ignoring their pattern).
        if UUID_KEY.fullmatch(case.headers[name]) or positive:
            case.headers[name] = _fresh_key_like(case.headers[name])


def send(api: ApiClient, case: Case[Any], target: Target, minted: MintedTokens) -> httpx.Response:
    """Send a generated case; one HTTP/1.1 cannot carry (a header with CR, LF or NUL) is set
    aside for Hypothesis to replace, never sent or failed."""
    kwargs = case.as_transport_kwargs(base_url=target.base_url)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    try:
        response = api.request(
            kwargs["method"], kwargs["url"], headers=kwargs.get("headers"), params=kwargs.get("params"), **body
        )
    except UnsendableRequest:
        reject()
    minted.record(response)
    return response


def judge(case: Case[Any], response: Any, target: Target, extra_checks: list[Any]) -> None:
    """Run the checks; a failure becomes a ContractViolation naming its clause."""
    count_checks(checks.BUILTIN_CLAUSES[c.__name__] for c in checks.BUILTIN_CHECKS)
    try:
        case.validate_response(
            response,
            checks=checks.BUILTIN_CHECKS + checks.CUSTOM_CHECKS + extra_checks,
            transport_kwargs={"base_url": target.base_url, "auth": (target.primary.username, target.primary.secret)},
        )
    except FailureGroup as group:
        first = group.exceptions[0]
        if isinstance(first, ContractViolation):
            raise first from None
        clause = checks.failure_clause(first, response.status_code, response.headers)
        detail = "; ".join(f"{f.title}: {f.message}" for f in group.exceptions)
        raise ContractViolation(clause, f"{case.method} {case.formatted_path}: {detail}", response=response) from None


@pytest.fixture
def deferred(profile: Profile) -> Iterator[DeferredChecks]:
    """The async-aware checks of one conformance test, side by side; judged when the test ends (a
    violation then fails the test at teardown, naming its clause and the write it concerns)."""
    pending = DeferredChecks(profile.concurrency)
    with checks.deferred_to(pending):
        yield pending
    pending.join()


def conforms(
    case: Case[Any], api: ApiClient, live: LiveResources, marks: RunMarks, target: Target, minted: MintedTokens
) -> None:
    prepare(case, marks, live, minted)
    response = send(api, case, target, minted)
    judge(case, response, target, checks.ASYNC_CHECKS)
    if case.method.upper() == "DELETE" and response.status_code == 202:
        live.forget(str(case.path_parameters.get("id")))


@valid_schema.parametrize()
@pytest.mark.conformance
def test_valid_requests_conform(
    case: Case[Any],
    api: ApiClient,
    live: LiveResources,
    marks: RunMarks,
    target: Target,
    minted: MintedTokens,
    deferred: DeferredChecks,
) -> None:
    """Every request the spec calls valid gets an answer the contract allows, in the shape the spec gives."""
    conforms(case, api, live, marks, target, minted)


@invalid_schema.parametrize()
@pytest.mark.conformance
def test_invalid_requests_are_rejected(
    case: Case[Any],
    api: ApiClient,
    live: LiveResources,
    marks: RunMarks,
    target: Target,
    minted: MintedTokens,
    deferred: DeferredChecks,
) -> None:
    """Every request the spec calls invalid is rejected as the contract says (never a 5xx, never accepted)."""
    conforms(case, api, live, marks, target, minted)


# -- link walks ------------------------------------------------------------------------------------
LINKS = spec_links()
ROOTS = ("createConfiguration", "listConfigurations")  # entry points: they need no earlier answer
MOVES: list[tuple[str, Link | None]] = [(op, None) for op in ROOTS] + [(link.target, link) for link in LINKS]
NEGATIVE_SHARE = 10  # one step in ten is negative data (as Schemathesis's own stateful phase does)


@dataclass
class Step:
    operation_id: str
    case: Case[Any]
    response: httpx.Response


def case_strategy(operation_id: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
    strategy: st.SearchStrategy[Case[Any]] = schema.find_operation_by_id(operation_id).as_strategy(generation_mode=mode)
    return strategy


def follow(link: Link, steps: list[Step], pick: int, case: Case[Any]) -> None:
    """Fill `case` from an earlier answer the link applies to (the `pick`-th of them, cyclically);
    a value the case is negative in is left as generated, and so is everything when no earlier
    answer fits (the step then runs as drawn)."""
    sources = [s for s in steps if s.operation_id == link.source and s.response.status_code == link.status]
    if not sources:
        return
    source = sources[pick % len(sources)]
    for parameter, expression in link.parameters:
        where, _, name = parameter.partition(".")
        location = {
            "path": ParameterLocation.PATH,
            "query": ParameterLocation.QUERY,
            "header": ParameterLocation.HEADER,
        }.get(where)
        if location is None or (case.meta is not None and case.meta.is_negative_at(location)):
            continue
        value = evaluate(expression, source.case, source.response)
        if value is UNRESOLVED or value is None:
            continue
        if where == "path":
            case.path_parameters = {**(case.path_parameters or {}), name: value}
        elif where == "query":
            case.query = {**(case.query or {}), name: value}
        else:
            case.headers = {**dict(case.headers or {}), name: str(value)}  # type: ignore[assignment]


@pytest.mark.conformance
@pytest.mark.stateful
def test_link_walks(
    api: ApiClient, live: LiveResources, marks: RunMarks, target: Target, profile: Profile, minted: MintedTokens
) -> None:
    """Walk the spec's links (create -> operation -> fetch/update/patch/delete, page -> next page,
    read -> conditional write) with async-aware checks.

    What each step does is drawn without looking at any answer (the move, which earlier answer a
    link starts from, the data): Hypothesis then sees the same generation whatever the server
    answers, at every seed and in every phase. The answers only fill in the link's values.
    """
    if not profile.stateful:
        pytest.skip(f"profile {profile.name} turns the stateful phase off")
    modes = [GenerationMode(mode) for mode in profile.modes]
    strategies = {(op, mode): case_strategy(op, mode) for op in {move for move, _ in MOVES} for mode in modes}

    @settings(max_examples=profile.stateful_max_examples, deadline=None)
    @given(data=st.data())
    def walk(data: st.DataObject) -> None:
        steps: list[Step] = []
        count = data.draw(
            st.integers(max(1, profile.stateful_step_count // 2), max(1, profile.stateful_step_count)), label="steps"
        )
        for number in range(count):
            operation_id, link = data.draw(st.sampled_from(MOVES), label=f"step {number + 1}")
            pick = data.draw(st.integers(0, max(0, number - 1)), label="from answer")
            negative = GenerationMode.NEGATIVE in modes and data.draw(st.integers(0, NEGATIVE_SHARE - 1)) == 0
            mode = GenerationMode.NEGATIVE if negative else modes[0]
            case = data.draw(strategies[(operation_id, mode)], label=operation_id)
            if link is not None:
                follow(link, steps, pick, case)
            prepare(case, marks, live, minted, keep_own_ids=True)
            response = send(api, case, target, minted)
            judge(case, response, target, checks.ASYNC_CHECKS)
            if case.method.upper() == "DELETE" and response.status_code == 202:
                live.forget(str(case.path_parameters.get("id")))
            steps.append(Step(operation_id, case, response))

    walk()
