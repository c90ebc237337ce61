"""The run plan: every fact of one run, decided once and handed, frozen, to every process of it.

`orchestrator-contract run` builds it (for a plain `pytest suites`, the plugin does, from pytest's
options); it reaches pytest as a plugin object (the run is in-process) and each xdist worker as
one JSON text in xdist's `workerinput`. Nothing in the suites reads a profile file or an
environment variable for a fact of the run; credentials alone come from the environment.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator_contract.planning.profiles import Profile

if TYPE_CHECKING:
    from orchestrator_contract.server import ServerConfig

WORKERINPUT_KEY = "orchestrator_contract_plan"  # the key of the plan in xdist's `workerinput`
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
        """The reference server's configuration (imported here: only runs that start one need it)."""
        from orchestrator_contract.server import ServerConfig

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
class RunPlan:
    """What the suites, the report writers and the workers of one run agree on.

    `base_url` None means: start the embedded reference server as `server` says (a plain `pytest
    suites`); `embedded` means `base_url` is such a server, started by `orchestrator-contract run`
    (reruns then name `server`, not the URL). `stage` says which part of the run a pytest session
    is (see `stages`); `test_slice_s`, when set, bounds each test of that stage.
    """

    profile: Profile
    run_id: str = field(default_factory=new_run_id)
    base_url: str | None = None
    embedded: bool = False
    server: EmbeddedServer = EmbeddedServer()
    report_dir: Path = Path("reports")
    deadline: float | None = None  # epoch seconds: the run's budget ends then
    baseline: Path | None = None  # known violations (TOML)
    example_databases: tuple[str, ...] = ()  # extra read-only Hypothesis example databases
    tests: tuple[str, ...] = ()  # only these tests (`file.py::name[parameters]`), chosen after collection
    stop_at: tuple[str, ...] = ()  # clauses whose first violation ends the run (the mutation gate)
    stage: str = "all"
    test_slice_s: float | None = None

    @property
    def seed(self) -> int:
        return self.profile.seed

    def with_changes(self, **changes: Any) -> RunPlan:
        return replace(self, **changes)

    def started(self) -> RunPlan:
        """The plan with its deadline fixed (kept when already set)."""
        if self.deadline is not None:
            return self
        return replace(self, deadline=time.time() + self.profile.max_time_s)

    @property
    def target_label(self) -> str:
        return self.server.describe() if self.embedded or not self.base_url else self.base_url

    def target_options(self) -> list[str]:
        """The `orchestrator-contract run` options that aim at the same target."""
        return self.server.cli_options() if self.embedded or not self.base_url else ["--base-url", self.base_url]

    def summary(self) -> dict[str, Any]:
        """What a report (and `merge`) says of this run."""
        return {
            "run_id": self.run_id,
            "profile": self.profile.name,
            "seed": self.seed,
            "target": self.target_label,
            "example_database": self.profile.database,  # as the profile says: relative to the report directory
        }

    # -- the wire format ----------------------------------------------------------------------
    def to_json(self) -> str:
        data: dict[str, Any] = {
            "profile": self.profile.to_dict(),
            "run_id": self.run_id,
            "base_url": self.base_url,
            "embedded": self.embedded,
            "server": {
                "faults": list(self.server.faults),
                "latency_ms": self.server.latency_ms,
                "op_delay_ms": self.server.op_delay_ms,
                "rate_limit": self.server.rate_limit,
            },
            "report_dir": str(self.report_dir),
            "deadline": self.deadline,
            "baseline": str(self.baseline) if self.baseline else None,
            "example_databases": list(self.example_databases),
            "tests": list(self.tests),
            "stop_at": list(self.stop_at),
            "stage": self.stage,
            "test_slice_s": self.test_slice_s,
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        data = json.loads(text)
        server = data["server"]
        return cls(
            profile=Profile.from_dict(data["profile"]),
            run_id=data["run_id"],
            base_url=data["base_url"],
            embedded=data["embedded"],
            server=EmbeddedServer(
                tuple(server["faults"]), server["latency_ms"], server["op_delay_ms"], server["rate_limit"]
            ),
            report_dir=Path(data["report_dir"]),
            deadline=data["deadline"],
            baseline=Path(data["baseline"]) if data["baseline"] else None,
            example_databases=tuple(data["example_databases"]),
            tests=tuple(data["tests"]),
            stop_at=tuple(data["stop_at"]),
            stage=data["stage"],
            test_slice_s=data["test_slice_s"],
        )


@dataclass(eq=False)
class PlanProvider:
    """Registered with pytest by `orchestrator-contract run`: hands the
    in-process pytest session the plan, and takes its outcomes (see `outcomes.OutcomeLog`)."""

    plan: RunPlan
    sink: Any = None  # the run's OutcomeLog, written by the plugin as tests finish
    stage_facts: Any = None  # what the session was asked to run and how it ended (outcomes.StageFacts)
    tallies: list[Any] = field(default_factory=list)  # the coverage tallies of its processes
