"""`orchestrator-contract`: run the contract suites, or serve the reference server.

Exit codes of `run`: 0 the server honours the contract; 1 contract violations found; 2 usage
error, unreachable target, or a run that could not finish; 3 the suite could not judge some tests
(its own errors, listed apart in every report) and found no violation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import profiles
from .context import EmbeddedServer, RunContext, without_context
from .defaults import DEV_API_KEYS, PRIMARY_ACCOUNT, PRIMARY_API_KEY, SECOND_ACCOUNT, Credential
from .html_report import Context, write_html_report
from .reporting import RunResult, coverage_gaps, junit_key, load_failure_records, read_run, write_summary
from .resources import suites_dir

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_SUITE_ERROR, EXIT_COVERAGE = 0, 1, 2, 3, 4
PROBE_TIMEOUT_S = 5.0
HARD_STOP_GRACE_S = 120
EXIT_CODES_HELP = """exit status of run:
  0  the server honours the contract (every test passed, was skipped with a reason, or failed as the
     --baseline expects)
  1  contract violations: at least one test failed naming a clause of the contract (not in the baseline)
  2  usage error, unreachable target or rejected credentials, or a run that could not finish
  3  the suite could not judge: tests failed with errors of the suite itself, and none found a violation
  4  --require-coverage: no violation, but a documented response of the spec was never observed
"""


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _credential(text: str) -> Credential:
    from .server.config import parse_credential

    try:
        return parse_credential(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SID:TOKEN, got {text!r}") from None


def _workers_option(text: str) -> int:
    from .concurrency import AUTO

    if text == "auto":
        return AUTO
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number or "auto", got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError("--workers must be at least 0")
    return value


def check_faults(names: Sequence[str]) -> None:
    """Raise a UsageError naming the faults the reference server does not have."""
    from .server.faults import check_fault_names

    try:
        check_fault_names(names)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-contract",
        description=__doc__.splitlines()[0],
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the contract suites against a server (default: the embedded one)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--base-url", help="server under test; credentials from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN")
    run.add_argument("--profile", default="ci", help=f"run profile: {', '.join(profiles.available())} (default ci)")
    run.add_argument("--report-dir", default="reports", type=Path, help="where junit.xml and summary.md go")
    run.add_argument("--seed", type=int, help="override the profile's seed")
    run.add_argument("--max-time", type=int, help="global time budget in seconds (default: the profile's)")
    run.add_argument(
        "--workers",
        type=_workers_option,
        help='pytest-xdist workers: a number (0 = in-process) or "auto" (default: the profile\'s)',
    )
    run.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="NODEID",
        help="run only this test (repeatable), as a failure record's `rerun` names it",
    )
    run.add_argument(
        "--server-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="embedded server only: start it with this deliberate fault",
    )
    run.add_argument(
        "--server-latency-ms",
        type=int,
        default=0,
        metavar="N",
        help="embedded server only: answer every request N ms later (a network round trip)",
    )
    run.add_argument(
        "--server-op-delay-ms",
        type=int,
        default=EmbeddedServer.op_delay_ms,
        metavar="N",
        help=f"embedded server only: apply operations N ms after accepting them (default {EmbeddedServer.op_delay_ms})",
    )
    run.add_argument(
        "--server-rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="embedded server only: answer 429 above N requests per second per account",
    )
    run.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="known violations (TOML): the run passes when every violation is one of them",
    )
    run.add_argument(
        "--require-coverage",
        action="store_true",
        help="fail (exit 4) when a documented response of the spec was never observed",
    )
    run.add_argument(
        "--example-db",
        action="append",
        default=[],
        metavar="DIR|github:OWNER/REPO",
        help="a Hypothesis example database to replay first, read-only (repeatable): a downloaded "
        "nightly artifact, or the nightly workflow's artifact on GitHub",
    )
    run.add_argument(
        "--no-triage",
        dest="triage",
        action="store_false",
        help="do not replay failed tests to label them reproducible or intermittent",
    )

    base = sub.add_parser("baseline", help="write a known-violations baseline (TOML) from a run's report directory")
    base.add_argument("report_dir", type=Path, help="the --report-dir of a run")

    reproduce = sub.add_parser("reproduce", help="re-send a failed test's recorded requests (no pytest)")
    reproduce.add_argument("record", type=Path, help="a failures/*.json of a report directory")
    reproduce.add_argument(
        "--base-url",
        help="the target (default: the record's; an embedded server for a record "
        "of one); credentials from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN",
    )

    serve = sub.add_parser("serve", help="run the reference server standalone")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    serve.add_argument(
        "--op-delay-ms", type=int, default=EmbeddedServer.op_delay_ms, help="delay before an operation completes"
    )
    serve.add_argument("--latency-ms", type=int, default=0, help="answer every request this much later")
    serve.add_argument(
        "--account",
        action="append",
        type=_credential,
        default=[],
        metavar="SID:TOKEN",
        help="an account (repeatable); default: the documented development accounts",
    )
    serve.add_argument("--fault", action="append", default=[], metavar="NAME", help="enable a deliberate fault")
    serve.add_argument(
        "--rate-limit", type=float, default=None, metavar="N", help="answer 429 above N requests per second per account"
    )

    sub.add_parser("faults", help="list the reference server's deliberate faults")

    mutate = sub.add_parser("mutate", help="mutation gate: run the suites (and plain st) against every server fault")
    mutate.add_argument("--faults", nargs="+", metavar="NAME", help="only these faults (default: all)")
    mutate.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="runs in parallel (default: the number of CPUs)"
    )
    mutate.add_argument("--profile", default="ci", help="run profile (default ci)")
    mutate.add_argument("--report-dir", default="reports", type=Path, help="where mutation.md/json go")
    mutate.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run plain Schemathesis per fault (default on)",
    )
    mutate.add_argument("--max-time-per-run", type=int, metavar="S", help="time budget of each run")
    mutate.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop each run at its first failing test (a verdict, not the full list of tests)",
    )
    mutate.add_argument(
        "--clean-runs",
        type=int,
        default=6,
        metavar="N",
        help="st runs on the clean server whose failures make st's false-positive set (default 6)",
    )
    mutate.add_argument(
        "--rejudge",
        action="store_true",
        help="run nothing: re-read the st output of the matrix in --report-dir and rewrite its reports",
    )

    trace = sub.add_parser("trace", help="print the clause -> tests table (suites/TRACEABILITY.md)")
    trace.add_argument("--write", action="store_true", help="rewrite suites/TRACEABILITY.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
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
        if args.command == "baseline":
            return write_baseline(args)
        if args.command == "reproduce":
            from .reproduce import command as reproduce_command

            return reproduce_command(args)
        return list_faults()
    except UsageError as exc:
        print(f"orchestrator-contract: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_USAGE


# -- serve -------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from .server import ServerConfig, run_server

    check_faults(args.fault)
    accounts = tuple(args.account) or (PRIMARY_ACCOUNT, SECOND_ACCOUNT)
    config = ServerConfig(
        db_path=args.db or ":memory:",
        op_delay_ms=args.op_delay_ms,
        latency_ms=args.latency_ms,
        accounts=list(accounts),
        api_keys=dict(DEV_API_KEYS) if not args.account else {},
        faults=frozenset(args.fault),
        rate_limit_per_s=args.rate_limit,
    )
    print(
        f"orchestrator-contract reference server on http://{args.host}:{args.port} "
        f"({len(accounts)} account(s), faults: {', '.join(sorted(config.faults)) or 'none'})",
        flush=True,
    )
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
        response = httpx.get(
            url, params={"pageSize": 1}, auth=(credential.username, credential.secret), timeout=PROBE_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot reach {base_url}: {type(exc).__name__}: {exc or 'no answer'}") from None
    if response.status_code == 401:
        raise UsageError(
            f"{base_url} rejected the credentials of {credential.username} (401); "
            "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN"
        )


def _target_environment(base_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if base_url is None:
        env.update(
            TWILIO_ACCOUNT_SID=PRIMARY_ACCOUNT.username,
            TWILIO_AUTH_TOKEN=PRIMARY_ACCOUNT.secret,
            TWILIO_SECOND_ACCOUNT_SID=SECOND_ACCOUNT.username,
            TWILIO_SECOND_AUTH_TOKEN=SECOND_ACCOUNT.secret,
            TWILIO_API_KEY=PRIMARY_API_KEY.username,
            TWILIO_API_SECRET=PRIMARY_API_KEY.secret,
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
    server = EmbeddedServer(
        faults=tuple(args.server_fault),
        latency_ms=args.server_latency_ms,
        op_delay_ms=args.server_op_delay_ms,
        rate_limit=args.server_rate_limit,
    )
    if args.base_url and server != EmbeddedServer():
        raise UsageError("the --server-* options apply to the embedded server only, not with --base-url")
    check_faults(server.faults)
    if args.baseline is not None:
        from . import baseline

        try:
            baseline.load(args.baseline)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.example_db and profile.derandomize:
        raise UsageError(
            f"--example-db needs a profile that is not derandomized (local, nightly); {profile.name} "
            "replays nothing on purpose: its verdict must not depend on earlier runs"
        )
    for source in args.example_db:
        from .example_databases import read_only

        try:
            read_only(source)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    env = _target_environment(args.base_url)
    report_dir: Path = args.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("junit.xml", "summary.md"):
        (report_dir / stale).unlink(missing_ok=True)
    context = RunContext(
        profile=args.profile,
        seed=profile.seed,
        report_dir=report_dir.resolve(),
        workers=profile.workers,
        server=server,
        baseline=args.baseline.resolve() if args.baseline else None,
        example_databases=tuple(str(Path(s).resolve()) if not s.startswith("github:") else s for s in args.example_db),
    )
    options = RunOptions(tests=tuple(args.test), triage=args.triage, require_coverage=args.require_coverage)
    context = context.started(seed=profile.seed, max_time_s=profile.max_time_s)

    credential = Credential(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
    if args.base_url:
        probe(args.base_url, credential)
        profile = _with_workers(profile, args.base_url, credential, args.test)
        return _run_suites(
            context.with_changes(base_url=args.base_url, workers=profile.workers), profile, env, extra, options
        )

    from .server import start_background

    with start_background(server.server_config()) as running:
        profile = _with_workers(profile, running.base_url, credential, args.test)
        return _run_suites(
            context.with_changes(base_url=running.base_url, embedded=True, workers=profile.workers),
            profile,
            env,
            extra,
            options,
        )


def _with_workers(
    profile: profiles.Profile, base_url: str, credential: Credential, tests: Sequence[str]
) -> profiles.Profile:
    """The profile with `workers = "auto"` resolved (a run of named tests runs in-process)."""
    from .concurrency import AUTO, choose_workers, measure_rtt

    if tests:
        return profile.with_changes(workers=0)
    if profile.workers != AUTO:
        return profile
    rtt = measure_rtt(base_url, credential)
    workers = choose_workers(rtt, profile.max_workers)
    print(
        f"orchestrator-contract: {workers} workers (auto: round trip {rtt * 1000:.1f} ms, "
        f"at most {profile.max_workers})",
        flush=True,
    )
    return profile.with_changes(workers=workers)


def _test_arguments(suites: Path, tests: Sequence[str]) -> list[str]:
    """pytest's arguments: the whole suites folder, or the files of the named tests with `--only-test`
    for each (selected after collection: pytest cannot find Schemathesis's generated items by id)."""
    if not tests:
        return [str(suites)]
    files: list[str] = []
    chosen: list[str] = []
    for test in tests:
        path, sep, rest = test.partition("::")
        name = Path(path).name
        if not (suites / name).is_file():
            raise UsageError(f"--test {test!r}: no suite file {name} in {suites}")
        files.append(str(suites / name) + sep + rest.partition("[")[0])
        chosen.append(f"--only-test={name}{sep}{rest}")
    return list(dict.fromkeys(files)) + chosen


@dataclass(frozen=True)
class RunOptions:
    tests: tuple[str, ...] = ()  # only these node ids
    triage: bool = True  # replay failed tests once: reproducible or intermittent
    require_coverage: bool = False


def _pytest_command(
    context: RunContext, profile: profiles.Profile, tests: Sequence[str], junit: Path, extra: list[str]
) -> list[str]:
    suites = suites_dir()
    command = [
        sys.executable,
        "-m",
        "pytest",
        *_test_arguments(suites, tests),
        "-c",
        str(suites / "pytest.ini"),
        "--rootdir",
        str(suites),
        f"--junitxml={junit}",
        "-q",
    ]
    if profile.workers > 0:
        command += ["-n", str(profile.workers), "--dist", "worksteal"]
    if profile.maxfail > 0:
        command += [f"--maxfail={profile.maxfail}"]
    return command + extra


def _run_suites(
    context: RunContext, profile: profiles.Profile, env: dict[str, str], extra: list[str], options: RunOptions
) -> int:
    report_dir = context.report_dir
    header = [
        f"target: {context.target_label}",
        f"profile: {profile.name} ({profile.description})",
        f"seed: {profile.seed}",
        f"time budget: {profile.max_time_s} s",
    ]
    if context.baseline:
        header.append(f"baseline: {context.baseline}")
    print("orchestrator-contract: " + "; ".join(header), flush=True)
    started = time.monotonic()
    command = _pytest_command(context, profile, options.tests, report_dir / "junit.xml", extra)
    environ = {**without_context(env), **context.to_environ()}
    try:
        # Past the budget the suites skip what is left and write their reports; the hard stop is
        # for a test stuck past the budget (a grace period later).
        completed = subprocess.run(command, env=environ, timeout=profile.max_time_s + HARD_STOP_GRACE_S)
        code = completed.returncode
    except subprocess.TimeoutExpired:
        code = -1
    result = read_run(report_dir)  # junit.xml + failures/*.json (written as each test failed)
    if options.triage and code in (1, EXIT_SUITE_ERROR) and result.failures:
        triage(context, profile, env, result)
        result = read_run(report_dir)
    wall = time.monotonic() - started
    summary = write_summary(result, report_dir / "summary.md", header=header, wall_s=wall)
    html = write_html_report(
        report_dir,
        result,
        Context(context.target_label, f"{profile.name} ({profile.description})", profile.seed, wall, exit_code=code),
    )
    if code == -1:
        print(
            f"orchestrator-contract: the run exceeded its time budget of {profile.max_time_s} s "
            f"(+{HARD_STOP_GRACE_S} s grace) and was stopped; partial report: {html}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if code == 5:
        print(
            "orchestrator-contract: no test was selected (check --test, or the -k / -m arguments after --)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if code in (0, 1, EXIT_SUITE_ERROR) and result.violations:
        print(summary)
        print(
            f"orchestrator-contract: FAIL ({len(result.violations)} of {result.tests} tests found violations"
            + (f", {len(result.suite_errors)} suite errors" if result.suite_errors else "")
            + f", {wall:.1f} s); report: {html}"
        )
        return EXIT_VIOLATIONS
    if code in (1, EXIT_SUITE_ERROR) and result.suite_errors:
        print(summary)
        print(
            f"orchestrator-contract: SUITE ERROR ({len(result.suite_errors)} of {result.tests} tests could not be "
            f"judged; no violation found; {wall:.1f} s); report: {html}",
            file=sys.stderr,
        )
        return EXIT_SUITE_ERROR
    if code == 0:
        gaps = coverage_gaps(result)
        if options.require_coverage and gaps:
            print(
                f"orchestrator-contract: COVERAGE INCOMPLETE (--require-coverage): no violation, but these "
                f"documented responses were never observed: {', '.join(gaps)}; report: {html}",
                file=sys.stderr,
            )
            return EXIT_COVERAGE
        skipped = f", {result.skipped} skipped" if result.skipped else ""
        known = f", {len(result.known)} known violations (baseline)" if result.known else ""
        print(f"orchestrator-contract: PASS ({result.passed} passed{skipped}{known}, {wall:.1f} s); report: {html}")
        return EXIT_OK
    print(
        f"orchestrator-contract: pytest stopped with exit code {code} (usage error or interrupted run); report: {html}",
        file=sys.stderr,
    )
    return EXIT_USAGE


def triage(context: RunContext, profile: profiles.Profile, env: dict[str, str], result: RunResult) -> None:
    """Replay every failed test once, in one process, with the same profile and seed (so the same
    examples): a failure that shows again with the same clause is *reproducible*, one that does not
    is *intermittent* (still a failure: a race is a real defect). The labels go into the records."""
    failed = [f for f in result.failures if f.record]
    if not failed:
        return
    replay_dir = context.report_dir / "triage"
    shutil.rmtree(replay_dir, ignore_errors=True)
    replay_dir.mkdir(parents=True)
    nodeids = list(dict.fromkeys(str(f.record["test"]) for f in failed))  # type: ignore[index]
    replay = context.with_changes(report_dir=replay_dir, deadline=None, baseline=None)
    replay = replay.started(seed=profile.seed, max_time_s=profile.max_time_s)
    command = _pytest_command(
        replay, profile.with_changes(workers=0, maxfail=0), nodeids, replay_dir / "junit.xml", ["-p", "no:randomly"]
    )
    print(
        f"orchestrator-contract: replaying {len(nodeids)} failed test(s) once to tell reproducible from intermittent",
        flush=True,
    )
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            command,
            env={**without_context(env), **replay.to_environ()},
            timeout=profile.max_time_s,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    again = {str(r["test"]): r for r in load_failure_records(replay_dir)}
    replayed = read_run(replay_dir)
    ran = {c.key for c in replayed.cases}
    for failure in failed:
        record = failure.record or {}
        nodeid = str(record.get("test"))
        second = again.get(nodeid)
        if (
            second is not None
            and second.get("clause") == record.get("clause")
            and second.get("verdict") == record.get("verdict")
        ):
            label = "reproducible"
        elif second is not None:
            label = f"intermittent (the replay failed otherwise: [{second.get('clause') or 'suite error'}])"
        elif junit_key(nodeid) in ran:
            label = "intermittent (the replay passed)"
        else:
            label = "not replayed"
        record["triage"] = label
        path = context.report_dir / str(record.get("_file"))
        clean = {k: v for k, v in record.items() if not k.startswith("_")}
        path.write_text(json.dumps(clean, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_baseline(args: argparse.Namespace) -> int:
    """`orchestrator-contract baseline REPORT_DIR`: a baseline knowing every violation of that run."""
    from .baseline import render

    records = load_failure_records(args.report_dir)
    if not (args.report_dir / "junit.xml").is_file() and not records:
        raise UsageError(f"{args.report_dir} holds no run (no junit.xml, no failures/*.json)")
    sys.stdout.write(render(records, source=str(args.report_dir)))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
