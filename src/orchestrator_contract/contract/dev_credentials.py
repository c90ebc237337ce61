"""Documented development credentials of the embedded reference server.

The reference server uses these accounts unless `serve --account SID:TOKEN` says otherwise, and
`orchestrator-contract run` without `--base-url` uses the same values, so the two always agree.
They are development secrets only: never reuse them on a real server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Credential:
    """A username/secret pair for HTTP Basic (an Account SID or an API key SID)."""

    username: str
    secret: str


PRIMARY_ACCOUNT = Credential("ACc0ffee00000000000000000000000001", "dev-primary-auth-token")
SECOND_ACCOUNT = Credential("ACc0ffee00000000000000000000000002", "dev-second-auth-token")
# An API key of the primary account: `SK...` with its secret authenticates as PRIMARY_ACCOUNT.
PRIMARY_API_KEY = Credential("SKc0ffee00000000000000000000000001", "dev-primary-api-key-secret")

DEV_ACCOUNTS: tuple[Credential, ...] = (PRIMARY_ACCOUNT, SECOND_ACCOUNT)
DEV_API_KEYS: dict[str, tuple[Credential, str]] = {
    PRIMARY_API_KEY.username: (PRIMARY_API_KEY, PRIMARY_ACCOUNT.username),
}
