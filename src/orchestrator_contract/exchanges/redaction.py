"""Keeping credentials out of everything a run prints or writes: pure functions, no registry.

Every text a run writes (failure messages, junit.xml, report.html, summary.md, HAR cassettes,
failure records, reproductions) goes through `scrub`. The secrets are every credential the run can
know of (the development ones and those in the environment, where a run's credentials come from,
each also as the base64 pair an `Authorization` header carries); writers that hold a test's
exchanges add what its `Authorization` headers reveal (a deliberately wrong pairing may hold a real
secret). `mask_header` hides the header itself.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from orchestrator_contract.contract.dev_credentials import DEV_ACCOUNTS, PRIMARY_API_KEY

MASK = "***"
MIN_SECRET_LENGTH = 8  # a decoded secret shorter than this would blank out ordinary text
CREDENTIAL_ENV = (
    ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    ("TWILIO_SECOND_ACCOUNT_SID", "TWILIO_SECOND_AUTH_TOKEN"),
    ("TWILIO_API_KEY", "TWILIO_API_SECRET"),
)
# The repr of a `Credential` (pytest prints test arguments, Hypothesis its falsifying example): its
# secret goes even when the repr was cut to a prefix that no registered secret matches.
_CREDENTIAL_REPR = re.compile(r"""(\bsecret=)(['"])(?:(?!\2|\.\.\.).)*(?:\2|\.\.\.)?""")


def _with_encoded_pair(username: str, secret: str) -> set[str]:
    """A secret and the base64 `username:secret` an Authorization header would carry."""
    if not secret:
        return set()
    return {secret, base64.b64encode(f"{username}:{secret}".encode()).decode()} if username else {secret}


@lru_cache(maxsize=8)
def _known(pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    found: set[str] = set()
    for username, secret in pairs:
        found |= _with_encoded_pair(username, secret)
    return tuple(sorted(found, key=len, reverse=True))


def known_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every credential a run can know of, longest first: the development ones and those in the
    environment (credentials reach a run from nowhere else), each with its encoded pair."""
    environ = os.environ if environ is None else environ
    pairs = [(c.username, c.secret) for c in (*DEV_ACCOUNTS, PRIMARY_API_KEY)]
    pairs += [(environ.get(user_var, ""), environ.get(secret_var, "")) for user_var, secret_var in CREDENTIAL_ENV]
    return _known(tuple(pairs))


def scrub(text: str, also: Iterable[str] = ()) -> str:
    """`text` with every known secret (and each of `also`, e.g. what a test's `Authorization` headers
    revealed: see `sent_credentials`) replaced by `***`, and the secret of any `Credential(...)` repr."""
    secrets = known_secrets()
    extra = sorted((s for s in also if s and s not in secrets), key=len, reverse=True)
    for secret in (*extra, *secrets) if extra else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _CREDENTIAL_REPR.sub(r"\1\2***\2", text)


def scrub_tree(value: Any, also: Iterable[str] = ()) -> Any:
    """`scrub` every string inside dicts, lists and tuples (keys are left alone)."""
    also = tuple(also)
    if isinstance(value, str):
        return scrub(value, also)
    if isinstance(value, dict):
        return {k: scrub_tree(v, also) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_tree(v, also) for v in value)
    return value


def mask_header(name: str, value: str) -> str:
    """The value to show for a header: `Authorization` is masked, keeping only its scheme."""
    if name.lower() != "authorization":
        return value
    return "Basic ***" if value.lower().startswith("basic ") else MASK


def sent_credentials(authorization_values: Iterable[str]) -> set[str]:
    """What `Authorization` header values reveal: the value, its payload, and the decoded secret."""
    found: set[str] = set()
    for value in authorization_values:
        scheme, _, payload = value.partition(" ")
        found.update(v for v in (value, payload) if len(v) > 6)
        if scheme.lower() == "basic" and payload:
            try:
                secret = base64.b64decode(payload, validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                continue
            if len(secret) >= MIN_SECRET_LENGTH:
                found.add(secret)
    return found
