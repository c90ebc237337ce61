"""The spec's OpenAPI links, and the runtime expressions that fill them from an exchange.

A link says: after operation A answered status S, operation B may be called with these values
taken from A's request or response (`$response.body#/related/configurationId`,
`$response.header.ETag`, `$request.query.memoryStoreId`). The link walk of the conformance suite
draws which links to follow without looking at any answer (so its data generation never depends on
the server), and fills them from the answers when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator_contract.contract.json_documents import resolve_ref
from orchestrator_contract.contract.locations import spec_path

if TYPE_CHECKING:
    import httpx
    from schemathesis import Case

METHODS = ("get", "put", "post", "delete", "patch")
UNRESOLVED: Any = object()  # what `evaluate` gives for an expression the exchange does not resolve


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str


@dataclass(frozen=True)
class Link:
    name: str
    source: str  # operationId
    status: int
    target: str  # operationId
    parameters: tuple[tuple[str, str], ...]  # ("path.id", "$response.body#/related/configurationId")

    @property
    def label(self) -> str:
        return f"{self.source} {self.status} -> {self.name} -> {self.target}"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    return document


def operations(document: dict[str, Any] | None = None) -> dict[str, Operation]:
    document = document or load_spec()
    found = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item and "operationId" in item[method]:
                op_id = item[method]["operationId"]
                found[op_id] = Operation(op_id, method.upper(), path)
    return found


def spec_links(document: dict[str, Any] | None = None) -> list[Link]:
    """Every link of every documented response, in the spec's order."""
    document = document or load_spec()
    links = []
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if not operation or "operationId" not in operation:
                continue
            for status, response_or_ref in operation.get("responses", {}).items():
                response = resolve_ref(document, response_or_ref)
                for name, link_or_ref in (response.get("links") or {}).items():
                    link = resolve_ref(document, link_or_ref)
                    if "operationId" not in link:
                        continue
                    params = tuple((key, str(value)) for key, value in (link.get("parameters") or {}).items())
                    links.append(Link(name, operation["operationId"], int(status), link["operationId"], params))
    return links


def evaluate(expression: str, case: Case[Any], response: httpx.Response) -> Any:
    """The value of a runtime expression for one exchange (the case sent and its answer), or
    `UNRESOLVED`: Schemathesis's own evaluation, as its stateful tests follow links. A body that
    cannot be read as its media type resolves nothing, as a missing member does."""
    # Imported here: the reports and the CLI read the spec's operations through this module, and
    # they should not pay for importing Schemathesis.
    from schemathesis.core.transforms import Unresolvable
    from schemathesis.core.transport import Response
    from schemathesis.generation.stateful.state_machine import StepOutput
    from schemathesis.specs.openapi import expressions

    try:
        value = expressions.evaluate(expression, StepOutput(Response.from_any(response), case))
    except (ValueError, NotImplementedError):  # not JSON, or a media type without a deserializer
        return UNRESOLVED
    return UNRESOLVED if isinstance(value, Unresolvable) else value
