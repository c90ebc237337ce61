"""Keeping credentials out of everything a run prints or writes: one module, one set of secrets.

Every text a run writes (failure messages, junit.xml, report.html, summary.md, HAR cassettes,
failure records, reproductions) goes through `scrub`. The secrets are every credential the run can
know of (the development ones, those in the environment, each also as the base64 pair an
`Authorization` header carries) plus whatever a test sent in an `Authorization` header (a
deliberately wrong pairing may hold a real secret). `mask_header` hides the header itself.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterable, Mapping
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

# A module global because the texts to scrub come from places that hold no handle on the run:
# pytest's report hooks, Schemathesis checks, exceptions raised in worker threads.
_secrets: set[str] = set()
_lock = threading.Lock()
_environment_registered = False


def register(*secrets: str) -> None:
    """Remember values that must never be printed (tokens, API key secrets, encoded pairs)."""
    with _lock:
        _secrets.update(s for s in secrets if s)


def register_credential(username: str, secret: str) -> None:
    """A secret and the base64 `username:secret` an Authorization header would carry."""
    if secret:
        register(secret)
        if username:
            register(base64.b64encode(f"{username}:{secret}".encode()).decode())


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Every credential this run can know of: the development ones and those in the environment."""
    global _environment_registered  # noqa: PLW0603 -- see `_secrets`
    _environment_registered = True
    environ = os.environ if environ is None else environ
    for credential in (*DEV_ACCOUNTS, PRIMARY_API_KEY):
        register_credential(credential.username, credential.secret)
    for user_var, secret_var in CREDENTIAL_ENV:
        register_credential(environ.get(user_var, ""), environ.get(secret_var, ""))


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***` (longest first)."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return text


def scrub(text: str) -> str:
    """`redact`, plus the secret of any `Credential(...)` repr; the environment's credentials are
    registered on first use, so no writer can forget them."""
    if not _environment_registered:
        register_environment()
    return _CREDENTIAL_REPR.sub(r"\1\2***\2", redact(text))


def scrub_tree(value: Any) -> Any:
    """`scrub` every string inside dicts, lists and tuples (keys are left alone)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_tree(v) for v in value)
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


def register_sent(authorization_values: Iterable[str]) -> None:
    """Register what `Authorization` headers a test sent reveal (see `sent_credentials`)."""
    register(*sent_credentials(authorization_values))
