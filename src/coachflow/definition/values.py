"""Checking values against fact and input specs (types, enum values, min/max).

Values may be Python values or JSON-style ones: a date may be given as ``"2026-10-01"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from coachflow._bounds import INT64_MAX, INT64_MIN, shown
from coachflow.definition.plain import parse_date

if TYPE_CHECKING:
    from coachflow.definition.model import AnyFact, IntFact, ListFact, Scalar, Value


class ValueProblem(ValueError):
    """A value does not fit its spec; ``str()`` says why."""


def coerce(spec: AnyFact, value: object) -> Value:
    """``value`` as the spec's type, or :class:`ValueProblem`. ``None`` stays ``None``."""
    if value is None:
        return None
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ValueProblem(f"expected true or false, got {shown(value)}")
        return value
    if spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueProblem(f"expected an integer, got {shown(value)}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueProblem(
                f"expected an integer from {INT64_MIN} to {INT64_MAX} (a signed 64-bit integer)"
            )
        check_range(spec, value)
        return value
    if spec.type == "str":
        if not isinstance(value, str):
            raise ValueProblem(f"expected a string, got {shown(value)}")
        return value
    if spec.type == "date":
        if isinstance(value, datetime):
            raise ValueProblem(f"expected a date, got the date-time {value.isoformat()!r}")
        try:
            return parse_date(value)
        except ValueError as exc:
            raise ValueProblem(str(exc)) from None
    if spec.type == "enum":
        if not isinstance(value, str) or value not in spec.values:
            raise ValueProblem(f"expected one of {list(spec.values)}, got {shown(value)}")
        return value
    if spec.type == "list":
        return _coerce_list(spec, value)
    raise ValueProblem(f"unknown type {spec.type!r}")  # pragma: no cover - the model forbids it


def _coerce_list(spec: ListFact, value: object) -> tuple[Scalar, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise ValueProblem(f"expected a list of {spec.items}, got {shown(value)}")
    items = []
    for i, raw in enumerate(value):
        item = raw
        if spec.items == "date" and isinstance(raw, str):
            try:
                item = parse_date(raw)
            except ValueError as exc:
                raise ValueProblem(f"item {i + 1}: {exc}") from None
        problem = spec.item_problem(item)
        if problem:
            raise ValueProblem(f"item {i + 1}: {problem}")
        items.append(item)
    problem = spec.length_problem(len(items))
    if problem:
        raise ValueProblem(problem)
    return tuple(items)


def expected(spec: AnyFact) -> str:
    """What a value of ``spec`` must be, in words (no value in it)."""
    if spec.type == "bool":
        return "true or false"
    if spec.type == "int":
        low, high = getattr(spec, "min", None), getattr(spec, "max", None)
        if low is not None and high is not None:
            return f"an integer from {low} to {high}"
        if low is not None:
            return f"an integer of at least {low}"
        if high is not None:
            return f"an integer of at most {high}"
        return "an integer"
    if spec.type == "date":
        return "a date written YYYY-MM-DD"
    if spec.type == "enum":
        return f"one of {list(getattr(spec, 'values', ()))}"
    if spec.type == "list":
        return f"a fitting list of {getattr(spec, 'items', 'values')}"
    return "a text"


def check_range(spec: IntFact, value: int) -> None:
    low, high = getattr(spec, "min", None), getattr(spec, "max", None)
    if low is not None and value < low:
        raise ValueProblem(f"{value} is below the minimum {low}")
    if high is not None and value > high:
        raise ValueProblem(f"{value} is above the maximum {high}")


class Fields:
    """Field specs (of an event's input or a definition's facts), prepared once."""

    __slots__ = ("names", "rules", "secret", "what")

    def __init__(self, specs: Mapping[str, AnyFact], *, what: str) -> None:
        self.what = what
        self.rules: tuple[tuple[str, AnyFact, Value, bool], ...] = tuple(
            (name, spec, getattr(spec, "default", None), bool(getattr(spec, "required", False)))
            for name, spec in specs.items()
        )
        self.names = frozenset(specs)
        self.secret = frozenset(
            name for name, spec in specs.items() if getattr(spec, "confidential", False)
        )
        """The confidential fields: a problem with one never shows its value."""

    def check(self, given: object) -> tuple[dict[str, Value], dict[str, str]]:
        """The values of ``given`` (a mapping or None), defaults applied, and the
        problems per field name."""
        what = self.what
        problems: dict[str, str] = {}
        values: dict[str, Value] = {}
        if given is None:
            given = {}
        elif not isinstance(given, Mapping):
            got = f"a {type(given).__name__}" if self.secret else shown(given)
            return {}, {"": f"{what} must be a mapping of field names to values, got {got}"}
        for name in given:
            if name not in self.names:
                allowed = ", ".join(n for n, *_ in self.rules) or "none"
                key = name if isinstance(name, str) else shown(name)
                problems[key] = f"unknown {what} field {shown(name)} (allowed: {allowed})"
        for name, spec, default, required in self.rules:
            raw = given.get(name)
            if raw is None:
                if default is None and required:
                    problems[name] = f"{what} field {name!r} is required"
                values[name] = default
                continue
            try:
                values[name] = coerce(spec, raw)
            except ValueProblem as exc:
                if name in self.secret:  # the message would show the value
                    problems[name] = (
                        f"{what} field {name!r}: [redacted] is not {expected(spec)} "
                        "(a confidential field's value is never shown)"
                    )
                else:
                    problems[name] = f"{what} field {name!r}: {exc}"
        return values, problems
