"""The first look at a target, before any test: does it answer, accept the credentials, and answer
anything sanely?

Four requests that create nothing (a one-item list, an unknown configuration, an unknown
operation, a create with an invalid body) cover reads and writes of both resources. No answer at
all is a usage problem (exit 2: wrong URL, server down); rejected credentials too. When every
one of the four answers is insane (see `target_health`), the target is broken: the run says so
at once, with the answers as its evidence, and runs no test.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from orchestrator_contract.contract.dev_credentials import Credential
from orchestrator_contract.exchanges.target_health import (
    TargetFacts,
    answer_limit,
    describe_exchange,
    insanity,
    read_up_to,
)

PROBE_TIMEOUT_S = 5.0
CONFIGURATIONS = "/v2/ControlPlane/Configurations"
UNKNOWN_CONFIGURATION = "conv_configuration_00000000000000000000000000"
UNKNOWN_OPERATION = "conv_operation_00000000000000000000000000"


class Unreachable(Exception):
    """The target cannot be tested: no answer, or the credentials were rejected (one line)."""


@dataclass(frozen=True)
class ProbeAnswer:
    request: httpx.Request
    status: int
    headers: httpx.Headers
    body: bytes
    cut_at: int | None


def _send(client: httpx.Client, request: httpx.Request, max_response_bytes: int) -> ProbeAnswer:
    with client.stream(request.method, request.url, content=request.content, headers=request.headers) as response:
        body, cut_at = read_up_to(response, answer_limit(request, max_response_bytes))
        return ProbeAnswer(request, response.status_code, response.headers, body, cut_at)


def probe(base_url: str, credential: Credential, max_response_bytes: int) -> TargetFacts | None:
    """None for a target worth testing; the facts of a broken one; `Unreachable` otherwise."""
    base = base_url.rstrip("/")
    requests = [
        httpx.Request("GET", f"{base}{CONFIGURATIONS}", params={"pageSize": 1}),
        httpx.Request("GET", f"{base}{CONFIGURATIONS}/{UNKNOWN_CONFIGURATION}"),
        httpx.Request("GET", f"{base}/v2/ControlPlane/Operations/{UNKNOWN_OPERATION}"),
        httpx.Request("POST", f"{base}{CONFIGURATIONS}", json={}),
    ]
    answers: list[ProbeAnswer] = []
    with httpx.Client(auth=(credential.username, credential.secret), timeout=PROBE_TIMEOUT_S) as client:
        for blank in requests:
            request = client.build_request(blank.method, blank.url, content=blank.content, headers=blank.headers)
            try:
                answers.append(_send(client, request, max_response_bytes))
            except httpx.HTTPError as exc:
                if not answers:
                    raise Unreachable(f"cannot reach {base_url}: {type(exc).__name__}: {exc or 'no answer'}") from None
                raise Unreachable(
                    f"{base_url} stopped answering during the first requests ({request.method} "
                    f"{request.url.path}: {type(exc).__name__}: {exc or 'no answer'})"
                ) from None
            if answers[-1].status == 401 and request.method == "GET" and len(answers) == 1:
                raise Unreachable(
                    f"{base_url} rejected the credentials of {credential.username} (401); "
                    "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN"
                )
    problems = [insanity(a.status, a.headers, a.body, cut_at=a.cut_at) for a in answers]
    if any(p is None for p in problems):
        return None
    kinds = list(dict.fromkeys(p[0] for p in problems if p))
    first = answers[0]
    clause = str(problems[0][1]) if problems[0] else ""
    return TargetFacts(
        state="broken",
        reason=f"target broken: every one of the {len(answers)} first requests (reads and writes of both "
        f"resources) {'; '.join(kinds)}",
        clause=clause,
        example=describe_exchange(first.request, first.status, first.headers, first.body),
    )
