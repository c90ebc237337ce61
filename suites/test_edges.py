"""What careless and hostile clients send: exact bounds, near misses, hostile text and structure,
media types as clients really send them, look-ups and filters that must be exact.

Clauses: ERR-400 (bounds and patterns as written, code points, closed bodies), ERR-413 (exactly
the byte limit is accepted), ERR-415, ERR-EXACT, PAGE-SIZE, PAGE-FILTER, IDEM-FORMAT, GEN-NO-5XX
(never, for any input), ERR-BODY (every rejection), RES-ROUNDTRIP (hostile text that is valid is
stored and read back exactly), OPS-SYNC (a valid write that is accepted also completes).

Every case comes from the spec (`orchestrator_contract.spec_data.edge_cases`: the bounds, patterns, formats,
enums, closed objects and media types it states), names the clause it probes, and says what a
conformant server answers. The `ci` profile sends the whole deterministic catalogue (the
fuzzed part draws `profile.edge_fuzz_examples` hostile values); the nightly profile draws far more.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.planning.profiles import Profile
from orchestrator_contract.scenarios.edge_runner import EdgeRunner, raise_first
from orchestrator_contract.scenarios.steps import Scenario
from orchestrator_contract.spec_data import edge_cases as edges

pytestmark = [pytest.mark.edges, pytest.mark.validation]


@pytest.fixture(scope="session")
def runner(scenario: Scenario) -> EdgeRunner:
    return EdgeRunner(scenario)


@pytest.mark.parametrize("operation_id", [*edges.BODY_OPERATIONS, "listConfigurations"])
def test_exact_bounds_are_accepted_and_one_past_them_rejected(
    scenario: Scenario, runner: EdgeRunner, operation_id: str
) -> None:
    """maxLength/minLength (in code points), maxItems, minimum/maximum, pageSize, the body size."""
    cases = edges.parameter_cases(operation_id, "bounds", scenario.marks)
    if operation_id in edges.BODY_OPERATIONS:
        cases = edges.pack(edges.body_cases(operation_id, "bounds", scenario.marks)) + cases
        cases += edges.size_cases(operation_id, scenario.marks)
    assert cases, f"the spec states no bound for {operation_id}"
    raise_first(runner.run(cases), "bounds")


@pytest.mark.parametrize("operation_id", [*edges.BODY_OPERATIONS, "listConfigurations"])
def test_values_one_step_from_valid_are_judged_by_the_spec(
    scenario: Scenario, runner: EdgeRunner, operation_id: str
) -> None:
    """Other letter case, a character more or less, surrounding whitespace, look-alikes, relative
    references: rejected where the pattern, enum or format rules them out, accepted where not."""
    cases = edges.parameter_cases(operation_id, "near-misses", scenario.marks)
    if operation_id in edges.BODY_OPERATIONS:
        cases = edges.pack(edges.body_cases(operation_id, "near-misses", scenario.marks)) + cases
    raise_first(runner.run(cases), "near-miss")


@pytest.mark.parametrize("operation_id", edges.BODY_OPERATIONS)
def test_hostile_text_and_structure_in_bodies(scenario: Scenario, runner: EdgeRunner, operation_id: str) -> None:
    """Every Unicode plane, NUL, BOM, bidi overrides in every text field (stored and read back
    exactly), in the fields that must reject them, as unknown member names; deep nesting; long
    strings and large arrays where no bound is stated; an escaped lone surrogate: never a 5xx."""
    raise_first(runner.run(edges.pack(edges.body_cases(operation_id, "hostile", scenario.marks))), "hostile")


def test_hostile_text_in_paths_queries_and_headers(runner: EdgeRunner) -> None:
    """Path ids, the filter, page tokens, Idempotency-Key and If-Match with hostile text: the 4xx
    the contract names, with its error body, never a 5xx."""
    raise_first(runner.run(edges.hostile_parameter_cases(runner.shared_target())), "hostile")


@pytest.mark.parametrize("operation_id", edges.BODY_OPERATIONS)
def test_media_types_as_clients_send_them(scenario: Scenario, runner: EdgeRunner, operation_id: str) -> None:
    raise_first(runner.run(edges.media_type_cases(operation_id, scenario.marks)), "media-type")


def test_look_ups_and_filters_are_exact(scenario: Scenario, runner: EdgeRunner) -> None:
    """Ids and a store one step from real ones: 404 on every operation on `{id}`, and a filter
    that lists only exactly matching configurations (also against stored values one step off)."""
    tag, store = scenario.store("edge-exact")
    created = scenario.create(scenario.body("edge exact", tag))
    operation = created.response.headers.get("Operation-Id", "")
    neighbours = [
        scenario.body(f"edge near {i}", tag, memoryStoreId=value)
        for i, (_, value) in enumerate(edges.id_variants(store))
        if value.strip() and value != store
    ]
    near_ids = scenario.create_many(neighbours)
    raise_first(runner.run(edges.lookup_cases(created.id, operation, store)), "exactness")
    listed = scenario.store_ids(store)
    strays = sorted(set(listed) - {created.id})
    expect(
        listed == [created.id],
        Clause.ERR_EXACT,
        f"memoryStoreId={store} lists {listed}; only {created.id} has exactly that store "
        f"({len(strays)} listed configuration(s) have a store one step from it: {strays[:5]})",
    )
    scenario.discard([created.id, *near_ids])


def test_fuzzed_hostile_values_in_every_slot(scenario: Scenario, runner: EdgeRunner, profile: Profile) -> None:
    """Hostile strings drawn from every Unicode plane (lone surrogates included), in a drawn slot
    of a drawn write: judged by the slot's schema, never a 5xx."""
    slots = [
        s
        for op in edges.BODY_OPERATIONS
        for s in edges.slots(op)
        if s.location == "body" and "string" in edges.types_of(s.schema) and not s.twin
    ]
    texts = st.text(st.characters(codec=None), min_size=0, max_size=40) | st.sampled_from(
        [t for _, t in edges.HOSTILE_TEXTS]
    )

    @settings(max_examples=max(1, profile.edge_fuzz_examples), deadline=None)
    @given(slot=st.sampled_from(slots), text=texts)
    def probe(slot: edges.Slot, text: str) -> None:
        raise_first(runner.run([edges.fuzz_case(slot, text, scenario.marks)]), "fuzzed hostile")

    probe()
