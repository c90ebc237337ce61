"""Endpoints, authentication, isolation and error bodies, over real HTTP."""

from __future__ import annotations

import base64
import random
import threading
import time

import httpx
import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT
from orchestrator_contract.server import RunningServer, ServerConfig, start_background

from .helpers import CONFIGS, OPS, Api, client, valid_body


def assert_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == "application/json"
    body = r.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == status and type(body["code"]) is int
    assert isinstance(body["message"], str) and isinstance(body["more_info"], str)
    assert "date" in r.headers
    return body


@pytest.mark.parametrize(
    "path,allowed",
    [
        (CONFIGS, {"GET", "POST"}),
        (CONFIGS + "/cfg_x", {"GET", "PUT", "PATCH", "DELETE"}),
        (OPS + "/op_x", {"GET"}),
    ],
)
def test_other_methods_get_405_with_allow(api: Api, path: str, allowed: set[str]) -> None:
    for method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"} - allowed:
        r = api.request(method, path)
        assert r.status_code == 405, (method, path)
        assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
        if method != "HEAD":
            assert_error(r, 405)


def test_unknown_paths_are_404_json(api: Api) -> None:
    for path in (
        "/",
        "/v2/ControlPlane/Configurations/",
        "/v2/ControlPlane/Configurations/a/b",
        "/v2/x",
        "/v2/ControlPlane/Operations",
    ):
        assert_error(api.get(path), 404)


def test_date_on_every_response(api: Api) -> None:
    with client(str(api.base_url)) as anonymous:
        unauthenticated = anonymous.get(CONFIGS)
    for r in (api.get(CONFIGS), unauthenticated, api.get("/nope"), api.delete(CONFIGS)):
        assert r.headers.get_list("date") and len(r.headers.get_list("date")) == 1
    assert "server" not in api.get(CONFIGS).headers


def test_unknown_query_parameters_are_ignored(api: Api) -> None:
    r = api.get(CONFIGS, params={"PageSize": "abc", "Page": "x", "PageToken": "zz", "foo": ""})
    assert r.status_code == 200
    r = api.post(CONFIGS, params={"x": "1"}, json=valid_body())
    assert r.status_code == 202
    assert api.wait(r)["status"] == "COMPLETED"


@pytest.mark.parametrize(
    "auth",
    [
        None,
        (PRIMARY_ACCOUNT.username, "wrong"),
        (PRIMARY_ACCOUNT.username, ""),
        ("AC" + "f" * 32, "x"),
        (PRIMARY_API_KEY.username, PRIMARY_ACCOUNT.secret),
        (PRIMARY_ACCOUNT.username, SECOND_ACCOUNT.secret),
    ],
)
def test_missing_or_wrong_credentials_get_401(server: RunningServer, auth: tuple[str, str] | None) -> None:
    with client(server.base_url, auth) as http:
        for method, path in (
            ("GET", CONFIGS),
            ("POST", CONFIGS),
            ("GET", CONFIGS + "/cfg_x"),
            ("DELETE", CONFIGS + "/cfg_x"),
            ("GET", OPS + "/op_x"),
        ):
            r = http.request(method, path, json=valid_body() if method == "POST" else None)
            body = assert_error(r, 401)
            assert body["code"] == 20003
            assert r.headers["www-authenticate"].startswith("Basic ")
            if auth:
                assert auth[1] not in r.text or not auth[1]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Digest x",
    ],
)
def test_malformed_authorization_gets_401(server: RunningServer, header: str) -> None:
    with client(server.base_url) as anonymous:
        r = anonymous.get(CONFIGS, headers={"Authorization": header})
    assert assert_error(r, 401)["code"] == 20003


def test_api_key_acts_for_its_account(api: Api, keyed: Api) -> None:
    config_id = keyed.create(displayName="via key")
    assert api.get_config(config_id)["displayName"] == "via key"
    r = keyed.get(f"{CONFIGS}/{config_id}")
    assert r.status_code == 200


def test_other_accounts_ids_are_404_everywhere(api: Api, other: Api) -> None:
    config_id = api.create()
    r = api.post(CONFIGS, json=valid_body())
    op_url = r.headers["location"]
    api.wait(r)
    assert_error(other.get(f"{CONFIGS}/{config_id}"), 404)
    assert_error(other.put(f"{CONFIGS}/{config_id}", json=valid_body(channelSettings={})), 404)
    assert_error(other.patch(f"{CONFIGS}/{config_id}", json={}), 404)
    assert_error(other.delete(f"{CONFIGS}/{config_id}"), 404)
    assert_error(other.get(op_url), 404)
    ids = [c["id"] for c in other.get(CONFIGS, params={"pageSize": 1000}).json()["configurations"]]
    assert config_id not in ids
    assert api.get_config(config_id)["version"] == 1


def test_no_response_echoes_a_credential(api: Api) -> None:
    api.create()
    for r in (api.get(CONFIGS), api.post(CONFIGS, json={"displayName": PRIMARY_ACCOUNT.secret})):
        for secret in (PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret):
            assert secret not in r.text and all(secret not in v for v in r.headers.values())


def test_content_type_and_size(api: Api) -> None:
    target = CONFIGS + "/cfg_unknown"
    for method, path in (("POST", CONFIGS), ("PUT", target), ("PATCH", target)):
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"):
            assert_error(api.request(method, path, content=b"{}", headers={"content-type": ctype}), 415)
        assert_error(api.request(method, path, content=b'{"a":1}', headers={"content-type": ""}), 415)
        big = b'{"description":"' + b"x" * (256 * 1024) + b'"}'
        assert_error(api.request(method, path, content=big, headers={"content-type": "application/json"}), 413)
    r = api.post(CONFIGS, content=b"{}", headers={"content-type": "application/json; charset=utf-8"})
    assert_error(r, 400)  # accepted as JSON, then fails validation
    r = api.post(
        CONFIGS,
        content=httpx._content.json_dumps(valid_body()).encode(),
        headers={"content-type": "Application/JSON;charset=UTF-8"},
    )
    assert r.status_code == 202


def test_body_at_the_limit_is_not_413(api: Api) -> None:
    body = b'{"description":"' + b"x" * 10 + b'","pad":"'
    body += b"y" * (256 * 1024 - len(body) - 2) + b'"}'
    assert len(body) == 256 * 1024
    assert_error(api.post(CONFIGS, content=body, headers={"content-type": "application/json"}), 400)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"x"', b'{"a":NaN}', b"\xff", b"[" * 100000])
def test_bad_json_is_400(api: Api, raw: bytes) -> None:
    assert_error(api.post(CONFIGS, content=raw, headers={"content-type": "application/json"}), 400)


@pytest.mark.parametrize(
    "body",
    [
        valid_body(id="cfg_x"),
        valid_body(version=1),
        valid_body(unknown=True),
        valid_body(channelSettings={"SMS": {"statusTimeouts": {"inactive": 1.0}}}),
        valid_body(channelSettings={"SMS": {"statusTimeouts": {"inactive": True}}}),
        valid_body(observationExtractionStrategyIds=["x"]),
    ],
)
def test_invalid_bodies_are_400_on_every_write(api: Api, body: dict) -> None:
    config_id = api.create()
    assert_error(api.post(CONFIGS, json=body), 400)
    assert_error(
        api.put(f"{CONFIGS}/{config_id}", json={**body, "channelSettings": body.get("channelSettings", {})}), 400
    )
    patch = {k: v for k, v in body.items() if k not in valid_body()}
    assert_error(api.patch(f"{CONFIGS}/{config_id}", json=patch), 400)
    assert api.get_config(config_id)["version"] == 1


def test_rate_limit_answers_429_with_integer_retry_after() -> None:
    with start_background(ServerConfig(rate_limit_per_s=2, rate_limit_burst=3)) as running:
        limited_client = Api(running.base_url, PRIMARY_ACCOUNT)
        statuses = [limited_client.get(CONFIGS) for _ in range(6)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited and statuses[0].status_code == 200
        for r in limited:
            assert_error(r, 429)
            assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) >= 1
        # the other account has its own bucket
        second = Api(running.base_url, SECOND_ACCOUNT)
        assert second.get(CONFIGS).status_code == 200
        limited_client.close()
        second.close()


def test_garbage_never_gets_5xx(api: Api) -> None:
    cases = [
        ("GET", CONFIGS + "/%00%ff", None, {}),
        ("GET", CONFIGS + "?pageSize=%ff&memoryStoreId=%00&pageToken=%ff%fe", None, {}),
        ("PUT", CONFIGS + "/" + "x" * 5000, b"{}", {"content-type": "application/json"}),
        (
            "PATCH",
            CONFIGS + "/x",
            b'{"channelSettings": {"SMS": {"captureRules": [{"from": "\\ud800", "to": "x"}]}}}',
            {"content-type": "application/json"},
        ),
        ("POST", CONFIGS, b'{"description": "' + b"\\ud800" + b'"}', {"content-type": "application/json"}),
        (
            "POST",
            CONFIGS,
            b"{}",
            {"content-type": "application/json", "idempotency-key": "\u00e9".encode(), "if-match": b"\x80"},
        ),
        ("DELETE", CONFIGS + "/x", b"garbage", {"if-match": '"1"' * 100}),
        ("GET", OPS + "/" + "%20" * 10, None, {}),
    ]
    for method, path, content, headers in cases:
        r = api.request(method, path, content=content, headers=headers)
        assert r.status_code < 500, (method, path, r.text)
        assert_error(r, r.status_code)


def test_concurrent_mixed_load_never_5xx(api: Api, other: Api) -> None:
    """Several threads mixing every operation; nothing may answer 5xx and versions stay exact."""
    shared = api.create()
    errors: list[str] = []
    applied_patches = [0]
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        client = api if seed % 2 else other
        mine: list[str] = []
        for _ in range(30):
            choice = rnd.randrange(7)
            if choice == 0:
                key = f"00000000-0000-0000-0000-{seed:012d}"
                r = client.post(CONFIGS, json=valid_body(), headers={"Idempotency-Key": key})
                if r.status_code == 202:
                    mine.append(r.json()["related"]["configurationId"])
            elif choice == 1:
                r = client.get(CONFIGS, params={"pageSize": rnd.randint(1, 5)})
            elif choice == 2 and mine:
                r = client.patch(f"{CONFIGS}/{rnd.choice(mine)}", json={"description": "x"})
            elif choice == 3:
                r = api.patch(f"{CONFIGS}/{shared}", json={})
                if r.status_code == 202:
                    with lock:
                        applied_patches[0] += 1
            elif choice == 4 and mine:
                r = client.delete(f"{CONFIGS}/{mine.pop()}")
            elif choice == 5:
                r = client.get(f"{CONFIGS}/{shared}")
            else:
                r = client.put(f"{CONFIGS}/cfg_missing", json=valid_body(channelSettings={}))
            if r.status_code >= 500 or "date" not in r.headers:
                with lock:
                    errors.append(f"{r.request.method} {r.request.url} -> {r.status_code}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    deadline = time.monotonic() + 5
    while api.get_config(shared)["version"] != 1 + applied_patches[0]:
        assert time.monotonic() < deadline, "patches were lost"
        time.sleep(0.01)
