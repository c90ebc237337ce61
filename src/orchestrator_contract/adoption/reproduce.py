"""`orchestrator-contract reproduce failures/NAME.json`: re-send a failed test's requests, no pytest.

The failure record names its cassette (`cassettes/NAME.har`, every exchange of the test). Its
requests are sent again, in order, to the target: the record's own URL, `--base-url`, or for a
record of the embedded server a new embedded server started the same way (faults included).
What the original run got back and what the target answers now are printed side by side.

Values the target makes up are carried forward: an id (or any string) the original answers held
and the new answers hold in the same place is replaced in every later request, so a request to
`/Configurations/{the id the create returned}` goes to the new configuration. Idempotency keys are
made fresh, one new key per original key (a key the test reused stays reused). Credentials come
from the environment, by kind: the primary account, the second account, the API key; requests the
test sent with deliberately wrong credentials get deliberately wrong ones again.

Whether the violation appears again is judged on the exchange that showed it (the record's
`culprit`): its answer must have the same *shape* as in the failing run: the same status, the same
members, list lengths, numbers, booleans and empty strings, timestamps of the same format
(`...:05Z` differs from `...:05.123Z`), and the headers the contract speaks of in the same form. The
values a new run makes up differently (ids, tokens, the names of the items a page holds) do not count.
An answer of another shape means the violation did not show again (fixed, or timing-dependent).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT, Credential
from orchestrator_contract.contract.json_documents import json_or_none
from orchestrator_contract.planning.plan import EmbeddedServer

EXIT_SAME, EXIT_DIFFERENT, EXIT_USAGE = 1, 0, 2
SKIPPED_HEADERS = {"host", "content-length", "authorization", "connection", "accept-encoding", "user-agent"}
MIN_CARRIED = 6  # strings shorter than this are not carried forward (too likely to appear by chance)


def _server_from(options: list[str]) -> EmbeddedServer:
    faults, latency, op_delay, rate = [], 0, EmbeddedServer.op_delay_ms, None
    it = iter(options)
    for option in it:
        value = next(it, "")
        if option == "--server-fault":
            faults.append(value)
        elif option == "--server-latency-ms":
            latency = int(value)
        elif option == "--server-op-delay-ms":
            op_delay = int(value)
        elif option == "--server-rate-limit":
            rate = float(value)
    return EmbeddedServer(tuple(faults), latency, op_delay, rate)


def _credentials(embedded: bool) -> dict[str, Credential | None]:
    env = os.environ

    def pair(user: str, secret: str, default: Credential) -> Credential | None:
        if embedded:
            return default
        return Credential(env[user], env[secret]) if env.get(user) and env.get(secret) else None

    return {
        "primary": pair("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", PRIMARY_ACCOUNT),
        "second": pair("TWILIO_SECOND_ACCOUNT_SID", "TWILIO_SECOND_AUTH_TOKEN", SECOND_ACCOUNT),
        "api-key": pair("TWILIO_API_KEY", "TWILIO_API_SECRET", PRIMARY_API_KEY),
    }


def _pairs(old: Any, new: Any, found: dict[str, str]) -> None:
    """Strings the original and the new answer hold at the same place, where they differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() & new.keys():
            _pairs(old[key], new[key], found)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new, strict=False):
            _pairs(a, b, found)
    elif isinstance(old, str) and isinstance(new, str) and old != new and len(old) >= MIN_CARRIED:
        found[old] = new
        if old.startswith(("http://", "https://")):  # a statusUrl also carries its id as the last segment
            found.setdefault(old.rstrip("/").rsplit("/", 1)[-1], new.rstrip("/").rsplit("/", 1)[-1])


TERMINAL = ("COMPLETED", "FAILED")
POLL_BUDGET_S = 30.0


def _operation_status(answer: httpx.Response) -> str:
    if "/Operations/" not in answer.request.url.path or answer.status_code != 200:
        return ""
    document = json_or_none(answer.text)
    return str(document.get("status", "")) if isinstance(document, dict) else ""


def _operation_status_text(original: dict[str, Any]) -> str:
    document = json_or_none(original.get("content", {}).get("text", ""))
    return str(document.get("status", "")) if isinstance(document, dict) else ""


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T")


def _classes(text: str) -> str:
    """A string as runs of character classes: `2026-01-01T10:00:00.123Z` -> `9-9-9A9:9:9.9A`."""
    out: list[str] = []
    for c in text:
        kind = "a" if c.islower() else "A" if c.isupper() else "9" if c.isdigit() else c
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)


def _skeleton(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _skeleton(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [len(value), *[_skeleton(v) for v in value]]
    if isinstance(value, str):  # made-up values (ids, tokens, names) vary between runs; formats do not
        return _classes(value) if _TIMESTAMP.match(value) else ("str" if value else "empty str")
    return value


def _header_shapes(headers: dict[str, str]) -> dict[str, str]:
    shapes = {}
    for name, value in headers.items():
        if name == "etag":
            shapes[name] = _classes(value)
        elif name in ("content-type", "www-authenticate"):
            shapes[name] = value.split(";")[0].split(" ")[0].strip().lower()
        elif name == "location":
            shapes[name] = "absolute" if value.startswith(("http://", "https://")) else "relative"
        elif name in ("allow", "retry-after"):
            shapes[name] = value.replace(" ", "")
        elif name in ("operation-id", "x-conflicting-resource-id"):
            shapes[name] = "present"
    return shapes


def shape(status: int, headers: dict[str, str], body: str) -> Any:
    """What a violation shows in an answer, without the values a new run makes up differently."""
    document = json_or_none(body)
    return status, _header_shapes(headers), _skeleton(document) if document is not None else bool(body)


def _substitute(text: str, carried: dict[str, str]) -> str:
    for old in sorted(carried, key=len, reverse=True):
        text = text.replace(old, carried[old])
    return text


def _fresh_key(old: str, keys: dict[str, str]) -> str:
    if old not in keys:
        fresh = str(uuid.uuid4())
        same_length = len(old) == len(fresh)
        keys[old] = (
            "".join(f.upper() if o.isupper() else f for f, o in zip(fresh, old, strict=True)) if same_length else fresh
        )
    return keys[old]


def replay(
    entries: list[dict[str, Any]],
    base_url: str,
    credentials: dict[str, Credential | None],
    culprit: int | None,
    out: Any = sys.stdout,
) -> bool:
    """Send every recorded request again; print both answers; True when the culprit exchange
    answers as it did in the failing run."""
    carried: dict[str, str] = {}
    keys: dict[str, str] = {}
    same = False
    with httpx.Client(timeout=30) as client:
        for index, entry in enumerate(entries):
            request, original = entry["request"], entry["response"]
            parts = urlsplit(request["url"])
            url = (
                base_url.rstrip("/")
                + _substitute(parts.path, carried)
                + ("?" + _substitute(parts.query, carried) if parts.query else "")
            )
            headers: list[tuple[str, str]] = []
            for header in request.get("headers", []):
                name, value = header["name"], header["value"]
                if name.lower() in SKIPPED_HEADERS:
                    continue
                if name.lower() == "idempotency-key":
                    value = _fresh_key(value, keys)
                headers.append((name, _substitute(value, carried)))
            kind = request.get("_credential", "primary")
            credential = credentials.get(kind)
            note = ""
            if kind == "custom":
                user = (credentials.get("primary") or PRIMARY_ACCOUNT).username
                token = base64.b64encode(f"{user}:deliberately-wrong-secret".encode()).decode()
                headers.append(("Authorization", f"Basic {token}"))
                note = " (sent with deliberately wrong credentials, as the test did)"
            elif kind != "none" and credential is not None:
                token = base64.b64encode(f"{credential.username}:{credential.secret}".encode()).decode()
                headers.append(("Authorization", f"Basic {token}"))
            elif kind != "none":
                note = f" (no {kind} credentials in the environment: sent without)"
            body = _substitute(request.get("postData", {}).get("text", ""), carried).encode() or None
            try:
                answer = client.request(request["method"], url, headers=headers, content=body)
                # The test waited for this operation to end; so does the replay (its state depends on it).
                deadline = time.monotonic() + POLL_BUDGET_S
                while (
                    _operation_status(answer) == "PENDING"
                    and _operation_status_text(original) in TERMINAL
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.05)
                    answer = client.request(request["method"], url, headers=headers, content=body)
                status, text = answer.status_code, answer.text
            except httpx.HTTPError as exc:
                status, text = 0, f"{type(exc).__name__}: {exc}"
            was = original.get("status", 0)
            marker = "  <- the failing exchange" if index == culprit else ""
            print(
                f"# {index + 1}. {request['method']} {urlsplit(url).path} -> was {was}, now {status}{note}{marker}",
                file=out,
            )
            if index == culprit or was != status:
                print(f"#    was: {original.get('content', {}).get('text', '')[:300]}", file=out)
                print(f"#    now: {text[:300]}", file=out)
            old_body, new_body = json_or_none(original.get("content", {}).get("text", "")), json_or_none(text)
            _pairs(old_body, new_body, carried)
            for header in original.get("headers", []):
                if header["name"].lower() in ("operation-id", "location", "etag"):
                    new_value = answer.headers.get(header["name"]) if status else None
                    if new_value and new_value != header["value"] and len(header["value"]) >= MIN_CARRIED:
                        carried[header["value"]] = new_value
            if index == culprit:
                old_headers = {h["name"].lower(): h["value"] for h in original.get("headers", [])}
                new_headers = {k.lower(): v for k, v in answer.headers.items()} if status else {}
                same = shape(was, old_headers, original.get("content", {}).get("text", "")) == shape(
                    status, new_headers, text
                )
    return same


def command(args: Any) -> int:
    try:
        record = json.loads(args.record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"orchestrator-contract: cannot read {args.record}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report_dir = args.record.resolve().parent.parent
    try:
        har = json.loads((report_dir / str(record["cassette"])).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        print(f"orchestrator-contract: no cassette for {args.record} in {report_dir}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    entries = har["log"]["entries"]
    culprit = record.get("culprit")
    base_url = args.base_url or record.get("base_url") or ""
    print(
        f"reproducing {record.get('test')} [{record.get('clause')}]: {record.get('violation') or record.get('detail')}"
    )
    if base_url:
        credentials = _credentials(embedded=False)
        if credentials["primary"] is None:
            print(
                f"orchestrator-contract: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to reproduce against {base_url}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        same = replay(entries, base_url, credentials, culprit)
    else:
        from orchestrator_contract.server import start_background

        server = _server_from(list(record.get("target_options") or []))
        print(f"against a new {server.describe()}")
        with start_background(server.server_config()) as running:
            same = replay(entries, running.base_url, _credentials(embedded=True), culprit)
    if same:
        print(f"the violation appears again: the failing exchange answers as it did [{record.get('clause')}]")
        return EXIT_SAME
    print(
        "the failing exchange answers differently now: the violation did not appear again "
        "(fixed, or it depends on timing or on state this replay did not rebuild)"
    )
    return EXIT_DIFFERENT
