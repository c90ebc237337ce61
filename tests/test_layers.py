"""The package's imports point down only: each subpackage imports from those below it (ARCHITECTURE.md).

A module that needs something from a higher layer means a helper is in the wrong place; this test
names the import, so a newcomer's picture of the layers stays the tree's.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "orchestrator_contract"
# Bottom first. `server` sits beside the suites' stack: it imports the contract only (the clause
# each fault breaks), never the suites' code; the run and the reproducer may start it.
LAYERS = (
    "contract",
    "server",
    "spec_data",
    "exchanges",
    "planning",
    "scenarios",
    "verdict",
    "adoption",
    "reporting",
    "plugin",
    "run",
    "mutation",
    "cli",
)
SERVER_MAY_IMPORT = {"contract", "server"}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in {"__init__", "__version__"}:
        return "contract"  # the package's own __init__ (its version) is at the bottom
    return "cli" if parts[1] in {"cli", "__main__"} else parts[1]


def _imports(path: Path) -> list[str]:
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orchestrator_contract"):
            if node.module == "orchestrator_contract":
                out += [f"orchestrator_contract.{alias.name}" for alias in node.names]
            else:
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("orchestrator_contract")]
    return out


def test_every_module_is_in_a_layer() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py", "cli.py"}]
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert not loose, f"modules outside the layers: {loose}"
    assert packages <= set(LAYERS), f"subpackages not in LAYERS: {sorted(packages - set(LAYERS))}"


def test_imports_point_down() -> None:
    upward: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        mine = _layer(module)
        for imported in _imports(path):
            theirs = _layer(imported)
            if theirs == mine:
                continue
            if mine == "server" and theirs not in SERVER_MAY_IMPORT:
                upward.append(f"{module} -> {imported} (the server imports the contract only)")
            elif LAYERS.index(theirs) > LAYERS.index(mine):
                upward.append(f"{module} ({mine}) -> {imported} ({theirs})")
    assert not upward, "imports pointing up:\n  " + "\n  ".join(upward)
