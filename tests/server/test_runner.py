"""Starting and stopping servers; the app under ASGITransport; file-backed persistence."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, Credential
from orchestrator_contract.server import ServerConfig, create_app, parse_credential, start_background

from .helpers import CONFIGS, Api, valid_body


def test_background_server_picks_a_free_port_and_stops() -> None:
    running = start_background(ServerConfig())
    host, port = running.base_url.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    with Api(running.base_url, PRIMARY_ACCOUNT).http as http:
        assert http.get(CONFIGS).status_code == 200
    running.stop()
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


def test_two_servers_are_independent() -> None:
    with start_background() as one, start_background() as two:
        assert one.base_url != two.base_url
        a, b = Api(one.base_url, PRIMARY_ACCOUNT), Api(two.base_url, PRIMARY_ACCOUNT)
        config_id = a.create()
        assert b.get(f"{CONFIGS}/{config_id}").status_code == 404
        a.close()
        b.close()


def test_asgi_transport_has_date_and_works() -> None:
    app = create_app(ServerConfig(op_delay_ms=0))

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", auth=(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret)
        ) as http:
            r = await http.post(CONFIGS, json=valid_body())
            assert r.status_code == 202 and "date" in r.headers
            assert r.json()["statusUrl"].startswith("http://test/v2/ControlPlane/Operations/op_")
            for _ in range(200):
                op = (await http.get(r.headers["location"])).json()
                if op["status"] != "PENDING":
                    break
                await asyncio.sleep(0.005)
            assert op["status"] == "COMPLETED"
            g = await http.get(CONFIGS)
            assert "date" in g.headers and len(g.json()["configurations"]) == 1

    asyncio.run(scenario())
    app.state.service.close()


def test_file_database_survives_restart_and_finishes_pending_operations(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    with start_background(ServerConfig(db_path=db, op_delay_ms=0)) as first:
        a = Api(first.base_url, PRIMARY_ACCOUNT)
        kept = a.create(displayName="persisted")
        a.close()
    with start_background(ServerConfig(db_path=db, op_delay_ms=60_000)) as second:
        a = Api(second.base_url, PRIMARY_ACCOUNT)
        pending = a.post(CONFIGS, json=valid_body(displayName="pending"))
        a.close()
    with start_background(ServerConfig(db_path=db, op_delay_ms=0)) as third:
        a = Api(third.base_url, PRIMARY_ACCOUNT)
        assert a.get_config(kept)["displayName"] == "persisted"
        op_url = pending.headers["location"].replace(second.base_url, third.base_url)
        assert a.wait(op_url)["status"] == "COMPLETED"
        assert a.get_config(pending.json()["related"]["configurationId"])["displayName"] == "pending"
        a.close()


def test_config_validation() -> None:
    assert parse_credential("AC" + "a" * 32 + ":tok:en") == Credential("AC" + "a" * 32, "tok:en")
    for bad in ("nocolon", ":x", "AC1:"):
        with pytest.raises(ValueError):
            parse_credential(bad)
    with pytest.raises(ValueError):
        ServerConfig(accounts=[Credential("user", "x")])
    with pytest.raises(ValueError):
        ServerConfig(op_delay_ms=-1)
    custom = ServerConfig(accounts=[Credential("AC" + "b" * 32, "s3cret")], api_keys={})
    with start_background(custom) as running, Api(running.base_url, custom.accounts[0]) as a:
        assert a.get(CONFIGS).status_code == 200
        assert Api(running.base_url, PRIMARY_ACCOUNT).get(CONFIGS).status_code == 401
