"""Authentication and account isolation.

Clauses: AUTH-BASIC, AUTH-401, AUTH-ISOLATION-404, AUTH-ISOLATION-LIST, AUTH-NO-ECHO; ERR-BODY.

A configuration of the primary account (the `victim`) is the target of every rejected request:
each of the seven operations, sent with credentials that are missing, wrong or malformed, must be
a 401 that does nothing; sent by the second account with valid bodies, a 404 that does nothing.
Every test ends by scanning all the responses it saw for the credentials it used (AUTH-NO-ECHO).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import json_or_none as json_of
from orchestrator_contract.contract.target import Target
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.exchanges.client import CONFIGURATIONS, NO_AUTH, OPERATIONS, ApiClient
from orchestrator_contract.exchanges.recording import ContextThreadPool, current_exchanges
from orchestrator_contract.scenarios.expectations import expect_error
from orchestrator_contract.scenarios.steps import Scenario, created_id, operation_id, replace_body

WRONG_SECRET = "not-the-auth-token-" + hashlib.sha256(b"orchestrator-contract wrong secret").hexdigest()[:24]
UNKNOWN_ACCOUNT_SID = "AC" + hashlib.sha256(b"orchestrator-contract unknown account").hexdigest()[:32]
UNKNOWN_API_KEY_SID = "SK" + hashlib.sha256(b"orchestrator-contract unknown api key").hexdigest()[:32]
# What a PUT by someone without access sends (with a memoryStoreId): valid, and never to be applied.
NEVER_APPLIED = {"description": "must never be applied", "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES"}


def basic(userpass: str) -> str:
    return "Basic " + base64.b64encode(userpass.encode()).decode()


def expect_no_echo(target: Target) -> None:
    """No response of this test (bodies or headers) carries a credential it or the session used."""
    secrets: dict[str, str] = {"wrong secret": WRONG_SECRET}
    for role, credential in (("primary", target.primary), ("second", target.second), ("api key", target.api_key)):
        if credential is not None:
            secrets[f"{role} secret"] = credential.secret
            secrets[f"{role} Basic credentials"] = basic(f"{credential.username}:{credential.secret}")[6:]
    for exchange in current_exchanges():
        response = exchange.response
        if response is None:
            continue
        texts = [response.text, *(f"{k}: {v}" for k, v in response.headers.items())]
        candidates = {**secrets, **sent_credentials(exchange.request)}
        leaked = sorted(name for name, secret in candidates.items() if any(secret in text for text in texts))
        expect(not leaked, Clause.AUTH_NO_ECHO, f"{exchange.headline()} echoes the {', '.join(leaked)}")


def sent_credentials(request: httpx.Request) -> dict[str, str]:
    """What the request itself sent in `Authorization: Basic` (the encoded pair and the secret), when long
    enough that finding it in a response cannot be chance: an echo of the raw header leaks it too."""
    scheme, _, blob = request.headers.get("Authorization", "").strip().partition(" ")
    blob = blob.strip()
    if scheme.lower() != "basic" or len(blob) < 16:
        return {}
    found = {"Basic credentials it sent": blob}
    try:
        secret = base64.b64decode(blob, validate=True).decode("utf-8").partition(":")[2]
    except ValueError:
        secret = ""
    if len(secret) >= 12:
        found["secret it sent"] = secret
    return found


# -- the primary account's configuration ---------------------------------------------------------


@dataclass(frozen=True)
class Victim:
    id: str
    operation_id: str
    store: str
    representation: dict[str, Any]


@dataclass(frozen=True)
class Shared:
    """Configurations of both accounts under one memoryStoreId."""

    store: str
    first: frozenset[str]
    second: frozenset[str]


@dataclass(frozen=True)
class World:
    victim: Victim
    shared: Shared | None  # None without a second account
    by_api_key: httpx.Response | None  # a create sent with the API key, waited for if 202 (None without a key)


def created_if_accepted(scenario: Scenario, client: ApiClient, body: dict[str, Any]) -> httpx.Response:
    """The API key's create, waited for when accepted; a rejection is kept for the test to judge."""
    accepted = client.create(body)
    if accepted.status_code == 202:
        scenario.settle(accepted, client)
    return accepted


@pytest.fixture(scope="session")
def world(scenario: Scenario, api2_or_none: ApiClient | None) -> Iterator[World]:
    """One concurrent round: the primary's victim, two configurations of each account in a shared
    store, and a configuration created with the API key (each waited for with its own client)."""
    api2, target = api2_or_none, scenario.target
    key = scenario.client_for(target.api_key) if target.api_key else None
    with ContextThreadPool(max_workers=6) as pool:
        victim_f = pool.submit(scenario.create, scenario.body("iso victim", "iso-victim"))
        firsts = [pool.submit(scenario.create, scenario.body(f"iso shared {n}", "iso-shared")) for n in range(2)]
        seconds = (
            [
                pool.submit(scenario.create, scenario.body(f"iso shared {n}", "iso-shared"), client=api2)
                for n in range(2, 4)
            ]
            if api2 is not None
            else []
        )
        keyed = (
            pool.submit(created_if_accepted, scenario, key, scenario.body("iso apikey", "iso-apikey"))
            if key is not None
            else None
        )
        created = victim_f.result()
        first = [f.result().id for f in firsts]
        second = [f.result().id for f in seconds]
        by_api_key = keyed.result() if keyed is not None else None
    if key is not None:
        key.close()
    cid = created.id
    fetched = scenario.fetch(cid)
    victim = Victim(cid, operation_id(created.response), scenario.marks.memory_store_id("iso-victim"), fetched.json())
    shared = Shared(scenario.marks.memory_store_id("iso-shared"), frozenset(first), frozenset(second)) if api2 else None
    yield World(victim, shared, by_api_key)
    key_ids = [created_id(by_api_key)] if by_api_key is not None and by_api_key.status_code == 202 else []
    scenario.discard([cid, *first, *key_ids])
    if api2 is not None:
        scenario.discard(second, api2)


@pytest.fixture(scope="session")
def victim(world: World) -> Victim:
    return world.victim


def expect_victim_unchanged(api: ApiClient, victim: Victim, clause: str, after: str) -> None:
    response = api.fetch(victim.id)
    expect(response.status_code == 200, clause, f"after {after}, the owner's GET answers {response.status_code}")
    expect(
        json_of(response) == victim.representation,
        clause,
        f"after {after}, the configuration changed: {response.text[:300]}",
    )


# -- 401 -----------------------------------------------------------------------------------------

Requests = list[tuple[str, str, str, dict[str, Any]]]


def seven_requests(scenario: Scenario, victim: Victim, store_tag: str) -> Requests:
    """Each operation once, valid apart from the credentials."""
    item = f"{CONFIGURATIONS}/{victim.id}"
    return [
        ("create", "POST", CONFIGURATIONS, {"json": scenario.body("iso unauth", store_tag)}),
        ("list", "GET", CONFIGURATIONS, {"params": {"memoryStoreId": victim.store}}),
        ("fetch", "GET", item, {}),
        ("replace", "PUT", item, {"json": replace_body({**NEVER_APPLIED, "memoryStoreId": victim.store})}),
        ("patch", "PATCH", item, {"json": {"description": "must never be applied"}}),
        ("delete", "DELETE", item, {}),
        ("operation", "GET", f"{OPERATIONS}/{victim.operation_id}", {}),
    ]


VARIANTS = [
    "none",
    "wrong-token",
    "token-with-a-suffix",
    "token-with-the-last-character-changed",
    "unknown-account-sid",
    "unknown-api-key-sid",
    "basic-garbage",
    "bearer",
    "basic-without-credentials",
    "username-only",
    "username-without-colon",
    "second-account-sid-with-primary-token",
    "api-key-sid-with-wrong-secret",
]


def last_changed(secret: str) -> str:
    return secret[:-1] + ("b" if secret.endswith("a") else "a")


def credential_variant(target: Target, variant: str) -> tuple[Any, dict[str, str]]:
    """(httpx auth or NO_AUTH, extra headers) for a way of not being authenticated."""
    primary = target.primary
    if variant == "second-account-sid-with-primary-token":
        if target.second is None:
            pytest.skip("no second account: set TWILIO_SECOND_ACCOUNT_SID / TWILIO_SECOND_AUTH_TOKEN")
        return httpx.BasicAuth(target.second.username, primary.secret), {}
    if variant == "api-key-sid-with-wrong-secret":
        if target.api_key is None:
            pytest.skip("no API key: set TWILIO_API_KEY / TWILIO_API_SECRET")
        return httpx.BasicAuth(target.api_key.username, WRONG_SECRET), {}
    return {
        "none": (NO_AUTH, {}),
        "wrong-token": (httpx.BasicAuth(primary.username, WRONG_SECRET), {}),
        # The right token with one more character, and with its last one changed: the whole secret is compared.
        "token-with-a-suffix": (httpx.BasicAuth(primary.username, primary.secret + "0"), {}),
        "token-with-the-last-character-changed": (httpx.BasicAuth(primary.username, last_changed(primary.secret)), {}),
        "unknown-account-sid": (httpx.BasicAuth(UNKNOWN_ACCOUNT_SID, primary.secret), {}),
        "unknown-api-key-sid": (httpx.BasicAuth(UNKNOWN_API_KEY_SID, primary.secret), {}),
        "basic-garbage": (NO_AUTH, {"Authorization": "Basic !!!"}),
        "bearer": (NO_AUTH, {"Authorization": "Bearer x"}),
        "basic-without-credentials": (NO_AUTH, {"Authorization": "Basic"}),
        "username-only": (NO_AUTH, {"Authorization": basic(f"{primary.username}:")}),
        "username-without-colon": (NO_AUTH, {"Authorization": basic(primary.username)}),
    }[variant]


def expect_401(response: httpx.Response, what: str) -> None:
    code = expect_error(response, 401, Clause.AUTH_401, what)["code"]
    expect(code == 20003, Clause.AUTH_401, f"{what}: error code {code}, not 20003")
    challenge = response.headers.get("WWW-Authenticate", "")
    expect(
        re.match(r"(?i)basic(\s|$)", challenge),
        Clause.AUTH_401,
        f"{what}: WWW-Authenticate is {challenge!r}, not a Basic challenge",
    )


@pytest.mark.auth
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_operation_answers_401_without_valid_credentials(
    scenario: Scenario, victim: Victim, variant: str
) -> None:
    api, target = scenario.api, scenario.target
    auth, headers = credential_variant(target, variant)
    store_tag = f"iso-unauth-{variant}"  # a store per variant: one variant's leak does not fail the next
    for name, method, url, kwargs in seven_requests(scenario, victim, store_tag):
        response = api.request(method, url, auth=auth, headers=headers, **kwargs)
        expect_401(response, f"{method} {name} with {variant} credentials")
    listed = api.list(memoryStoreId=scenario.marks.memory_store_id(store_tag))
    expect(
        listed.status_code == 200 and json_of(listed).get("configurations") == [],
        Clause.AUTH_401,
        f"a POST answered 401 created a configuration: {listed.text[:300]}",
    )
    expect_victim_unchanged(api, victim, Clause.AUTH_401, f"PUT/PATCH/DELETE with {variant} credentials")
    expect_no_echo(target)


@pytest.mark.auth
def test_api_key_authenticates_as_its_account(scenario: Scenario, world: World) -> None:
    """The key reads the account's configuration; what the key created (in `world`) is the account's."""
    api, target = scenario.api, scenario.target
    if target.api_key is None or world.by_api_key is None:
        pytest.skip("no API key: set TWILIO_API_KEY and TWILIO_API_SECRET to check API-key authentication")
    victim = world.victim
    key = scenario.client_for(target.api_key)
    try:
        fetched = key.fetch(victim.id)
        listed = key.list(memoryStoreId=victim.store)
    finally:
        key.close()
    expect(
        fetched.status_code == 200 and json_of(fetched) == victim.representation,
        Clause.AUTH_BASIC,
        f"the account's API key cannot read the account's configuration: {fetched.status_code}",
    )
    ids = [i.get("id") for i in (json_of(listed) or {}).get("configurations", []) if isinstance(i, dict)]
    expect(
        listed.status_code == 200 and ids == [victim.id],
        Clause.AUTH_BASIC,
        f"the API key's list of the account's store shows {ids}, not [{victim.id}]",
    )
    accepted = world.by_api_key
    expect(
        accepted.status_code == 202,
        Clause.AUTH_BASIC,
        f"a valid create sent with the account's API key answered {accepted.status_code}: {accepted.text[:200]}",
    )
    cid = created_id(accepted)
    expect(
        api.fetch(cid).status_code == 200,
        Clause.AUTH_BASIC,
        "the account cannot fetch a configuration its API key created",
    )
    expect(
        api.operation(operation_id(accepted)).status_code == 200,
        Clause.AUTH_BASIC,
        "the account cannot fetch the operation of its API key's create",
    )
    listed = api.list(memoryStoreId=scenario.marks.memory_store_id("iso-apikey"))
    ids = [i.get("id") for i in (json_of(listed) or {}).get("configurations", []) if isinstance(i, dict)]
    expect(ids == [cid], Clause.AUTH_BASIC, f"the account's list shows {ids}, not its API key's configuration {cid}")
    expect_no_echo(target)


# -- isolation -----------------------------------------------------------------------------------


def listed_ids(client: ApiClient, clause: str, *, max_pages: int = 20, **params: Any) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    for _ in range(max_pages):
        response = client.list(pageSize=1000, pageToken=token, **params)
        expect(response.status_code == 200, clause, f"list {params} answered {response.status_code}")
        body = json_of(response)
        ids += [str(i.get("id")) for i in body.get("configurations", []) if isinstance(i, dict)]
        token = body.get("meta", {}).get("nextToken")
        if not token:
            break
    return ids


@pytest.mark.isolation
def test_second_account_gets_404_for_every_id_of_the_first(scenario: Scenario, api2: ApiClient, victim: Victim) -> None:
    """With valid bodies 404 is the only correct answer: never 200, never 403."""
    own_store = scenario.marks.memory_store_id("iso-intruder")
    attempts: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("GET configuration", lambda: api2.fetch(victim.id)),
        (
            "PUT configuration",
            lambda: api2.replace(victim.id, replace_body({**NEVER_APPLIED, "memoryStoreId": own_store})),
        ),
        ("PATCH configuration", lambda: api2.patch(victim.id, {"description": "must never be applied"})),
        ("DELETE configuration", lambda: api2.delete(victim.id)),
        ("GET operation", lambda: api2.operation(victim.operation_id)),
    ]
    for what, send in attempts:
        expect_error(send(), 404, Clause.AUTH_ISOLATION_404, f"{what} of the first account's id by the second account")
    expect_victim_unchanged(scenario.api, victim, Clause.AUTH_ISOLATION_404, "the second account's PUT/PATCH/DELETE")
    filtered = listed_ids(api2, Clause.AUTH_ISOLATION_LIST, memoryStoreId=victim.store)
    expect(
        filtered == [], Clause.AUTH_ISOLATION_LIST, f"the second account's list of the first's store shows {filtered}"
    )
    everything = listed_ids(api2, Clause.AUTH_ISOLATION_LIST)
    expect(
        victim.id not in everything,
        Clause.AUTH_ISOLATION_LIST,
        "the second account's unfiltered list shows the first account's configuration",
    )
    expect_no_echo(scenario.target)


@pytest.mark.isolation
def test_lists_show_only_the_callers_configurations(
    api: ApiClient, api2: ApiClient, target: Target, world: World
) -> None:
    """Both accounts put configurations under one memoryStoreId; each sees exactly its own."""
    shared = world.shared
    assert shared is not None  # api2 exists, so the world created the second account's items
    seen_by_first = listed_ids(api, Clause.AUTH_ISOLATION_LIST, memoryStoreId=shared.store)
    seen_by_second = listed_ids(api2, Clause.AUTH_ISOLATION_LIST, memoryStoreId=shared.store)
    expect(
        sorted(seen_by_first) == sorted(shared.first),
        Clause.AUTH_ISOLATION_LIST,
        f"the first account's list of a shared store shows {seen_by_first}, its own are {sorted(shared.first)}",
    )
    expect(
        sorted(seen_by_second) == sorted(shared.second),
        Clause.AUTH_ISOLATION_LIST,
        f"the second account's list of a shared store shows {seen_by_second}, its own are {sorted(shared.second)}",
    )
    for cid in sorted(shared.second):
        response = api.fetch(cid)
        expect(
            response.status_code == 404,
            Clause.AUTH_ISOLATION_404,
            f"the first account fetched the second's configuration {cid}: {response.status_code}",
        )
    expect_no_echo(target)
