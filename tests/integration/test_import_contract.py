"""The import contract: the layers of the package and who may import what.

The contracts live in ``[tool.importlinter]`` in ``pyproject.toml`` and ``.ci/run`` checks
them with ``lint-imports``; this test runs the same command (skipped, with the reason,
where import-linter is not installed, but never in CI). The rule that only
``coachflow.runtime.dispatch`` imports ``transitions`` (and only ``coachflow.files``
imports ``yaml``) is checked here a second time by reading the source with ``ast``, so
that it holds even where import-linter is missing.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "coachflow"

CONTRACTS = {
    "layers",
    "transitions-only-in-dispatch",
    "store-never-imports-engine",
    "yaml-only-in-files",
    "cli-uses-the-facade",
}
"""The ids of the contracts in pyproject.toml; none may go missing."""


def lint_imports() -> str | None:
    """The ``lint-imports`` of this interpreter's environment, else the one on PATH."""
    return shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )


def test_pyproject_declares_the_contracts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    importlinter = config["tool"]["importlinter"]
    assert importlinter["root_packages"] == ["coachflow"]
    ids = {contract["id"] for contract in importlinter["contracts"]}
    assert ids >= CONTRACTS, f"contracts missing from pyproject.toml: {sorted(CONTRACTS - ids)}"


def test_lint_imports_keeps_every_contract() -> None:
    command = lint_imports()
    if command is None:
        reason = "lint-imports is not installed (pip install -e '.[dev]' installs import-linter)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the import contracts")
        pytest.skip(reason)
    # this checkout's source first, whatever copy of coachflow the environment has installed
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports found broken contracts:\n{result.stdout}"


# --- the same rule for the third-party packages, without import-linter ------------------------


def imported_roots(tree: ast.AST) -> set[str]:
    """The top-level names of the absolute imports anywhere in a module (functions and
    ``if TYPE_CHECKING:`` blocks included), and of ``importlib.import_module("...")`` and
    ``__import__("...")`` calls with a literal name."""
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                roots.add(first.value.partition(".")[0])
    return roots


def importers_of(package: str) -> set[str]:
    """The source files (relative to ``src/coachflow``, POSIX form) that import ``package``."""
    found: set[str] = set()
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        if package in imported_roots(tree):
            found.add(file.relative_to(PACKAGE).as_posix())
    return found


def test_the_scan_sees_imports() -> None:
    tree = ast.parse(
        "import a.b\nfrom c.d import e\nfrom . import f\n"
        "def g():\n    from h import i\n    importlib.import_module('j.k')\n"
    )
    assert imported_roots(tree) == {"a", "c", "h", "j"}


def test_only_the_dispatch_module_imports_transitions() -> None:
    importers = importers_of("transitions")
    assert importers, "no module imports transitions: is the scan looking at the source?"
    others = sorted(importers - {"runtime/dispatch.py"})
    assert not others, f"only runtime/dispatch.py may import transitions, but so do {others}"


def test_only_the_files_layer_imports_yaml() -> None:
    importers = importers_of("yaml")
    assert importers, "no module imports yaml: is the scan looking at the source?"
    others = sorted(f for f in importers if not f.startswith("files/"))
    assert not others, f"only files/ may import yaml, but so do {others}"
