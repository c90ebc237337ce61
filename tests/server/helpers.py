"""Helpers for the reference-server tests: request bodies, parsing, an authenticated client."""

from __future__ import annotations

import calendar
import ssl
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orchestrator_contract.contract.dev_credentials import Credential

CONFIGS = "/v2/ControlPlane/Configurations"
OPS = "/v2/ControlPlane/Operations"
FAST_DELAY_MS = 20
# Building an httpx.Client loads the CA bundle (~150 ms); every client here shares one context.
_TLS = ssl.create_default_context()


def client(base_url: str, auth: tuple[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, auth=auth, timeout=10, verify=_TLS)


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "My Support Config",
        "description": "Customer support",
        "conversationGroupingType": "GROUP_BY_PROFILE",
        "memoryStoreId": "mem_store_01k1etk2y5f1y9fpe2epfdtvv2",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def service_id(n: int) -> str:
    return f"IS{n:032x}"


def store_filter(n: int) -> str:
    """A distinct valid memoryStoreId filter value per test (keeps lists independent)."""
    return f"mem_store_0{n:025d}"


def new_key() -> str:
    return str(uuid.uuid4())


def epoch(date_header: str) -> int:
    return int(parsedate_to_datetime(date_header).timestamp())


def ts_epoch(ts: str) -> int:
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


class Api:
    """An authenticated client plus the waits a contract client needs."""

    def __init__(self, base_url: str, cred: Credential) -> None:
        self.http = client(base_url, (cred.username, cred.secret))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def wait(self, resp_or_url: httpx.Response | str, timeout: float = 5.0) -> dict[str, Any]:
        url = resp_or_url if isinstance(resp_or_url, str) else resp_or_url.headers["Location"]
        deadline = time.monotonic() + timeout
        while True:
            r = self.http.get(url)
            assert r.status_code == 200, r.text
            op = r.json()
            if op["status"] != "PENDING" or time.monotonic() > deadline:
                return op
            time.sleep(0.005)

    def create(self, **overrides: Any) -> str:
        r = self.http.post(CONFIGS, json=valid_body(**overrides))
        assert r.status_code == 202, r.text
        op = self.wait(r)
        assert op["status"] == "COMPLETED", op
        return r.json()["related"]["configurationId"]

    def get_config(self, config_id: str) -> dict[str, Any]:
        r = self.http.get(f"{CONFIGS}/{config_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def write_and_wait(self, method: str, config_id: str, **kwargs: Any) -> dict[str, Any]:
        r = self.http.request(method, f"{CONFIGS}/{config_id}", **kwargs)
        assert r.status_code == 202, r.text
        return self.wait(r)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
