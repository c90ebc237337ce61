"""Checks of the hand-written OpenAPI spec, `spec/configurations.yaml`.

- it is a valid OpenAPI 3.1 document and states the contract's operations, statuses, parameters,
  headers and links;
- every example in it, and every seed example under `fixtures/seed/`, validates against its schema
  (with format checking), and the schemas are closed and bounded (negative cases);
- Schemathesis 4 loads it, builds its stateful links, draws positive cases for every operation whose
  bodies validate, and its response validator enforces the conditional members of `Operation`;
- every clause id of `orchestrator_contract.contract.clauses` is traceable to the spec's text.

Bodies are validated twice: with `jsonschema` (Draft 2020-12, format checking, plus the `uri` /
`uri-reference` checkers it lacks without optional packages) and with `jsonschema_rs`, the validator
Schemathesis itself uses. The two differ in one place that matters here: Python's `re.search` lets
`$` match before a trailing newline, ECMA-262 (required by JSON Schema, used by `jsonschema_rs`) does
not; cases that depend on it are checked with `jsonschema_rs` only.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).parents[1]
SPEC_PATH = ROOT / "spec" / "configurations.yaml"
SEED_DIR = ROOT / "fixtures" / "seed"
CLAUSES_PATH = ROOT / "src" / "orchestrator_contract" / "contract" / "clauses.py"

SPEC_URI = "urn:orchestrator-contract:spec:configurations"

CONFIGURATIONS = "/v2/ControlPlane/Configurations"
CONFIGURATION = "/v2/ControlPlane/Configurations/{id}"
OPERATION = "/v2/ControlPlane/Operations/{id}"

# method, path -> (operationId, success status, the other documented statuses) as in CONTRACT.md
CONTRACT_TABLE: dict[tuple[str, str], tuple[str, str, set[str]]] = {
    ("post", CONFIGURATIONS): ("createConfiguration", "202", {"400", "401", "409", "413", "415", "422", "429"}),
    ("get", CONFIGURATIONS): ("listConfigurations", "200", {"400", "401", "429"}),
    ("get", CONFIGURATION): ("fetchConfiguration", "200", {"401", "404", "429"}),
    ("put", CONFIGURATION): (
        "updateConfiguration",
        "202",
        {"400", "401", "404", "409", "412", "413", "415", "422", "429"},
    ),
    ("patch", CONFIGURATION): (
        "patchConfiguration",
        "202",
        {"400", "401", "404", "409", "412", "413", "415", "422", "429"},
    ),
    ("delete", CONFIGURATION): ("deleteConfiguration", "202", {"400", "401", "404", "409", "412", "422", "429"}),
    ("get", OPERATION): ("fetchOperation", "200", {"401", "404", "429"}),
}

ERROR_RESPONSES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "404": "NotFound",
    "409": "Conflict",
    "412": "PreconditionFailed",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "422": "UnprocessableEntity",
    "429": "TooManyRequests",
}

REQUEST_SCHEMAS = {
    "createConfiguration": "ConfigurationCreate",
    "updateConfiguration": "ConfigurationReplace",
    "patchConfiguration": "ConfigurationPatch",
}

IDEMPOTENCY_KEY_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


# --------------------------------------------------------------------------- loading and validators


def _load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


SPEC = _load_spec()
REGISTRY = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(SPEC))
RS_REGISTRY = jsonschema_rs.Registry([(SPEC_URI, SPEC)], draft=jsonschema_rs.Draft202012)

# RFC 3986 at the character level: a scheme, then only URI characters and well-formed %-escapes.
_URI_CHARS = r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]])*"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHARS}")
_URI_REFERENCE = re.compile(_URI_CHARS)

FORMAT_CHECKER = copy.deepcopy(Draft202012Validator.FORMAT_CHECKER)


@FORMAT_CHECKER.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


@FORMAT_CHECKER.checks("uri-reference")
def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or _URI_REFERENCE.fullmatch(value) is not None


def resolve(pointer: str) -> Any:
    """The node at a `#/...` JSON pointer of the spec."""
    node: Any = SPEC
    for escaped in pointer.lstrip("#").split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        node = resolve(node["$ref"])
    return node


def schema_pointer(name_or_pointer: str) -> str:
    """A `$ref` fragment for a component schema name or a `#/...` pointer (percent-encoded, e.g. `{id}`)."""
    pointer = name_or_pointer if name_or_pointer.startswith("#") else f"#/components/schemas/{name_or_pointer}"
    return quote(pointer, safe="#/~")


_PY_VALIDATORS: dict[str, Draft202012Validator] = {}
_RS_VALIDATORS: dict[str, Any] = {}


def py_validator(pointer: str) -> Draft202012Validator:
    if pointer not in _PY_VALIDATORS:
        _PY_VALIDATORS[pointer] = Draft202012Validator(
            {"$ref": SPEC_URI + pointer}, registry=REGISTRY, format_checker=FORMAT_CHECKER
        )
    return _PY_VALIDATORS[pointer]


def rs_validator(pointer: str) -> Any:
    if pointer not in _RS_VALIDATORS:
        _RS_VALIDATORS[pointer] = jsonschema_rs.Draft202012Validator(
            {"$ref": SPEC_URI + pointer}, registry=RS_REGISTRY, validate_formats=True
        )
    return _RS_VALIDATORS[pointer]


def errors_of(schema: str, instance: Any, *, python: bool = True) -> list[str]:
    """Validation errors of `instance` against a component schema (or a `#/...` pointer), from both validators."""
    pointer = schema_pointer(schema)
    found = [f"jsonschema_rs: {e.message}" for e in rs_validator(pointer).iter_errors(instance)]
    if python:
        found += [f"jsonschema: {e.message}" for e in py_validator(pointer).iter_errors(instance)]
    return found


def is_valid(schema: str, instance: Any, *, python: bool = True) -> bool:
    pointer = schema_pointer(schema)
    rs_ok = rs_validator(pointer).is_valid(instance)
    if not python:
        return rs_ok
    py_ok = py_validator(pointer).is_valid(instance)
    assert rs_ok == py_ok, f"validators disagree on {instance!r} against {pointer}: rs={rs_ok} py={py_ok}"
    return rs_ok


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                yield method, path, operation


def operation_parameters(path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [deref(p) for p in SPEC["paths"][path].get("parameters", []) + operation.get("parameters", [])]


def all_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from all_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_strings(value)


# --------------------------------------------------------------------------- the document


def test_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    validate_openapi(SPEC, cls=OpenAPIV31SpecValidator)
    assert [server["url"] for server in SPEC["servers"]] == ["https://conversations.twilio.com"]
    basic = SPEC["components"]["securitySchemes"]["basicAuth"]
    assert (basic["type"], basic["scheme"]) == ("http", "basic")
    assert "20003" in basic["description"] and "WWW-Authenticate" in basic["description"]
    assert SPEC["security"] == [{"basicAuth": []}]


def test_operations_and_statuses_match_the_contract_table() -> None:
    found = {(method, path): op for method, path, op in operations()}
    assert set(found) == set(CONTRACT_TABLE)
    for key, (operation_id, success, others) in CONTRACT_TABLE.items():
        op = found[key]
        assert op["operationId"] == operation_id
        assert set(op["responses"]) == {success} | others, key
        assert not any(code.startswith("5") for code in op["responses"]), "a conformant server never answers 5xx"
        for code in others:
            assert op["responses"][code] == {"$ref": f"#/components/responses/{ERROR_RESPONSES[code]}"}, (key, code)
        for code, response in op["responses"].items():
            headers = deref(response).get("headers", {})
            assert headers.get("Date") == {"$ref": "#/components/headers/Date"}, (key, code)


def test_path_parameters_are_named_id() -> None:
    for path in (CONFIGURATION, OPERATION):
        (param,) = [deref(p) for p in SPEC["paths"][path]["parameters"]]
        assert param["name"] == "id" and param["in"] == "path" and param["required"] is True
        assert param["schema"] == {"type": "string", "minLength": 1}


def test_header_and_query_parameters() -> None:
    for method, path, op in operations():
        params = {(p["in"], p["name"]): p for p in operation_parameters(path, op)}
        writes = method in {"post", "put", "patch", "delete"}
        assert (("header", "Idempotency-Key") in params) == writes, (method, path)
        # POST ignores If-Match (clause VER-POST-IF-MATCH), so it is not declared there.
        assert (("header", "If-Match") in params) == (method in {"put", "patch", "delete"}), (method, path)
        if writes:
            key = params[("header", "Idempotency-Key")]
            assert key["required"] is False
            assert key["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN
    list_params = {p["name"]: p for p in operation_parameters(CONFIGURATIONS, SPEC["paths"][CONFIGURATIONS]["get"])}
    assert set(list_params) == {"pageSize", "pageToken", "memoryStoreId"}
    assert list_params["pageSize"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    assert list_params["memoryStoreId"]["schema"]["pattern"] == "^mem_(store|service)_[0-7][0-9a-z]{25}$"


def test_response_headers() -> None:
    headers = SPEC["components"]["headers"]
    for method, path, op in operations():
        success = CONTRACT_TABLE[(method, path)][1]
        declared = deref(op["responses"][success]).get("headers", {})
        if success == "202":
            assert {"Operation-Id", "Location", "Retry-After"} <= set(declared)
    assert deref(SPEC["paths"][CONFIGURATION]["get"]["responses"]["200"])["headers"]["ETag"] == {
        "$ref": "#/components/headers/ETag"
    }
    assert headers["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}
    assert headers["ETag"]["schema"]["pattern"] == '^"[0-9]+"$'
    responses = SPEC["components"]["responses"]
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]
    assert "X-Conflicting-Resource-Id" in responses["Conflict"]["headers"]
    assert responses["TooManyRequests"]["headers"]["Retry-After"]["$ref"] == "#/components/headers/Retry-After"
    assert "Allow" in responses["MethodNotAllowed"]["headers"]
    for name, value in (("ETag", '"12"'), ("Retry-After", 0), ("Date", "Sat, 14 Oct 2023 10:30:00 GMT")):
        assert is_valid(f"#/components/headers/{name}/schema", value)
    assert not is_valid("#/components/headers/ETag/schema", 'W/"12"')
    assert not is_valid("#/components/headers/Retry-After/schema", -1)
    assert not is_valid("#/components/headers/Date/schema", "2023-10-14T10:30:00Z")


def test_links_for_stateful_testing() -> None:
    create_links = SPEC["paths"][CONFIGURATIONS]["post"]["responses"]["202"]["links"]
    assert create_links["FetchOperation"] == {
        "operationId": "fetchOperation",
        "description": create_links["FetchOperation"]["description"],
        "parameters": {"path.id": "$response.header.Operation-Id"},
    }
    targets = {link["operationId"] for link in create_links.values()}
    assert targets == {
        "fetchOperation",
        "fetchConfiguration",
        "updateConfiguration",
        "patchConfiguration",
        "deleteConfiguration",
    }
    for link in create_links.values():
        if link["operationId"] != "fetchOperation":
            assert link["parameters"] == {"path.id": "$response.body#/related/configurationId"}
    accepted = SPEC["components"]["responses"]["AcceptedUpdate"]["links"]
    assert accepted["FetchOperation"]["parameters"] == {"path.id": "$response.header.Operation-Id"}
    fetch_links = SPEC["paths"][CONFIGURATION]["get"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in fetch_links.values()} == {
        "updateConfiguration",
        "patchConfiguration",
        "deleteConfiguration",
    }
    for link in fetch_links.values():
        assert link["parameters"] == {"path.id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}


def test_request_and_response_object_schemas_are_closed() -> None:
    """Every object schema under components.schemas says `additionalProperties` (closed or typed map)."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if "properties" in node and isinstance(node["properties"], dict):
                yield where, node
            for key, value in node.items():
                if key in {"examples", "example", "const", "enum", "default"}:
                    continue
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{where}/{index}")

    objects = list(walk(SPEC["components"]["schemas"], "#/components/schemas"))
    assert len(objects) > 15
    for where, node in objects:
        if where.endswith(("/if", "/then", "/else")) or "/allOf/" in where:
            continue
        assert node.get("additionalProperties") is False, where
    for schema in REQUEST_SCHEMAS.values():
        properties = set(SPEC["components"]["schemas"][schema]["properties"])
        assert not properties & {"id", "createdAt", "updatedAt", "version"}
        assert not properties & {
            "traitExtractionStrategyIds",
            "observationExtractionStrategyIds",
            "redactionConfigurationId",
        }


def test_every_clause_is_traceable_to_the_spec() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    clause_ids = re.findall(
        r'^\s+[A-Z][A-Z0-9_]* = "([A-Z]+-[A-Z0-9-]+)"$', CLAUSES_PATH.read_text(encoding="utf-8"), re.M
    )
    assert len(clause_ids) > 40
    missing = [cid for cid in clause_ids if f"clause {cid}" not in text and f", {cid}" not in text]
    assert missing == []
    unknown = sorted(
        set(re.findall(r"\b((?:GEN|AUTH|ERR|RES|OPS|IDEM|VER|PAGE)-[A-Z0-9-]*[A-Z0-9])\b", text)) - set(clause_ids)
    )
    assert unknown == [], "the spec cites clause ids that clauses.py does not define"


@pytest.mark.parametrize(
    ("clause_id", "words"),
    [
        ("ERR-400", "closed"),
        ("ERR-413", "256 KiB"),
        ("RES-SHAPE", "closed"),
        ("RES-TIMESTAMP", "RFC 3339"),
        ("VER-ETAG", "ETag"),
        ("VER-IF-MATCH", "If-Match"),
        ("PAGE-ORDER", "createdAt"),
        ("PAGE-KEYSET", "keyset"),
        ("IDEM-4XX", "not stored"),
    ],
)
def test_decisions_are_marked_in_the_spec(clause_id: str, words: str) -> None:
    """Where CONTRACT.md marks a (decision), a description citing the clause says so too."""
    assert any(clause_id in s and "decision" in s and words.lower() in s.lower() for s in all_strings(SPEC)), clause_id
    bound = SPEC["components"]["schemas"]["StatusTimeoutsInput"]["properties"]["inactive"]
    assert "decision: the upper bound" in bound["description"] and bound["maximum"] == 2147483647


# --------------------------------------------------------------------------- examples


def _example_values(holder: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in holder:
        yield "example", holder["example"]
    for name, reference in (holder.get("examples") or {}).items():
        example = deref(reference)
        assert "value" in example and "externalValue" not in example, name
        yield name, example["value"]


def collect_examples() -> list[tuple[str, str, Any]]:
    """(where, schema pointer, value) for every example in the spec."""
    found: list[tuple[str, str, Any]] = []

    def media(where: str, pointer: str, content: dict[str, Any]) -> None:
        for media_type, body in content.items():
            assert media_type == "application/json", where
            schema = f"{pointer}/content/application~1json/schema"
            for name, value in _example_values(body):
                found.append((f"{where} {name}", schema, value))

    def escape(token: str) -> str:
        return token.replace("~", "~0").replace("/", "~1")

    for kind in ("requestBodies", "responses"):
        for name, obj in SPEC["components"][kind].items():
            media(f"components.{kind}.{name}", f"#/components/{kind}/{name}", obj.get("content", {}))
    for name, header in SPEC["components"]["headers"].items():
        for example_name, value in _example_values(header):
            found.append((f"header {name} {example_name}", f"#/components/headers/{escape(name)}/schema", value))
    for name, param in SPEC["components"]["parameters"].items():
        for example_name, value in _example_values(param):
            found.append((f"parameter {name} {example_name}", f"#/components/parameters/{name}/schema", value))
    for method, path, op in operations():
        base = f"#/paths/{escape(path)}/{method}"
        for code, response in op["responses"].items():
            if "$ref" not in response:
                media(f"{method} {path} {code}", f"{base}/responses/{code}", response.get("content", {}))
                for header_name, header in response.get("headers", {}).items():
                    assert "$ref" in header, (method, path, header_name)

    def schema_examples(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list):
                for index, value in enumerate(node["examples"]):
                    found.append((f"{pointer} examples[{index}]", pointer, value))
            for key, value in node.items():
                if key not in {"examples", "const", "enum", "default"}:
                    schema_examples(value, f"{pointer}/{escape(key)}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                schema_examples(value, f"{pointer}/{index}")

    schema_examples(SPEC["components"]["schemas"], "#/components/schemas")
    return found


EXAMPLES = collect_examples()


def test_examples_cover_every_operation_and_schema() -> None:
    assert len(EXAMPLES) >= 40
    pointers = {pointer for _, pointer, _ in EXAMPLES}
    for pointer in (
        "#/components/requestBodies/ConfigurationCreate/content/application~1json/schema",
        "#/components/requestBodies/ConfigurationReplace/content/application~1json/schema",
        "#/components/requestBodies/ConfigurationPatch/content/application~1json/schema",
        "#/components/responses/AcceptedUpdate/content/application~1json/schema",
    ):
        assert pointer in pointers
    # The documented 202 example of the seed.
    accepted = SPEC["components"]["examples"]["OperationAccepted"]["value"]
    assert accepted == {
        "statusUrl": "https://conversations.twilio.com/v2/ControlPlane/Operations/proc_job_01h9d8r0vte3hz8tykdj329t7r",
        "related": {"configurationId": "cfg_configuration_01h9d8r0vte3hz8tykdj329t7r"},
    }
    statuses = {
        example["value"]["status"]
        for example in (
            deref(e)
            for e in SPEC["paths"][OPERATION]["get"]["responses"]["200"]["content"]["application/json"][
                "examples"
            ].values()
        )
    }
    assert statuses == {"PENDING", "COMPLETED", "FAILED"}


@pytest.mark.parametrize(("where", "pointer", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(where: str, pointer: str, value: Any) -> None:
    assert errors_of(pointer, value) == []


# --------------------------------------------------------------------------- seed fixtures

SEED_INDEX = json.loads((SEED_DIR / "index.json").read_text(encoding="utf-8"))["fixtures"]


def test_seed_index_lists_every_fixture() -> None:
    files = {p.name for p in SEED_DIR.glob("*.json")} - {"index.json"}
    assert files == set(SEED_INDEX)


@pytest.mark.parametrize("name", sorted(SEED_INDEX))
def test_seed_fixture_validates_and_matches_the_spec(name: str) -> None:
    entry = SEED_INDEX[name]
    body = json.loads((SEED_DIR / name).read_text(encoding="utf-8"))
    for pointer in entry.get("schemas", []):
        assert errors_of(pointer, body) == [], pointer
    for member, pointer in entry.get("members", {}).items():
        assert errors_of(pointer, body[member]) == [], member
    for member, pointer in entry.get("member_examples", {}).items():
        assert resolve(pointer) == body[member], member
    if "spec_example" in entry:
        assert resolve(entry["spec_example"]) == body
    assert entry["verbatim"] or "corrections" in entry


def test_seed_samples_that_contradict_the_contract_are_invalid() -> None:
    """Why some seed samples are corrected rather than copied."""
    # The 202 response samples of the seed.
    assert not is_valid("OperationAccepted", {"related": {}, "statusUrl": "https://www.example.com"})
    # The list sample's meta.key.
    page = json.loads((SEED_DIR / "list_response.json").read_text(encoding="utf-8"))
    page["meta"]["key"] = "key"
    assert not is_valid("ConfigurationPage", page)
    # The PUT field examples of the seed lack the required channelSettings.
    assert not is_valid(
        "ConfigurationReplace",
        {
            "displayName": "My Support Config",
            "description": "Updated Customer Support Configuration",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": "memora_service_123",
            "intelligenceConfigurationIds": ["agent1", "agent2"],
            "memoryExtractionEnabled": False,
        },
    )


def test_official_sdk_request_models_are_accepted() -> None:
    """The twilio SDK's request models serialise members they were not given as null (clause RES-NULL)."""
    from twilio.rest.conversations.v2.configuration import ConfigurationList

    channel = {
        "SMS": {"statusTimeouts": {"inactive": 10}, "captureRules": [{"from": "+18005550100", "to": "*"}]},
    }
    create = ConfigurationList.CreateConfigurationRequest(
        {
            "displayName": "My Support Config",
            "description": "description",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": "memoryStoreId",
            "channelSettings": channel,
            "statusCallbacks": [{"url": "https://www.example.com"}],
        }
    ).to_dict()
    assert create["memoryExtractionEnabled"] is None
    assert create["channelSettings"]["SMS"]["statusTimeouts"]["closed"] is None
    assert create["statusCallbacks"][0]["method"] is None
    assert errors_of("ConfigurationCreate", create) == []

    update = ConfigurationList.UpdateConfigurationRequest(
        {
            "description": "description",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": "memoryStoreId",
            "channelSettings": channel,
        }
    ).to_dict()
    assert update["displayName"] is None
    assert errors_of("ConfigurationReplace", update) == []

    patch = ConfigurationList.PatchConfigurationRequest({"description": "patched"}).to_dict()
    assert patch["displayName"] is None
    assert errors_of("ConfigurationPatch", patch) == []


# --------------------------------------------------------------------------- bounds and closedness

CREATE = {
    "displayName": "My Support Config",
    "description": "description",
    "conversationGroupingType": "GROUP_BY_PROFILE",
    "memoryStoreId": "memoryStoreId",
}
REPLACE = {
    "description": "description",
    "conversationGroupingType": "GROUP_BY_PROFILE",
    "memoryStoreId": "memoryStoreId",
    "channelSettings": {},
}
CONFIGURATION_BODY = json.loads((SEED_DIR / "fetch_configuration_response.json").read_text(encoding="utf-8"))
OPERATION_BODY = {
    "operationId": "proc_job_01h9d8r0vte3hz8tykdj329t7r",
    "status": "COMPLETED",
    "createdAt": "2023-10-14T10:30:00Z",
    "completedAt": "2023-10-14T10:30:01Z",
    "statusUrl": "https://conversations.twilio.com/v2/ControlPlane/Operations/proc_job_01h9d8r0vte3hz8tykdj329t7r",
    "related": {"configurationId": "cfg_configuration_01h9d8r0vte3hz8tykdj329t7r"},
}
PROBLEM = {"type": "about:blank", "title": "Precondition Failed", "status": 412, "detail": "stale If-Match"}


_ABSENT = object()


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `base` with members replaced (or removed, for `_ABSENT`)."""
    body = copy.deepcopy(base)
    for key, value in changes.items():
        if value is _ABSENT:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def _channel(setting: Any, key: str = "SMS") -> dict[str, Any]:
    return {key: setting}


CASES: list[tuple[str, str, Any, bool]] = [
    # displayName: 1-32 code points, pattern, required and non-null on create
    ("displayName 32 chars", "ConfigurationCreate", _with(CREATE, displayName="a" * 32), True),
    ("displayName 33 chars", "ConfigurationCreate", _with(CREATE, displayName="a" * 33), False),
    ("displayName empty", "ConfigurationCreate", _with(CREATE, displayName=""), False),
    ("displayName punctuation", "ConfigurationCreate", _with(CREATE, displayName="My Config!"), False),
    ("displayName non-ASCII letter", "ConfigurationCreate", _with(CREATE, displayName="Café"), False),
    ("displayName - _ and space", "ConfigurationCreate", _with(CREATE, displayName="a-b_c d"), True),
    ("displayName null on create", "ConfigurationCreate", _with(CREATE, displayName=None), False),
    ("displayName absent on create", "ConfigurationCreate", _with(CREATE, displayName=_ABSENT), False),
    # other required members
    ("description null on create", "ConfigurationCreate", _with(CREATE, description=None), False),
    ("description 512 code points", "ConfigurationCreate", _with(CREATE, description="\U0001f600" * 512), True),
    ("description 513 chars", "ConfigurationCreate", _with(CREATE, description="d" * 513), False),
    ("description empty", "ConfigurationCreate", _with(CREATE, description=""), True),
    ("grouping type unknown", "ConfigurationCreate", _with(CREATE, conversationGroupingType="GROUP_BY_NOTHING"), False),
    ("memoryStoreId empty", "ConfigurationCreate", _with(CREATE, memoryStoreId=""), False),
    ("memoryStoreId absent", "ConfigurationCreate", _with(CREATE, memoryStoreId=_ABSENT), False),
    # closed at every level, no read-only or beta fields
    ("unknown top-level field", "ConfigurationCreate", _with(CREATE, color="blue"), False),
    ("read-only id", "ConfigurationCreate", _with(CREATE, id="cfg_1"), False),
    ("read-only createdAt", "ConfigurationCreate", _with(CREATE, createdAt="2023-10-14T10:30:00Z"), False),
    ("read-only updatedAt", "ConfigurationCreate", _with(CREATE, updatedAt="2023-10-14T10:30:00Z"), False),
    ("read-only version", "ConfigurationCreate", _with(CREATE, version=1), False),
    ("beta traitExtractionStrategyIds", "ConfigurationCreate", _with(CREATE, traitExtractionStrategyIds=["t"]), False),
    ("beta redactionConfigurationId", "ConfigurationCreate", _with(CREATE, redactionConfigurationId="r"), False),
    ("unknown channel key", "ConfigurationCreate", _with(CREATE, channelSettings={"EMAIL": {}}), False),
    ("lower-case channel key", "ConfigurationCreate", _with(CREATE, channelSettings={"sms": {}}), False),
    ("unknown member of a channel", "ConfigurationCreate", _with(CREATE, channelSettings=_channel({"x": 1})), False),
    (
        "unknown member of statusTimeouts",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": 1, "idle": 2}})),
        False,
    ),
    (
        "unknown member of a capture rule",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": "*", "to": "*", "when": "now"}]})),
        False,
    ),
    (
        "unknown member of a status callback",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com", "retries": 3}]),
        False,
    ),
    (
        "unknown member of the bridge",
        "ConfigurationCreate",
        _with(CREATE, conversationsV1Bridge={"serviceId": "IS" + "0" * 32, "x": 1}),
        False,
    ),
    ("body not an object", "ConfigurationCreate", [CREATE], False),
    # status timeouts: integers 1..2147483647
    (
        "inactive 0",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": 0}})),
        False,
    ),
    (
        "inactive 1",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": 1}})),
        True,
    ),
    (
        "closed 2147483647",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"closed": 2147483647}})),
        True,
    ),
    (
        "closed 2147483648",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"closed": 2147483648}})),
        False,
    ),
    (
        "inactive 1.5",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": 1.5}})),
        False,
    ),
    (
        "inactive string",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": "5"}})),
        False,
    ),
    (
        "inactive true",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": True}})),
        False,
    ),
    # capture rules
    (
        "capture rule from empty",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": "", "to": "*"}]})),
        False,
    ),
    (
        "capture rule without to",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": "*"}]})),
        False,
    ),
    (
        "metadata value not a string",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": "*", "to": "*", "metadata": {"a": 1}}]})),
        False,
    ),
    # status callbacks: at most 2, absolute URI, POST or GET
    (
        "3 status callbacks",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com"}] * 3),
        False,
    ),
    ("relative callback url", "ConfigurationCreate", _with(CREATE, statusCallbacks=[{"url": "/hooks/status"}]), False),
    (
        "callback url with a space",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com/a b"}]),
        False,
    ),
    (
        "callback method PUT",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com", "method": "PUT"}]),
        False,
    ),
    (
        "callback method GET",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com", "method": "GET"}]),
        True,
    ),
    # intelligence ids: at most 5
    ("5 intelligence ids", "ConfigurationCreate", _with(CREATE, intelligenceConfigurationIds=list("abcde")), True),
    ("6 intelligence ids", "ConfigurationCreate", _with(CREATE, intelligenceConfigurationIds=list("abcdef")), False),
    ("memoryExtractionEnabled string", "ConfigurationCreate", _with(CREATE, memoryExtractionEnabled="true"), False),
    # bridge
    (
        "serviceId upper-case hex",
        "ConfigurationCreate",
        _with(CREATE, conversationsV1Bridge={"serviceId": "IS" + "A" * 32}),
        False,
    ),
    (
        "serviceId 31 hex digits",
        "ConfigurationCreate",
        _with(CREATE, conversationsV1Bridge={"serviceId": "IS" + "0" * 31}),
        False,
    ),
    # null semantics on create (clause RES-NULL)
    (
        "null optional members on create",
        "ConfigurationCreate",
        _with(
            CREATE,
            channelSettings=None,
            statusCallbacks=None,
            intelligenceConfigurationIds=None,
            memoryExtractionEnabled=None,
            conversationsV1Bridge=None,
        ),
        True,
    ),
    (
        "channel key mapped to null",
        "ConfigurationCreate",
        _with(CREATE, channelSettings={"VOICE": None, "SMS": {}}),
        True,
    ),
    (
        "null nested optional members",
        "ConfigurationCreate",
        _with(
            CREATE,
            channelSettings=_channel(
                {
                    "statusTimeouts": {"inactive": None, "closed": None},
                    "captureRules": [{"from": "*", "to": "*", "metadata": None}],
                }
            ),
        ),
        True,
    ),
    (
        "null statusTimeouts and captureRules",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"statusTimeouts": None, "captureRules": None})),
        True,
    ),
    (
        "null callback method",
        "ConfigurationCreate",
        _with(CREATE, statusCallbacks=[{"url": "https://example.com", "method": None}]),
        True,
    ),
    ("null callback url", "ConfigurationCreate", _with(CREATE, statusCallbacks=[{"url": None}]), False),
    ("null status callback element", "ConfigurationCreate", _with(CREATE, statusCallbacks=[None]), False),
    ("null intelligence id element", "ConfigurationCreate", _with(CREATE, intelligenceConfigurationIds=[None]), False),
    (
        "null capture rule element",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [None]})),
        False,
    ),
    (
        "null capture rule from",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": None, "to": "*"}]})),
        False,
    ),
    ("null serviceId", "ConfigurationCreate", _with(CREATE, conversationsV1Bridge={"serviceId": None}), False),
    (
        "null metadata value",
        "ConfigurationCreate",
        _with(CREATE, channelSettings=_channel({"captureRules": [{"from": "*", "to": "*", "metadata": {"a": None}}]})),
        False,
    ),
    # PUT (clause RES-PUT)
    ("PUT minimal", "ConfigurationReplace", REPLACE, True),
    ("PUT without channelSettings", "ConfigurationReplace", _with(REPLACE, channelSettings=_ABSENT), False),
    ("PUT channelSettings null", "ConfigurationReplace", _with(REPLACE, channelSettings=None), False),
    ("PUT description null", "ConfigurationReplace", _with(REPLACE, description=None), False),
    ("PUT displayName null", "ConfigurationReplace", _with(REPLACE, displayName=None), True),
    ("PUT displayName 33 chars", "ConfigurationReplace", _with(REPLACE, displayName="a" * 33), False),
    ("PUT bridge null", "ConfigurationReplace", _with(REPLACE, conversationsV1Bridge=None), True),
    ("PUT read-only version", "ConfigurationReplace", _with(REPLACE, version=2), False),
    ("PUT channel key null", "ConfigurationReplace", _with(REPLACE, channelSettings={"CHAT": None}), True),
    # PATCH (clauses RES-PATCH, RES-EMPTY-PATCH)
    ("PATCH empty", "ConfigurationPatch", {}, True),
    ("PATCH description null", "ConfigurationPatch", {"description": None}, True),
    (
        "PATCH every field null",
        "ConfigurationPatch",
        dict.fromkeys(SPEC["components"]["schemas"]["ConfigurationPatch"]["properties"]),
        True,
    ),
    ("PATCH channel key null", "ConfigurationPatch", {"channelSettings": {"VOICE": None}}, True),
    ("PATCH displayName 33 chars", "ConfigurationPatch", {"displayName": "a" * 33}, False),
    ("PATCH description 513 chars", "ConfigurationPatch", {"description": "d" * 513}, False),
    ("PATCH grouping type unknown", "ConfigurationPatch", {"conversationGroupingType": "X"}, False),
    ("PATCH unknown field", "ConfigurationPatch", {"colour": "blue"}, False),
    ("PATCH read-only createdAt", "ConfigurationPatch", {"createdAt": "2023-10-14T10:30:00Z"}, False),
    (
        "PATCH inactive 0",
        "ConfigurationPatch",
        {"channelSettings": {"SMS": {"statusTimeouts": {"inactive": 0}}}},
        False,
    ),
    ("PATCH 3 callbacks", "ConfigurationPatch", {"statusCallbacks": [{"url": "https://example.com"}] * 3}, False),
    # the representation (clauses RES-SHAPE, RES-TIMESTAMP)
    ("representation: seed sample", "Configuration", CONFIGURATION_BODY, True),
    ("representation without bridge", "Configuration", _with(CONFIGURATION_BODY, conversationsV1Bridge=_ABSENT), True),
    (
        "representation with beta fields",
        "Configuration",
        _with(
            CONFIGURATION_BODY,
            traitExtractionStrategyIds=["t"],
            observationExtractionStrategyIds=[],
            redactionConfigurationId="r",
        ),
        True,
    ),
    (
        "representation with 2 trait ids",
        "Configuration",
        _with(CONFIGURATION_BODY, traitExtractionStrategyIds=["a", "b"]),
        False,
    ),
    (
        "representation with a leaked field",
        "Configuration",
        _with(CONFIGURATION_BODY, accountSid="AC" + "0" * 32),
        False,
    ),
    (
        "representation without statusCallbacks",
        "Configuration",
        _with(CONFIGURATION_BODY, statusCallbacks=_ABSENT),
        False,
    ),
    (
        "representation callback without method",
        "Configuration",
        _with(CONFIGURATION_BODY, statusCallbacks=[{"url": "https://example.com"}]),
        False,
    ),
    ("representation with null bridge", "Configuration", _with(CONFIGURATION_BODY, conversationsV1Bridge=None), False),
    (
        "representation with null channel",
        "Configuration",
        _with(CONFIGURATION_BODY, channelSettings={"SMS": None}),
        False,
    ),
    (
        "timestamp with fraction",
        "Configuration",
        _with(CONFIGURATION_BODY, createdAt="2023-10-14T10:30:00.123Z"),
        False,
    ),
    ("timestamp with offset", "Configuration", _with(CONFIGURATION_BODY, updatedAt="2023-10-14T10:30:00+00:00"), False),
    ("timestamp impossible date", "Configuration", _with(CONFIGURATION_BODY, updatedAt="2023-02-30T10:30:00Z"), False),
    ("version 0", "Configuration", _with(CONFIGURATION_BODY, version=0), False),
    # list page (clause PAGE-BODY)
    (
        "page with null nextToken",
        "ConfigurationPage",
        {"configurations": [], "meta": {"key": "configurations", "pageSize": 0, "nextToken": None}},
        False,
    ),
    (
        "page with empty previousToken",
        "ConfigurationPage",
        {"configurations": [], "meta": {"key": "configurations", "pageSize": 0, "previousToken": ""}},
        False,
    ),
    (
        "page meta with extra field",
        "ConfigurationPage",
        {"configurations": [], "meta": {"key": "configurations", "pageSize": 0, "page": 1}},
        False,
    ),
    # 202 body (clause OPS-202)
    (
        "accepted with relative statusUrl",
        "OperationAccepted",
        {"statusUrl": "/v2/ControlPlane/Operations/op1", "related": {"configurationId": "c"}},
        False,
    ),
    (
        "accepted statusUrl not an operation",
        "OperationAccepted",
        {"statusUrl": "https://example.com/op1", "related": {"configurationId": "c"}},
        False,
    ),
    (
        "accepted with extra field",
        "OperationAccepted",
        {
            "statusUrl": "https://conversations.twilio.com/v2/ControlPlane/Operations/op1",
            "related": {"configurationId": "c"},
            "operationId": "op1",
        },
        False,
    ),
    # operation (clauses OPS-RESOURCE, OPS-COMPLETED-AT, OPS-ERROR)
    ("operation completed", "Operation", OPERATION_BODY, True),
    ("operation pending", "Operation", _with(OPERATION_BODY, status="PENDING", completedAt=_ABSENT), True),
    ("operation failed", "Operation", _with(OPERATION_BODY, status="FAILED", error=PROBLEM), True),
    ("pending with completedAt", "Operation", _with(OPERATION_BODY, status="PENDING"), False),
    ("completed without completedAt", "Operation", _with(OPERATION_BODY, completedAt=_ABSENT), False),
    (
        "failed without completedAt",
        "Operation",
        _with(OPERATION_BODY, status="FAILED", error=PROBLEM, completedAt=_ABSENT),
        False,
    ),
    ("failed without error", "Operation", _with(OPERATION_BODY, status="FAILED"), False),
    ("completed with error", "Operation", _with(OPERATION_BODY, error=PROBLEM), False),
    (
        "pending with error",
        "Operation",
        _with(OPERATION_BODY, status="PENDING", completedAt=_ABSENT, error=PROBLEM),
        False,
    ),
    ("unknown status", "Operation", _with(OPERATION_BODY, status="RUNNING", completedAt=_ABSENT), False),
    (
        "problem without detail",
        "Operation",
        _with(OPERATION_BODY, status="FAILED", error=_with(PROBLEM, detail=_ABSENT)),
        False,
    ),
    # error body (clause ERR-BODY)
    (
        "error body",
        "Error",
        {"code": 20404, "message": "Not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404},
        True,
    ),
    (
        "error body with extra field",
        "Error",
        {"code": 20404, "message": "m", "more_info": "i", "status": 404, "detail": "d"},
        False,
    ),
    ("error body without more_info", "Error", {"code": 20404, "message": "m", "status": 404}, False),
    ("error body with string code", "Error", {"code": "20404", "message": "m", "more_info": "i", "status": 404}, False),
]


@pytest.mark.parametrize(("title", "schema", "instance", "valid"), CASES, ids=[c[0] for c in CASES])
def test_schema_bounds(title: str, schema: str, instance: Any, valid: bool) -> None:
    assert is_valid(schema, instance) is valid


@pytest.mark.parametrize(
    ("pointer", "value", "valid"),
    [
        ("#/components/schemas/DisplayName", "abc\n", False),
        ("#/components/schemas/ConversationsV1Bridge/properties/serviceId", "IS" + "0" * 32 + "\n", False),
        ("#/components/parameters/MemoryStoreIdFilter/schema", "mem_store_01k1etk2y5f1y9fpe2epfdtvv2\n", False),
        ("#/components/parameters/IdempotencyKey/schema", "3f2c1d9e-8b7a-4c6d-9e0f-1a2b3c4d5e6f\n", False),
        ("#/components/parameters/MemoryStoreIdFilter/schema", "mem_store_81k1etk2y5f1y9fpe2epfdtvv2", False),
        ("#/components/parameters/MemoryStoreIdFilter/schema", "mem_service_01k1etk2y5f1y9fpe2epfdtvv2", True),
        ("#/components/parameters/MemoryStoreIdFilter/schema", "memora_service_123", False),
        ("#/components/parameters/IdempotencyKey/schema", "not-a-uuid", False),
        ("#/components/parameters/PageSize/schema", 0, False),
        ("#/components/parameters/PageSize/schema", 1001, False),
        ("#/components/parameters/PageSize/schema", 1000, True),
    ],
)
def test_patterns_match_the_whole_string(pointer: str, value: Any, valid: bool) -> None:
    """ECMA-262 `$` (as in JSON Schema and Schemathesis) does not match before a trailing newline."""
    assert is_valid(pointer, value, python=False) is valid


def test_integer_literals_are_stated_in_prose_only() -> None:
    """JSON Schema treats `2.0` as an integer, so the schemas accept it; the contract answers 400
    (clause ERR-400), which the spec states in `info.description`. Schemathesis 4.32.5 generates such
    whole floats as *positive* JSON-body data for `integer` fields, so suites must expect a 400 for them."""
    body = _with(CREATE, channelSettings=_channel({"statusTimeouts": {"inactive": 2.0}}))
    assert is_valid("ConfigurationCreate", body)
    assert json.dumps(body["channelSettings"]["SMS"]["statusTimeouts"]) == '{"inactive": 2.0}'
    assert "1.0" in SPEC["info"]["description"] and "JSON integer literals only" in SPEC["info"]["description"]


# --------------------------------------------------------------------------- Schemathesis


@pytest.fixture(scope="module")
def st_schema() -> Any:
    import schemathesis

    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    schema.validate()
    return schema


def test_schemathesis_loads_all_operations(st_schema: Any) -> None:
    from schemathesis.core.result import Ok

    results = list(st_schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results)
    found = {(op.method.upper(), op.path): op.definition.raw["operationId"] for op in (r.ok() for r in results)}
    assert found == {(method.upper(), path): entry[0] for (method, path), entry in CONTRACT_TABLE.items()}


def test_schemathesis_builds_the_explicit_links(st_schema: Any) -> None:
    machine = st_schema.as_state_machine()
    explicit = {
        (link.source.definition.raw["operationId"], link.status_code, link.name): link
        for transitions in machine._transitions.operations.values()
        for link in transitions.outgoing
        if not link.is_inferred
    }
    expected_names = {
        ("createConfiguration", "202", name)
        for name in (
            "FetchOperation",
            "FetchCreatedConfiguration",
            "ReplaceCreatedConfiguration",
            "PatchCreatedConfiguration",
            "DeleteCreatedConfiguration",
        )
    }
    expected_names |= {
        (source, "202", name)
        for source in ("updateConfiguration", "patchConfiguration", "deleteConfiguration")
        for name in ("FetchOperation", "FetchConfiguration")
    }
    expected_names |= {
        ("fetchConfiguration", "200", name) for name in ("ReplaceIfUnchanged", "PatchIfUnchanged", "DeleteIfUnchanged")
    }
    expected_names |= {("listConfigurations", "200", "NextPage"), ("listConfigurations", "200", "PreviousPage")}
    expected_names |= {("fetchOperation", "200", "FetchRelatedConfiguration")}
    assert set(explicit) == expected_names
    conditional = explicit[("fetchConfiguration", "200", "PatchIfUnchanged")]
    params = {(str(p.location.value), p.name): p.expression for p in conditional.parameters}
    assert params == {("path", "id"): "$response.body#/id", ("header", "If-Match"): "$response.header.ETag"}
    poll = explicit[("createConfiguration", "202", "FetchOperation")]
    assert [(p.container_name, p.name, p.expression) for p in poll.parameters] == [
        ("path_parameters", "id", "$response.header.Operation-Id")
    ]


OPERATION_IDS = [entry[0] for entry in CONTRACT_TABLE.values()]


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_schemathesis_draws_valid_positive_cases(st_schema: Any, operation_id: str) -> None:
    operation = st_schema.find_operation_by_id(operation_id)
    drawn: list[Any] = []

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    assert drawn
    body_schema = REQUEST_SCHEMAS.get(operation_id)
    for case in drawn:
        headers = case.headers or {}
        if "Idempotency-Key" in headers:
            assert re.fullmatch(IDEMPOTENCY_KEY_PATTERN[1:-1], headers["Idempotency-Key"])
        assert ("If-Match" in headers) <= (
            operation_id in {"updateConfiguration", "patchConfiguration", "deleteConfiguration"}
        )
        for name, value in (case.query or {}).items():
            pointer = {
                "pageSize": "#/components/parameters/PageSize/schema",
                "pageToken": "#/components/parameters/PageToken/schema",
                "memoryStoreId": "#/components/parameters/MemoryStoreIdFilter/schema",
            }[name]
            assert is_valid(pointer, value, python=False), (name, value)
        if body_schema is None:
            continue
        assert isinstance(case.body, dict), case.body
        # jsonschema_rs is authoritative (ECMA regex); Python's jsonschema must agree except on
        # `$` before a trailing newline, which Schemathesis does not generate for anchored patterns.
        assert errors_of(body_schema, case.body) == [], json.dumps(case.body)[:500]


PARAMETER_POINTERS = {
    ("header", "Idempotency-Key"): "#/components/parameters/IdempotencyKey/schema",
    ("header", "If-Match"): "#/components/parameters/IfMatch/schema",
    ("query", "pageSize"): "#/components/parameters/PageSize/schema",
    ("query", "pageToken"): "#/components/parameters/PageToken/schema",
    ("query", "memoryStoreId"): "#/components/parameters/MemoryStoreIdFilter/schema",
    ("path", "id"): "#/components/parameters/ConfigurationId/schema",
}


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_schemathesis_coverage_cases_are_labelled_correctly(st_schema: Any, operation_id: str) -> None:
    """The coverage phase's positive cases conform (parameters and body) and its body mutations do not.

    Guards the spec against Schemathesis quirks that would turn into false failures: without
    `format: uuid` next to its pattern, 4.32.5 sends `Idempotency-Key: 0` in cases it labels positive.
    """
    from schemathesis import GenerationMode
    from schemathesis.core import NotSet

    operation = st_schema.find_operation_by_id(operation_id)
    config = st_schema.config.generation_for(operation=operation)
    body_schema = REQUEST_SCHEMAS.get(operation_id)
    positive = negative_bodies = 0
    problems: list[str] = []
    for case in st_schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], generation_config=config
    ):
        data = case.meta.phase.data
        if case.meta.generation.mode == GenerationMode.POSITIVE:
            positive += 1
            for location, container in (
                ("header", case.headers),
                ("query", case.query),
                ("path", case.path_parameters),
            ):
                for name, sent in (container or {}).items():
                    pointer = PARAMETER_POINTERS.get((location, name))
                    if pointer is None:
                        continue
                    numeric = location == "query" and name == "pageSize" and isinstance(sent, str) and sent.isdigit()
                    value = int(sent) if numeric else sent
                    if not is_valid(pointer, value, python=False):
                        problems.append(f"positive {data.scenario.value}: {location} {name}={value!r}")
            if body_schema and not isinstance(case.body, NotSet) and not is_valid(body_schema, case.body, python=False):
                problems.append(f"positive {data.scenario.value}: body {json.dumps(case.body)[:200]}")
        elif (
            body_schema
            and getattr(data, "parameter_location", None) is not None
            and data.parameter_location.value == "body"
            and data.scenario.value != "missing_parameter"
        ):
            negative_bodies += 1
            if is_valid(body_schema, case.body, python=False):
                problems.append(f"negative {data.description}: valid body {json.dumps(case.body)[:200]}")
    assert positive > 0
    assert (negative_bodies > 0) == (body_schema is not None)
    assert problems == []


def _response(status: int, body: Any, path: str = "/v2/ControlPlane/Operations/op1") -> Any:
    from schemathesis.core.transport import Response

    request = requests.Request("GET", f"https://conversations.twilio.com{path}").prepare()
    headers = {"content-type": ["application/json"], "date": ["Sat, 14 Oct 2023 10:30:00 GMT"]}
    return Response(status, headers, json.dumps(body).encode(), request, 0.01, True)


@pytest.mark.parametrize(
    ("title", "body", "valid"),
    [(title, instance, valid) for title, schema, instance, valid in CASES if schema == "Operation"],
)
def test_schemathesis_response_validation_of_operations(st_schema: Any, title: str, body: Any, valid: bool) -> None:
    """Schemathesis's own validator enforces the if/then/else rules of `Operation`."""
    from schemathesis.core.failures import FailureGroup

    operation = st_schema.find_operation_by_id("fetchOperation")
    response = _response(200, body)
    if valid:
        operation.validate_response(response)
    else:
        with pytest.raises((AssertionError, FailureGroup)):
            operation.validate_response(response)


def test_schemathesis_response_validation_of_configurations(st_schema: Any) -> None:
    from schemathesis.core.failures import FailureGroup

    fetch = st_schema.find_operation_by_id("fetchConfiguration")
    path = "/v2/ControlPlane/Configurations/id"
    fetch.validate_response(_response(200, CONFIGURATION_BODY, path))
    with pytest.raises((AssertionError, FailureGroup)):
        fetch.validate_response(_response(200, _with(CONFIGURATION_BODY, internalShard=3), path))
    with pytest.raises((AssertionError, FailureGroup)):
        fetch.validate_response(_response(404, {"code": 20404, "message": "m", "more_info": "i"}, path))
    fetch.validate_response(_response(404, {"code": 20404, "message": "m", "more_info": "i", "status": 404}, path))
