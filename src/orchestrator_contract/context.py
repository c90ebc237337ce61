"""The facts of one run, decided once and handed to every process that takes part in it.

`orchestrator-contract run` decides them (or, for a plain `pytest suites`, the first pytest
process does) and hands them on: to pytest as environment variables (a subprocess boundary), and
from the pytest controller to each xdist worker through xdist's `workerinput`. The variable names
are the constants below and are spelled nowhere else.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ServerConfig

ENV_RUN_ID = "ORCHESTRATOR_CONTRACT_RUN_ID"
ENV_SEED = "ORCHESTRATOR_CONTRACT_SEED"
ENV_PROFILE = "ORCHESTRATOR_CONTRACT_PROFILE"
ENV_BASE_URL = "ORCHESTRATOR_CONTRACT_BASE_URL"
ENV_EMBEDDED = "ORCHESTRATOR_CONTRACT_EMBEDDED"
ENV_REPORT_DIR = "ORCHESTRATOR_CONTRACT_REPORT_DIR"
ENV_DEADLINE = "ORCHESTRATOR_CONTRACT_DEADLINE"
ENV_WORKERS = "ORCHESTRATOR_CONTRACT_WORKERS"
ENV_SERVER_FAULTS = "ORCHESTRATOR_CONTRACT_SERVER_FAULTS"
ENV_SERVER_LATENCY_MS = "ORCHESTRATOR_CONTRACT_SERVER_LATENCY_MS"
ENV_SERVER_OP_DELAY_MS = "ORCHESTRATOR_CONTRACT_SERVER_OP_DELAY_MS"
ENV_SERVER_RATE_LIMIT = "ORCHESTRATOR_CONTRACT_SERVER_RATE_LIMIT"
ENV_BASELINE = "ORCHESTRATOR_CONTRACT_BASELINE"
ENV_EXAMPLE_DATABASES = "ORCHESTRATOR_CONTRACT_EXAMPLE_DATABASES"
ALL_ENV = (
    ENV_RUN_ID,
    ENV_SEED,
    ENV_PROFILE,
    ENV_BASE_URL,
    ENV_EMBEDDED,
    ENV_REPORT_DIR,
    ENV_DEADLINE,
    ENV_WORKERS,
    ENV_SERVER_FAULTS,
    ENV_SERVER_LATENCY_MS,
    ENV_SERVER_OP_DELAY_MS,
    ENV_SERVER_RATE_LIMIT,
    ENV_BASELINE,
    ENV_EXAMPLE_DATABASES,
)
WORKERINPUT_KEY = "orchestrator_contract"  # the key of the context in xdist's `workerinput`

_B36 = string.digits + string.ascii_lowercase


def new_run_id() -> str:
    """Eight random base-36 characters: the mark of everything one run creates."""
    return "".join(secrets.choice(_B36) for _ in range(8))


@dataclass(frozen=True)
class EmbeddedServer:
    """How the embedded reference server is started when no `--base-url` is given."""

    faults: tuple[str, ...] = ()
    latency_ms: int = 0
    op_delay_ms: int = 50
    rate_limit: float | None = None

    def cli_options(self) -> list[str]:
        """The `orchestrator-contract run` options that start the same server."""
        options = [option for fault in self.faults for option in ("--server-fault", fault)]
        if self.latency_ms:
            options += ["--server-latency-ms", str(self.latency_ms)]
        if self.op_delay_ms != EmbeddedServer.op_delay_ms:
            options += ["--server-op-delay-ms", str(self.op_delay_ms)]
        if self.rate_limit is not None:
            options += ["--server-rate-limit", f"{self.rate_limit:g}"]
        return options

    def server_config(self) -> ServerConfig:
        """The reference server's configuration for these settings (imported here: the server is
        needed only by runs that start one)."""
        from .server import ServerConfig

        return ServerConfig(
            faults=frozenset(self.faults),
            latency_ms=self.latency_ms,
            op_delay_ms=self.op_delay_ms,
            rate_limit_per_s=self.rate_limit,
        )

    def describe(self) -> str:
        parts = [f"faults: {', '.join(self.faults)}"] if self.faults else []
        if self.latency_ms:
            parts.append(f"latency {self.latency_ms} ms")
        if self.op_delay_ms != EmbeddedServer.op_delay_ms:
            parts.append(f"operations applied after {self.op_delay_ms} ms")
        if self.rate_limit is not None:
            parts.append(f"rate limit {self.rate_limit:g}/s")
        return "embedded reference server" + (f" ({'; '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class RunContext:
    """Everything the suites, the report writers and the workers of one run must agree on.

    `seed` and `deadline` are None until the run starts (`started`); `base_url` None means the
    embedded reference server, started as `server` says; `embedded` means `base_url` is such a
    server, already started by `orchestrator-contract run` (reruns then name `server`, not the URL).
    """

    run_id: str = field(default_factory=new_run_id)
    profile: str = "ci"  # a profile name or a path to a profile file
    seed: int | None = None
    base_url: str | None = None
    embedded: bool = False
    report_dir: Path = Path("reports")
    deadline: float | None = None  # epoch seconds
    workers: int | None = None  # pytest-xdist workers, None: the profile's
    server: EmbeddedServer = EmbeddedServer()
    baseline: Path | None = None  # a known-violations file
    example_databases: tuple[str, ...] = ()  # extra read-only Hypothesis example databases

    def with_changes(self, **changes: Any) -> RunContext:
        return replace(self, **changes)

    def started(self, *, seed: int, max_time_s: float) -> RunContext:
        """The context with the seed and the deadline fixed (kept when already set)."""
        return replace(
            self,
            seed=self.seed if self.seed is not None else seed,
            deadline=self.deadline if self.deadline is not None else time.time() + max_time_s,
        )

    @property
    def target_label(self) -> str:
        return self.server.describe() if self.embedded or not self.base_url else self.base_url

    def target_options(self) -> list[str]:
        """The `orchestrator-contract run` options that aim at the same target."""
        return self.server.cli_options() if self.embedded or not self.base_url else ["--base-url", self.base_url]

    # -- the wire format ----------------------------------------------------------------------
    def to_environ(self) -> dict[str, str]:
        env = {ENV_RUN_ID: self.run_id, ENV_PROFILE: self.profile, ENV_REPORT_DIR: str(self.report_dir)}
        if self.seed is not None:
            env[ENV_SEED] = str(self.seed)
        if self.base_url:
            env[ENV_BASE_URL] = self.base_url
        if self.embedded:
            env[ENV_EMBEDDED] = "1"
        if self.deadline is not None:
            env[ENV_DEADLINE] = repr(self.deadline)
        if self.workers is not None:
            env[ENV_WORKERS] = str(self.workers)
        if self.server.faults:
            env[ENV_SERVER_FAULTS] = ",".join(self.server.faults)
        if self.server.latency_ms:
            env[ENV_SERVER_LATENCY_MS] = str(self.server.latency_ms)
        if self.server.op_delay_ms != EmbeddedServer.op_delay_ms:
            env[ENV_SERVER_OP_DELAY_MS] = str(self.server.op_delay_ms)
        if self.server.rate_limit is not None:
            env[ENV_SERVER_RATE_LIMIT] = repr(self.server.rate_limit)
        if self.baseline is not None:
            env[ENV_BASELINE] = str(self.baseline)
        if self.example_databases:
            env[ENV_EXAMPLE_DATABASES] = json.dumps(list(self.example_databases))
        return env

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RunContext:
        """The context the variables describe; a missing run id is drawn afresh."""
        env = os.environ if environ is None else environ

        def number(name: str, kind: type[int] | type[float]) -> Any:
            raw = env.get(name, "").strip()
            if not raw:
                return None
            try:
                return kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None

        server = EmbeddedServer(
            faults=tuple(f for f in env.get(ENV_SERVER_FAULTS, "").split(",") if f),
            latency_ms=number(ENV_SERVER_LATENCY_MS, int) or 0,
            op_delay_ms=(
                value if (value := number(ENV_SERVER_OP_DELAY_MS, int)) is not None else EmbeddedServer.op_delay_ms
            ),
            rate_limit=number(ENV_SERVER_RATE_LIMIT, float),
        )
        return cls(
            run_id=env.get(ENV_RUN_ID) or new_run_id(),
            profile=env.get(ENV_PROFILE) or "ci",
            seed=number(ENV_SEED, int),
            base_url=env.get(ENV_BASE_URL) or None,
            embedded=env.get(ENV_EMBEDDED) == "1",
            report_dir=Path(env.get(ENV_REPORT_DIR) or "reports"),
            deadline=number(ENV_DEADLINE, float),
            workers=number(ENV_WORKERS, int),
            server=server,
            baseline=Path(env[ENV_BASELINE]) if env.get(ENV_BASELINE) else None,
            example_databases=tuple(json.loads(env.get(ENV_EXAMPLE_DATABASES) or "[]")),
        )


def without_context(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without any variable of this module (a clean start for a nested run)."""
    return {name: value for name, value in environ.items() if name not in ALL_ENV}
