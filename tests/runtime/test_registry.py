"""The registry of definition versions an engine runs (coachflow.runtime.registry)."""

from __future__ import annotations

import pytest

import coachflow
from coachflow.errors import DefinitionChanged, DefinitionError, UnknownDefinition
from coachflow.runtime.registry import Registry

TEXT = """
coachflow: 1
id: {id}
version: {version}
title: {title}
roles: {{coach: {{}}}}
states: {{a: {{}}, b: {{final: true}}}}
initial: a
transitions:
  - {{event: go, from: a, to: b, by: [coach]}}
{extra}"""


def definition(
    version: int = 1, *, id: str = "reg", title: str = "Registry", extra: str = ""
) -> coachflow.Definition:
    return coachflow.loads_definition(TEXT.format(id=id, version=version, title=title, extra=extra))


def test_the_newest_version_is_the_default_and_versions_stay_reachable() -> None:
    registry = Registry()
    for v in (2, 1, 3):
        registry.add(definition(v))
    assert registry.program("reg").definition.version == 3
    assert registry.program("reg", 1).definition.version == 1
    assert ("reg", 2) in registry and ("reg", 4) not in registry


def test_adding_the_same_content_again_is_a_no_op_and_other_content_is_refused() -> None:
    registry = Registry()
    registry.add(definition())
    program = registry.program("reg")
    registry.add(definition())  # equal content, another object
    assert registry.program("reg") is program
    with pytest.raises(DefinitionChanged):
        registry.add(definition(title="Another title"))
    assert registry.program("reg") is program


def test_an_unknown_definition_or_version_names_what_is_loaded() -> None:
    registry = Registry()
    with pytest.raises(UnknownDefinition, match=r"loaded: none"):
        registry.program("reg")
    registry.add(definition(id="zeta"))
    registry.add(definition(id="alpha"))
    with pytest.raises(UnknownDefinition, match=r"'reg version 2'.*loaded: alpha, zeta"):
        registry.program("reg", 2)
    assert list(registry.newest()) == ["alpha", "zeta"]


def test_a_version_whose_migration_map_does_not_fit_is_not_runnable() -> None:
    registry = Registry()
    registry.add(definition(1))
    bad = definition(2, extra="migrates_from: {version: 1, states: {a: a}}\n")  # b unmapped
    with pytest.raises(DefinitionError) as raised:
        registry.add(bad)
    assert [d.code for d in raised.value.diagnostics] == ["migration-map"]
    assert ("reg", 2) not in registry
    assert registry.program("reg", 1).definition.version == 1
