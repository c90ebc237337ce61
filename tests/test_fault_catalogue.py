"""The fault catalogue: every deliberate fault of the reference server is caught by the suites.

`CATALOGUE` maps each fault of `FAULTS` to the narrowest selection of the contract suites that
catches it and the clause the failure must name. The slow tests run that selection against the
embedded server started with the fault (a subprocess, as `pytest suites --server-fault NAME`) and
require exit code 1 and `[CLAUSE]` in the output; one more run checks that the union of the
selections passes on the clean server, so a selection that fails for any other reason shows up.

The fast tests check the table itself: every fault is catalogued under a clause of its own section,
and every clause of the sections Authentication, Asynchronous operations, Idempotency keys,
Versions and Pagination is named by some fault that breaks it.

Runs are prefetched two at a time (`FAULT_CATALOGUE_JOBS` to change that); under pytest-xdist each
worker runs its own faults one by one instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator_contract.clauses import CLAUSES
from orchestrator_contract.server import FAULTS

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
SECTIONS = ("AUTH", "OPS", "IDEM", "VER", "PAGE")
TIMEOUT_S = 300
# No selection picks a conformance test, and collecting that module (Schemathesis builds its cases)
# costs about 4 s per run: the runs leave it out.
NOT_COLLECTED = ["--ignore", str(SUITES / "test_conformance.py")]
JOBS = max(1, int(os.environ.get("FAULT_CATALOGUE_JOBS", "2")))
LONG = ("operation-never-completes",)  # waits out the poll budget (30 s): started first


def k(expression: str) -> list[str]:
    return ["-k", expression]


# fault -> (pytest selection of the suites that catches it, the clause the failure must name)
CATALOGUE: dict[str, tuple[list[str], str]] = {
    # -- Authentication and isolation
    "api-key-rejected": (k("test_api_key_authenticates_as_its_account"), "AUTH-BASIC"),
    "no-www-authenticate": (k("test_every_operation_answers_401_without_valid_credentials and wrong-token"), "AUTH-401"),
    "token-prefix-compare": (k("test_every_operation_answers_401_without_valid_credentials and token-with-a-suffix"),
                             "AUTH-401"),
    "cross-account-fetch": (k("test_second_account_gets_404_for_every_id_of_the_first"), "AUTH-ISOLATION-404"),
    "cross-account-403": (k("test_second_account_gets_404_for_every_id_of_the_first"), "AUTH-ISOLATION-404"),
    "list-ignores-account-with-filter": (k("test_lists_show_only_the_callers_configurations"), "AUTH-ISOLATION-LIST"),
    "error-echoes-credentials": (k("test_every_operation_answers_401_without_valid_credentials and wrong-token"),
                                 "AUTH-NO-ECHO"),
    # -- Asynchronous operations
    "async-validation": (k("test_invalid_updates_are_rejected_synchronously"), "OPS-SYNC"),
    "location-differs-from-status-url": (k("test_accepted_body_and_headers_agree"), "OPS-202"),
    "create-id-mismatch": (k("test_accepted_body_and_headers_agree"), "OPS-CREATE-ID"),
    "operation-status-url-relative": (k("test_operation_resource_matches_the_202"), "OPS-RESOURCE"),
    "completed-at-while-pending": (k("test_operation_resource_matches_the_202"), "OPS-COMPLETED-AT"),
    "operation-never-completes": (k("test_terminal_status_never_changes"), "OPS-TERMINAL"),  # waits the poll budget
    "terminal-status-flips": (k("test_terminal_status_never_changes"), "OPS-TERMINAL"),
    "failed-op-error-body": (k("test_concurrent_conditional_patches_apply_exactly_once"), "OPS-ERROR"),
    "foreign-operation-visible": (k("test_another_accounts_operation_id_is_404"), "OPS-404"),
    "completed-before-visible": (k("test_completed_effect_is_visible_to_the_next_request"), "OPS-VISIBLE"),
    "failed-op-bumps-version": (k("test_concurrent_conditional_patches_apply_exactly_once"), "OPS-FAILED-NOOP"),
    "delete-leaves-resource": (k("test_completed_effect_is_visible_to_the_next_request"), "OPS-DELETE"),
    "second-delete-accepted": (k("test_completed_effect_is_visible_to_the_next_request"), "OPS-DELETE"),
    # -- Idempotency keys
    "duplicate-key-header-first-wins": (k("test_malformed_or_repeated_keys_are_400_and_do_nothing"), "IDEM-FORMAT"),
    "lenient-key-format": (k("test_malformed_or_repeated_keys_are_400_and_do_nothing"), "IDEM-FORMAT"),
    "replay-new-operation": (k("test_replays_after_update_and_delete_return_the_original_and_do_nothing"),
                             "IDEM-REPLAY"),
    "idempotency-key-case-insensitive": (k("test_keys_are_exact_strings_upper_and_lower_case_are_different_keys"),
                                         "IDEM-REPLAY"),
    "replay-after-delete-404": (k("test_replays_after_update_and_delete_return_the_original_and_do_nothing"),
                                "IDEM-REPLAY"),
    "idempotency-ignores-body": (k("test_same_key_with_another_request_is_422_and_does_nothing"), "IDEM-MISMATCH"),
    "fingerprint-ignores-if-match": (k("test_same_key_with_another_request_is_422_and_does_nothing"),
                                     "IDEM-MISMATCH"),
    "idempotency-stores-4xx": (k("test_a_request_answered_4xx_is_not_stored"), "IDEM-4XX"),
    "idempotency-key-race": (k("test_concurrent_identical_creates_with_one_key_make_one_configuration"),
                             "IDEM-CONCURRENT"),
    "idempotency-keys-global": (k("test_two_accounts_using_one_key_are_independent"), "IDEM-SCOPE"),
    "dedupe-without-key": (k("test_requests_without_a_key_are_never_deduplicated"), "IDEM-NO-KEY"),
    # -- Versions and optimistic locking
    "no-version-bump-on-patch": (k("test_if_match_on_updates and PATCH"), "VER-ARITH"),
    "rejected-write-bumps-version": (k("test_reads_replays_and_rejected_requests_change_nothing"), "VER-NOCHANGE"),
    "updated-at-not-bumped": (k("test_an_update_accepted_in_a_later_second_moves_updated_at_forward"), "VER-TIMES"),
    "created-at-changes-on-update": (k("test_an_update_accepted_in_a_later_second_moves_updated_at_forward"),
                                     "VER-TIMES"),
    "missing-etag": (k("test_post_ignores_if_match"), "VER-ETAG"),
    "weak-etag": (k("test_post_ignores_if_match"), "VER-ETAG"),
    "if-match-ignored": (k("test_if_match_on_delete"), "VER-IF-MATCH"),
    "weak-etag-matches": (k("test_if_match_on_delete"), "VER-IF-MATCH"),
    "if-match-unquoted-accepted": (k("test_if_match_on_delete"), "VER-IF-MATCH"),
    "post-honours-if-match": (k("test_post_ignores_if_match"), "VER-POST-IF-MATCH"),
    "stale-apply-fails-409": (k("test_concurrent_conditional_patches_apply_exactly_once"), "VER-STALE-APPLY"),
    "stale-apply-not-rechecked": (k("test_concurrent_conditional_patches_apply_exactly_once"), "VER-CONCURRENT"),
    # -- Pagination and filtering
    "wrong-default-page-size": (k("test_default_page_size_is_50"), "PAGE-SIZE"),
    "page-size-off-by-one": (k("test_page_size_out_of_range_or_not_an_integer_is_400"), "PAGE-SIZE"),
    "empty-next-token": (k("test_valid_memory_store_id_without_configurations_is_an_empty_page"), "PAGE-BODY"),
    "meta-page-size-requested": (k("test_valid_memory_store_id_without_configurations_is_an_empty_page"),
                                 "PAGE-BODY"),
    "newest-first": (k("test_walk_at_the_page_size_bounds"), "PAGE-ORDER"),
    "token-bound-to-page-size": (k("test_page_size_may_change_from_page_to_page"), "PAGE-TOKEN"),
    "foreign-token-accepted": (k("test_token_of_another_account_is_400"), "PAGE-TOKEN-INVALID"),
    "wrong-filter-token-accepted": (k("test_token_used_with_another_filter_is_400"), "PAGE-TOKEN-INVALID"),
    "offset-page-tokens": (k("test_walk_is_keyset_when_items_change_between_pages"), "PAGE-KEYSET"),
    "previous-token-off-by-one": (k("test_previous_token_returns_the_previous_page"), "PAGE-PREVIOUS"),
    "filter-lost-on-later-pages": (k("test_walk_at_the_page_size_bounds"), "PAGE-FILTER"),
    # -- Other sections (errors, the resource)
    "accepts-unknown-fields": (k("test_unknown_fields_at_every_level_are_400"), "ERR-400"),
    "leak-internal-field": (k("test_rich_body_round_trips_exactly"), "RES-SHAPE"),
    "fractional-timestamps": (k("test_post_ignores_if_match"), "RES-TIMESTAMP"),
    "conflict-not-detected": (k("test_service_id_conflicts"), "RES-CONFLICT"),
}


def section(clause_id: str) -> str:
    return clause_id.split("-", 1)[0]


# -- the table ------------------------------------------------------------------------------------


def test_every_fault_is_catalogued_under_a_clause_of_its_section() -> None:
    assert sorted(set(FAULTS) - set(CATALOGUE)) == [], "faults missing from CATALOGUE"
    assert sorted(set(CATALOGUE) - set(FAULTS)) == [], "CATALOGUE names faults that do not exist"
    for fault, (selection, clause) in CATALOGUE.items():
        assert clause in CLAUSES, f"{fault}: unknown clause {clause}"
        assert section(clause) == section(FAULTS[fault].clause), (
            f"{fault} breaks {FAULTS[fault].clause} but is catalogued as caught by {clause}, another section")
        assert selection and all(isinstance(arg, str) for arg in selection), f"{fault}: empty selection"
        assert "conform" not in " ".join(selection), f"{fault}: the runs do not collect test_conformance.py"


def test_every_clause_of_the_five_sections_has_a_caught_fault() -> None:
    """A clause counts when a fault that breaks it is caught by a failure naming it."""
    covered = {clause for fault, (_, clause) in CATALOGUE.items() if FAULTS[fault].clause == clause}
    wanted = [cid for cid in CLAUSES if section(cid) in SECTIONS]
    uncovered = [cid for cid in wanted if cid not in covered]
    assert not uncovered, f"clauses without a deliberate fault the suites catch: {', '.join(uncovered)}"


# -- the runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str

    def explain(self, limit: int = 6000) -> str:
        return f"exit code {self.returncode}; output (tail):\n{self.output[-limit:]}"


def run_suites(fault: str | None, selection: list[str]) -> Run:
    """`pytest suites [--server-fault FAULT] -q SELECTION` in a subprocess, with an environment of its own."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ORCHESTRATOR_CONTRACT_", "PYTEST_"))}
    command = [sys.executable, "-m", "pytest", str(SUITES), "-c", str(SUITES / "pytest.ini"),
               "--rootdir", str(SUITES), *(["--server-fault", fault] if fault else []), "-q", "-p", "no:randomly",
               *NOT_COLLECTED, *selection]
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return Run(-1, f"{out}\n(timed out after {TIMEOUT_S} s)")
    return Run(done.returncode, done.stdout + done.stderr)


def run_fault(fault: str) -> Run:
    return run_suites(fault, CATALOGUE[fault][0])


@pytest.fixture(scope="module")
def fault_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Run]]]:
    """The runs of the faults this session selected, started up front, `JOBS` at a time, in test order.

    Under pytest-xdist every worker sees all items, so there each test runs its own fault instead.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        yield {}
        return
    selected = [item.callspec.params["fault"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_the_suites_catch_the_fault" and hasattr(item, "callspec")]
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        order = sorted(dict.fromkeys(selected), key=lambda fault: fault not in LONG)  # stable: test order otherwise
        futures = {fault: pool.submit(run_fault, fault) for fault in order}
        try:
            yield futures
        finally:
            for future in futures.values():
                future.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(CATALOGUE))
def test_the_suites_catch_the_fault(fault: str, fault_runs: dict[str, Future[Run]]) -> None:
    clause = CATALOGUE[fault][1]
    future = fault_runs.get(fault)
    run = future.result() if future is not None else run_fault(fault)
    assert run.returncode == 1, f"--server-fault {fault} {' '.join(CATALOGUE[fault][0])}: {run.explain()}"
    assert f"[{clause}]" in run.output, f"{fault}: no failure names [{clause}]; {run.explain()}"


def _union_of_selections() -> list[str]:
    expressions = []
    for selection, _ in CATALOGUE.values():
        assert selection[0] == "-k" and len(selection) == 2, "every selection is a single -k expression"
        expressions.append(f"({selection[1]})")
    return ["-k", " or ".join(dict.fromkeys(expressions))]


@pytest.mark.slow
def test_the_selections_pass_on_the_clean_server() -> None:
    """Without a fault the selected tests pass: each catalogued failure is the fault's doing."""
    run = run_suites(None, _union_of_selections())
    assert run.returncode == 0, run.explain()
    assert re.search(r"\b\d+ passed\b", run.output), run.explain()
