"""The public surface of coachflow: ``__all__``, lazy imports, the exception tree, the
committed JSON Schema and the shipped definitions."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import coachflow
import coachflow.errors as errors_module
from coachflow import (
    CoachflowError,
    ConsentError,
    DefinitionError,
    GuardFailed,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    Reason,
    TransitionRejected,
    UnknownDefinition,
    UnknownEvent,
    UnknownTrajectory,
    VersionConflict,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "coachflow-definition.schema.json"
DEFINITIONS = ROOT / "definitions"
SCHEMA_COMMENT = "# yaml-language-server: $schema="
REGENERATE = "coachflow schema > schema/coachflow-definition.schema.json"
HEAVY_MODULES = ("pydantic", "networkx", "yaml", "transitions")


# --- __all__ ------------------------------------------------------------------------------------


def test_all_is_sorted_and_unique() -> None:
    names = coachflow.__all__
    assert names == sorted(names), "coachflow.__all__ must be sorted"
    assert len(names) == len(set(names)), "coachflow.__all__ lists a name twice"


@pytest.mark.parametrize("name", coachflow.__all__)
def test_every_public_name_imports(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from coachflow import {name}", namespace)
    assert namespace[name] is getattr(coachflow, name)


def test_dir_covers_all() -> None:
    missing = set(coachflow.__all__) - set(dir(coachflow))
    assert not missing, f"dir(coachflow) lacks {sorted(missing)}"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = coachflow.no_such_name


def test_version_matches_the_package_metadata() -> None:
    assert coachflow.__version__ == importlib.metadata.version("coachflow")


def test_package_is_typed() -> None:
    assert (Path(coachflow.__file__).parent / "py.typed").is_file()


def test_every_exception_is_public() -> None:
    for name, obj in vars(errors_module).items():
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert name in coachflow.__all__, f"coachflow.errors.{name} is not in __all__"


# --- import cost --------------------------------------------------------------------------------


def _modules_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_import_coachflow_does_not_import_heavy_modules() -> None:
    assert _modules_after("import coachflow") == []


def test_errors_and_diagnostics_do_not_import_heavy_modules() -> None:
    code = "import coachflow\ncoachflow.Diagnostic, coachflow.DefinitionError, coachflow.Reason"
    assert _modules_after(code) == []


def test_lazy_names_load_on_first_use() -> None:
    assert "pydantic" in _modules_after("import coachflow\ncoachflow.Definition")


def _every_module_after(code: str) -> set[str]:
    """Every module a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return set(loaded)


def _ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "coachflow" or m.startswith("coachflow.")}


STDLIB_LAYER = {
    "coachflow",
    "coachflow._bounds",
    "coachflow.clock",
    "coachflow.diagnostics",
    "coachflow.errors",
}
"""What ``import coachflow`` loads of coachflow: the package and the standard-library layer."""

NOT_FOR_THE_ENGINE = (
    "pydantic",
    "transitions",
    "coachflow.definition.model",
    "coachflow.files.loading",
    "yaml",
    "networkx",
    "sqlalchemy",
    "alembic",
    "icalendar",
    "importlib.metadata",
    "coachflow.files.reader",
    "coachflow.files.definitions",
    "coachflow.files.plugins",
    "coachflow.definition.checks.graph",
    "coachflow.store.sql",
)
"""What importing the engine waits for: pydantic and the definition model (a definition is
read), transitions (a version is compiled), the YAML reader (a definition file is read), the
checks (one is analysed), the SQL store, plugins (the registered definitions), networkx
(``Definition.graph``), icalendar (``agenda_to_ical``)."""


def test_import_coachflow_loads_only_the_stdlib_layer() -> None:
    assert _ours(_every_module_after("import coachflow")) == STDLIB_LAYER


def test_the_engine_waits_for_the_reader_the_checks_and_the_sql_store() -> None:
    loaded = _every_module_after("import coachflow\ncoachflow.Engine")
    assert "coachflow.engine" in loaded
    assert sorted(loaded.intersection(NOT_FOR_THE_ENGINE)) == []


def test_the_engine_does_not_build_the_pydantic_schemas() -> None:
    code = (
        "import coachflow\ncoachflow.Engine\n"
        "from coachflow.definition import model\n"
        "from pydantic import BaseModel\n"
        "built = [n for n, c in vars(model).items() if isinstance(c, type)"
        " and issubclass(c, BaseModel) and c.__pydantic_complete__]\n"
        "assert built == [], built"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_validate_loads_neither_the_runtime_nor_networkx() -> None:
    code = (
        "import contextlib, io\nfrom coachflow.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['validate', {str(DEFINITIONS)!r}]) == 0"
    )
    loaded = _every_module_after(code)
    assert {"pydantic", "yaml", "coachflow.definition.checks.graph"} <= loaded
    unwanted = {"transitions", "networkx", "sqlalchemy", "coachflow.engine"}
    assert sorted(loaded & unwanted) == []
    assert (
        sorted(m for m in _ours(loaded) if m.startswith(("coachflow.runtime", "coachflow.store")))
        == []
    )


# --- the exception tree -------------------------------------------------------------------------

TREE_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z][A-Za-z]+)\b(?P<rest>.*)$")


def documented_tree() -> dict[str, tuple[str | None, list[str]]]:
    """Class name -> (parent name, documented attributes), from the drawing in the
    docstring of coachflow.errors."""
    doc = errors_module.__doc__ or ""
    drawing = doc.split("::", 1)[1]
    tree: dict[str, tuple[str | None, list[str]]] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing.splitlines():
        if not line.strip():
            if tree:
                break  # the drawing ends at the first blank line after it
            continue
        match = TREE_LINE.match(line)
        assert match, f"cannot read the exception tree line {line!r}"
        column = len(match["indent"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        parent = stack[-1][1] if stack else None
        attributes = re.findall(r"\.(\w+)", match["rest"])
        tree[match["name"]] = (parent, attributes)
        stack.append((column, match["name"]))
    return tree


def test_the_docstring_tree_is_read() -> None:
    tree = documented_tree()
    assert tree["CoachflowError"][0] is None
    assert tree["UnknownEvent"][0] == "TransitionRejected"
    assert len(tree) >= 10


def test_exception_tree_matches_the_docstring() -> None:
    tree = documented_tree()
    defined = {
        name: obj
        for name, obj in vars(errors_module).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and not issubclass(obj, Warning)
        and obj.__module__ == errors_module.__name__
    }
    assert set(tree) == set(defined), "the docstring tree and the classes in errors.py differ"
    warned = [
        name
        for name, obj in vars(errors_module).items()
        if inspect.isclass(obj) and issubclass(obj, Warning)
    ]
    assert warned == ["CalendarWarning", "StoredDefinitionWarning"]
    for name in warned:  # warnings are not raised: the docstring names them after the tree
        assert f":class:`{name}`" in (errors_module.__doc__ or "").split("::", 1)[1]
    for name, (parent, _) in tree.items():
        cls = defined[name]
        assert issubclass(cls, CoachflowError)
        if parent is None:
            assert cls is CoachflowError
            continue
        coachflow_bases = [b for b in cls.__bases__ if issubclass(b, CoachflowError)]
        # a second base is drawn in words: "(also an UnknownDefinition)"
        also = re.findall(
            r"\(also an? (\w+)\)", (errors_module.__doc__ or "").split(name, 1)[1].split("\n", 1)[0]
        )
        expected = [defined[parent], *(defined[a] for a in also)]
        assert coachflow_bases == expected, f"{name} should derive from {parent}"


def _instance(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, DefinitionError):
        return cls([])
    return cls("message")


def test_documented_attributes_exist() -> None:
    for name, (_, attributes) in documented_tree().items():
        error = _instance(getattr(errors_module, name))
        for attribute in attributes:
            assert hasattr(error, attribute), f"{name} lacks the documented .{attribute}"


REJECTION_CODES = {
    TransitionRejected: "rejected",
    UnknownEvent: "unknown-event",
    NotAllowedInState: "not-allowed-in-state",
    NotPermitted: "not-permitted",
    GuardFailed: "guard-failed",
    InvalidInput: "invalid-input",
    ConsentError: "consent",
    VersionConflict: "version-conflict",
}


def test_every_transition_rejection_has_its_stable_code() -> None:
    documented = {n for n, (p, _) in documented_tree().items() if p == "TransitionRejected"}
    assert documented == {c.__name__ for c in REJECTION_CODES} - {"TransitionRejected"}
    for cls, code in REJECTION_CODES.items():
        assert cls.code == code
        assert issubclass(cls, TransitionRejected)
    codes = list(REJECTION_CODES.values())
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", list(REJECTION_CODES), ids=lambda c: c.__name__)
def test_a_rejection_carries_its_context_and_reasons(cls: type[TransitionRejected]) -> None:
    error = cls("not now", trajectory_id="t1", event="finish", actor="anna")
    assert (error.trajectory_id, error.event, error.actor) == ("t1", "finish", "anna")
    assert error.reasons == [Reason(cls.code, "not now")]
    assert str(error) == "not now"
    given = [Reason("guard-failed", "sessions < 5 is false")]
    assert cls("x", reasons=given).reasons == given


def test_lookup_errors_are_also_lookup_errors() -> None:
    assert issubclass(UnknownDefinition, LookupError)
    assert issubclass(UnknownTrajectory, LookupError)


def test_definition_error_lists_every_diagnostic() -> None:
    with pytest.raises(DefinitionError) as caught:
        coachflow.loads_definition("coachflow: 1\nid: Bad\n", path="bad.yaml")
    codes = [d.code for d in caught.value.diagnostics]
    assert len(codes) > 1 and set(codes) == {"schema"}
    assert str(caught.value).startswith("bad.yaml:")


# --- the committed JSON Schema ------------------------------------------------------------------


def test_committed_schema_matches_the_model() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == coachflow.definition_json_schema(), (
        f"{SCHEMA_FILE.relative_to(ROOT)} is out of date; regenerate it with: {REGENERATE}"
    )


def test_committed_schema_is_exactly_what_the_command_prints() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coachflow", "schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), (
        f"regenerate the schema with: {REGENERATE}"
    )


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


# --- the shipped definitions --------------------------------------------------------------------


def definition_files() -> list[Path]:
    return sorted(p for p in DEFINITIONS.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_there_are_shipped_definitions() -> None:
    assert definition_files(), "definitions/ holds no *.yaml file"


@pytest.mark.parametrize("path", definition_files(), ids=lambda p: p.name)
def test_definition_starts_with_the_schema_comment(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_COMMENT), (
        f"{path.name} must start with '{SCHEMA_COMMENT}<relative path of the schema>'"
    )
    target = (path.parent / first.removeprefix(SCHEMA_COMMENT).strip()).resolve()
    assert target == SCHEMA_FILE.resolve(), f"{path.name}: the schema comment points at {target}"


@pytest.mark.parametrize("path", definition_files(), ids=lambda p: p.name)
def test_definition_validates_strictly(path: Path) -> None:
    diagnostics = coachflow.validate_file(path)
    assert diagnostics == [], "\n".join(d.format() for d in diagnostics)


@pytest.mark.parametrize("path", definition_files(), ids=lambda p: p.name)
def test_definition_matches_the_json_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from coachflow.files.reader import read_yaml

    document, problems = read_yaml(path.read_bytes(), str(path))
    assert problems == []
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(document.data, schema, cls=jsonschema.Draft202012Validator)


def test_definitions_load_together() -> None:
    loaded = coachflow.load_definitions(DEFINITIONS)
    assert set(loaded) == {coachflow.load_definition(p).id for p in definition_files()}


def test_validate_strict_on_the_shipped_definitions_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coachflow", "validate", "--strict", str(DEFINITIONS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith(" checked, 0 errors, 0 warnings\n")
