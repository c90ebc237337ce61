"""Per-failure reproductions, written the moment a test fails, and redacted test reports.

For every test whose call phase fails, in the report directory (`$ORCHESTRATOR_CONTRACT_REPORT_DIR`,
default `reports/`):
- `cassettes/<id>.har`: every HTTP exchange of the test's journal as a HAR 1.2 file;
- `failures/<id>.json`: test id, clause, violation line, seed, profile, curl commands, cassette.
`<id>` is the sanitized node id plus a hash of it, so xdist workers never collide. Writing at
failure time (not at session end) means a crash later in the run loses nothing.

Every report pytest prints or puts in junit.xml is scrubbed of the run's secrets first (pytest
shows test arguments such as `target=Target(... secret=...)` in tracebacks).

The HAR is written as plain JSON rather than with `harfile` (a transitive dependency of
Schemathesis, not one of ours): the whole document must be redacted as text before it is written,
and exchanges that ended in a transport error need a response-less entry.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import __version__, journal, profiles
from .clauses import CLAUSES
from .reporting import (CASSETTES_DIR, FAILURES_DIR, HTML_REPORT, REPRODUCE_MARK, artifact_stem,
                        register_run_secrets, scrub, scrub_tree)
from .violations import ContractViolation

BODY_LIMIT = 256 * 1024  # per HAR body; the contract's own request limit
MESSAGE_LIMIT = 20_000
_CONFIG: dict[str, pytest.Config] = {}  # the hooks without a `config` argument need it


def report_dir() -> Path:
    return Path(os.environ.get(profiles.REPORT_DIR_ENV) or "reports")


# -- hooks ---------------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config
    register_run_secrets()
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) only
        _clear_stale(report_dir())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        _register_sent_credentials(journal.current().exchanges)
        if report.when == "call":
            try:
                _record_failure(item, call, report)
            except Exception as exc:  # a reporting problem must never change the verdict
                print(f"orchestrator-contract: could not record the failure of {item.nodeid}: {exc!r}",
                      file=sys.stderr)
    _scrub_report(item.config, report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Scrub again before junitxml, the terminal or xdist see the report (other plugins' makereport
    wrappers may have added sections after ours)."""
    config = _CONFIG.get("config")
    if config is not None:
        _scrub_report(config, report)


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report: pytest.CollectReport) -> None:
    config = _CONFIG.get("config")
    if config is not None:
        _scrub_report(config, report)


# -- redaction of pytest's own reports -----------------------------------------------------------
def _scrub_report(config: pytest.Config, report: pytest.TestReport | pytest.CollectReport) -> None:
    """Redact the report's traceback and sections in place, through pytest's (xdist's) own
    serialization, so its structure (and junit's message attribute) is kept."""
    if report.longrepr is None and not report.sections:
        return
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None:
        return
    cleaned = scrub_tree(data)
    if cleaned == data:
        return
    fresh = config.hook.pytest_report_from_serializable(config=config, data=cleaned)
    report.longrepr = fresh.longrepr
    report.sections = fresh.sections


def sent_credentials(exchanges: Iterable[journal.Exchange]) -> set[str]:
    """What the Authorization headers of `exchanges` reveal: the header value, its base64 payload,
    and the decoded secret (a deliberately wrong pairing may hold a real secret; a decoded secret
    shorter than 8 characters is left alone, it would blank out ordinary text)."""
    found: set[str] = set()
    for exchange in list(exchanges):
        value = exchange.request.headers.get("authorization", "")
        scheme, _, payload = value.partition(" ")
        found.update(v for v in (value, payload) if len(v) > 6)
        if scheme.lower() == "basic" and payload:
            try:
                secret = base64.b64decode(payload, validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                continue
            if len(secret) >= 8:
                found.add(secret)
    return found


def _register_sent_credentials(exchanges: Iterable[journal.Exchange]) -> None:
    journal.register_secret(*sent_credentials(exchanges))


# -- the failure record --------------------------------------------------------------------------
def _clear_stale(directory: Path) -> None:
    """Remove an earlier run's artifacts (only ours), so the report shows this run alone."""
    for pattern in (f"{CASSETTES_DIR}/*.har", f"{FAILURES_DIR}/*.json", HTML_REPORT):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


def _violation_in(exc: BaseException | None) -> ContractViolation | None:
    """The ContractViolation behind a failure (Hypothesis may group several)."""
    if exc is None:
        return None
    if isinstance(exc, ContractViolation):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _violation_in(inner)
            if found is not None:
                return found
    return _violation_in(exc.__cause__) if exc.__cause__ is not exc else None


def _failure_text(exc: BaseException | None, report: pytest.TestReport) -> str:
    """A failure that is not a ContractViolation: its message, else pytest's one-line crash summary."""
    if exc is not None and str(exc):
        return f"{type(exc).__name__}: {exc}"
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else report.longreprtext


def _curl_commands(exchanges: list[journal.Exchange], message: str) -> list[str]:
    """The curl commands the failure message shows, in its order; without any, the test's last six."""
    commands = list(dict.fromkeys(journal.curl_command(e.request) for e in exchanges))
    shown = sorted((c for c in commands if c in message), key=message.index)
    return shown or commands[-6:]


def _active_profile() -> profiles.Profile | None:
    try:
        return profiles.active()
    except RuntimeError:
        return None


def _rerun_command(item: pytest.Item, nodeid: str, profile: profiles.Profile | None, seed: object) -> str:
    """This one test again, with the run's profile and seed (add the original target's options)."""
    address = f"{item.path}::{nodeid.partition('::')[2]}"
    command = f"pytest {shlex.quote(address)} --profile {profile.name if profile else 'ci'}"
    return command + (f" --seed {seed}" if seed is not None else "")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _record_failure(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    directory = report_dir()
    stem = artifact_stem(report.nodeid)
    exchanges = list(journal.current().exchanges)
    cassette = f"{CASSETTES_DIR}/{stem}.har"
    _write_atomically(directory / cassette, har_text(exchanges, comment=f"orchestrator-contract: {report.nodeid}"))

    exc = call.excinfo.value if call.excinfo is not None else None
    violation = _violation_in(exc)
    message = scrub(str(violation) if violation is not None else _failure_text(exc, report))[:MESSAGE_LIMIT]
    clause = violation.clause if violation is not None else "unclassified"
    detail = violation.detail if violation is not None else (message.splitlines() or [""])[0]
    profile = _active_profile()
    seed = profile.seed if profile else os.environ.get("ORCHESTRATOR_CONTRACT_SEED")
    known = CLAUSES.get(clause)
    record: dict[str, Any] = {
        "test": report.nodeid,
        "clause": clause,
        "clause_section": known.section if known else "",
        "clause_text": known.text if known else "",
        "violation": f"violation: {detail.splitlines()[0] if detail else ''}",
        "detail": detail,
        "seed": seed,
        "profile": profile.name if profile else os.environ.get("ORCHESTRATOR_CONTRACT_PROFILE", "ci"),
        "run_id": os.environ.get("ORCHESTRATOR_CONTRACT_RUN_ID", ""),
        "base_url": item.config.getoption("--base-url", default=None) or "embedded reference server",
        "curl": _curl_commands(exchanges, message),
        "reproduction": message.partition(REPRODUCE_MARK)[2].strip("\n") if REPRODUCE_MARK in message else "",
        "hypothesis": "\n".join(getattr(item, "hypothesis_report_information", []) or []),
        "rerun": _rerun_command(item, report.nodeid, profile, seed),
        "cassette": cassette,
        "exchanges": len(exchanges),
        "message": message,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "duration_s": round(report.duration, 3),
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    text = scrub(json.dumps(scrub_tree(record), indent=2, ensure_ascii=False))
    _write_atomically(directory / f"{FAILURES_DIR}/{stem}.json", text + "\n")


# -- HAR 1.2 -------------------------------------------------------------------------------------
def _headers(headers: httpx.Headers) -> list[dict[str, str]]:
    out = []
    for raw_name, raw_value in headers.raw:  # as sent: original case, repeated headers kept
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() == "authorization":
            value = "Basic ***" if value.lower().startswith("basic ") else "***"
        out.append({"name": name, "value": value})
    return out


def _content(raw: bytes, mime: str) -> dict[str, Any]:
    body = raw[:BODY_LIMIT]
    content: dict[str, Any] = {"size": len(raw), "mimeType": mime}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"], content["encoding"] = base64.b64encode(body).decode(), "base64"
    if len(raw) > BODY_LIMIT:
        content["comment"] = f"truncated to the first {BODY_LIMIT} bytes"
    return content


def _started(response: httpx.Response | None, fallback: datetime) -> str:
    """The journal keeps no send time: the response's Date header (1 s resolution) stands in."""
    try:
        when = parsedate_to_datetime(response.headers["date"]) if response is not None else fallback
    except (KeyError, TypeError, ValueError):
        when = fallback
    return when.astimezone(UTC).isoformat()


def _entry(exchange: journal.Exchange, now: datetime) -> dict[str, Any]:
    request, response = exchange.request, exchange.response
    try:
        sent = request.content
    except httpx.RequestNotRead:
        sent = b""
    har_request: dict[str, Any] = {
        "method": request.method, "url": str(request.url), "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _headers(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in request.url.params.multi_items()],
        "headersSize": -1, "bodySize": len(sent),
    }
    if sent:
        mime = request.headers.get("content-type", "")
        har_request["postData"] = {"mimeType": mime, "text": sent[:BODY_LIMIT].decode("utf-8", errors="replace")}
    elapsed_ms = 0.0
    if response is None:
        har_response: dict[str, Any] = {
            "status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
            "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": -1,
            "comment": exchange.error or "no response", "_error": exchange.error or "no response",
        }
    else:
        try:
            elapsed_ms = round(response.elapsed.total_seconds() * 1000, 3)
        except RuntimeError:
            pass
        har_response = {
            "status": response.status_code, "statusText": response.reason_phrase,
            "httpVersion": response.http_version, "cookies": [], "headers": _headers(response.headers),
            "content": _content(response.content, response.headers.get("content-type", "")),
            "redirectURL": response.headers.get("location", ""), "headersSize": -1,
            "bodySize": len(response.content),
        }
    return {
        "startedDateTime": _started(response, now), "time": elapsed_ms, "request": har_request,
        "response": har_response, "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": elapsed_ms, "receive": 0, "ssl": -1},
        "comment": exchange.headline(),
    }


def har_text(exchanges: list[journal.Exchange], *, comment: str = "") -> str:
    """A HAR 1.2 document of `exchanges`, with Authorization headers masked and every secret
    (registered, or sent in an Authorization header) redacted from the serialized text."""
    now = datetime.now(UTC)
    document = {"log": {
        "version": "1.2",
        "creator": {"name": "orchestrator-contract", "version": __version__},
        "pages": [],
        "entries": [_entry(e, now) for e in exchanges],
        "comment": comment + " (startedDateTime: the response's Date header; time: httpx's elapsed)",
    }}
    _register_sent_credentials(exchanges)
    return scrub(json.dumps(scrub_tree(document), indent=1, ensure_ascii=False))
