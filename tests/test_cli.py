"""The command line: usage errors, unreachable targets and `serve`, as a user meets them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT

CLI = [sys.executable, "-m", "orchestrator_contract"]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_target_exits_2_with_one_line_quickly(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = cli(
        "run",
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--report-dir",
        str(tmp_path),
        env={"TWILIO_ACCOUNT_SID": PRIMARY_ACCOUNT.username, "TWILIO_AUTH_TOKEN": "x"},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert elapsed < 10
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_credentials_for_a_url_is_a_usage_error(tmp_path: Path) -> None:
    env = dict.fromkeys(("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"), "")
    result = cli("run", "--base-url", "http://127.0.0.1:9", "--report-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "TWILIO_ACCOUNT_SID" in result.stderr


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("run", "--profile", "nope", "--report-dir", str(tmp_path))
    assert result.returncode == 2
    assert "unknown profile" in result.stderr and "ci" in result.stderr


def test_unknown_fault_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("run", "--server-fault", "no-such-fault", "--report-dir", str(tmp_path))
    assert result.returncode == 2
    assert "unknown fault" in result.stderr


def test_faults_are_listed_with_their_clause() -> None:
    result = cli("faults")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) >= 10
    assert all("[" in line and "]" in line for line in lines)


def test_serve_answers_with_the_documented_development_account(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--db", str(tmp_path / "db.sqlite3")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v2/ControlPlane/Configurations",
                    auth=(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret),
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start listening within 20 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["meta"]["key"] == "configurations"
        anonymous = httpx.get(f"http://127.0.0.1:{port}/v2/ControlPlane/Configurations", timeout=2)
        assert anonymous.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_with_explicit_accounts_rejects_the_defaults(tmp_path: Path) -> None:
    port = free_port()
    account = "AC" + "ab" * 16
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--account", f"{account}:s3cret"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        url = f"http://127.0.0.1:{port}/v2/ControlPlane/Configurations"
        while True:
            try:
                ok = httpx.get(url, auth=(account, "s3cret"), timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert ok.status_code == 200
        assert httpx.get(url, auth=(PRIMARY_ACCOUNT.username, PRIMARY_ACCOUNT.secret), timeout=2).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
