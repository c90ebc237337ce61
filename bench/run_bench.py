"""Benchmark of the contract suite against the embedded reference server (a measurement, not a test).

    python bench/run_bench.py [--quick]

Measures, and writes to reports/throughput.md (also printed):
1. the conformance suite (`pytest suites/test_conformance.py`, ci profile): test cases/s and requests/s;
2. plain Schemathesis (`st run`) on the same spec with the ci profile's generation settings;
3. the raw limit: the recorded request mixes replayed sequentially by one httpx.Client;
4. the ratios suite/raw and st/raw;
5. the ci profile's wall time with `orchestrator-contract run --workers 0|1|2` (skipped by --quick);
6. the machine (nproc, CPU, Python, load averages: the machine is shared with other jobs).

Requests are counted server-side by an ASGI wrapper around `create_app(config)`, served by uvicorn
in a thread of this process; every client (pytest, st, the replay loop) runs in a subprocess, as in
`orchestrator-contract run`. A test case is a distinct `X-Schemathesis-TestCaseId` request header.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from machine import cpu_model, git_commit, loadavg, nested_env
from orchestrator_contract.contract.dev_credentials import PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT

VENV_BIN = Path(sys.executable).parent
REPORT = REPO / "reports" / "throughput.md"
TESTCASE_HEADER = b"x-schemathesis-testcaseid"
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Time bounds of each part (seconds).
SUITE_TIMEOUT_S = 300
ST_TIMEOUT_S = 300
REPLAY_TIMEOUT_S = 300
RUN_MAX_TIME_S = 300
RUN_TIMEOUT_S = RUN_MAX_TIME_S + 150
DROP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


# -- machine -------------------------------------------------------------------------------------
def dev_credentials_env() -> dict[str, str]:
    """The TWILIO_* variables for the dev accounts (as tests/cli_harness.py sets them)."""
    return {
        "TWILIO_ACCOUNT_SID": PRIMARY_ACCOUNT.username,
        "TWILIO_AUTH_TOKEN": PRIMARY_ACCOUNT.secret,
        "TWILIO_SECOND_ACCOUNT_SID": SECOND_ACCOUNT.username,
        "TWILIO_SECOND_AUTH_TOKEN": SECOND_ACCOUNT.secret,
        "TWILIO_API_KEY": PRIMARY_API_KEY.username,
        "TWILIO_API_SECRET": PRIMARY_API_KEY.secret,
    }


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a client subprocess: no inherited run id/seed/deadline of another run."""
    env = nested_env(drop=())
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


# -- the counting server -------------------------------------------------------------------------
@dataclass
class Exchange:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int = 0
    seconds: float = 0.0
    testcase: str | None = None


@dataclass
class Recorder:
    """Every HTTP exchange the wrapped app served (appended from the server's event loop thread)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def reset(self) -> list[Exchange]:
        taken, self.exchanges = self.exchanges, []
        return taken


class CountingApp:
    """ASGI wrapper: records method, path, query, headers, body, status and handling time."""

    def __init__(self, app: Any, recorder: Recorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        testcase = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == TESTCASE_HEADER), None)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        exchange = Exchange(
            scope["method"],
            raw_path.decode("latin-1"),
            scope["query_string"].decode("latin-1"),
            headers,
            b"",
            testcase=testcase,
        )
        chunks: list[bytes] = []

        async def recording_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def recording_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            exchange.body = b"".join(chunks)
            exchange.seconds = time.perf_counter() - started
            self.recorder.exchanges.append(exchange)


class CountingServer:
    """The reference server (fresh state, default config: op delay 50 ms) behind CountingApp."""

    def __init__(self) -> None:
        import uvicorn

        from orchestrator_contract.server import ServerConfig, create_app

        self.recorder = Recorder()
        self.app = create_app(ServerConfig())
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # proto says TCP; without it every response waits ~40 ms for Nagle + delayed ACK.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1024)
        port = self._sock.getsockname()[1]
        # The same uvicorn settings as orchestrator_contract.server.runner.
        config = uvicorn.Config(
            CountingApp(self.app, self.recorder),
            host="127.0.0.1",
            port=port,
            log_level="error",
            access_log=False,
            date_header=False,
            server_header=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self.base_url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> CountingServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the counting server did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.app.state.service.engine.close()


# -- measurements --------------------------------------------------------------------------------
@dataclass
class Measure:
    label: str
    wall_s: float
    exit_code: int | None
    exchanges: list[Exchange]
    load_start: str
    load_end: str
    tests: str = ""
    test_times: list[tuple[str, float]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.exchanges)

    @property
    def test_cases(self) -> int:
        return len({e.testcase for e in self.exchanges if e.testcase})

    @property
    def tagged_requests(self) -> int:
        return sum(1 for e in self.exchanges if e.testcase)

    @property
    def server_s(self) -> float:
        return sum(e.seconds for e in self.exchanges)

    def rate(self, count: int) -> float:
        return count / self.wall_s if self.wall_s > 0 else 0.0

    def status_mix(self) -> str:
        classes = Counter(f"{e.status // 100}xx" for e in self.exchanges)
        total = max(1, len(self.exchanges))
        return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(classes.items()))


def timed(
    command: list[str], *, timeout: float, env: dict[str, str], cwd: Path = REPO
) -> tuple[float, int | None, str]:
    """Run `command`; (wall seconds, exit code or None on timeout, combined output tail)."""
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
        code, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    wall = time.monotonic() - started
    print(f"bench:    exit {code_text(code)} after {wall:.1f} s", flush=True)
    if os.environ.get("BENCH_VERBOSE"):
        print(out[-3000:], flush=True)
    return wall, code, out[-4000:]


def read_junit(path: Path) -> list[tuple[str, str, float]]:
    """(name, outcome, seconds) of each test case in pytest's own junit file (this bench runs plain pytest)."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = next((tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None), "passed")
        cases.append((case.get("name", ""), outcome, float(case.get("time", 0) or 0)))
    return cases


def junit_counts(path: Path) -> str:
    """`N tests (p passed, f failed, e errors, s skipped)` from a junit file."""
    if not path.is_file():
        return "no junit report"
    counts = Counter(outcome for _, outcome, _ in read_junit(path))
    total = sum(counts.values())
    return f"{total} tests (" + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ")"


def junit_times(path: Path) -> list[tuple[str, float]]:
    """(test name, seconds) of each test in a junit file."""
    return [(name, seconds) for name, _, seconds in read_junit(path)] if path.is_file() else []


def measure_suite(server: CountingServer, work: Path, label: str, extra: list[str]) -> tuple[Measure, str]:
    junit = work / f"junit-{len(list(work.glob('junit-*')))}.xml"
    command = [
        str(VENV_BIN / "python"),
        "-m",
        "pytest",
        "suites/test_conformance.py",
        "-c",
        "suites/pytest.ini",
        "--rootdir",
        "suites",
        "--base-url",
        server.base_url,
        "--profile",
        "ci",
        "-q",
        f"--junitxml={junit}",
        f"--report-dir={work}",
        *extra,
    ]
    env = clean_env(**dev_credentials_env())
    server.recorder.reset()
    load_start = loadavg()
    wall, code, _ = timed(command, timeout=SUITE_TIMEOUT_S, env=env)
    measure = Measure(
        label,
        wall,
        code,
        server.recorder.reset(),
        load_start,
        loadavg(),
        tests=junit_counts(junit),
        test_times=junit_times(junit),
    )
    shown = ["pytest", *command[3:]]
    shown[shown.index("--base-url") + 1] = "URL"
    shown[shown.index(f"--junitxml={junit}")] = "--junitxml=TMP/junit.xml"
    return measure, shlex.join(shown)


def measure_st(server: CountingServer, ci: dict[str, Any]) -> tuple[Measure, str]:
    hyp, conf = ci["hypothesis"], ci["conformance"]
    mode = "all" if set(conf["modes"]) == {"positive", "negative"} else conf["modes"][0]
    command = [
        str(VENV_BIN / "st"),
        "run",
        "spec/configurations.yaml",
        "--url",
        server.base_url,
        "--auth",
        f"{PRIMARY_ACCOUNT.username}:{PRIMARY_ACCOUNT.secret}",
        "--phases",
        ",".join(conf["phases"]),
        "--max-examples",
        str(conf["max_examples"]),
        "--mode",
        mode,
        "--checks",
        "all",
        "--seed",
        str(hyp["seed"]),
        "--workers",
        "1",
        "--generation-deterministic",  # implies no example database
        "--generation-with-security-parameters",
        "false",
        "--no-color",
    ]
    if not hyp.get("shrink", True):
        command.append("--no-shrink")
    server.recorder.reset()
    load_start = loadavg()
    wall, code, out = timed(command, timeout=ST_TIMEOUT_S, env=clean_env())
    lines = out.splitlines()
    # st's summary: "Test cases:" then e.g. "548 generated, 7 found 7 unique failures, 12 skipped".
    summary = next((lines[i + 1] for i, ln in enumerate(lines[:-1]) if ln.strip() == "Test cases:"), "")
    measure = Measure(
        "plain `st run`",
        wall,
        code,
        server.recorder.reset(),
        load_start,
        loadavg(),
        tests=summary.strip() + " (st's count)",
    )
    shown = [c if c != command[0] else "st" for c in command]
    shown[shown.index("--auth") + 1] = "USER:SECRET"
    shown[shown.index("--url") + 1] = "URL"
    return measure, shlex.join(shown)


def write_replay_file(exchanges: list[Exchange], path: Path) -> None:
    rows = [
        {
            "method": e.method,
            "path": e.path,
            "query": e.query,
            "headers": [(k, v) for k, v in e.headers if k.lower() not in DROP_HEADERS],
            "body": base64.b64encode(e.body).decode(),
        }
        for e in exchanges
    ]
    path.write_text(json.dumps(rows))


def replay_main(file: Path, base_url: str) -> None:
    """Subprocess: replay the recorded requests sequentially with one httpx.Client; print JSON."""
    import httpx

    rows = json.loads(file.read_text())
    statuses: Counter[str] = Counter()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        started = time.perf_counter()
        for row in rows:
            if any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in row["path"] + row["query"]):
                statuses["not sendable by httpx"] += 1  # st's raw probes (control bytes in the path)
                continue
            # A UUID Idempotency-Key is made fresh, so the server does the write again instead of
            # answering from its idempotency cache (as the original request did not).
            headers = [
                (k, str(uuid.uuid4()) if k.lower() == "idempotency-key" and UUID_RE.fullmatch(v) else v)
                for k, v in row["headers"]
            ]
            url = row["path"] + (f"?{row['query']}" if row["query"] else "")
            response = client.request(row["method"], url, headers=headers, content=base64.b64decode(row["body"]))
            statuses[f"{response.status_code // 100}xx"] += 1
        wall = time.perf_counter() - started
    print(json.dumps({"requests": len(rows), "wall_s": wall, "statuses": statuses}))


def measure_replay(server: CountingServer, source: Measure, work: Path) -> Measure:
    file = work / f"replay-{len(list(work.glob('replay-*')))}.json"
    write_replay_file(source.exchanges, file)
    command = [str(VENV_BIN / "python"), str(Path(__file__).resolve()), "--replay", str(file), "--url", server.base_url]
    server.recorder.reset()
    load_start = loadavg()
    _, code, out = timed(command, timeout=REPLAY_TIMEOUT_S, env=clean_env())
    exchanges = server.recorder.reset()
    try:
        result = json.loads(out.strip().splitlines()[-1])
        wall = float(result["wall_s"])  # the loop's own time, without interpreter start-up
    except (ValueError, IndexError, KeyError):
        raise RuntimeError(f"the replay failed (exit {code}):\n{out}") from None
    unsendable = result["statuses"].get("not sendable by httpx", 0)
    return Measure(
        f"httpx replay of the {source.label} mix",
        wall,
        code,
        exchanges,
        load_start,
        loadavg(),
        tests=f"{unsendable} raw probe(s) httpx cannot send, left out" if unsendable else "",
    )


def measure_run(workers: int, work: Path) -> Measure:
    report_dir = work / f"run-w{workers}"
    command = [
        str(VENV_BIN / "orchestrator-contract"),
        "run",
        "--profile",
        "ci",
        "--workers",
        str(workers),
        "--max-time",
        str(RUN_MAX_TIME_S),
        "--report-dir",
        str(report_dir),
    ]
    load_start = loadavg()
    wall, code, _ = timed(command, timeout=RUN_TIMEOUT_S, env=clean_env())
    return Measure(
        f"--workers {workers}", wall, code, [], load_start, loadavg(), tests=junit_counts(report_dir / "junit.xml")
    )


# -- the report ----------------------------------------------------------------------------------
def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b > 0 else "n/a"


def code_text(code: int | None) -> str:
    return "timeout" if code is None else str(code)


def render(ctx: dict[str, Any]) -> str:
    suite: list[Measure] = ctx["suite"]
    st: Measure = ctx["st"]
    raws: dict[str, Measure] = ctx["raw"]
    out = [
        "# Benchmark: the contract suite against the embedded reference server",
        "",
        f"- date: {ctx['date']}",
        f"- commit: `{ctx['commit']}`",
        f"- command: `{ctx['command']}`",
        f"- bench wall time: {ctx['total_s']:.0f} s",
        "",
        "The machine is shared with other jobs: every number below is one run, with the load averages "
        "(1/5/15 min, from /proc/loadavg) at its start and end next to it; treat differences under ~20 % as noise.",
        "Requests are counted server-side (an ASGI wrapper around `create_app`, uvicorn in a thread of the bench "
        "process; the clients run in subprocesses). A test case = a distinct `X-Schemathesis-TestCaseId` header; "
        "requests without one are the suite's own (polling operations, setup, async-aware checks, cleanup). "
        "Server time = the sum of the wrapped app's handling times.",
        "",
        "## Machine",
        "",
        table(
            ["nproc", "CPU", "Python", "load at start", "load at end"],
            [[str(os.cpu_count()), ctx["cpu"], ctx["python"], ctx["load_start"], ctx["load_end"]]],
        ),
        "",
        "## 1–2. Suite and plain Schemathesis throughput",
        "",
        f"Suite: `{ctx['suite_command']}` (ci profile; TWILIO_* = the dev credentials).  ",
        f"Plain st: `{ctx['st_command']}` (the ci profile's phases, max examples, modes, seed, no shrinking, "
        "derandomized like the profile — st then ignores `--seed`; non-zero exit expected: plain st misjudges "
        "this asynchronous API, and it stops generating for an operation at its first failure, so it sends far "
        "fewer test cases than the suite).",
        "",
        table(
            [
                "run",
                "exit",
                "tests",
                "wall s",
                "test cases",
                "requests (with test-case id)",
                "test cases/s",
                "requests/s",
                "server time s",
                "load start → end",
            ],
            [
                [
                    m.label,
                    code_text(m.exit_code),
                    m.tests or "–",
                    f"{m.wall_s:.1f}",
                    str(m.test_cases),
                    f"{m.requests} ({m.tagged_requests})",
                    f"{m.rate(m.test_cases):.1f}",
                    f"{m.rate(m.requests):.1f}",
                    f"{m.server_s:.1f}",
                    f"{m.load_start} → {m.load_end}",
                ]
                for m in [*suite, st]
            ],
        ),
        "",
        "Wall time includes interpreter start-up, spec loading and test collection (about the same for both tools).",
        "",
        "Per-test time of the full suite run (junit):",
        "",
        table(["test", "s"], [[f"`{name}`", f"{secs:.1f}"] for name, secs in suite[0].test_times]),
        "",
        "## 3. Raw limit: the same requests replayed by a plain httpx loop",
        "",
        "The recorded (method, path, query, headers, body) of each run, replayed sequentially with one "
        "`httpx.Client` in a subprocess against a running server (UUID Idempotency-Keys made fresh). "
        "The replay's statuses differ somewhat from the original (ids of deleted resources answer 404), "
        "so the mix is close to, not identical to, the original.",
        "",
        table(
            [
                "replayed mix",
                "requests",
                "loop wall s",
                "requests/s",
                "statuses (original → replay)",
                "server time s",
                "load start → end",
            ],
            [
                [
                    name + (f" ({m.tests})" if m.tests else ""),
                    str(m.requests),
                    f"{m.wall_s:.2f}",
                    f"{m.rate(m.requests):.0f}",
                    f"{src.status_mix()} → {m.status_mix()}",
                    f"{m.server_s:.1f}",
                    f"{m.load_start} → {m.load_end}",
                ]
                for name, (m, src) in raws.items()
            ],
        ),
        "",
        "## 4. Ratios (requests/s ÷ raw requests/s)",
        "",
        "The parametrized-only run is compared with the full suite's mix (a superset of its own).",
        "",
        table(
            ["run", "requests/s", "raw requests/s (its own mix)", "ratio", "raw requests/s (suite mix)", "ratio"],
            ctx["ratios"],
        ),
        "",
    ]
    runs: list[Measure] = ctx["runs"]
    out += ["## 5. The ci profile's wall time: `orchestrator-contract run --workers N` (embedded server)", ""]
    if runs:
        out += [
            f"Command: `orchestrator-contract run --profile ci --workers N --max-time {RUN_MAX_TIME_S} "
            "--report-dir TMP` (one run each; 0 = in-process, 1 and 2 = pytest-xdist).",
            "",
            table(
                ["workers", "exit", "tests", "wall s", "load start → end"],
                [
                    [m.label, code_text(m.exit_code), m.tests, f"{m.wall_s:.1f}", f"{m.load_start} → {m.load_end}"]
                    for m in runs
                ],
            ),
            "",
        ]
    else:
        out += ["Skipped (`--quick`).", ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip part 5 (the `run --workers N` wall times)")
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        replay_main(args.replay, args.url)
        return 0

    started = time.monotonic()
    ci = tomllib.loads((REPO / "suites" / "profiles" / "ci.toml").read_text())
    ctx: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "command": "python bench/run_bench.py" + (" --quick" if args.quick else ""),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "load_start": loadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        with CountingServer() as server:
            print("bench: 1. the conformance suite ...", flush=True)
            full, ctx["suite_command"] = measure_suite(server, work, "suite: test_conformance.py", [])
            print("bench:    ... only the parametrized test (the part st also runs) ...", flush=True)
            param, _ = measure_suite(
                server,
                work,
                "suite: parametrized only (`-k test_operation_conforms`)",
                ["-k", "test_operation_conforms"],
            )
            print("bench: 3. replaying the suite's requests ...", flush=True)
            raw_suite = measure_replay(server, full, work)
        with CountingServer() as server:
            print("bench: 2. plain st run ...", flush=True)
            st, ctx["st_command"] = measure_st(server, ci)
            print("bench: 3. replaying st's requests ...", flush=True)
            raw_st = measure_replay(server, st, work)
        ctx["suite"], ctx["st"] = [full, param], st
        ctx["raw"] = {"suite (test_conformance.py)": (raw_suite, full), "plain st": (raw_st, st)}
        suite_raw = raw_suite.rate(raw_suite.requests)
        ctx["ratios"] = [
            [
                m.label,
                f"{m.rate(m.requests):.1f}",
                f"{own.rate(own.requests):.0f}",
                ratio(m.rate(m.requests), own.rate(own.requests)),
                f"{suite_raw:.0f}",
                ratio(m.rate(m.requests), suite_raw),
            ]
            for m, own in [(full, raw_suite), (param, raw_suite), (st, raw_st)]
        ]
        ctx["runs"] = []
        if not args.quick:
            for workers in (0, 1, 2):
                print(f"bench: 5. orchestrator-contract run --workers {workers} ...", flush=True)
                ctx["runs"].append(measure_run(workers, work))
    ctx["load_end"] = loadavg()
    ctx["total_s"] = time.monotonic() - started
    text = render(ctx)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
