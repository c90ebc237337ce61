"""Edge cases derived from the spec: exact bounds, near misses, hostile text and structure, media
types, exact look-ups. Every case names the clause it probes and says what a conformant server does.

Nothing here is written per field. The request schemas of the spec are walked into *slots* (a
place in a body, a query parameter, a header) and each keyword a slot carries yields its cases:
`maxLength`/`minLength`/`maxItems`/`minimum`/`maximum` the values on both sides of the bound;
`pattern`/`enum`/`format` the values one step from a valid one; every free-text slot the hostile
texts; every closed object an unknown member with a hostile name; `x-orchestrator-contract` the body
size limit and the JSON media types. Whether a value is valid is decided by the slot's own schema
(`conforms`, JSON Schema with ECMA-262 pattern anchoring and RFC 3986 absolute URIs), so a new field
of the spec gets its edge cases without new code.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema

from orchestrator_contract.contract.clauses import Clause
from orchestrator_contract.contract.json_documents import ref_target
from orchestrator_contract.spec_data.links import load_spec

KEY = "\u0000key"  # the path element of a map entry (additionalProperties), replaced by a real key
ACCEPT, REJECT, NO_5XX = "accept", "reject", "never-5xx"
BODY_OPERATIONS = ("createConfiguration", "updateConfiguration", "patchConfiguration")
CLASSES = ("bounds", "near-misses", "hostile", "media-types", "exactness")

# Text a careless or hostile client sends: every Unicode plane, NUL and other controls, a byte-order
# mark, bidirectional overrides, combining marks, zero-width characters, quotes and escapes.
HOSTILE_TEXTS: tuple[tuple[str, str], ...] = (
    ("astral planes", "\U0001f600\U0001d54f\U00010348\U0002a700\U000e0041"),
    ("NUL and controls", "a\u0000b\u0001\u001f\u007f"),
    ("byte-order mark", "\ufeffbom"),
    ("bidi override", "\u202eevil\u202c"),
    ("combining marks", "e\u0301\u0327\u0308"),
    ("zero-width", "a\u200b\u200c\u200d\u2060b"),
    ("quotes and escapes", "\"'\\/<>&%00{}"),
    ("Latin-1 and CJK", "\u00ff\u00e9\u4e2d\u6587\u30c6"),
    ("noncharacters", "\ufdd0\ufffe\U0010ffff"),
)
LOOKALIKES = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "A": "\u0391",
    "B": "\u0392",
    "E": "\u0395",
    "O": "\u039f",
    "P": "\u03a1",
    "S": "\u0405",
    "0": "\u041e",
    "1": "\u0406",
    "I": "\u0406",
    "_": "\uff3f",
    "-": "\u2010",
}
NESTING_DEPTHS = (64, 512, 900, 20_000)  # within and far beyond a recursive parser's stack


# -- the spec's schemas ------------------------------------------------------------------------
def deep_resolve(node: Any, document: dict[str, Any] | None = None) -> Any:
    """The schema with every `$ref` replaced by its target (siblings of a `$ref` win: the spec uses
    `type: object` beside a `$ref` to narrow a nullable schema)."""
    document = document or load_spec()
    if isinstance(node, dict):
        if "$ref" in node:
            target = deep_resolve(ref_target(document, node["$ref"]), document)
            siblings = {k: deep_resolve(v, document) for k, v in node.items() if k != "$ref"}
            return {**target, **siblings}
        return {k: deep_resolve(v, document) for k, v in node.items()}
    if isinstance(node, list):
        return [deep_resolve(v, document) for v in node]
    return node


@lru_cache(maxsize=1)
def contract_rules() -> dict[str, Any]:
    return dict(load_spec().get("x-orchestrator-contract", {}))


@dataclass(frozen=True)
class OperationSpec:
    operation_id: str
    method: str
    path: str
    body_schema: dict[str, Any] | None
    media_types: tuple[str, ...]
    parameters: tuple[dict[str, Any], ...]


@lru_cache(maxsize=1)
def operation_specs() -> dict[str, OperationSpec]:
    document = load_spec()
    specs = {}
    for path, item in document["paths"].items():
        shared = [deep_resolve(p, document) for p in item.get("parameters", [])]
        for method in ("get", "post", "put", "patch", "delete"):
            operation = item.get(method)
            if not operation:
                continue
            body: dict[str, Any] = (
                deep_resolve(operation["requestBody"], document) if operation.get("requestBody") else {}
            )
            content: dict[str, Any] = body.get("content", {})
            media: dict[str, Any] = next(iter(content.values()), {})
            schema = media.get("schema") if content else None
            params = tuple(shared + [deep_resolve(p, document) for p in operation.get("parameters", [])])
            specs[operation["operationId"]] = OperationSpec(
                operation["operationId"], method.upper(), path, schema, tuple(content), params
            )
    return specs


def types_of(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


# -- the oracle: does a value conform to its slot's schema? ------------------------------------
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")


def is_absolute_uri(value: str) -> bool:
    """RFC 3986 `absolute-URI` (scheme, then only URI characters); http(s) also needs `//host`."""
    match = _SCHEME.match(value)
    if not match or not _URI_CHARS.fullmatch(value[match.end() :]):
        return False
    scheme, rest = value[: match.end() - 1].lower(), value[match.end() :]
    if scheme in ("http", "https"):
        host = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
        return rest.startswith("//") and bool(host.split(":", 1)[0])
    return True


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("uri")(lambda value: not isinstance(value, str) or is_absolute_uri(value))


def _ecma_patterns(schema: Any) -> Any:
    """ECMA-262 `$` is the end of the input; Python's also matches before a final newline."""
    if isinstance(schema, dict):
        out = {k: _ecma_patterns(v) for k, v in schema.items()}
        if isinstance(out.get("pattern"), str) and out["pattern"].endswith("$") and not out["pattern"].endswith("\\$"):
            out["pattern"] = out["pattern"][:-1] + r"\Z"
        return out
    if isinstance(schema, list):
        return [_ecma_patterns(v) for v in schema]
    return schema


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Whether `value` is valid for `schema` as the contract reads JSON Schema."""
    if isinstance(value, bool) and "integer" in types_of(schema):
        return False
    validator = jsonschema.Draft202012Validator(_ecma_patterns(schema), format_checker=_FORMATS)
    return bool(validator.is_valid(value))


# -- minimal valid values ------------------------------------------------------------------------
@lru_cache(maxsize=256)
def pattern_value(pattern: str, length: int | None = None) -> str | None:
    """A short string the (ECMA-anchored) pattern matches, extended to `length` characters when the
    pattern allows it; None if this simple search finds none. Deterministic (Hypothesis' own
    regex strategy, derandomized, shrunk to its simplest value)."""
    from hypothesis import Phase, find, settings
    from hypothesis import strategies as st

    python_pattern = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    anchored = re.compile(python_pattern)
    try:
        base = find(
            st.from_regex(python_pattern, fullmatch=True),
            lambda s: True,
            settings=settings(database=None, phases=[Phase.generate, Phase.shrink], derandomize=True),
        )
    except Exception:
        return None
    if length is None or len(base) == length:
        return base
    if len(base) > length:
        shorter = base[:length]
        return shorter if anchored.search(shorter) else None
    for filler in dict.fromkeys(base[-1:] + base[:1] + "0aA_- .:/x"):
        extended = base + filler * (length - len(base))
        if anchored.search(extended):
            return extended
    return None


def minimal(schema: dict[str, Any], marks: Callable[[str], str] | None = None) -> Any:
    """The simplest valid value of a schema (examples first), used to fill a case's other members."""
    enum = [v for v in schema.get("enum", []) if v is not None]
    if enum:
        return enum[0]
    kinds = [t for t in types_of(schema) if t != "null"] or ["string"]
    kind = kinds[0]
    if kind == "object":
        props = schema.get("properties", {})
        return {name: minimal(props.get(name, {}), marks) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema.get("items", {}), marks) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    examples = [e for e in schema.get("examples", []) if isinstance(e, str) and conforms(e, schema)]
    if examples:
        return examples[0]
    if schema.get("format") == "uri":
        return "https://example.com/callback"
    if "pattern" in schema:
        found = pattern_value(schema["pattern"])
        if found is not None:
            return found
    return "x" * max(1, int(schema.get("minLength", 1)))


# -- slots ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A place a value goes: a body path of an operation, or a query/header/path parameter."""

    operation_id: str
    location: str  # body, query, header, path
    path: tuple[str | int, ...]  # in the body; (name,) for parameters
    schema: dict[str, Any] = field(hash=False, compare=False)
    twin: bool = False  # inside a member whose schema an earlier sibling has (the channels of channelSettings)

    @property
    def label(self) -> str:
        if self.location != "body":
            return f"{self.location} {self.path[0]}"
        parts = []
        for part in self.path:
            parts.append("<key>" if part == KEY else f"[{part}]" if isinstance(part, int) else f".{part}")
        return "body" + "".join(parts)

    @property
    def is_free_text(self) -> bool:
        """A string with no pattern, enum or format: any text within its bounds is valid."""
        return (types_of(self.schema)[:1] == ["string"] or "string" in types_of(self.schema)) and not (
            {"pattern", "enum", "format", "const"} & self.schema.keys()
        )


def _body_slots(
    operation_id: str, schema: dict[str, Any], path: tuple[str | int, ...] = (), twin: bool = False
) -> Iterator[Slot]:
    if path:
        yield Slot(operation_id, "body", path, schema, twin)
    kinds = types_of(schema)
    if "object" in kinds:
        seen: list[dict[str, Any]] = []
        for name, sub in schema.get("properties", {}).items():
            yield from _body_slots(operation_id, sub, (*path, name), twin or sub in seen)
            seen.append(sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from _body_slots(operation_id, extra, (*path, KEY), twin)
    if "array" in kinds and isinstance(schema.get("items"), dict):
        yield from _body_slots(operation_id, schema["items"], (*path, 0), twin)


def slots(operation_id: str) -> list[Slot]:
    spec = operation_specs()[operation_id]
    found = [Slot(operation_id, p["in"], (p["name"],), p.get("schema", {})) for p in spec.parameters]
    if spec.body_schema is not None:
        found += list(_body_slots(operation_id, spec.body_schema))
    return found


def object_paths(operation_id: str) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every closed object of a body (the root included): where an unknown member must be 400."""
    spec = operation_specs()[operation_id]
    out: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    if spec.body_schema is not None and spec.body_schema.get("additionalProperties") is False:
        out.append(((), spec.body_schema))
    out += [
        (s.path, s.schema)
        for s in slots(operation_id)
        if s.location == "body" and "object" in types_of(s.schema) and s.schema.get("additionalProperties") is False
    ]
    return out


# -- placing a value into a valid body -------------------------------------------------------
def _schema_at(root: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    node = root
    for part in path:
        if part == KEY:
            node = node.get("additionalProperties", {})
        elif isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    return node


def place(
    base: dict[str, Any], root_schema: dict[str, Any], path: tuple[str | int, ...], value: Any, *, key: str = "edge"
) -> dict[str, Any]:
    """`base` with `value` at `path`; containers on the way are created with their required
    members filled with minimal valid values (a map entry's key is `key`)."""
    body = copy.deepcopy(base)
    node: Any = body
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        container_schema = _schema_at(root_schema, path[: depth + 1])
        real = key if part == KEY else part
        if isinstance(part, int):
            while len(node) <= part:
                node.append(minimal(_schema_at(root_schema, path[: depth + 1])))
            if last:
                node[part] = value
            else:
                if not isinstance(node[part], (dict, list)):
                    node[part] = minimal(container_schema)
                node = node[part]
            continue
        if last:
            node[real] = value
            return body
        child = node.get(real)
        next_is_index = isinstance(path[depth + 1], int)
        if not isinstance(child, (dict, list)) or (next_is_index and not isinstance(child, list)):
            child = (
                [] if next_is_index else (minimal(container_schema) if "object" in types_of(container_schema) else {})
            )
            if not isinstance(child, (dict, list)):
                child = {}
            node[real] = child
        node = child
    return body


# -- cases -----------------------------------------------------------------------------------------
Path = tuple[str | int, ...]


@dataclass
class EdgeCase:
    """One request and what a conformant server answers it.

    A body case is a valid base body of its operation (carrying the run's marks) with `placements`
    put into it; `read_back` lists what a GET must show once an accepted write has applied. Accepted
    cases of one `group` are packed into one request (`pack`); `parts` keeps the originals, so a
    failing pack can be taken apart to name the one value that fails.
    """

    kind: str  # one of CLASSES
    clause: Clause  # the clause a wrong answer violates
    operation_id: str
    label: str  # what is probed, for the failure message
    expect: str  # ACCEPT, REJECT, NO_5XX
    reject_status: int = 400
    base: dict[str, Any] | None = None
    placements: list[tuple[Path, Any]] = field(default_factory=list)
    raw_body: bytes | None = None  # sent as is instead of a JSON body
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    path_id: str | None = None  # the `{id}` to send; None: the case's own target (the runner picks it)
    read_back: list[tuple[Path, Any]] = field(default_factory=list)
    group: str = ""  # accepted cases of one (operation, kind, group) go in one request; "" never packed
    parts: list[EdgeCase] = field(default_factory=list)

    @property
    def body(self) -> Any:
        if self.base is None:
            return None
        body = self.base
        root = operation_specs()[self.operation_id].body_schema or {}
        for path, value in self.placements:
            body = place(body, root, path, value)
        return body

    def describe(self) -> str:
        return f"{self.operation_id} with {self.label}"


def _overlaps(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def pack(cases: list[EdgeCase]) -> list[EdgeCase]:
    """Accepted body cases of one (operation, kind, group) whose paths do not overlap, as one case
    each (writes that must be accepted cost a create or update, a wait and a read; rejections are
    cheap and must stay alone: one invalid value per request). Order is kept."""
    out: list[EdgeCase] = []
    open_packs: dict[tuple[str, str, str], list[EdgeCase]] = {}
    for case in cases:
        if case.expect != ACCEPT or not case.group or case.base is None or case.raw_body is not None:
            out.append(case)
            continue
        key = (case.operation_id, case.kind, case.group)
        packs = open_packs.setdefault(key, [])
        target = next(
            (p for p in packs if not any(_overlaps(path, q) for path, _ in case.placements for q, _ in p.placements)),
            None,
        )
        if target is None:
            target = EdgeCase(case.kind, case.clause, case.operation_id, "", ACCEPT, base=case.base, group=case.group)
            packs.append(target)
            out.append(target)
        target.placements += case.placements
        target.read_back += case.read_back
        target.parts.append(case)
        if target.clause not in (case.clause, Clause.RES_ROUNDTRIP):
            target.clause = case.clause
    for case in out:
        if case.parts:
            case.label = (
                case.parts[0].label
                if len(case.parts) == 1
                else f"{len(case.parts)} values at once ({case.group}): " + "; ".join(p.label for p in case.parts)
            )
    return out


def _codepoints(text: str, length: int) -> str:
    """`text` repeated or cut to exactly `length` code points."""
    if length <= 0:
        return ""
    return (text * (length // max(1, len(text)) + 1))[:length]


def _valid_of_length(slot: Slot, length: int, filler: str) -> str | None:
    schema = slot.schema
    if "pattern" in schema:
        return pattern_value(schema["pattern"], length)
    if "enum" in schema or "format" in schema:
        return None
    return _codepoints(filler, length)


def _string_mutations(value: str) -> list[tuple[str, str]]:
    """Values one step from `value`: case, an extra or missing character, whitespace, look-alikes."""
    out = [
        ("other letter case", value.swapcase()),
        ("lower case", value.lower()),
        ("a trailing newline", value + "\n"),
        ("a leading newline", "\n" + value),
        ("a leading space", " " + value),
        ("a trailing space", value + " "),
        ("a trailing tab", value + "\t"),
        ("the last character dropped", value[:-1]),
        ("the last character doubled", value + value[-1:]),
        ("a character appended", value + "!"),
        ("a NUL appended", value + "\u0000"),
        ("a zero-width space appended", value + "\u200b"),
        (
            "full-width letters",
            unicodedata.normalize("NFC", "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)),
        ),
    ]
    swapped = "".join(LOOKALIKES.get(c, c) for c in value)
    if swapped != value:
        out.append(("look-alike characters", swapped))
    unique: dict[str, str] = {}
    for how, v in out:  # one case per value: two requests with one Idempotency-Key would be a real 422
        if v != value:
            unique.setdefault(v, how)
    return [(how, v) for v, how in unique.items()]


def _marked_base(operation_id: str, marks: Any) -> dict[str, Any]:
    """A valid body of the operation that carries the run's marks (PATCH: `{}`)."""
    if operation_id == "createConfiguration":
        return {
            "displayName": marks.display_name("edge"),
            "description": "orchestrator-contract edge case",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": marks.memory_store_id("edges"),
        }
    if operation_id == "updateConfiguration":
        return {
            "description": "orchestrator-contract edge case",
            "conversationGroupingType": "GROUP_BY_PROFILE",
            "memoryStoreId": marks.memory_store_id("edges"),
            "channelSettings": {},
        }
    return {}


def _value_cases(slot: Slot, marks: Any, kind: str) -> Iterator[tuple[str, Any, str]]:
    """(label, value, how) for one slot and one class."""
    schema = slot.schema
    kinds = [t for t in types_of(schema) if t != "null"]
    if kind == "bounds":
        if "string" in kinds:
            for bound, keyword in ((schema.get("maxLength"), "maxLength"), (schema.get("minLength"), "minLength")):
                if bound is None:
                    continue
                lengths = (bound, bound + 1) if keyword == "maxLength" else (bound, bound - 1)
                fillers = ("x", "\U0001f600") if slot.is_free_text else ("x",)
                for length in lengths:
                    if length < 0:
                        continue
                    for filler in fillers:
                        value = _valid_of_length(slot, length, filler) if length >= 0 else None
                        if value is None and length == 0:
                            value = ""
                        if value is not None:
                            width = "astral code points" if filler != "x" else "characters"
                            yield f"{length} {width} ({keyword} {bound})", value, keyword
        if "integer" in kinds:
            low, high = schema.get("minimum"), schema.get("maximum")
            for bound, keyword in ((low, "minimum"), (high, "maximum")):
                if bound is None:
                    continue
                for value in (bound, bound - 1) if keyword == "minimum" else (bound, bound + 1):
                    yield f"{value} ({keyword} {bound})", value, keyword
        if "array" in kinds:
            items = schema.get("items", {})
            for bound, keyword in ((schema.get("maxItems"), "maxItems"), (schema.get("minItems"), "minItems")):
                if bound is None:
                    continue
                for count in (bound, bound + 1) if keyword == "maxItems" else (bound, bound - 1):
                    if count < 0:
                        continue
                    yield f"{count} items ({keyword} {bound})", _distinct_items(items, count), keyword
    elif kind == "near-misses":
        if "string" not in kinds:
            return
        for valid in [v for v in schema.get("enum", []) if isinstance(v, str)]:
            for how, value in _string_mutations(valid):
                yield (
                    f"{value!r} ({how} of enum value {valid!r})",
                    value,
                    "enum case" if value.lower() == valid.lower() else "enum",
                )
        if "pattern" in schema:
            valid = minimal(schema)
            if slot.path[-1] == "serviceId":
                valid = marks.service_id("edge-near-miss")
            for how, value in _string_mutations(valid):
                yield f"{value!r} ({how} of {valid!r}, pattern {schema['pattern']})", value, "pattern"
        if schema.get("format") == "uri":
            valid = "https://example.com/callbacks"
            for how, value in (
                ("a relative path", "/callbacks"),
                ("a relative reference", "callbacks"),
                ("a network-path reference", "//example.com/callbacks"),
                ("no scheme", "example.com/callbacks"),
                ("a leading space", " " + valid),
                ("a space inside", "https://example.com/call backs"),
                ("a trailing newline", valid + "\n"),
                ("an empty string", ""),
            ):
                yield f"{value!r} ({how}; format uri needs an absolute URI)", value, "format"
    elif kind == "hostile":
        if slot.is_free_text:
            high = schema.get("maxLength")
            for name, text in HOSTILE_TEXTS:
                value = _codepoints(text, min(len(text), high)) if high else text
                if len(value) < schema.get("minLength", 0):
                    value = _codepoints(text, schema["minLength"])
                yield f"{name} text {value!r}", value, "text"
            if high is None:
                yield "a 100000-character string", _codepoints("long\U0001f600text ", 100_000), "long"
        elif "string" in kinds:
            for name, text in HOSTILE_TEXTS[:3]:
                yield f"{name} text {text!r} (not valid here)", text, "invalid text"
        if "array" in kinds and schema.get("maxItems") is None:
            yield "2000 items (no maxItems)", _distinct_items(schema.get("items", {}), 2000), "large array"


def _distinct_items(items: dict[str, Any], count: int) -> list[Any]:
    base = minimal(items)
    if isinstance(base, str) and "pattern" not in items and "enum" not in items and "format" not in items:
        return [f"{base}{i}" for i in range(count)]
    if isinstance(base, dict) and "from" in base:
        return [{**base, "from": f"+1800555{i:04d}"} for i in range(count)]
    return [copy.deepcopy(base) for _ in range(count)]


def body_cases(operation_id: str, kind: str, marks: Any) -> list[EdgeCase]:
    """The cases of one class for one operation's body slots and closed objects (unpacked)."""
    base = _marked_base(operation_id, marks)
    cases: list[EdgeCase] = []
    for slot in slots(operation_id):
        if slot.location != "body":
            continue
        for label, value, how in _value_cases(slot, marks, kind):
            if slot.twin and how in ("long", "large array"):
                continue  # one request each: once per schema is enough, its twins share the code path
            valid = conforms(value, slot.schema)
            path = tuple("edge" if part == KEY else part for part in slot.path)
            clause = (
                Clause.RES_ROUNDTRIP
                if valid and kind == "hostile"
                else Clause.ERR_EXACT
                if how == "enum case"
                else Clause.ERR_400
            )
            group = {"long": "", "large array": ""}.get(how, how if kind == "hostile" else kind)
            read_back = [(path, value)] if valid and (slot.is_free_text or kind != "near-misses") else []
            cases.append(
                EdgeCase(
                    kind,
                    clause,
                    operation_id,
                    f"{slot.label} = {label}",
                    ACCEPT if valid else REJECT,
                    base=base,
                    placements=[(path, value)],
                    read_back=read_back,
                    group=group,
                )
            )
        if kind == "hostile" and slot.path[-1] == KEY and slot.is_free_text and not slot.twin:
            for name, text in HOSTILE_TEXTS:
                path = tuple("edge" if part == KEY else part for part in slot.path[:-1])
                cases.append(
                    EdgeCase(
                        kind,
                        Clause.RES_ROUNDTRIP,
                        operation_id,
                        f"{slot.label} with the key {name} text {text!r}",
                        ACCEPT,
                        base=base,
                        placements=[(path, {text: "value"})],
                        read_back=[(path, {text: "value"})],
                        group=f"key {name}",
                    )
                )
    if kind == "hostile":
        cases += _hostile_structure(operation_id, base)
        cases += _lone_surrogates(operation_id, base)
    return cases


def _hostile_structure(operation_id: str, base: dict[str, Any]) -> list[EdgeCase]:
    """Unknown members with hostile names at every closed level; deep nesting where a string goes."""
    root = operation_specs()[operation_id].body_schema or {}
    cases = []
    for path, _ in object_paths(operation_id):
        where = "the top level" if not path else Slot(operation_id, "body", path, {}).label
        concrete = tuple("edge" if part == KEY else part for part in path)
        for name, text in (("astral", "\U0001f600key"), ("NUL", "k\u0000ey"), ("markup", 'k"ey<script>')):
            holder = place(base, root, path, minimal(_schema_at(root, path))) if path else copy.deepcopy(base)
            node: Any = holder
            for part in concrete:
                node = node[part]
            if isinstance(node, dict):
                node[text] = True
                cases.append(
                    EdgeCase(
                        "hostile",
                        Clause.ERR_400,
                        operation_id,
                        f"an unknown member named with {name} text at {where}",
                        REJECT,
                        base=holder,
                    )
                )
    text_slot = next((s for s in slots(operation_id) if s.location == "body" and s.is_free_text), None)
    for depth in NESTING_DEPTHS:
        raw_nested = "[" * depth + "]" * depth
        marker = "\u0001NESTED\u0001"
        if text_slot is not None:
            body = place(base, root, text_slot.path, marker)
            raw = json.dumps(body).replace(json.dumps(marker), raw_nested).encode()
            cases.append(
                EdgeCase(
                    "hostile",
                    Clause.GEN_NO_5XX,
                    operation_id,
                    f"{text_slot.label} = arrays nested {depth} deep",
                    REJECT,
                    raw_body=raw,
                )
            )
        raw_text = json.dumps(base)[:-1] + (", " if base else "") + '"edgeNested": ' + raw_nested + "}"
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                operation_id,
                f"an unknown member holding arrays nested {depth} deep",
                REJECT,
                raw_body=raw_text.encode(),
            )
        )
    return cases


def _lone_surrogates(operation_id: str, base: dict[str, Any]) -> list[EdgeCase]:
    """Escaped lone surrogates (valid JSON text, not valid Unicode): never a 5xx."""
    root = operation_specs()[operation_id].body_schema or {}
    for slot in slots(operation_id):
        if slot.location == "body" and slot.is_free_text and KEY not in slot.path:
            marker = "\u0001SURROGATE\u0001"
            raw = json.dumps(place(base, root, slot.path, marker)).replace(json.dumps(marker), '"a\\ud800b"')
            return [
                EdgeCase(
                    "hostile",
                    Clause.GEN_NO_5XX,
                    operation_id,
                    f"{slot.label} = an escaped lone surrogate \\ud800",
                    NO_5XX,
                    raw_body=raw.encode(),
                )
            ]
    return []


def size_cases(operation_id: str, marks: Any) -> list[EdgeCase]:
    """Bodies of exactly the spec's byte limit (accepted) and one byte over (413), padded in a free
    text slot without a bound."""
    limit = int(contract_rules().get("maxRequestBodyBytes", 0))
    spec = operation_specs()[operation_id]
    if not limit or spec.body_schema is None:
        return []
    root = spec.body_schema
    free = next(
        (
            s
            for s in slots(operation_id)
            if s.location == "body" and s.is_free_text and "maxLength" not in s.schema and KEY in s.path
        ),
        None,
    )
    if free is None:
        return []
    base = _marked_base(operation_id, marks)
    cases = []
    for size, expect in ((limit, ACCEPT), (limit + 1, REJECT)):
        marker = "\u0001PAD\u0001"
        template = json.dumps(place(base, root, free.path, marker), ensure_ascii=False).encode()
        pad = size - (len(template) - len(json.dumps(marker).encode()) + 2)
        raw = template.replace(json.dumps(marker).encode(), b'"' + b"p" * pad + b'"')
        assert len(raw) == size, (len(raw), size)
        cases.append(
            EdgeCase(
                "bounds",
                Clause.ERR_413,
                operation_id,
                f"a body of exactly {size} bytes (limit {limit})",
                expect,
                reject_status=413,
                raw_body=raw,
            )
        )
    return cases


def parameter_cases(operation_id: str, kind: str, marks: Any) -> list[EdgeCase]:
    """Query and header parameters: bounds of integers, near misses of patterns and formats."""
    cases = []
    for slot in slots(operation_id):
        if slot.location not in ("query", "header"):
            continue
        name = str(slot.path[0])
        schema = slot.schema
        values: list[tuple[str, Any]] = []
        if kind == "bounds" and "integer" in types_of(schema):
            for bound, keyword in ((schema.get("minimum"), "minimum"), (schema.get("maximum"), "maximum")):
                if bound is not None:
                    values += [
                        (f"{v} ({keyword} {bound})", v)
                        for v in ((bound, bound - 1) if keyword == "minimum" else (bound, bound + 1))
                    ]
        if kind == "near-misses" and "pattern" in schema:
            valid = (
                marks.memory_store_id("edges")
                if name == "memoryStoreId"
                else uuid_for(marks, operation_id, name)
                if schema.get("format") == "uuid"
                else minimal(schema)
            )
            values += [
                (f"{v!r} ({how} of {valid!r})", v)
                for how, v in _string_mutations(valid)
                if ("\n" not in v and "\u0000" not in v) or slot.location == "query"
            ]
            values.append((f"{valid!r} (valid)", valid))
        if kind == "near-misses" and schema.get("format") == "uuid":
            values += [(f"{v!r} ({how})", v) for how, v in _uuid_spellings(uuid_for(marks, operation_id, name))]
        body_base = _marked_base(operation_id, marks) if operation_specs()[operation_id].body_schema else None
        seen: set[str] = set()
        for label, value in values:
            if (slot.location == "header" and not _header_safe(value)) or repr(value) in seen:
                continue
            seen.add(repr(value))
            valid = conforms(value, schema)
            clause = {
                "pageSize": Clause.PAGE_SIZE,
                "memoryStoreId": Clause.PAGE_FILTER,
                "Idempotency-Key": Clause.IDEM_FORMAT,
            }.get(name, Clause.ERR_400)
            case = EdgeCase(
                kind,
                clause,
                operation_id,
                f"{slot.location} {name} = {label}",
                ACCEPT if valid else REJECT,
                base=body_base,
            )
            if slot.location == "query":
                case.query = {name: value}
            else:
                case.headers = {name: value}
            cases.append(case)
    return cases


def uuid_for(marks: Any, operation_id: str, name: str) -> str:
    """A valid UUID unique to this run and process (a fixed key reused with other requests is a
    legitimate 422), with upper-case hex digits in it, as the format allows."""
    import uuid

    key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{marks.run_id}/{marks.instance}/{operation_id}/{name}"))
    return key[:9] + key[9:].upper()


def _uuid_spellings(valid: str) -> list[tuple[str, str]]:
    """Other spellings of a UUID that `format: uuid` does not allow."""
    return [
        ("in braces", "{" + valid + "}"),
        ("a urn:uuid: prefix", "urn:uuid:" + valid),
        ("without hyphens", valid.replace("-", "")),
        ("hyphens moved", valid.replace("-", "")[:12] + "-" + valid.replace("-", "")[12:]),
        ("a fifth group", valid + "-0000"),
        ("an underscore for a hyphen", valid.replace("-", "_", 1)),
    ]


def _header_safe(value: Any) -> bool:
    """HTTP/1.1 can carry it as a header value (no CR, LF, NUL, no surrounding whitespace)."""
    text = str(value)
    return bool(text) and text == text.strip(" \t") and not any(c in text for c in "\r\n\u0000\u000b\u000c")


def media_type_cases(operation_id: str, marks: Any) -> list[EdgeCase]:
    """Content-Types as clients send them: the spec's JSON types in other cases, with parameters and
    spaces, `application/*+json`; and the near misses and other types that must be 415."""
    rules = contract_rules()
    spec = operation_specs()[operation_id]
    if spec.body_schema is None:
        return []
    base = _marked_base(operation_id, marks)
    declared = list(spec.media_types) or ["application/json"]
    accepted: list[str] = []
    for media in declared:
        kind, _, sub = media.partition("/")
        accepted += [media.upper(), f"{kind.capitalize()}/{sub.upper()}"]
        if rules.get("mediaTypeParametersAllowed"):
            accepted += [
                f"{media}; charset=utf-8",
                f"{media};charset=UTF-8",
                f"{media} ; charset=utf-8",
                f'{media};  charset="utf-8"',
            ]
    for media in rules.get("jsonMediaTypes", []):
        if "*" in media:
            kind, _, sub = media.partition("/")
            accepted += [f"{kind}/{sub.replace('*', name)}" for name in ("merge-patch", "vnd.orchestrator.v2")]
    refused = []
    for media in declared:
        kind, _, sub = media.partition("/")
        refused += [
            f"text/{sub}",
            f"{media}x",
            f"{media}-patch",
            f"{kind}/x-{sub}",
            f"{sub}/{kind}",
            f"{kind}/{sub}+xml",
            "application/xml",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
        ]
    cases = [
        EdgeCase(
            "media-types", Clause.ERR_415, operation_id, f"Content-Type {ct!r}", ACCEPT, base=base, content_type=ct
        )
        for ct in dict.fromkeys(accepted)
    ]
    cases += [
        EdgeCase(
            "media-types",
            Clause.ERR_415,
            operation_id,
            f"Content-Type {ct!r}",
            REJECT,
            reject_status=415,
            base=base,
            content_type=ct,
        )
        for ct in dict.fromkeys(refused)
        if ct not in accepted
    ]
    cases.append(
        EdgeCase(
            "media-types",
            Clause.ERR_415,
            operation_id,
            "a JSON body without a Content-Type",
            REJECT,
            reject_status=415,
            base=base,
            content_type=None,
        )
    )
    cases.append(
        EdgeCase(
            "media-types",
            Clause.ERR_400,
            operation_id,
            "an empty body without a Content-Type",
            REJECT,
            reject_status=400,
            raw_body=b"",
            content_type=None,
        )
    )
    return cases


def id_variants(real: str) -> list[tuple[str, str]]:
    """Ids one step from a real one: letter case, prefix, extension, surrounding characters."""
    out = [
        ("upper case", real.upper()),
        ("lower case", real.lower()),
        ("title case", real[:1].upper() + real[1:]),
        ("the last character dropped", real[:-1]),
        ("a character appended", real + "0"),
        ("doubled", real + real),
        ("a leading space", " " + real),
        ("a trailing space", real + " "),
        ("look-alike characters", "".join(LOOKALIKES.get(c, c) for c in real)),
        ("an encoded NUL appended", real + "\u0000"),
        ("astral text", real + "\U0001f600"),
    ]
    return list({v: (how, v) for how, v in out if v != real}.values())


def lookup_cases(configuration_id: str, operation_id: str, store: str) -> list[EdgeCase]:
    """Exactness: ids one step from real ones answer 404 on every operation on `{id}`; a filter one
    step from a real store is 400 (the pattern) or an empty page (another store)."""
    specs = operation_specs()
    cases = []
    for op in ("fetchConfiguration", "updateConfiguration", "patchConfiguration", "deleteConfiguration"):
        body = _REJECT_BODIES.get(op)
        for how, value in id_variants(configuration_id):
            cases.append(
                EdgeCase(
                    "exactness",
                    Clause.ERR_EXACT,
                    op,
                    f"the id {value!r} ({how} of {configuration_id})",
                    REJECT,
                    reject_status=404,
                    base=body,
                    path_id=value,
                    content_type="application/json" if body is not None else None,
                )
            )
    for how, value in id_variants(operation_id):
        cases.append(
            EdgeCase(
                "exactness",
                Clause.ERR_EXACT,
                "fetchOperation",
                f"the operation id {value!r} ({how} of {operation_id})",
                REJECT,
                reject_status=404,
                path_id=value,
                content_type=None,
            )
        )
    schema = next(p["schema"] for p in specs["listConfigurations"].parameters if p["name"] == "memoryStoreId")
    for how, value in _string_mutations(store):
        valid = conforms(value, schema)
        cases.append(
            EdgeCase(
                "exactness",
                Clause.PAGE_FILTER,
                "listConfigurations",
                f"memoryStoreId {value!r} ({how} of a store that holds a configuration)",
                ACCEPT if valid else REJECT,
                query={"memoryStoreId": value},
                content_type=None,
            )
        )
    return cases


# PUT/PATCH bodies that are valid whatever the target: an answer other than 404 for an unknown id
# cannot come from the body. The run's marks are not needed: nothing is created.
_REJECT_BODIES: dict[str, dict[str, Any]] = {
    "updateConfiguration": {
        "description": "edge",
        "conversationGroupingType": "GROUP_BY_PROFILE",
        "memoryStoreId": "edge-case",
        "channelSettings": {},
    },
    "patchConfiguration": {"description": "edge"},
}


def hostile_parameter_cases(configuration_id: str) -> list[EdgeCase]:
    """Hostile text where a request quotes it back: path ids (404), the filter and the page token
    (400), and header values HTTP/1.1 can carry as Latin-1 obs-text (400 for a key, 412 for If-Match)."""
    cases = []
    for name, text in HOSTILE_TEXTS:
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                "fetchConfiguration",
                f"a path id of {name} text {text!r}",
                REJECT,
                reject_status=404,
                path_id=text,
                content_type=None,
            )
        )
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                "listConfigurations",
                f"memoryStoreId = {name} text {text!r}",
                REJECT,
                query={"memoryStoreId": text},
                content_type=None,
            )
        )
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                "listConfigurations",
                f"pageToken = {name} text {text!r}",
                REJECT,
                query={"pageToken": text},
                content_type=None,
            )
        )
    for name, value in (
        ("Latin-1 obs-text", "\u00ff\u00e9\u00e0-key"),
        ("a high byte", "\u0080"),
        ("controls", "k\u0001e\u001fy"),
    ):
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                "patchConfiguration",
                f"an Idempotency-Key of {name} {value!r}",
                REJECT,
                base={"description": "edge"},
                headers={"Idempotency-Key": value},
                path_id=configuration_id,
            )
        )
        cases.append(
            EdgeCase(
                "hostile",
                Clause.GEN_NO_5XX,
                "patchConfiguration",
                f"an If-Match of {name} {value!r}",
                REJECT,
                reject_status=412,
                base={"description": "edge"},
                headers={"If-Match": value},
                path_id=configuration_id,
            )
        )
    return cases


def fuzz_case(slot: Slot, text: str, marks: Any) -> EdgeCase:
    """A drawn hostile string in a drawn body slot, judged by the slot's schema. Text with a lone
    surrogate is not valid Unicode, whatever the schema: any answer but a 5xx will do."""
    base = _marked_base(slot.operation_id, marks)
    path = tuple("edge" if part == KEY else part for part in slot.path)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return EdgeCase(
            "hostile",
            Clause.GEN_NO_5XX,
            slot.operation_id,
            f"{slot.label} = {text!r}",
            NO_5XX,
            base=base,
            placements=[(path, text)],
        )
    valid = conforms(text, slot.schema)
    return EdgeCase(
        "hostile",
        Clause.RES_ROUNDTRIP if valid else Clause.ERR_400,
        slot.operation_id,
        f"{slot.label} = {text!r}",
        ACCEPT if valid else REJECT,
        base=base,
        placements=[(path, text)],
        read_back=[(path, text)] if valid else [],
    )
