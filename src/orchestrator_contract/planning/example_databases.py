"""Hypothesis example databases: the run's own, plus read-only ones a nightly job published.

A failing example the nightly job found is kept in its database; published as an artifact, it can
be read (never written) beside a laptop's own, so `--profile local` tries the night's failures
first. Sources: a directory (a downloaded artifact) or `github:OWNER/REPO[/ARTIFACT]` (Hypothesis'
`GitHubArtifactDatabase`, the nightly workflow's `hypothesis-example-db` artifact by default).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    GitHubArtifactDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

GITHUB_PREFIX = "github:"
DEFAULT_ARTIFACT = "hypothesis-example-db"


def read_only(source: str) -> ExampleDatabase:
    """One extra source, wrapped read-only."""
    if source.startswith(GITHUB_PREFIX):
        owner, _, rest = source[len(GITHUB_PREFIX) :].partition("/")
        repo, _, artifact = rest.partition("/")
        if not owner or not repo:
            raise ValueError(f"expected github:OWNER/REPO[/ARTIFACT], got {source!r}")
        return ReadOnlyDatabase(GitHubArtifactDatabase(owner, repo, artifact_name=artifact or DEFAULT_ARTIFACT))
    path = Path(source)
    if not path.is_dir():
        raise ValueError(f"example database {source!r} is not a directory")
    return ReadOnlyDatabase(DirectoryBasedExampleDatabase(str(path)))


def combined(own: Path | None, extra: tuple[str, ...] | list[str]) -> ExampleDatabase | None:
    """The run's database: its own directory (written) multiplexed with the read-only extras."""
    databases: list[ExampleDatabase] = []
    if own is not None:
        databases.append(DirectoryBasedExampleDatabase(str(own)))
    databases += [read_only(source) for source in extra]
    if not databases:
        return None
    return databases[0] if len(databases) == 1 else MultiplexedDatabase(*databases)
