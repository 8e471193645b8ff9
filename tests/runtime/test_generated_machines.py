"""The Hypothesis trajectory machine on randomly generated definitions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from strategies import valid_definitions

from coachflow import Definition
from coachflow.testing import trajectory_machine


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.nested_given,
    ],
)
@given(data=valid_definitions(), seed=st.integers(0, 2**16))
def test_the_machine_holds_on_generated_definitions(data: dict, seed: int) -> None:
    definition = Definition.model_validate(data)
    machine = trajectory_machine(
        definition, predicates={name: (lambda view: True) for name in definition.predicates}
    )
    run_state_machine_as_test(
        machine, settings=settings(max_examples=3, stateful_step_count=15, deadline=None)
    )
    assert seed >= 0  # the machine's own invariants are the assertions


def test_a_machine_notices_a_broken_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine is not vacuous: an engine that forgets to refuse is caught."""
    import coachflow.engine as engine_module
    from coachflow import loads_definition

    definition = loads_definition(
        """
coachflow: 1
id: tiny
version: 1
roles: {a: {}}
facts: {n: {type: int, default: 0, max: 1}}
initial: s
states: {s: {}, e: {final: true}}
transitions:
  - {event: go, from: s, to: s, by: [a], set: {n: n + 1}}
  - {event: stop, from: s, to: e, by: [a]}
"""
    )
    original = engine_module.Engine.allowed_events

    def lying(self, trajectory_id, *, actor):  # allowed_events disagrees with explain
        return [*original(self, trajectory_id, actor=actor), "stop", "go"]

    monkeypatch.setattr(engine_module.Engine, "allowed_events", lying)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            trajectory_machine(definition),
            settings=settings(max_examples=5, stateful_step_count=5, deadline=None),
        )
