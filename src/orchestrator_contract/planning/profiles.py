"""Run profiles (`ci`, `local`, `nightly`): readable TOML files in `suites/profiles/`."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis

from orchestrator_contract.contract.locations import suites_dir

if TYPE_CHECKING:
    from hypothesis.database import ExampleDatabase


DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # see `target_health`: answers are read up to this


@dataclass(frozen=True)
class Profile:
    name: str
    source: str  # what `load` was given: a profile name or a path to a .toml file
    description: str
    derandomize: bool
    seed: int
    database: str
    deadline_ms: int
    shrink: bool
    phases: tuple[str, ...]
    modes: tuple[str, ...]
    max_examples: int
    stateful: bool
    stateful_max_examples: int
    stateful_step_count: int
    scenario_examples: int
    scenario_steps: int
    concurrency: int
    dataset_size: int
    edge_fuzz_examples: int
    poll_budget_s: float
    retry_after_cap_s: float
    request_timeout_s: float
    max_time_s: int
    maxfail: int
    workers: int  # pytest-xdist workers; 0 = in-process, concurrency.AUTO = chosen from the round trip
    max_workers: int
    max_response_bytes: int  # an answer is read (and recorded) up to this many bytes; a longer one is a violation
    breadth: str  # a profile whose depth every test runs at first, before this one's depth ("" = none)
    triage_max_s: float  # the replay of failed tests (triage) stops after this long
    triage_max_replays: int  # and replays at most this many tests (one per clause and operation first)

    # Depth: how much each test does. A breadth-first run runs every test at another profile's depth first.
    DEPTH_FIELDS = (
        "max_examples",
        "stateful_max_examples",
        "stateful_step_count",
        "scenario_examples",
        "scenario_steps",
        "concurrency",
        "dataset_size",
        "edge_fuzz_examples",
        "shrink",
    )

    def with_changes(self, **changes: Any) -> Profile:
        return replace(self, **changes)

    def at_depth_of(self, other: Profile) -> Profile:
        """This profile (seed, database, budget, workers) with `other`'s depth."""
        return replace(self, **{name: getattr(other, name) for name in self.DEPTH_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """The inverse of `to_dict` (after a JSON round trip: lists back to tuples)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)

    def example_database(self, report_dir: Path) -> Path | None:
        """Where failing examples are kept between runs (nightly), relative to the report directory."""
        if not self.database:
            return None
        path = Path(self.database)
        return path if path.is_absolute() else report_dir / path

    def example_database_for(self, report_dir: Path, extra: tuple[str, ...]) -> ExampleDatabase | None:
        """The profile's own database (read and written), multiplexed with the run's extra ones,
        which are only read: a directory downloaded from a nightly job, or `github:OWNER/REPO`
        for the nightly workflow's artifact (Hypothesis' GitHubArtifactDatabase)."""
        from orchestrator_contract.planning.example_databases import combined

        return combined(self.example_database(report_dir), extra)

    @property
    def hypothesis_phases(self) -> tuple[hypothesis.Phase, ...]:
        """Hypothesis' phases for every `@given` of the run: shrinking (and explaining, which
        follows it) only where the profile asks for it, since shrinking replays a network scenario
        hundreds of times (a failing link walk of the `ci` profile: 1.5 s unshrunk, 76 s shrunk)."""
        phases = (hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate)
        return (*phases, hypothesis.Phase.shrink, hypothesis.Phase.explain) if self.shrink else phases

    def scenario_settings(self, share: int = 1) -> hypothesis.settings:
        """Settings for a scenario's `@given`: `1/share` of the scenario budget (an example that
        makes several settled writes is expensive)."""
        return hypothesis.settings(max_examples=max(2, self.scenario_examples // share), phases=self.hypothesis_phases)


# The profile of the suites being imported or run: a scoped variable (set only inside `in_scope`),
# because the suites' test modules build their Schemathesis tests at import time, from decorators
# that cannot take a fixture. Outside a scope there is none.
_scoped: ContextVar[Profile | None] = ContextVar("orchestrator_contract_profile", default=None)


@contextmanager
def in_scope(profile: Profile) -> Iterator[None]:
    """Make `profile` the one `active()` returns while the block runs (the plugin wraps collection
    and every test in it)."""
    token = _scoped.set(profile)
    try:
        yield
    finally:
        _scoped.reset(token)


def active() -> Profile:
    """The profile of this run; code that runs at import time (spec-driven test collection) reads it."""
    profile = _scoped.get()
    if profile is None:
        raise RuntimeError("no profile in scope: the suites' plugin sets it while it collects and runs tests")
    return profile


def _workers(value: object) -> int:
    from orchestrator_contract.planning.workers import AUTO

    if value == "auto":
        return AUTO
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f'run.workers must be "auto" or an integer >= 0, not {value!r}')
    return value


def available() -> list[str]:
    return sorted(p.stem for p in (suites_dir() / "profiles").glob("*.toml"))


def load(name: str, *, seed: int | None = None) -> Profile:
    """Load a profile by name or path. A `seed = "random"` profile draws one unless `seed` is given."""
    path = Path(name) if name.endswith(".toml") else suites_dir() / "profiles" / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"unknown profile {name!r}; available: {', '.join(available())}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    hyp, conf, scen, poll, run, edge, triage = (
        data.get(k, {}) for k in ("hypothesis", "conformance", "scenarios", "polling", "run", "edges", "triage")
    )
    raw_seed = hyp.get("seed", 0)
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31) if raw_seed == "random" else int(raw_seed)
    return Profile(
        name=path.stem,
        source=name,
        description=data.get("description", ""),
        derandomize=bool(hyp.get("derandomize", True)),
        seed=seed,
        database=str(hyp.get("database", "")),
        deadline_ms=int(hyp.get("deadline_ms", 0)),
        shrink=bool(hyp.get("shrink", True)),
        phases=tuple(conf.get("phases", ["examples", "coverage", "fuzzing"])),
        modes=tuple(conf.get("modes", ["positive", "negative"])),
        max_examples=int(conf.get("max_examples", 30)),
        stateful=bool(conf.get("stateful", True)),
        stateful_max_examples=int(conf.get("stateful_max_examples", 8)),
        stateful_step_count=int(conf.get("stateful_step_count", 6)),
        scenario_examples=int(scen.get("max_examples", 10)),
        scenario_steps=int(scen.get("step_count", 10)),
        concurrency=int(scen.get("concurrency", 8)),
        dataset_size=int(scen.get("dataset_size", 20)),
        edge_fuzz_examples=int(edge.get("fuzz_examples", 25)),
        poll_budget_s=float(poll.get("budget_s", 30)),
        retry_after_cap_s=float(poll.get("retry_after_cap_s", 2)),
        request_timeout_s=float(poll.get("request_timeout_s", 10)),
        max_time_s=int(run.get("max_time_s", 900)),
        maxfail=int(run.get("maxfail", 0)),
        workers=_workers(run.get("workers", 0)),
        max_workers=int(run.get("max_workers", 8)),
        max_response_bytes=int(run.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)),
        breadth=str(run.get("breadth", "")),
        triage_max_s=float(triage.get("max_s", 60)),
        triage_max_replays=int(triage.get("max_replays", 12)),
    )
