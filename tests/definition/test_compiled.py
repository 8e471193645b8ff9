"""The compile cache: one compiled form per definition object, bounded, thread-safe."""

from __future__ import annotations

import threading

import pytest

import coachflow
from coachflow.definition.compiled import CompileCache, compile_definition

TEXT = """
coachflow: 1
id: cache
version: {version}
title: Cache
roles: {{coach: {{}}}}
states: {{a: {{}}, b: {{final: true}}}}
initial: a
transitions:
  - {{event: go, from: a, to: b, by: [coach]}}
"""


def definition(version: int = 1) -> coachflow.Definition:
    return coachflow.loads_definition(TEXT.format(version=version))


def test_a_definition_is_compiled_once_and_found_by_identity() -> None:
    d = definition()
    first = compile_definition(d)
    assert compile_definition(d) is first
    equal_but_other = definition()
    assert equal_but_other == d
    assert compile_definition(equal_but_other) is not first  # found by identity only


def test_the_cache_keeps_at_most_its_limit_dropping_the_least_recently_used() -> None:
    cache = CompileCache(limit=2)
    ds = [definition(v) for v in (1, 2, 3)]
    compiled = [compile_definition(d) for d in ds]
    cache.add(compiled[0])
    cache.add(compiled[1])
    assert cache.get(ds[0]) is compiled[0]  # now the most recently used
    cache.add(compiled[2])
    assert len(cache) == 2
    assert cache.get(ds[1]) is None
    assert cache.get(ds[0]) is compiled[0]
    assert cache.get(ds[2]) is compiled[2]
    cache.clear()
    assert len(cache) == 0
    assert cache.get(ds[0]) is None


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CompileCache(limit=0)


def test_threads_sharing_a_cache_never_see_another_definitions_entry() -> None:
    cache = CompileCache(limit=3)
    ds = [definition(v) for v in range(1, 7)]
    compiled = {id(d): compile_definition(d) for d in ds}
    wrong: list[str] = []

    def work(offset: int) -> None:
        for i in range(300):
            d = ds[(i + offset) % len(ds)]
            known = cache.get(d)
            if known is not None and known.definition is not d:
                wrong.append(f"{d.version} got {known.definition.version}")
            cache.add(compiled[id(d)])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(cache) == 3
