"""Definition plugins: packages register definition directories under an entry point.

The plugin packages here are real distributions on ``sys.path`` (a ``*.dist-info``
folder with ``entry_points.txt``), found by ``importlib.metadata`` in a subprocess, as
an installed package would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ROUTE = """\
coachflow: 1
id: {id}
version: {version}
roles: {{teacher: {{}}}}
initial: open
states: {{open: {{}}, done: {{final: true}}}}
transitions:
  - {{event: close, from: open, to: done, by: [teacher]}}
"""


def make_plugin(
    site: Path, name: str, definitions: dict[str, str], *, target: str | None = None
) -> None:
    """A distribution ``name`` whose package ships ``definitions`` (file -> text)."""
    package = site / name
    (package / "routes").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\n\ndef routes():\n    return Path(__file__).parent / 'routes'\n",
        encoding="utf-8",
    )
    for file, text in definitions.items():
        (package / "routes" / file).write_text(text, encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[coachflow.definitions]\n{name} = {target or name + ':routes'}\n", encoding="utf-8"
    )


def run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_engine_loads_builtin_and_plugin_definitions(tmp_path: Path) -> None:
    make_plugin(tmp_path, "school_routes", {"a.yaml": ROUTE.format(id="school-route", version=1)})
    result = run(
        tmp_path,
        """
        import json
        from coachflow import Engine
        print(json.dumps({
            "all": sorted(Engine().definitions),
            "none": sorted(Engine(plugins=False).definitions),
        }))
        """,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert "school-route" in seen["all"] and "nt2-consult" in seen["all"]
    assert seen["none"] == []


def test_two_sets_with_the_same_id_and_version_name_both_packages(tmp_path: Path) -> None:
    make_plugin(tmp_path, "first_pkg", {"a.yaml": ROUTE.format(id="shared-route", version=2)})
    make_plugin(tmp_path, "second_pkg", {"b.yaml": ROUTE.format(id="shared-route", version=2)})
    result = run(
        tmp_path,
        """
        from coachflow import DefinitionError, Engine
        try:
            Engine()
        except DefinitionError as exc:
            print([d.message for d in exc.diagnostics if d.code == "duplicate-definition"])
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "first_pkg 1.0" in result.stdout and "second_pkg 1.0" in result.stdout
    assert "'shared-route' version 2" in result.stdout


def test_a_broken_entry_point_is_a_clear_error(tmp_path: Path) -> None:
    make_plugin(tmp_path, "broken_pkg", {}, target="broken_pkg:no_such_function")
    result = run(
        tmp_path,
        """
        from coachflow import DefinitionError, Engine
        try:
            Engine()
        except DefinitionError as exc:
            print(exc.diagnostics[0].code, exc.diagnostics[0].message)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("plugin ") and "broken_pkg" in result.stdout


def test_validate_installed_checks_every_registered_set(tmp_path: Path) -> None:
    make_plugin(
        tmp_path,
        "faulty_routes",
        {"bad.yaml": ROUTE.format(id="faulty-route", version=1).replace("[teacher]", "[nobody]")},
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    result = subprocess.run(
        [sys.executable, "-m", "coachflow", "validate", "--installed"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.yaml:8:" in result.stdout and "unknown-role" in result.stdout
    assert "nt2-consult.yaml" not in result.stdout  # valid files print nothing
    assert "files checked" in result.stdout
