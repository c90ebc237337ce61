"""Pagination and filtering of `GET /v2/ControlPlane/Configurations`.

Clauses: PAGE-SIZE, PAGE-BODY, PAGE-ORDER, PAGE-TOKEN, PAGE-TOKEN-INVALID, PAGE-KEYSET,
PAGE-PREVIOUS, PAGE-FILTER, GEN-UNKNOWN-QUERY; ERR-BODY for the 400s; OPS-VISIBLE when a
dataset's completed creates cannot be fetched.

Every dataset lives under a `memoryStoreId` of its own and is built from minimal create bodies
(`Scenario.body`), not drawn from `create_bodies`: a dataset shared by tests cannot be drawn
inside `@given`, drawing outside it (`find`, `.example()`) is not deterministic, and what
pagination depends on (ids, `createdAt`, `memoryStoreId`) is the same for any valid body. Drawn
bodies are round-tripped by the semantics suites. The Hypothesis-drawn part here is the walk:
page sizes, page by page.

"A page holds `pageSize` items unless it is the last" is enforced as part of PAGE-SIZE (with
`meta.pageSize` = items in this page and `nextToken` present exactly when more items follow, a
short page in the middle of a static dataset would make `pageSize` meaningless).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.contract.violations import ContractViolation, expect
from orchestrator_contract.exchanges.client import CONFIGURATIONS, ApiClient
from orchestrator_contract.exchanges.recording import ContextThreadPool
from orchestrator_contract.scenarios.expectations import expect_error
from orchestrator_contract.scenarios.steps import Scenario, create_all, created_id, in_parallel

pytestmark = pytest.mark.pagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
STORE_PREFIX = "mem_store_"


# -- datasets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    store: str
    ids: frozenset[str]


def expect_visible(client: ApiClient, store: str, ids: Iterable[str]) -> None:
    """Completed creates are visible: one list per store, and a GET of any item the list lacks.

    A GET that also misses it is an OPS-VISIBLE violation; a list that alone misses it, PAGE-KEYSET.
    """
    page = get_page(client, {"pageSize": MAX_PAGE_SIZE, "memoryStoreId": store}, Clause.PAGE_FILTER)
    for cid in sorted(set(ids) - set(page.ids)):
        status = client.fetch(cid).status_code
        expect(status == 200, Clause.OPS_VISIBLE, f"configuration {cid}, whose create COMPLETED, answers GET {status}")
        raise ContractViolation(
            Clause.PAGE_KEYSET, f"{cid} (fetchable, memoryStoreId {store}) is missing from its store's list"
        )


def delete_settled(scenario: Scenario, ids: Iterable[str]) -> None:
    """DELETE concurrently, then wait for all of them together."""
    deletes = [lambda cid=cid: scenario.api.delete(cid) for cid in ids]
    scenario.settle_all(in_parallel(deletes, scenario.profile.concurrency))


def bodies_for(scenario: Scenario, store_tag: str, count: int, name: str) -> list[dict[str, Any]]:
    return [scenario.body(f"{name} {i}", store_tag) for i in range(count)]


@dataclass
class World:
    """Every dataset of this module, each under its own memoryStoreId, created in one round."""

    sets: dict[str, Dataset]
    foreign: Dataset | None  # the second account's (None without a second account)
    extra: set[str] = field(default_factory=set)  # ids tests create later (discarded at the end)


SIZES = {"decoy": 3, "default": DEFAULT_PAGE_SIZE + 1, "lockstep": 9, "churn": 10}


@pytest.fixture(scope="session")
def world(scenario: Scenario, api2_or_none: ApiClient | None) -> Iterator[World]:
    """The datasets, created together so one round of waiting serves them all.

    "main" (`profile.dataset_size` items) is walked; "decoy" is created alongside, so the two
    interleave in createdAt and a walk that loses its filter shows decoys; "default" has 51 items
    (the default page size is 50); "lockstep" and "churn" are changed by their tests.
    """
    api, api2 = scenario.api, api2_or_none
    sizes = {"main": scenario.profile.dataset_size, **SIZES}
    jobs: list[tuple[ApiClient, dict[str, Any]]] = []
    for name, count in sizes.items():
        jobs += [(api, body) for body in bodies_for(scenario, f"pg-{name}", count, name)]
    if api2 is not None:
        jobs += [(api2, body) for body in bodies_for(scenario, "pg-foreign", 2, "foreign")]
    ids = create_all(jobs, scenario.poll, workers=scenario.profile.concurrency)
    sets: dict[str, Dataset] = {}
    offset = 0
    for name, count in sizes.items():
        sets[name] = Dataset(scenario.marks.memory_store_id(f"pg-{name}"), frozenset(ids[offset : offset + count]))
        offset += count
    foreign = Dataset(scenario.marks.memory_store_id("pg-foreign"), frozenset(ids[offset:])) if api2 else None
    for data in sets.values():
        expect_visible(api, data.store, data.ids)
    state = World(sets, foreign)
    yield state
    scenario.discard(set(ids[:offset]) | state.extra)
    if api2 is not None and foreign is not None:
        scenario.discard(foreign.ids, api2)


@pytest.fixture(scope="session")
def dataset(world: World) -> Dataset:
    return world.sets["main"]


# -- pages and walks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    params: dict[str, Any]
    requested: int  # the page size asked for (the default when pageSize was not sent)
    items: list[dict[str, Any]]
    meta: dict[str, Any]

    @property
    def ids(self) -> list[str]:
        return [item["id"] for item in self.items]


def parse_page(response: httpx.Response, params: dict[str, Any], clause: str) -> Page:
    """Check one 200 list answer's shape (PAGE-BODY) and the page-size ceiling (PAGE-SIZE)."""
    expect(
        response.status_code == 200, clause, f"GET list {params} answered {response.status_code}: {response.text[:300]}"
    )
    body = json_or_none(response)
    expect(
        isinstance(body, dict) and isinstance(body.get("configurations"), list) and isinstance(body.get("meta"), dict),
        Clause.PAGE_BODY,
        f"list body is not {{configurations: [...], meta: {{...}}}}: {response.text[:300]}",
    )
    items, meta = body["configurations"], body["meta"]
    expect(
        all(
            isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("createdAt"), str) for i in items
        ),
        Clause.PAGE_BODY,
        "a list item lacks a string id or createdAt",
    )
    expect(
        meta.get("key") == "configurations", Clause.PAGE_BODY, f"meta.key is {meta.get('key')!r}, not 'configurations'"
    )
    expect(
        type(meta.get("pageSize")) is int and meta["pageSize"] == len(items),
        Clause.PAGE_BODY,
        f"meta.pageSize is {meta.get('pageSize')!r} but the page holds {len(items)} items",
    )
    for name in ("nextToken", "previousToken"):
        if name in meta:
            expect(
                isinstance(meta[name], str) and meta[name] != "",
                Clause.PAGE_BODY,
                f"meta.{name} is {meta[name]!r}: when there is none it must be absent, not null or empty",
            )
    requested = int(params.get("pageSize", DEFAULT_PAGE_SIZE))
    expect(len(items) <= requested, Clause.PAGE_SIZE, f"asked for pages of {requested}, got {len(items)} items")
    return Page(dict(params), requested, items, meta)


def get_page(api: ApiClient, params: dict[str, Any], clause: str) -> Page:
    return parse_page(api.list(**params), params, clause)


def walk(
    api: ApiClient, store: str | None, sizes: Iterable[int | None], *, max_pages: int, token: str | None = None
) -> list[Page]:
    """Follow `nextToken` the SDK's way: repeat pageSize and memoryStoreId, add pageToken.

    `sizes` gives the pageSize of each request (None: not sent); the last one repeats. With
    `token` the walk starts there instead of at the first page.
    """
    size_iter = iter(sizes)
    size: int | None = None
    pages: list[Page] = []
    while True:
        size = next(size_iter, size)
        params: dict[str, Any] = {}
        if size is not None:
            params["pageSize"] = size
        if store is not None:
            params["memoryStoreId"] = store
        if token is not None:
            params["pageToken"] = token
        clause = Clause.PAGE_TOKEN if token is not None else (Clause.PAGE_FILTER if store else Clause.PAGE_SIZE)
        pages.append(get_page(api, params, clause))
        if store is not None:
            expect_page_filtered(pages[-1], store, len(pages))
        token = pages[-1].meta.get("nextToken")
        if not token:
            return pages
        expect(
            len(pages) < max_pages,
            Clause.PAGE_BODY,
            f"still a nextToken after {len(pages)} pages: more pages than the data can fill",
        )


def sort_key(item: dict[str, Any]) -> tuple[str, str]:
    return item["createdAt"], item["id"]


def expect_ascending(items: Sequence[dict[str, Any]], what: str) -> None:
    for before, after in pairwise(items):
        expect(
            sort_key(before) < sort_key(after),
            Clause.PAGE_ORDER,
            f"{what}: {sort_key(before)} comes before {sort_key(after)}; the order is ascending "
            f"(createdAt, id) and an item appears once",
        )


def expect_no_duplicates(ids: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    twice: set[str] = set()
    for cid in ids:
        (twice if cid in seen else seen).add(cid)
    expect(not twice, Clause.PAGE_KEYSET, f"{what}: returned twice: {sorted(twice)[:5]}")


def expect_page_filtered(page: Page, store: str, number: int) -> None:
    foreign = [(i["id"], i.get("memoryStoreId")) for i in page.items if i.get("memoryStoreId") != store]
    expect(
        not foreign,
        Clause.PAGE_FILTER,
        f"page {number} of a walk filtered by {store} holds other stores' items: {foreign[:5]}",
    )


def expect_filtered(pages: Sequence[Page], store: str) -> None:
    for number, page in enumerate(pages, 1):
        expect_page_filtered(page, store, number)


def check_static_walk(pages: Sequence[Page], expected: frozenset[str], store: str) -> None:
    """A walk over data that did not change: every item once, in order, full pages, right tokens."""
    expect_filtered(pages, store)
    expect(
        len(pages) == 1 or pages[-1].items,
        Clause.PAGE_BODY,
        f"page {len(pages) - 1} has a nextToken, but no items follow it (page {len(pages)} is empty)",
    )
    for number, page in enumerate(pages[:-1], 1):
        expect(
            len(page.items) == page.requested,
            Clause.PAGE_SIZE,
            f"page {number} holds {len(page.items)} items, pageSize was {page.requested}, and more follow",
        )
    ids = [cid for page in pages for cid in page.ids]
    expect_no_duplicates(ids, "static walk")
    expect_ascending([item for page in pages for item in page.items], "static walk")
    missing, extra = expected - set(ids), set(ids) - expected
    expect(not extra, Clause.PAGE_KEYSET, f"the walk returned items that are not in the store: {sorted(extra)[:5]}")
    expect(
        not missing,
        Clause.PAGE_KEYSET,
        f"the walk ({len(pages)} pages) missed {len(missing)} of {len(expected)} items: {sorted(missing)[:5]}",
    )
    for number, page in enumerate(pages, 1):
        expect(
            ("previousToken" in page.meta) == (number > 1),
            Clause.PAGE_BODY,
            f"page {number}: previousToken {'absent' if number > 1 else 'present'}; it is present "
            f"exactly when the page is not the first",
        )


# -- walks over the static dataset ---------------------------------------------------------------


@given(data=st.data())
def test_walk_with_drawn_page_size_returns_every_item_once_in_order(
    api: ApiClient, dataset: Dataset, profile: Any, data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, profile.dataset_size + 2), label="pageSize")
    pages = walk(api, dataset.store, [size], max_pages=len(dataset.ids) + 3)
    check_static_walk(pages, dataset.ids, dataset.store)


@pytest.mark.parametrize("size", [1, MAX_PAGE_SIZE])
def test_walk_at_the_page_size_bounds(api: ApiClient, dataset: Dataset, size: int) -> None:
    pages = walk(api, dataset.store, [size], max_pages=len(dataset.ids) + 3)
    check_static_walk(pages, dataset.ids, dataset.store)


@given(data=st.data())
def test_page_size_may_change_from_page_to_page(
    api: ApiClient, dataset: Dataset, profile: Any, data: st.DataObject
) -> None:
    """A token is bound to the account and the filter, not to pageSize."""
    sizes = data.draw(
        st.lists(st.integers(1, profile.dataset_size + 2), min_size=len(dataset.ids), max_size=len(dataset.ids)),
        label="pageSizes",
    )
    pages = walk(api, dataset.store, sizes, max_pages=len(dataset.ids) + 3)
    check_static_walk(pages, dataset.ids, dataset.store)


@given(data=st.data())
def test_previous_token_returns_the_previous_page(api: ApiClient, dataset: Dataset, data: st.DataObject) -> None:
    """Walk forward, then back along previousToken: page k-1 again, and the first page has none."""
    size = data.draw(st.integers(1, max(1, len(dataset.ids) // 2)), label="pageSize")
    forward = walk(api, dataset.store, [size], max_pages=len(dataset.ids) + 3)
    check_static_walk(forward, dataset.ids, dataset.store)
    page = forward[-1]
    for k in range(len(forward) - 1, 0, -1):
        params = {"pageSize": size, "memoryStoreId": dataset.store, "pageToken": page.meta["previousToken"]}
        page = get_page(api, params, Clause.PAGE_TOKEN)
        expect(
            page.ids == forward[k - 1].ids,
            Clause.PAGE_PREVIOUS,
            f"previousToken of page {k + 1} gave {page.ids}, page {k} was {forward[k - 1].ids}",
        )
        expect(
            "nextToken" in page.meta,
            Clause.PAGE_BODY,
            f"page {k}, reached backwards, has no nextToken although page {k + 1} follows it",
        )
        expect(
            ("previousToken" in page.meta) == (k > 1),
            Clause.PAGE_BODY,
            f"page {k}, reached backwards: previousToken present exactly when it is not the first page",
        )
    if len(forward) > 1:
        params = {"pageSize": size, "memoryStoreId": dataset.store, "pageToken": page.meta["nextToken"]}
        again = get_page(api, params, Clause.PAGE_TOKEN)
        expect(
            again.ids == forward[1].ids,
            Clause.PAGE_KEYSET,
            f"nextToken of the first page reached backwards gave {again.ids}, not page 2 {forward[1].ids}",
        )


def test_without_page_size_pages_hold_the_default_50(api: ApiClient, dataset: Dataset) -> None:
    """The walked dataset without pageSize: ceil(N / 50) pages (one page when N <= 50, as in CI)."""
    pages = walk(api, dataset.store, [None], max_pages=len(dataset.ids) + 3)
    expected = max(1, -(-len(dataset.ids) // DEFAULT_PAGE_SIZE))
    expect(
        len(pages) == expected,
        Clause.PAGE_SIZE,
        f"{len(dataset.ids)} items without pageSize took {len(pages)} "
        f"pages, not {expected} (the default page size is 50)",
    )
    check_static_walk(pages, dataset.ids, dataset.store)


def test_default_page_size_is_50(api: ApiClient, world: World) -> None:
    """51 items without pageSize: a page of exactly 50 with a nextToken, then a page of 1."""
    data = world.sets["default"]
    first = get_page(api, {"memoryStoreId": data.store}, Clause.PAGE_FILTER)
    expect(
        len(first.items) == DEFAULT_PAGE_SIZE,
        Clause.PAGE_SIZE,
        f"without pageSize a page of {len(data.ids)} items holds {len(first.items)}; the default is 50",
    )
    pages = walk(api, data.store, [None], max_pages=len(data.ids) + 3)
    check_static_walk(pages, data.ids, data.store)


@pytest.mark.parametrize("value", ["0", "1001", "-1", "abc", "1.5", "", "1e2", "1_0", "99999999999999999999"])
def test_page_size_out_of_range_or_not_an_integer_is_400(api: ApiClient, dataset: Dataset, value: str) -> None:
    response = api.request("GET", CONFIGURATIONS, params={"pageSize": value, "memoryStoreId": dataset.store})
    expect_error(response, 400, Clause.PAGE_SIZE, f"pageSize={value!r}")


def test_unknown_query_parameters_are_ignored(api: ApiClient, world: World) -> None:
    """The same list with unknown parameters added answers the same page.

    Wrong-case names are unknown too: the SDK's page_with_http_info sends `PageSize`, `Page` and
    `PageToken`, and `MemoryStoreId` here names another store.
    """
    store = world.sets["main"].store
    plain = get_page(api, {"memoryStoreId": store}, Clause.PAGE_FILTER)
    noisy = {
        "memoryStoreId": store,
        "Foo": "bar",
        "PageSize": "3",
        "Page": "2",
        "PageToken": "!!!",
        "MemoryStoreId": world.sets["decoy"].store,
    }
    response = api.request("GET", CONFIGURATIONS, params=noisy)
    expect(
        response.status_code == 200,
        Clause.GEN_UNKNOWN_QUERY,
        f"unknown query parameters were not ignored: {response.status_code} {response.text[:300]}",
    )
    page = parse_page(response, {"memoryStoreId": store}, Clause.GEN_UNKNOWN_QUERY)
    expect(
        page.ids == plain.ids and ("nextToken" in page.meta) == ("nextToken" in plain.meta),
        Clause.GEN_UNKNOWN_QUERY,
        f"with unknown parameters the page holds {len(page.ids)} items (nextToken "
        f"{'present' if 'nextToken' in page.meta else 'absent'}); without them {len(plain.ids)} "
        f"(nextToken {'present' if 'nextToken' in plain.meta else 'absent'})",
    )


# -- walks while the data changes ----------------------------------------------------------------


def check_changing_walk(pages: Sequence[Page], stable: set[str] | frozenset[str], store: str, what: str) -> None:
    expect_filtered(pages, store)
    items = [item for page in pages for item in page.items]
    ids = [item["id"] for item in items]
    expect_no_duplicates(ids, what)
    expect_ascending(items, what)
    missing = stable - set(ids)
    expect(
        not missing,
        Clause.PAGE_KEYSET,
        f"{what}: items that existed throughout were not returned: {sorted(missing)[:5]}",
    )


def test_walk_is_keyset_when_items_change_between_pages(scenario: Scenario, world: World) -> None:
    """After page 1: delete its items and the last item ahead, create one; all settled, then walk on.

    Deterministic (each change completes before the next page): an offset-based token skips
    items that existed throughout the walk; a token that needs its last item to exist fails.
    """
    api, data, size = scenario.api, world.sets["lockstep"], 3
    order = get_page(api, {"pageSize": MAX_PAGE_SIZE, "memoryStoreId": data.store}, Clause.PAGE_FILTER).ids
    first = get_page(api, {"pageSize": size, "memoryStoreId": data.store}, Clause.PAGE_FILTER)
    expect(
        "nextToken" in first.meta,
        Clause.PAGE_BODY,
        f"page 1 of {len(data.ids)} items (pageSize {size}) has no nextToken",
    )
    ahead = [cid for cid in order if cid not in set(first.ids)]
    doomed = set(first.ids) | set(ahead[-1:])
    with ContextThreadPool(max_workers=2) as pool:
        removal = pool.submit(delete_settled, scenario, doomed)
        new = pool.submit(scenario.create_many, bodies_for(scenario, "pg-lockstep", 1, "new"))
        world.extra.update(new.result())
        removal.result()
    rest = walk(api, data.store, [size], max_pages=len(data.ids) + 3, token=first.meta["nextToken"])
    check_changing_walk([first, *rest], data.ids - doomed, data.store, "walk with changes after page 1")


def test_walks_during_concurrent_creates_and_deletes(scenario: Scenario, world: World) -> None:
    """Walks (pageSize 1), one after another, while another thread creates and deletes in the store.

    Whatever the interleaving, each walk returns no item twice, in ascending order, and every item
    that existed throughout. The walk after everything settled returns exactly what exists.
    """
    api, data = scenario.api, world.sets["churn"]
    victims = set(sorted(data.ids)[::2])
    created: list[str] = []
    barrier = threading.Barrier(2)
    settled = threading.Event()

    def churn() -> None:
        barrier.wait()
        deletes = [lambda cid=cid: api.delete(cid) for cid in sorted(victims)]
        creates = [lambda body=body: api.create(body) for body in bodies_for(scenario, "pg-churn", 4, "churn")]
        responses = in_parallel(deletes + creates, scenario.profile.concurrency)
        created.extend(created_id(r) for r in responses[len(deletes) :])
        world.extra.update(created)
        try:
            scenario.settle_all(responses)
        finally:
            settled.set()

    with ContextThreadPool(max_workers=1) as runner:
        churning = runner.submit(churn)
        barrier.wait()
        for number in range(60):
            pages = walk(api, data.store, [1], max_pages=len(data.ids) + 10)
            check_changing_walk(pages, data.ids - victims, data.store, f"walk {number + 1} during changes")
            if settled.is_set():
                break
        churning.result()
    for cid in sorted(victims):
        status = api.fetch(cid).status_code
        expect(status == 404, Clause.OPS_DELETE, f"configuration {cid}, whose DELETE COMPLETED, answers GET {status}")
    pages = walk(api, data.store, [1], max_pages=len(data.ids) + 10)
    check_static_walk(pages, (data.ids - victims) | frozenset(created), data.store)


# -- tokens --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_token(api: ApiClient, dataset: Dataset) -> str:
    page = get_page(api, {"pageSize": 2, "memoryStoreId": dataset.store}, Clause.PAGE_FILTER)
    expect(
        "nextToken" in page.meta, Clause.PAGE_BODY, f"page 1 of {len(dataset.ids)} items (pageSize 2) has no nextToken"
    )
    return str(page.meta["nextToken"])


def flip(token: str, index: int) -> str:
    """Replace one character by another of the same class (case-insensitive decoders see a change)."""
    c = token[index]
    if c.isdigit():
        new = "1" if c != "1" else "2"
    elif c.isalpha():
        new = chr(ord(c) + 1) if c not in "zZ" else chr(ord(c) - 1)
    else:
        new = "A"
    return token[:index] + new + token[index + 1 :]


def _b64_json(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment.replace("+", "-").replace("/", "_") + "=" * (-len(segment) % 4))
    except ValueError:  # binascii.Error
        return None
    return json_or_none(raw)


def _changed(value: Any) -> Any:
    """The value with its first integer incremented (or, failing that, its first string altered)."""

    def walk_values(v: Any, want: type[Any]) -> tuple[Any, bool]:
        if isinstance(v, want) and not isinstance(v, bool):
            return (v + 1 if want is int else v[:-1] + ("b" if v.endswith("a") else "a")), True
        items = list(v.items()) if isinstance(v, dict) else list(enumerate(v)) if isinstance(v, list) else []
        for k, item in items:
            new, done = walk_values(item, want)
            if done:
                copy = dict(v) if isinstance(v, dict) else list(v)
                copy[k] = new
                return copy, True
        return v, False

    for want in (int, str):
        new, done = walk_values(value, want)
        if done:
            return new
    return value


def rewritten(token: str) -> str:
    """Tamper with meaning, not just form: if a dot-separated segment is base64 JSON, change a value
    in it and re-encode it the same way; otherwise alter the last segment. Either way a token the
    server did not issue, which it must reject."""
    parts = token.split(".")
    for index, part in enumerate(parts):
        value = _b64_json(part)
        if value is None or _changed(value) == value:
            continue
        encoded = base64.urlsafe_b64encode(json.dumps(_changed(value)).encode()).decode()
        if "+" in part or "/" in part:
            encoded = encoded.replace("-", "+").replace("_", "/")
        parts[index] = encoded if part.endswith("=") else encoded.rstrip("=")
        return ".".join(parts)
    last = parts[-1]
    parts[-1] = flip(last, len(last) // 2) if last else "A"
    return ".".join(parts)


MALFORMED_TOKENS = {
    "random-base64": base64.urlsafe_b64encode(bytes(range(7, 250, 9))).decode(),
    "seed-example": "eyJwYWdlIjoyLCJxdWVyeSI6ImJvb2tzIn0=",
    "empty": "",
    "bangs": "!!!",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_TOKENS))
def test_malformed_token_is_400(api: ApiClient, dataset: Dataset, name: str) -> None:
    response = api.list(pageSize=2, memoryStoreId=dataset.store, pageToken=MALFORMED_TOKENS[name])
    expect_error(response, 400, Clause.PAGE_TOKEN_INVALID, f"{name} pageToken {MALFORMED_TOKENS[name]!r}")


@pytest.mark.parametrize("how", ["flip-middle", "append", "drop-last", "rewrite-payload"])
def test_tampered_token_is_400(api: ApiClient, dataset: Dataset, real_token: str, how: str) -> None:
    tampered = {
        "flip-middle": flip(real_token, len(real_token) // 2),
        "append": real_token + "A",
        "drop-last": real_token[:-1],
        "rewrite-payload": rewritten(real_token),
    }[how]
    expect(
        tampered != real_token, Clause.PAGE_TOKEN_INVALID, f"suite error: tampering ({how}) left the token as it was"
    )
    response = api.list(pageSize=2, memoryStoreId=dataset.store, pageToken=tampered)
    expect_error(response, 400, Clause.PAGE_TOKEN_INVALID, f"token tampered ({how})")


def test_token_used_with_another_filter_is_400(api: ApiClient, world: World, real_token: str) -> None:
    main, decoy = world.sets["main"], world.sets["decoy"]
    expect_error(
        api.list(pageSize=2, memoryStoreId=decoy.store, pageToken=real_token),
        400,
        Clause.PAGE_TOKEN_INVALID,
        f"token of a walk filtered by {main.store} used with memoryStoreId={decoy.store}",
    )
    expect_error(
        api.list(pageSize=2, pageToken=real_token),
        400,
        Clause.PAGE_TOKEN_INVALID,
        f"token of a walk filtered by {main.store} used without memoryStoreId",
    )
    unfiltered = get_page(api, {"pageSize": 1}, Clause.PAGE_SIZE)
    expect(
        "nextToken" in unfiltered.meta,
        Clause.PAGE_BODY,
        "first unfiltered page of 1 has no nextToken although the account holds this module's datasets",
    )
    expect_error(
        api.list(pageSize=1, memoryStoreId=main.store, pageToken=unfiltered.meta["nextToken"]),
        400,
        Clause.PAGE_TOKEN_INVALID,
        "token of an unfiltered walk used with a memoryStoreId",
    )


@pytest.mark.isolation
def test_token_of_another_account_is_400(api: ApiClient, api2: ApiClient, world: World) -> None:
    foreign = world.foreign
    assert foreign is not None  # api2 exists, so the world created the second account's items
    page = get_page(api2, {"pageSize": 1, "memoryStoreId": foreign.store}, Clause.PAGE_FILTER)
    expect("nextToken" in page.meta, Clause.PAGE_BODY, "page 1 of 2 items (pageSize 1) has no nextToken")
    response = api.list(pageSize=1, memoryStoreId=foreign.store, pageToken=page.meta["nextToken"])
    expect_error(response, 400, Clause.PAGE_TOKEN_INVALID, "the second account's token used by the first account")


# -- the memoryStoreId filter --------------------------------------------------------------------


def invalid_store_ids(valid: str) -> dict[str, str]:
    suffix = valid[len(STORE_PREFIX) :]  # [0-7] then 25 of [0-9a-z]
    return {
        "first-char-8": f"{STORE_PREFIX}8{suffix[1:]}",
        "uppercase": valid.upper(),
        "uppercase-tail": f"{STORE_PREFIX}{suffix[:-1]}A",
        "one-char-short": f"{STORE_PREFIX}{suffix[:-1]}",
        "one-char-long": f"{STORE_PREFIX}{suffix}a",
        "memory_store": f"memory_store_{suffix}",
        "valid-plus-x": f"{valid}x",
        "prefix": valid[:-5],
        "trailing-newline": f"{valid}\n",
        "leading-space": f" {valid}",
    }


@pytest.mark.parametrize("name", sorted(invalid_store_ids(f"{STORE_PREFIX}0{'a' * 25}")))
def test_invalid_memory_store_id_is_400(scenario: Scenario, name: str) -> None:
    value = invalid_store_ids(scenario.marks.memory_store_id("pg-empty"))[name]
    expect_error(
        scenario.api.request("GET", CONFIGURATIONS, params={"memoryStoreId": value}),
        400,
        Clause.PAGE_FILTER,
        f"memoryStoreId {value!r} ({name}) does not match ^mem_(store|service)_[0-7][0-9a-z]{{25}}$",
    )


@pytest.mark.parametrize("kind", ["store", "service"])
def test_valid_memory_store_id_without_configurations_is_an_empty_page(scenario: Scenario, kind: str) -> None:
    store = scenario.marks.memory_store_id("pg-empty")
    if kind == "service":
        store = "mem_service_" + store[len(STORE_PREFIX) :]
    page = get_page(scenario.api, {"memoryStoreId": store}, Clause.PAGE_FILTER)
    expect(
        page.items == [] and "nextToken" not in page.meta and "previousToken" not in page.meta,
        Clause.PAGE_FILTER,
        f"memoryStoreId {store} holds nothing, yet the page is {page.ids} with meta {page.meta}",
    )
