"""Model-based state machine: random create/PUT/PATCH/DELETE/GET/list sequences against the model.

Clauses: RES-ROUNDTRIP, RES-PUT, RES-PATCH, RES-NULL, RES-CONFLICT, RES-SHAPE, RES-TIMESTAMP,
VER-ARITH, VER-NOCHANGE, VER-TIMES, OPS-DELETE, PAGE-ORDER, GEN-STATUS.

Bodies are drawn from the spec's schemas (so they include the SDK's `null`s) and marked with the
run's marks. `conversationsV1Bridge` is kept whenever the spec draws one, but its serviceId is
replaced by one of two serviceIds unique to the machine run: that makes conflicts frequent, so the
model also predicts the 409 rule (a serviceId held by another live configuration of the account
-> 409 naming the holder; keeping one's own is no conflict; PUT without a bridge or DELETE releases
it) instead of never exercising it. Run-unique serviceIds cannot collide with anything outside
the run.

Every write is waited for (`settle`); then the touched configuration is read, and after every step
one list of the machine's own memoryStoreId must show exactly the live model configurations, in
(createdAt, id) order, each equal to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.violations import expect
from orchestrator_contract.scenarios import expected_state as model
from orchestrator_contract.scenarios.expectations import expect_error_body, expect_json
from orchestrator_contract.scenarios.steps import Scenario, created_id, date_of, discard, parse_timestamp
from orchestrator_contract.spec_data.strategies import CREATE, PATCH, REPLACE, json_integers, marked, request_bodies

pytestmark = [pytest.mark.stateful, pytest.mark.versioning]

SERVICE_POOL = 2


@st.composite
def plain(draw: st.DrawFn, bodies: st.SearchStrategy[Any]) -> Any:
    """A fresh copy of a drawn body (`json_integers` rebuilds every container).

    Built with `composite`, not `map`: Hypothesis prints a mapped value as the call that made it,
    which for the spec's strategies reads `(lambda case: case.body)()` in a shrunk step sequence;
    a fresh object is printed as its value.
    """
    return json_integers(draw(bodies))


create_bodies = plain(st.deferred(lambda: request_bodies(CREATE)))
put_bodies = plain(st.deferred(lambda: request_bodies(REPLACE)))
patch_bodies = plain(st.deferred(lambda: request_bodies(PATCH)))
slots = st.integers(0, SERVICE_POOL - 1)


@dataclass
class Tracked:
    """What the model knows of one live configuration."""

    fields: model.Fields
    version: int
    accepted_at: datetime  # Date of the 202 of the latest applied write (whole seconds)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ConfigurationMachine(RuleBasedStateMachine):
    """One run: its own memoryStoreId, its own two serviceIds, its own live configurations."""

    scenario: ClassVar[Scenario]  # set by the test: Hypothesis builds the machine itself

    configs = Bundle("configs")

    def __init__(self) -> None:
        super().__init__()
        self.store_tag, self.store = self.scenario.store("model")
        self.run_no = self.store_tag.rpartition("-")[2]
        self.service_ids = [self._service_id(i) for i in range(SERVICE_POOL)]
        self.live: dict[str, Tracked] = {}
        self.deleted: list[str] = []
        self.writes = 0

    def _service_id(self, index: int) -> str:
        return self.scenario.marks.service_id(f"{self.store_tag}/{index}")

    # -- helpers ------------------------------------------------------------------------------
    def _mark(self, body: dict[str, Any], slot: int) -> dict[str, Any]:
        """Run marks (a fresh displayName per write, the machine's store) and a pool serviceId."""
        self.writes += 1
        out = marked(body, self.scenario.marks, f"m{self.run_no} w{self.writes}", store_tag=self.store_tag)
        if isinstance(out.get("conversationsV1Bridge"), dict):
            out["conversationsV1Bridge"] = {**out["conversationsV1Bridge"], "serviceId": self.service_ids[slot]}
        return out

    def _holder(self, body: dict[str, Any], writer: str | None) -> str | None:
        """The live configuration (other than `writer`) that holds the serviceId `body` asks for."""
        wanted = model.requested_service_id(body)
        if wanted is None:
            return None
        return next(
            (cid for cid, t in self.live.items() if cid != writer and model.service_id(t.fields) == wanted), None
        )

    def _expect_outcome(self, response: httpx.Response, holder: str | None, what: str) -> bool:
        """True when the write was accepted (202); a predicted conflict must be a proper 409."""
        if holder is not None:
            expect(
                response.status_code == 409,
                Clause.RES_CONFLICT,
                f"{what} asks for the serviceId held by {holder}: expected 409, got {response.status_code}",
            )
            expect(
                response.headers.get("X-Conflicting-Resource-Id") == holder,
                Clause.RES_CONFLICT,
                f"409 names {response.headers.get('X-Conflicting-Resource-Id')!r}, the holder is {holder}",
            )
            expect_error_body(response, 409, what)
            return False
        clause = Clause.RES_CONFLICT if response.status_code == 409 else Clause.GEN_STATUS
        expect(
            response.status_code == 202,
            clause,
            f"{what} with a valid body and no conflicting serviceId: expected 202, got "
            f"{response.status_code}: {response.text[:300]}",
        )
        return True

    def _read(self, cid: str, clause: Clause) -> dict[str, Any]:
        """GET a live configuration and compare it with the model (written values, version, times)."""
        representation = expect_json(self.scenario.fetch(cid), Clause.GEN_STATUS, f"GET {cid}")
        self._compare(representation, clause)
        checked: dict[str, Any] = representation
        return checked

    def _compare(self, rep: Any, clause: Clause) -> None:
        expect(isinstance(rep, dict), Clause.RES_SHAPE, f"representation is not an object: {rep!r}")
        cid = rep.get("id")
        tracked = self.live[cid]
        extra = set(rep) - model.ALLOWED_REPRESENTATION_FIELDS
        missing = model.REQUIRED_REPRESENTATION_FIELDS - set(rep)
        expect(
            not extra and not missing,
            Clause.RES_SHAPE,
            f"{cid}: unexpected members {sorted(extra)}, missing {sorted(missing)}",
        )
        model.assert_matches(rep, tracked.fields, clause)
        expect(
            type(rep["version"]) is int and rep["version"] == tracked.version,
            Clause.VER_ARITH,
            f"{cid}: version is {rep['version']!r}, the model says {tracked.version} (1 + applied PUT/PATCH)",
        )
        created = parse_timestamp(rep["createdAt"], f"{cid} createdAt")
        updated = parse_timestamp(rep["updatedAt"], f"{cid} updatedAt")
        if tracked.created_at is not None:
            expect(
                created == tracked.created_at,
                Clause.VER_TIMES,
                f"{cid}: createdAt changed from {tracked.created_at} to {created}",
            )
        expect(updated >= created, Clause.VER_TIMES, f"{cid}: updatedAt {updated} is before createdAt {created}")
        if tracked.updated_at is not None:
            expect(
                updated >= tracked.updated_at,
                Clause.VER_TIMES,
                f"{cid}: updatedAt went backwards from {tracked.updated_at} to {updated}",
            )
        expect(
            updated >= tracked.accepted_at,
            Clause.VER_TIMES,
            f"{cid}: updatedAt {updated} is before the Date {tracked.accepted_at} of the 202 of its latest write",
        )
        tracked.created_at, tracked.updated_at = created, updated

    # -- rules --------------------------------------------------------------------------------
    @rule(target=configs, drawn=create_bodies, slot=slots)
    def create(self, drawn: dict[str, Any], slot: int) -> Any:
        body = self._mark(drawn, slot)
        holder = self._holder(body, None)
        response = self.scenario.api.create(body)
        if not self._expect_outcome(response, holder, "create"):
            return multiple()
        cid = created_id(response)
        accepted = date_of(response)
        self.scenario.settle(response)
        self.live[cid] = Tracked(model.expected_after_create(body), 1, accepted)
        rep = self._read(cid, Clause.RES_ROUNDTRIP)
        expect(
            parse_timestamp(rep["createdAt"], "createdAt") >= accepted,
            Clause.VER_TIMES,
            f"{cid}: createdAt {rep['createdAt']} is before the Date of the 202 that accepted the create",
        )
        return cid

    @rule(cid=configs, drawn=put_bodies, slot=slots)
    def replace(self, cid: str, drawn: dict[str, Any], slot: int) -> None:
        body = self._mark(drawn, slot)
        response = self.scenario.api.replace(cid, body)
        if self._expect_outcome(response, self._holder(body, cid), f"PUT {cid}"):
            self._applied(cid, response, model.expected_after_put(self.live[cid].fields, body))
            self._read(cid, Clause.RES_PUT)

    @rule(cid=configs, drawn=patch_bodies, slot=slots)
    def patch(self, cid: str, drawn: dict[str, Any], slot: int) -> None:
        body = self._mark(drawn, slot)
        response = self.scenario.api.patch(cid, body)
        if self._expect_outcome(response, self._holder(body, cid), f"PATCH {cid}"):
            self._applied(cid, response, model.expected_after_patch(self.live[cid].fields, body))
            self._read(cid, Clause.RES_PATCH)

    def _applied(self, cid: str, response: httpx.Response, fields: model.Fields) -> None:
        accepted = date_of(response)
        self.scenario.settle(response)
        tracked = self.live[cid]
        tracked.fields, tracked.version, tracked.accepted_at = fields, tracked.version + 1, accepted

    @rule(cid=consumes(configs))
    def delete(self, cid: str) -> None:
        response = self.scenario.api.delete(cid)
        expect(response.status_code == 202, Clause.GEN_STATUS, f"DELETE {cid} (live) answered {response.status_code}")
        self.scenario.settle(response)
        del self.live[cid]
        self.deleted.append(cid)
        gone = self.scenario.api.fetch(cid)
        expect(
            gone.status_code == 404,
            Clause.OPS_DELETE,
            f"GET {cid} after its DELETE completed answered {gone.status_code}",
        )

    @precondition(lambda self: bool(self.deleted))
    @rule(data=st.data())
    def deleted_stays_gone(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.deleted), label="deleted id")
        fetched, again = self.scenario.api.fetch(cid), self.scenario.api.delete(cid)
        expect(fetched.status_code == 404, Clause.OPS_DELETE, f"GET of deleted {cid} answered {fetched.status_code}")
        expect(
            again.status_code == 404, Clause.OPS_DELETE, f"a new DELETE of deleted {cid} answered {again.status_code}"
        )

    @rule(cid=configs)
    def fetch_twice(self, cid: str) -> None:
        """Reads change nothing: two GETs in a row show the same configuration (VER-NOCHANGE)."""
        first = self._read(cid, Clause.RES_ROUNDTRIP)
        second = self._read(cid, Clause.VER_NOCHANGE)
        expect(first == second, Clause.VER_NOCHANGE, f"{cid} changed between two GETs: {first} then {second}")

    @precondition(lambda self: len(self.live) >= 2)
    @rule(page_size=st.integers(1, 3))
    def walk_pages(self, page_size: int) -> None:
        """Small pages of the machine's store, concatenated, are the live set in (createdAt, id) order."""
        self._check_listing(page_size)

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def listing_matches_model(self) -> None:
        self._check_listing(1000)

    def _check_listing(self, page_size: int) -> None:
        items: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(len(self.live) + 2):
            response = self.scenario.api.list(memoryStoreId=self.store, pageSize=page_size, pageToken=token)
            expect(
                response.status_code == 200,
                Clause.GEN_STATUS,
                f"list of the machine's store answered {response.status_code}",
            )
            page = expect_json(response, Clause.GEN_STATUS, f"list of store {self.store}")
            items += page["configurations"]
            token = page.get("meta", {}).get("nextToken")
            if not token:
                break
        ids = [item.get("id") for item in items]
        expect(
            sorted(map(str, ids)) == sorted(self.live),
            Clause.PAGE_ORDER,
            f"the list of store {self.store} shows {ids}, the live configurations are {sorted(self.live)}",
        )
        for item in items:
            self._compare(item, Clause.RES_ROUNDTRIP)
        order = sorted(self.live, key=lambda cid: (self.live[cid].created_at, cid))
        expect(ids == order, Clause.PAGE_ORDER, f"the list order is {ids}, by (createdAt, id) it is {order}")

    def teardown(self) -> None:
        """Delete what is left, without waiting: the store is this run's alone, and the session's
        cleanup removes anything a DELETE did not (it also runs after every shrink attempt)."""
        discard(self.scenario.api, list(self.live), workers=4)


PARTS = 3  # independent runs of the machine, side by side under xdist (each with its own seed)


@pytest.mark.parametrize("part", range(1, PARTS + 1))
def test_configuration_state_machine(scenario: Scenario, part: int) -> None:
    """`PARTS` runs share the profile's examples; each draws its own (a seed from the run's seed and
    the part), so under xdist they run side by side and none waits for the others' operations."""
    profile = scenario.profile
    # The test's scenario goes on a class of this test's own (Hypothesis instantiates the machine).
    machine: type[ConfigurationMachine] = type(
        f"ConfigurationMachinePart{part}", (ConfigurationMachine,), {"scenario": scenario}
    )
    if profile.derandomize:  # the parts would draw alike; a random-seed profile seeds each test already
        machine = seed(profile.seed * PARTS + part)(machine)
    # Hypothesis prints the failing step sequence either way; the profile decides whether it is
    # shrunk first (over HTTP every shrink attempt replays a whole sequence: minutes, not seconds).
    run_state_machine_as_test(
        machine,
        settings=settings(
            profile.scenario_settings(),
            max_examples=max(1, profile.scenario_examples // PARTS),
            stateful_step_count=profile.scenario_steps,
            report_multiple_bugs=False,
        ),
    )
