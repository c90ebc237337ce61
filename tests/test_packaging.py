"""What a plain `pip install .` gives must be enough to run the suites: every third-party module
that the package or the suites import belongs to a declared runtime dependency (not an extra)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME_SOURCES = [*sorted((REPO / "src").rglob("*.py")), *sorted((REPO / "suites").rglob("*.py"))]
OWN = {"orchestrator_contract", "conftest"}


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_distribution_is_a_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalized(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}
    providers = packages_distributions()
    undeclared: dict[str, set[str]] = {}
    for path in RUNTIME_SOURCES:
        for module in _top_level_imports(path) - OWN - set(sys.stdlib_module_names):
            distributions = {_normalized(d) for d in providers.get(module, [])}
            if not distributions:  # not installed at all: a missing dependency, or a typo
                undeclared.setdefault(module, set()).add(path.relative_to(REPO).as_posix())
            elif not distributions & declared:
                undeclared.setdefault(f"{module} ({', '.join(sorted(distributions))})", set()).add(
                    path.relative_to(REPO).as_posix()
                )
    assert not undeclared, "imported at run time but not in [project] dependencies: " + "; ".join(
        f"{module} by {', '.join(sorted(paths))}" for module, paths in sorted(undeclared.items())
    )
