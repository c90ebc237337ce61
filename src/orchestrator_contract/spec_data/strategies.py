"""Hypothesis strategies for request data, generated from the spec's own schemas.

The scenarios never hand-write bodies beyond the small fixed examples a scenario needs: what they
send is drawn from `spec/configurations.yaml` (through Schemathesis), then marked with the run's
`displayName` / `memoryStoreId` so the run can find and remove what it made.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from orchestrator_contract.contract.locations import spec_path
from orchestrator_contract.contract.target import RunMarks

CREATE, REPLACE, PATCH = "createConfiguration", "updateConfiguration", "patchConfiguration"


@lru_cache(maxsize=1)
def load_schema() -> BaseSchema:
    import schemathesis

    return schemathesis.openapi.from_path(spec_path())


def json_integers(value: Any) -> Any:
    """Integral floats as JSON integers.

    JSON Schema counts `249.0` as an integer and Schemathesis sends it as valid data, but the
    contract says an integer field takes JSON integers only (no fraction), so a body carrying one
    is not valid data. Large magnitudes stay floats: converting them would change their value.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: json_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_integers(v) for v in value]
    return value


def request_bodies(operation_id: str, mode: GenerationMode = GenerationMode.POSITIVE) -> st.SearchStrategy[Any]:
    """Bodies of `operation_id` as the spec allows them (or, in NEGATIVE mode, as it forbids them)."""
    operation = load_schema().find_operation_by_id(operation_id)  # type: ignore[attr-defined]
    bodies: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode).map(lambda case: case.body)
    return bodies.map(json_integers) if mode == GenerationMode.POSITIVE else bodies


def marked(body: dict[str, Any], marks: RunMarks, tag: str, *, store_tag: str = "") -> dict[str, Any]:
    """The body with this run's marks: its displayName and one of its memoryStoreIds.

    A `null` or absent displayName on PUT/PATCH keeps the current (marked) one, so only a string
    is replaced; memoryStoreId is replaced wherever the body sets it.
    """
    out = dict(body)
    if isinstance(out.get("displayName"), str):
        out["displayName"] = marks.display_name(tag)
    if "memoryStoreId" in out and out["memoryStoreId"] is not None:
        out["memoryStoreId"] = marks.memory_store_id(store_tag)
    return out


def create_bodies(marks: RunMarks, tag: str = "", store_tag: str = "") -> st.SearchStrategy[dict[str, Any]]:
    """Valid create bodies of this run (without a Conversations V1 bridge unless a scenario adds one)."""
    return request_bodies(CREATE).map(
        lambda b: {k: v for k, v in marked(b, marks, tag, store_tag=store_tag).items() if k != "conversationsV1Bridge"}
    )


def minimal_create_body(marks: RunMarks, tag: str = "", store_tag: str = "") -> dict[str, Any]:
    """The smallest valid create body (the seed's SDK example), marked for this run."""
    return {
        "displayName": marks.display_name(tag),
        "description": "orchestrator-contract test configuration",
        "conversationGroupingType": "GROUP_BY_PROFILE",
        "memoryStoreId": marks.memory_store_id(store_tag),
    }
