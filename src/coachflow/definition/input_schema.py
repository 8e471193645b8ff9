"""The JSON Schema of what one definition takes in: its facts (the ``facts=`` of a start),
the input of each event and the input of each activity, for an application that builds
forms or checks a request body before it reaches the engine.

The schema says what the engine's value check (:func:`coachflow.definition.values.coerce`)
accepts, in JSON terms: a ``date`` is a string ``YYYY-MM-DD``, an ``enum`` one of its
values, a ``list`` an array of its items, an ``int`` a signed 64-bit integer within its
``min``/``max``. Unknown fields are refused (``additionalProperties: false``), as the engine
refuses them. Which person may read a value (``visible_to``) is not a shape and is left out;
an input that several transitions of one event declare differently is described by each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coachflow._bounds import INT64_MAX, INT64_MIN
from coachflow.definition.model import EnumFact, IntFact, ListFact
from coachflow.definition.plain import text_of

if TYPE_CHECKING:
    from coachflow.definition.model import AnyFact, Definition, InputField

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def input_json_schema(definition: Definition, *, language: str = "nl") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``definition``'s facts and inputs: an object with
    ``facts``, ``events`` (by event name) and ``activities`` (by activity name), each value
    the schema of one payload. Titles are in ``language`` (falling back to Dutch)."""
    events: dict[str, Any] = {}
    for name in dict.fromkeys(t.event for t in definition.transitions):
        shapes = [_object(t.input, language) for t in definition.transitions if t.event == name]
        unique = [s for i, s in enumerate(shapes) if s not in shapes[:i]]
        events[name] = unique[0] if len(unique) == 1 else {"anyOf": unique}
    activities = {
        name: _object(activity.input, language, activity.text(language))
        for name, activity in definition.activities.items()
    }
    facts = {name: _field(spec, language) for name, spec in definition.facts.items()}
    return {
        "$schema": DRAFT,
        "title": f"{definition.id} version {definition.version}: facts and inputs",
        "type": "object",
        "properties": {
            "facts": {"type": "object", "properties": facts, "additionalProperties": False},
            "events": _group(events),
            "activities": _group(activities),
        },
        "additionalProperties": False,
    }


def _group(members: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": dict(members), "additionalProperties": False}


def _object(
    fields: Mapping[str, InputField], language: str, title: str | None = None
) -> dict[str, Any]:
    shape: dict[str, Any] = {"type": "object"}
    if title:
        shape["title"] = title
    shape["properties"] = {name: _field(spec, language) for name, spec in fields.items()}
    required = [name for name, spec in fields.items() if _required(spec)]
    if required:
        shape["required"] = required
    shape["additionalProperties"] = False
    return shape


def _field(spec: AnyFact, language: str) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    title = spec.text(language)
    if title:
        shape["title"] = title
    description = text_of(spec.description, language)
    if description:
        shape["description"] = description
    if isinstance(spec, ListFact):
        shape["type"] = "array"
        shape["items"] = _scalar(spec.items, spec.values)
        if spec.min_items is not None:
            shape["minItems"] = spec.min_items
        if spec.max_items is not None:
            shape["maxItems"] = spec.max_items
    else:
        shape.update(_scalar(spec.type, spec.values if isinstance(spec, EnumFact) else None))
        if isinstance(spec, IntFact):
            if spec.min is not None:
                shape["minimum"] = spec.min
            if spec.max is not None:
                shape["maximum"] = spec.max
    if not _required(spec):  # absent or null: the field stays unset (or takes its default)
        shape["type"] = [shape["type"], "null"]
        if "enum" in shape:
            shape["enum"] = [*shape["enum"], None]
    return shape


def _required(spec: AnyFact) -> bool:
    """Whether a value must be given: a required input without a default (a default
    fills in for an absent or null value)."""
    return bool(getattr(spec, "required", False)) and spec.default is None


def _scalar(kind: str, values: tuple[str, ...] | None) -> dict[str, Any]:
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "int":
        return {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    if kind == "enum":
        return {"type": "string", "enum": list(values or ())}
    return {"type": "string"}
