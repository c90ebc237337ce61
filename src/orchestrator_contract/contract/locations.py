"""Where the spec and the suites live, installed or in a checkout.

A wheel carries `spec/` and `suites/` inside the package (see `[tool.hatch.build]` in
pyproject.toml); an editable install or a source checkout finds them at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # orchestrator_contract/, above contract/
_REPO_ROOT = _PACKAGE_DIR.parents[1]


def _locate(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / name, _REPO_ROOT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder next to {_PACKAGE_DIR} or at {_REPO_ROOT}")


def spec_path() -> Path:
    """The OpenAPI document that drives the suites."""
    return _locate("spec") / "configurations.yaml"


def suites_dir() -> Path:
    return _locate("suites")
