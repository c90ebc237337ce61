"""`orchestrator-contract`: run the contract suites, or serve the reference server.

Exit codes of `run`: 0 the server honours the contract, 1 contract violations found, 2 usage
error, unreachable target, or a run that could not finish.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from . import profiles
from .defaults import DEV_API_KEYS, PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT, Credential
from .html_report import Context, write_html_report
from .reporting import read_run, write_summary
from .resources import suites_dir

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
PROBE_TIMEOUT_S = 5.0
HARD_STOP_GRACE_S = 120


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _credential(text: str) -> Credential:
    username, sep, secret = text.partition(":")
    if not sep or not username or not secret:
        raise argparse.ArgumentTypeError(f"expected SID:TOKEN, got {text!r}")
    return Credential(username, secret)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orchestrator-contract", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the contract suites against a server (default: the embedded one)")
    run.add_argument("--base-url", help="server under test; credentials from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN")
    run.add_argument("--profile", default="ci", help=f"run profile: {', '.join(profiles.available())} (default ci)")
    run.add_argument("--report-dir", default="reports", type=Path, help="where junit.xml and summary.md go")
    run.add_argument("--seed", type=int, help="override the profile's seed")
    run.add_argument("--max-time", type=int, help="global time budget in seconds (default: the profile's)")
    run.add_argument("--workers", type=int, help="pytest-xdist workers (default: the profile's)")
    run.add_argument("--server-fault", action="append", default=[], metavar="NAME",
                     help="embedded server only: start it with this deliberate fault")

    serve = sub.add_parser("serve", help="run the reference server standalone")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    serve.add_argument("--op-delay-ms", type=int, default=50, help="delay before an operation completes")
    serve.add_argument("--account", action="append", type=_credential, default=[], metavar="SID:TOKEN",
                       help="an account (repeatable); default: the documented development accounts")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME", help="enable a deliberate fault")
    serve.add_argument("--rate-limit", type=float, default=None, metavar="N",
                       help="answer 429 above N requests per second per account")

    sub.add_parser("faults", help="list the reference server's deliberate faults")

    mutate = sub.add_parser("mutate", help="mutation gate: run the suites (and plain st) against every server fault")
    mutate.add_argument("--faults", nargs="+", metavar="NAME", help="only these faults (default: all)")
    mutate.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="runs in parallel (default: the number of CPUs)")
    mutate.add_argument("--profile", default="ci", help="run profile (default ci)")
    mutate.add_argument("--report-dir", default="reports", type=Path, help="where mutation.md/json go")
    mutate.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run plain Schemathesis per fault (default on)")
    mutate.add_argument("--max-time-per-run", type=int, metavar="S", help="time budget of each run")
    mutate.add_argument("--fail-fast", action="store_true",
                        help="stop each run at its first failing test (a verdict, not the full list of tests)")
    mutate.add_argument("--clean-runs", type=int, default=6, metavar="N",
                        help="st runs on the clean server whose failures make st's false-positive set (default 6)")
    mutate.add_argument("--rejudge", action="store_true",
                        help="run nothing: re-read the st output of the matrix in --report-dir and rewrite its reports")

    trace = sub.add_parser("trace", help="print the clause -> tests table (suites/TRACEABILITY.md)")
    trace.add_argument("--write", action="store_true", help="rewrite suites/TRACEABILITY.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run(args, extra)
        if args.command == "serve":
            return serve(args)
        if args.command == "trace":
            return trace(args)
        if args.command == "mutate":
            from .mutation import command as mutate_command
            return mutate_command(args)
        return list_faults()
    except UsageError as exc:
        print(f"orchestrator-contract: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_USAGE


# -- serve -------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from .server import FAULTS, ServerConfig, run_server

    unknown = [f for f in args.fault if f not in FAULTS]
    if unknown:
        raise UsageError(f"unknown fault(s) {', '.join(unknown)}; see `orchestrator-contract faults`")
    accounts = tuple(args.account) or (PRIMARY_ACCOUNT, SECOND_ACCOUNT)
    config = ServerConfig(
        db_path=args.db or ":memory:",
        op_delay_ms=args.op_delay_ms,
        accounts=list(accounts),
        api_keys=dict(DEV_API_KEYS) if not args.account else {},
        faults=frozenset(args.fault),
        rate_limit_per_s=args.rate_limit,
    )
    print(f"orchestrator-contract reference server on http://{args.host}:{args.port} "
          f"({len(accounts)} account(s), faults: {', '.join(sorted(config.faults)) or 'none'})", flush=True)
    run_server(config, host=args.host, port=args.port)
    return EXIT_OK


def list_faults() -> int:
    from .server import FAULTS

    width = max(len(name) for name in FAULTS)
    for name, fault in sorted(FAULTS.items()):
        print(f"{name:<{width}}  [{fault.clause}] {fault.description}")
    return EXIT_OK


def trace(args: argparse.Namespace) -> int:
    from .traceability import build, render

    text = render(build(suites_dir()))
    if args.write:
        (suites_dir() / "TRACEABILITY.md").write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return EXIT_OK


# -- run ---------------------------------------------------------------------------------------
def probe(base_url: str, credential: Credential) -> None:
    """Fail fast, in one line, when the target is unreachable or rejects the credentials."""
    url = base_url.rstrip("/") + "/v2/ControlPlane/Configurations"
    try:
        response = httpx.get(url, params={"pageSize": 1}, auth=(credential.username, credential.secret),
                             timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot reach {base_url}: {type(exc).__name__}: {exc or 'no answer'}") from None
    if response.status_code == 401:
        raise UsageError(f"{base_url} rejected the credentials of {credential.username} (401); "
                         "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN")


def _target_environment(base_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if base_url is None:
        env.update(
            TWILIO_ACCOUNT_SID=PRIMARY_ACCOUNT.username, TWILIO_AUTH_TOKEN=PRIMARY_ACCOUNT.secret,
            TWILIO_SECOND_ACCOUNT_SID=SECOND_ACCOUNT.username, TWILIO_SECOND_AUTH_TOKEN=SECOND_ACCOUNT.secret,
            TWILIO_API_KEY=PRIMARY_API_KEY.username, TWILIO_API_SECRET=PRIMARY_API_KEY.secret,
        )
    elif not env.get("TWILIO_ACCOUNT_SID") or not env.get("TWILIO_AUTH_TOKEN"):
        raise UsageError("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to test a server by URL")
    return env


def run(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        profile = profiles.load(args.profile, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.max_time is not None:
        profile = profile.with_changes(max_time_s=args.max_time)
    if args.workers is not None:
        profile = profile.with_changes(workers=args.workers)
    if args.server_fault and args.base_url:
        raise UsageError("--server-fault applies to the embedded server only, not with --base-url")
    env = _target_environment(args.base_url)
    report_dir: Path = args.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("junit.xml", "summary.md"):
        (report_dir / stale).unlink(missing_ok=True)

    if args.base_url:
        probe(args.base_url, Credential(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]))
        return _run_suites(args.base_url, profile, report_dir, env, extra, target_label=args.base_url)

    from .server import FAULTS, ServerConfig, start_background

    unknown = [f for f in args.server_fault if f not in FAULTS]
    if unknown:
        raise UsageError(f"unknown fault(s) {', '.join(unknown)}; see `orchestrator-contract faults`")
    label = "embedded reference server" + (f" (faults: {', '.join(args.server_fault)})" if args.server_fault else "")
    with start_background(ServerConfig(faults=frozenset(args.server_fault))) as server:
        return _run_suites(server.base_url, profile, report_dir, env, extra, target_label=label)


def _run_suites(base_url: str, profile: profiles.Profile, report_dir: Path, env: dict[str, str],
                extra: list[str], *, target_label: str) -> int:
    suites = suites_dir()
    junit = report_dir / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", str(suites), "-c", str(suites / "pytest.ini"), "--rootdir", str(suites),
        "--base-url", base_url, "--profile", profile.source,
        "--seed", str(profile.seed), f"--junitxml={junit.resolve()}", "-q",
    ]
    if profile.workers > 0:
        command += ["-n", str(profile.workers)]
    if profile.maxfail > 0:
        command += [f"--maxfail={profile.maxfail}"]
    command += extra
    header = [f"target: {target_label}", f"profile: {profile.name} ({profile.description})",
              f"seed: {profile.seed}", f"time budget: {profile.max_time_s} s"]
    print("orchestrator-contract: " + "; ".join(header), flush=True)
    started = time.monotonic()
    env = {**env, "ORCHESTRATOR_CONTRACT_REPORT_DIR": str(report_dir.resolve()),
           "ORCHESTRATOR_CONTRACT_DEADLINE": str(time.time() + profile.max_time_s)}
    env.pop("ORCHESTRATOR_CONTRACT_RUN_ID", None)
    env.pop("ORCHESTRATOR_CONTRACT_SEED", None)
    try:
        # Past the budget the suites skip what is left and write their reports; the hard stop is
        # for a test stuck past the budget (a grace period later).
        completed = subprocess.run(command, env=env, timeout=profile.max_time_s + HARD_STOP_GRACE_S)
        code = completed.returncode
    except subprocess.TimeoutExpired:
        code = -1
    wall = time.monotonic() - started
    result = read_run(report_dir)  # junit.xml + failures/*.json (written as each test failed)
    summary = write_summary(result, report_dir / "summary.md", header=header, wall_s=wall)
    html = write_html_report(report_dir, result, Context(target_label, f"{profile.name} ({profile.description})",
                                                         profile.seed, wall, exit_code=code))
    if code == -1:
        print(f"orchestrator-contract: the run exceeded its time budget of {profile.max_time_s} s "
              f"(+{HARD_STOP_GRACE_S} s grace) and was stopped; partial report: {html}",
              file=sys.stderr)
        return EXIT_USAGE
    if code == 0:
        skipped = f", {result.skipped} skipped" if result.skipped else ""
        print(f"orchestrator-contract: PASS ({result.passed} passed{skipped}, {wall:.1f} s); report: {html}")
        return EXIT_OK
    if code == 1:
        print(summary)
        print(f"orchestrator-contract: FAIL ({result.failed + result.errors} of {result.tests} tests, "
              f"{wall:.1f} s); report: {html}")
        return EXIT_VIOLATIONS
    if code == 5:
        print("orchestrator-contract: no test was selected (check the -k / -m arguments after --)", file=sys.stderr)
        return EXIT_USAGE
    print(f"orchestrator-contract: pytest stopped with exit code {code} (usage error or interrupted run); "
          f"report: {html}",
          file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
