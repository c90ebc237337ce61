"""Whether the target answers at all sanely: the run stops sending to one that does not.

A target can be broken in ordinary ways that make every answer useless: an outage page (5xx
HTML), a proxy that redirects, a login page, bodies cut short, bodies without end. Judging such
answers one test at a time costs minutes and says nothing new after the first few. Every answer
of the run is classified here (`insanity`); once `BROKEN_STREAK` answers in a row, to at least
`BROKEN_OPERATIONS` different operations, were all insane, the target counts as broken: the
process stops sending, the run stops, and its verdict says what the answers were. A server with
a defect in one operation never trips it (its other operations answer sanely), and one sane
answer resets the streak.

Answers are read up to a size (`answer_limit`): the profile's `max_response_bytes`, or less when
the spec bounds the answer to that request more tightly. A longer answer is recorded cut short
(and marked) and never read to its end.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import httpx

from orchestrator_contract.contract.clauses import Clause

BROKEN_STREAK = 12
BROKEN_OPERATIONS = 2
MAX_REQUEST_BODY = 262_144  # the contract's request body limit (ERR-413): a stored value is at most this long
# A representation repeats what a request stored; JSON escaping can at most double UTF-8 text that
# is not ASCII, and the resource's own fields add well under the slack.
_PER_ITEM = 2 * MAX_REQUEST_BODY
_SLACK = 64 * 1024


@dataclass(frozen=True)
class TargetFacts:
    """The target answered nothing sanely (every answer 5xx, a redirect, not JSON, or over the
    response size limit) or stopped answering: the run stopped sending."""

    state: str  # broken
    reason: str  # what the answers were, in one line
    clause: str  # the clause those answers break
    example: str = ""  # one recorded exchange, as text


def spec_bound(request: httpx.Request) -> int:
    """The most bytes the spec allows an answer to `request` to have: a page holds at most
    `pageSize` (default 50, at most 1000) configurations, anything else at most one."""
    if request.method == "GET" and request.url.path.rstrip("/").endswith("/Configurations"):
        try:
            size = int(request.url.params.get("pageSize", "50"))
        except ValueError:
            size = 50
        return min(max(size, 1), 1000) * _PER_ITEM + _SLACK
    return _PER_ITEM + _SLACK


def answer_limit(request: httpx.Request, max_response_bytes: int) -> int:
    return min(max_response_bytes, spec_bound(request))


def read_up_to(raw: httpx.Response, limit: int) -> tuple[bytes, int | None]:
    """The raw body, read up to `limit` bytes (a longer one is cut there: the rest is never read);
    and where it was cut, or None."""
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.iter_raw():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), limit
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), None


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def insanity(
    status: int, headers: httpx.Headers, body: bytes, *, cut_at: int | None, valid_credentials: bool = False
) -> tuple[str, str] | None:
    """What is wrong with an answer no request of this API should ever get, and the clause it
    breaks; None for an answer worth judging (which may still break a clause). A 401 counts only
    for a request that carried the run's own valid credentials (`valid_credentials`)."""
    if cut_at is not None:
        return f"answered more than the response size limit ({cut_at} bytes)", Clause.RES_SHAPE
    if status >= 500:
        kind = headers.get("content-type", "no Content-Type").split(";", 1)[0]
        return f"answered {status} ({kind})", Clause.GEN_NO_5XX
    if status == 401 and valid_credentials:
        return "answered 401 to the run's valid credentials", Clause.AUTH_BASIC
    if 300 <= status < 400:
        return f"answered a redirect ({status} to {headers.get('location', 'nowhere')!r})", Clause.GEN_STATUS
    if not body.strip():
        return None
    content_type = headers.get("content-type", "")
    clause = Clause.ERR_BODY if status >= 400 else Clause.RES_SHAPE
    if not _is_json_type(content_type):
        return f"answered a body that is not JSON ({status}, Content-Type {content_type or 'none'!r})", clause
    try:
        json.loads(body)
    except ValueError:
        return f"answered a body that is not valid JSON ({status}, {len(body)} bytes)", clause
    return None


def describe_exchange(request: httpx.Request, status: int | None, headers: httpx.Headers | None, body: bytes) -> str:
    """One exchange as a few lines of text (for the verdict's example)."""
    head = f"{request.method} {request.url.raw_path.decode('latin-1')}"
    if status is None:
        return f"{head} -> no answer"
    shown = body[:300].decode("utf-8", errors="replace")
    kind = (headers or httpx.Headers()).get("content-type", "")
    more = f" ... ({len(body)} bytes read)" if len(body) > 300 else ""
    return f"{head} -> {status} {kind}\n{shown}{more}"


@dataclass
class TargetHealth:
    """The run's view, in one process, of whether the target answers sanely (thread-safe)."""

    broken: TargetFacts | None = None
    _streak: list[tuple[str, str, str, str]] = field(default_factory=list)  # (operation, reason, clause, example)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, operation: str, problem: tuple[str, str] | None, example: str) -> None:
        with self._lock:
            if self.broken is not None:
                return
            if problem is None:
                self._streak.clear()
                return
            self._streak.append((operation, problem[0], problem[1], example))
            if len(self._streak) >= BROKEN_STREAK and len({s[0] for s in self._streak}) >= BROKEN_OPERATIONS:
                self.broken = summarise(self._streak)

    def state(self) -> TargetFacts | None:
        with self._lock:
            return self.broken


def summarise(streak: list[tuple[str, str, str, str]]) -> TargetFacts:
    """The facts of a broken target from its insane answers: the commonest kind of answer first."""
    reasons: dict[str, int] = {}
    for _, reason, _, _ in streak:
        reasons[reason] = reasons.get(reason, 0) + 1
    top = max(reasons, key=lambda r: reasons[r])
    first = next(s for s in streak if s[1] == top)
    others = f" (and {len(reasons) - 1} other kinds)" if len(reasons) > 1 else ""
    operations = len({s[0] for s in streak})
    quantity = "every one" if len(reasons) == 1 else "most of them"
    return TargetFacts(
        state="broken",
        reason=f"target broken: {len(streak)} answers in a row, to {operations} operations, were insane: "
        f"{quantity} {top}{others}",
        clause=str(first[2]),  # plain text: xdist carries it to the controller
        example=first[3],
    )
