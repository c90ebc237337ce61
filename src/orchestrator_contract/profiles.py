"""Run profiles (`ci`, `local`, `nightly`): readable TOML files in `suites/profiles/`."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis

from .resources import suites_dir

if TYPE_CHECKING:
    from hypothesis.database import ExampleDatabase

    from .context import RunContext


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

    def with_changes(self, **changes: Any) -> Profile:
        return replace(self, **changes)

    def example_database(self, report_dir: Path) -> Path | None:
        """Where failing examples are kept between runs (nightly), relative to the report directory."""
        if not self.database:
            return None
        path = Path(self.database)
        return path if path.is_absolute() else report_dir / path

    def example_database_for(self, context: RunContext) -> ExampleDatabase | None:
        """The profile's own database (read and written), multiplexed with the run's extra ones,
        which are only read: a directory downloaded from a nightly job, or `github:OWNER/REPO`
        for the nightly workflow's artifact (Hypothesis' GitHubArtifactDatabase)."""
        from .example_databases import combined

        return combined(self.example_database(context.report_dir), context.example_databases)

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


# A module global because the suites' test modules build their Schemathesis tests at import time, from
# decorators that cannot take a fixture: the profile has to be reachable before any fixture exists.
_active: Profile | None = None


def activate(profile: Profile) -> None:
    """Make `profile` the one this process runs with (set once by the suites' conftest)."""
    global _active  # noqa: PLW0603 -- see `_active`
    _active = profile


def active() -> Profile:
    """The profile of this run; code that runs at import time (spec-driven test collection) reads it."""
    if _active is None:
        raise RuntimeError("no active profile: the suites' conftest sets it in pytest_configure")
    return _active


def _workers(value: object) -> int:
    from .concurrency import AUTO

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
    hyp, conf, scen, poll, run, edge = (
        data.get(k, {}) for k in ("hypothesis", "conformance", "scenarios", "polling", "run", "edges")
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
    )
