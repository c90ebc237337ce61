"""`orchestrator-contract`: run the contract suites, or serve the reference server.

The exit status of `run` is one function of the run's outcomes: see `run.verdict` (and `--help`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from orchestrator_contract.contract.dev_credentials import DEV_API_KEYS, PRIMARY_ACCOUNT, SECOND_ACCOUNT, Credential
from orchestrator_contract.contract.errors import UsageError
from orchestrator_contract.contract.locations import suites_dir
from orchestrator_contract.planning import profiles
from orchestrator_contract.planning.plan import EmbeddedServer
from orchestrator_contract.verdict.decide import EXIT_TABLE, Exit


def _credential(text: str) -> Credential:
    from orchestrator_contract.server.config import parse_credential

    try:
        return parse_credential(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SID:TOKEN, got {text!r}") from None


def _workers_option(text: str) -> int:
    from orchestrator_contract.planning.workers import AUTO

    if text == "auto":
        return AUTO
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number or "auto", got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError("--workers must be at least 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-contract",
        description=__doc__.splitlines()[0],
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the contract suites against a server (default: the embedded one)",
        epilog=EXIT_TABLE,
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
        "--stop-at-clause",
        action="append",
        default=[],
        metavar="CLAUSE",
        help="stop the run at the first violation of this clause (the mutation gate: a fault is caught "
        "when a failure names its clause)",
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
    mutate.add_argument(
        "--update",
        action="store_true",
        help="run only --faults and put their rows into the matrix already in --report-dir (the clean row is kept)",
    )

    merge = sub.add_parser(
        "merge",
        help="one report (and one example database) from several runs' report directories (nightly shards)",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    merge.add_argument("report_dirs", nargs="+", metavar="REPORT_DIR", help="the --report-dir of each run")
    merge.add_argument("--out", type=Path, required=True, help="where the merged report goes")

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
            from orchestrator_contract.run.command import run

            return run(args, extra)
        if args.command == "serve":
            return serve(args)
        if args.command == "merge":
            from orchestrator_contract.run.merge import command as merge_command

            return merge_command(args)
        if args.command == "trace":
            return trace(args)
        if args.command == "mutate":
            from orchestrator_contract.mutation import command as mutate_command

            return mutate_command(args)
        if args.command == "baseline":
            from orchestrator_contract.run.command import write_baseline

            return write_baseline(args)
        if args.command == "reproduce":
            from orchestrator_contract.adoption.reproduce import command as reproduce_command

            return reproduce_command(args)
        return list_faults()
    except UsageError as exc:
        print(f"orchestrator-contract: {exc}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        return Exit.USAGE


# -- serve -------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from orchestrator_contract.server import ServerConfig, run_server
    from orchestrator_contract.server.faults import check_fault_names

    check_fault_names(args.fault)
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
    return Exit.OK


def list_faults() -> int:
    from orchestrator_contract.server import FAULTS

    width = max(len(name) for name in FAULTS)
    for name, fault in sorted(FAULTS.items()):
        print(f"{name:<{width}}  [{fault.clause}] {fault.description}")
    return Exit.OK


def trace(args: argparse.Namespace) -> int:
    from orchestrator_contract.adoption.traceability import build, render

    text = render(build(suites_dir()))
    if args.write:
        (suites_dir() / "TRACEABILITY.md").write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return Exit.OK


if __name__ == "__main__":
    raise SystemExit(main())
