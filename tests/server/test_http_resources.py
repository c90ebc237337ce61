"""The Configuration resource, asynchronous operations and versions, over real HTTP."""

from __future__ import annotations

import re
import threading
import time

import httpx

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT
from orchestrator_contract.server import ServerConfig, start_background

from .helpers import CONFIGS, OPS, Api, epoch, service_id, ts_epoch, valid_body

TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
REPRESENTATION = {
    "id",
    "displayName",
    "description",
    "conversationGroupingType",
    "memoryStoreId",
    "channelSettings",
    "statusCallbacks",
    "intelligenceConfigurationIds",
    "memoryExtractionEnabled",
    "createdAt",
    "updatedAt",
    "version",
}
CHANNELS = {
    "SMS": {
        "statusTimeouts": {"inactive": 10, "closed": 15},
        "captureRules": [{"from": "+18005550100", "to": "*", "metadata": {"callType": "PSTN"}}],
    },
    "WHATSAPP": {"captureRules": [{"from": "whatsapp:+18005550100", "to": "*"}]},
    "CHAT": {"statusTimeouts": {}},
}


def test_202_shape_and_operation_resource(api: Api) -> None:
    r = api.post(CONFIGS, json=valid_body())
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"statusUrl", "related"} and set(body["related"]) == {"configurationId"}
    op_id = r.headers["operation-id"]
    assert body["statusUrl"] == r.headers["location"] == str(api.base_url).rstrip("/") + f"{OPS}/{op_id}"
    assert r.headers["retry-after"].isdigit()
    pending = api.get(body["statusUrl"]).json()
    assert pending["operationId"] == op_id and pending["statusUrl"] == body["statusUrl"]
    assert pending["related"] == body["related"]
    if pending["status"] == "PENDING":
        assert "completedAt" not in pending and "error" not in pending
    op = api.wait(r)
    assert set(op) == {"operationId", "status", "createdAt", "completedAt", "statusUrl", "related"}
    assert op["status"] == "COMPLETED" and TS_RE.fullmatch(op["createdAt"]) and TS_RE.fullmatch(op["completedAt"])
    assert op["completedAt"] >= op["createdAt"]
    # the id is the one the configuration has; a terminal status never changes
    assert api.get_config(body["related"]["configurationId"])["id"] == body["related"]["configurationId"]
    assert api.get(body["statusUrl"]).json() == op


def test_retry_after_is_the_whole_seconds_of_the_delay() -> None:
    """Sub-second delays say 0 (poll soon); a delay of whole seconds says so, and the operation is
    really PENDING before it completes."""
    with start_background(ServerConfig(op_delay_ms=200)) as quick:
        client = Api(quick.base_url, PRIMARY_ACCOUNT)
        assert client.post(CONFIGS, json=valid_body()).headers["retry-after"] == "0"
        client.close()
    with start_background(ServerConfig(op_delay_ms=1000)) as running:
        client = Api(running.base_url, PRIMARY_ACCOUNT)
        r = client.post(CONFIGS, json=valid_body())
        assert int(r.headers["retry-after"]) == 1
        assert client.get(r.headers["location"]).json()["status"] == "PENDING"
        deadline = time.monotonic() + 30
        while client.get(r.headers["location"]).json()["status"] == "PENDING":
            assert time.monotonic() < deadline, "the operation never completed"
            time.sleep(0.1)
        assert client.get(r.headers["location"]).json()["status"] == "COMPLETED"
        client.close()


def test_unknown_operation_is_404(api: Api) -> None:
    assert api.get(f"{OPS}/op_doesnotexist").status_code == 404


def test_round_trip_exact_values(api: Api) -> None:
    body = valid_body(
        channelSettings=CHANNELS,
        statusCallbacks=[{"url": "https://a.example/cb"}, {"url": "https://b.example/x?y=1", "method": "GET"}],
        intelligenceConfigurationIds=["agent1", "agent2"],
        memoryExtractionEnabled=True,
        conversationsV1Bridge={"serviceId": service_id(1001)},
        description="Ünïcode ✓",
    )
    config_id = api.create(**body)
    got = api.get_config(config_id)
    assert set(got) == REPRESENTATION | {"conversationsV1Bridge"}
    assert got["channelSettings"] == CHANNELS
    assert got["statusCallbacks"] == [
        {"url": "https://a.example/cb", "method": "POST"},
        {"url": "https://b.example/x?y=1", "method": "GET"},
    ]
    for key in (
        "displayName",
        "description",
        "conversationGroupingType",
        "memoryStoreId",
        "intelligenceConfigurationIds",
        "memoryExtractionEnabled",
        "conversationsV1Bridge",
    ):
        assert got[key] == body[key]
    assert got["version"] == 1 and got["createdAt"] == got["updatedAt"] and TS_RE.fullmatch(got["createdAt"])


def test_minimal_create_gets_defaults_and_no_bridge(api: Api) -> None:
    got = api.get_config(api.create())
    assert set(got) == REPRESENTATION
    assert got["channelSettings"] == {} and got["statusCallbacks"] == [] and got["intelligenceConfigurationIds"] == []
    assert got["memoryExtractionEnabled"] is False


def test_put_replaces_and_keeps_display_name(api: Api) -> None:
    config_id = api.create(
        displayName="Keep me",
        channelSettings=CHANNELS,
        memoryExtractionEnabled=True,
        statusCallbacks=[{"url": "https://a.example"}],
        conversationsV1Bridge={"serviceId": service_id(1002)},
    )
    put = {
        "description": "new",
        "conversationGroupingType": "GROUP_BY_PARTICIPANT_ADDRESSES",
        "memoryStoreId": "other",
        "channelSettings": {"VOICE": {}},
        "displayName": None,
    }
    assert api.write_and_wait("PUT", config_id, json=put)["status"] == "COMPLETED"
    got = api.get_config(config_id)
    assert got["displayName"] == "Keep me" and got["description"] == "new" and got["memoryStoreId"] == "other"
    assert got["channelSettings"] == {"VOICE": {}} and got["statusCallbacks"] == []
    assert got["memoryExtractionEnabled"] is False and "conversationsV1Bridge" not in got and got["version"] == 2
    api.write_and_wait("PUT", config_id, json={**put, "displayName": "Renamed"})
    assert api.get_config(config_id)["displayName"] == "Renamed"


def test_patch_semantics_and_empty_patch(api: Api) -> None:
    config_id = api.create(channelSettings=CHANNELS, conversationsV1Bridge={"serviceId": service_id(1003)})
    before = api.get_config(config_id)
    api.write_and_wait(
        "PATCH",
        config_id,
        json={
            "channelSettings": {
                "SMS": None,
                "VOICE": {"statusTimeouts": {"inactive": 1}},
                "CHAT": {"captureRules": []},
            },
            "description": None,
            "conversationsV1Bridge": None,
        },
    )
    got = api.get_config(config_id)
    assert got["channelSettings"] == {
        "WHATSAPP": CHANNELS["WHATSAPP"],
        "CHAT": {"captureRules": []},
        "VOICE": {"statusTimeouts": {"inactive": 1}},
    }
    assert (
        got["description"] == before["description"] and got["conversationsV1Bridge"] == before["conversationsV1Bridge"]
    )
    assert got["version"] == 2
    api.write_and_wait("PATCH", config_id, json={})
    after = api.get_config(config_id)
    assert after["version"] == 3 and {k: v for k, v in after.items() if k not in ("version", "updatedAt")} == {
        k: v for k, v in got.items() if k not in ("version", "updatedAt")
    }


def test_service_id_conflicts(api: Api, other: Api) -> None:
    sid = service_id(2001)
    holder = api.create(conversationsV1Bridge={"serviceId": sid})
    r = api.post(CONFIGS, json=valid_body(conversationsV1Bridge={"serviceId": sid}))
    assert r.status_code == 409 and r.headers["x-conflicting-resource-id"] == holder
    assert r.json()["status"] == 409
    second = api.create()
    for method, body in (
        ("PUT", valid_body(channelSettings={}, conversationsV1Bridge={"serviceId": sid})),
        ("PATCH", {"conversationsV1Bridge": {"serviceId": sid}}),
    ):
        r = api.request(method, f"{CONFIGS}/{second}", json=body)
        assert r.status_code == 409 and r.headers["x-conflicting-resource-id"] == holder
    # keeping one's own serviceId is no conflict; other accounts do not count
    assert (
        api.write_and_wait("PATCH", holder, json={"conversationsV1Bridge": {"serviceId": sid}})["status"] == "COMPLETED"
    )
    assert (
        api.write_and_wait(
            "PUT", holder, json=valid_body(channelSettings={}, conversationsV1Bridge={"serviceId": sid})
        )["status"]
        == "COMPLETED"
    )
    other.create(conversationsV1Bridge={"serviceId": sid})
    # a deleted configuration releases it
    assert api.write_and_wait("DELETE", holder)["status"] == "COMPLETED"
    assert (
        api.write_and_wait("PATCH", second, json={"conversationsV1Bridge": {"serviceId": sid}})["status"] == "COMPLETED"
    )


def test_conflict_that_slips_in_before_apply_fails_the_operation() -> None:
    with start_background(ServerConfig(op_delay_ms=150)) as running:
        client = Api(running.base_url, PRIMARY_ACCOUNT)
        sid = service_id(3001)
        first = client.post(CONFIGS, json=valid_body(conversationsV1Bridge={"serviceId": sid}))
        second = client.post(CONFIGS, json=valid_body(conversationsV1Bridge={"serviceId": sid}))
        assert first.status_code == second.status_code == 202  # neither applied yet
        assert client.wait(first)["status"] == "COMPLETED"
        op = client.wait(second)
        assert op["status"] == "FAILED" and op["error"]["status"] == 409
        assert set(op["error"]) == {"type", "title", "status", "detail"} and "completedAt" in op
        assert client.get(f"{CONFIGS}/{second.json()['related']['configurationId']}").status_code == 404
        client.close()


def test_delete_then_404(api: Api) -> None:
    config_id = api.create()
    r = api.delete(f"{CONFIGS}/{config_id}")
    assert r.status_code == 202 and r.json()["related"] == {"configurationId": config_id}
    assert api.wait(r)["status"] == "COMPLETED"
    assert api.get(f"{CONFIGS}/{config_id}").status_code == 404
    assert api.delete(f"{CONFIGS}/{config_id}").status_code == 404
    assert api.patch(f"{CONFIGS}/{config_id}", json={}).status_code == 404


def test_etag_and_if_match(api: Api) -> None:
    config_id = api.create()
    url = f"{CONFIGS}/{config_id}"
    assert api.get(url).headers["etag"] == '"1"'
    for header in ('"2"', 'W/"1"', "1", '"1" "2"', "", '"01"'):
        r = api.patch(url, json={}, headers={"If-Match": header})
        assert r.status_code == 412, header
        assert r.json()["status"] == 412
        assert api.delete(url, headers={"If-Match": header}).status_code == 412
    assert api.get(url).headers["etag"] == '"1"'
    for header in ('"1"', '"7", "2"', "*"):
        assert (
            api.write_and_wait("PATCH", url.rsplit("/", 1)[1], json={}, headers={"If-Match": header})["status"]
            == "COMPLETED"
        )
    assert api.get(url).headers["etag"] == '"4"'
    assert (
        api.write_and_wait("PUT", config_id, json=valid_body(channelSettings={}), headers={"If-Match": '"4"'})["status"]
        == "COMPLETED"
    )
    assert api.get_config(config_id)["version"] == 5
    r = api.post(CONFIGS, json=valid_body(), headers={"If-Match": '"nope"'})  # POST ignores If-Match
    assert r.status_code == 202 and api.wait(r)["status"] == "COMPLETED"
    assert api.write_and_wait("DELETE", config_id, headers={"If-Match": '"5"'})["status"] == "COMPLETED"
    assert api.patch(url, json={}, headers={"If-Match": "*"}).status_code in (404, 412)


def test_stale_if_match_at_apply_time_fails_with_412() -> None:
    with start_background(ServerConfig(op_delay_ms=100)) as running:
        client = Api(running.base_url, PRIMARY_ACCOUNT)
        config_id = client.create()
        url = f"{CONFIGS}/{config_id}"
        responses = [client.patch(url, json={"description": f"d{i}"}, headers={"If-Match": '"1"'}) for i in range(4)]
        assert all(r.status_code == 202 for r in responses)
        ops = [client.wait(r) for r in responses]
        assert [op["status"] for op in ops].count("COMPLETED") == 1
        for op in ops:
            if op["status"] == "FAILED":
                assert op["error"]["status"] == 412
        got = client.get_config(config_id)
        assert got["version"] == 2 and got["description"] == "d0"
        client.close()


def test_concurrent_conditional_updates_apply_once(api: Api) -> None:
    config_id = api.create()
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def worker(i: int) -> None:  # httpx.Client is thread-safe: one pool, concurrent connections
        r = api.http.patch(f"{CONFIGS}/{config_id}", json={"description": str(i)}, headers={"If-Match": '"1"'})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in results if r.status_code == 202]
    assert all(r.status_code in (202, 412) for r in results)
    statuses = [api.wait(r)["status"] for r in accepted]
    assert statuses.count("COMPLETED") == 1
    assert api.get_config(config_id)["version"] == 2


def test_version_arithmetic_and_timestamp_windows(api: Api) -> None:
    r = api.post(CONFIGS, json=valid_body())
    accepted = epoch(r.headers["date"])
    api.wait(r)
    config_id = r.json()["related"]["configurationId"]
    g = api.get(f"{CONFIGS}/{config_id}")
    created = ts_epoch(g.json()["createdAt"])
    assert accepted <= created <= epoch(g.headers["date"])
    previous = g.json()
    # wait (polling the Date header) until a later second, then update: updatedAt must move forward
    deadline = time.monotonic() + 3
    while epoch(api.get(CONFIGS, params={"pageSize": 1}).headers["date"]) <= accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    for i, method in enumerate(("PATCH", "PUT", "PATCH")):
        body = {} if method == "PATCH" else valid_body(channelSettings={})
        r = api.request(method, f"{CONFIGS}/{config_id}", json=body)
        accepted = epoch(r.headers["date"])
        api.wait(r)
        g = api.get(f"{CONFIGS}/{config_id}")
        got = g.json()
        assert got["version"] == previous["version"] + 1 and got["createdAt"] == previous["createdAt"]
        updated = ts_epoch(got["updatedAt"])
        assert accepted <= updated <= epoch(g.headers["date"])
        assert updated >= ts_epoch(previous["updatedAt"])
        if i == 0:
            assert updated > ts_epoch(previous["updatedAt"])
        previous = got
    # rejected requests change nothing
    api.patch(f"{CONFIGS}/{config_id}", json={"bogus": 1})
    api.patch(f"{CONFIGS}/{config_id}", json={}, headers={"If-Match": '"1"'})
    assert api.get_config(config_id) == previous


def test_write_to_pending_create_may_404() -> None:
    with start_background(ServerConfig(op_delay_ms=300)) as running:
        client = Api(running.base_url, PRIMARY_ACCOUNT)
        r = client.post(CONFIGS, json=valid_body())
        config_id = r.json()["related"]["configurationId"]
        assert client.get(f"{CONFIGS}/{config_id}").status_code == 404
        assert client.patch(f"{CONFIGS}/{config_id}", json={}).status_code == 404
        assert client.wait(r)["status"] == "COMPLETED"
        assert client.get(f"{CONFIGS}/{config_id}").status_code == 200
        client.close()
