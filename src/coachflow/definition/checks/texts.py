"""``control-character``: no C0/C1 control character (nor DEL) in a text of the
definition. A title is one line: no tab or line feed either. Descriptions, string
defaults and expressions may hold tab and line feed (multi-line YAML blocks)."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from pydantic import BaseModel

from coachflow._bounds import control_character
from coachflow.definition.checks.context import Context, YamlPath
from coachflow.definition.checks.expressions import Mark
from coachflow.diagnostics import ERROR


def check_texts(ctx: Context, syntax_errors: Collection[Mark]) -> None:
    """Check every title, description, string default and expression. An expression
    where ``guard-syntax`` was reported (``syntax_errors``: the line and column of each)
    is passed over: a control character outside a string literal is that error already,
    and one mistake gets one diagnostic."""
    for path, item in _described(ctx):
        for key, multiline in (("title", False), ("description", True), ("message", False)):
            text = getattr(item, key, None)
            if isinstance(text, str):
                _check(ctx, text, (*path, key), f"the {key}", multiline)
            elif text is not None:
                for language, value in text.items():
                    _check(ctx, value, (*path, key, language), f"the {key} ({language})", multiline)
        default = getattr(item, "default", None) if "default" in type(item).model_fields else None
        if isinstance(default, str):
            _check(ctx, default, (*path, "default"), "the default", True)
        elif isinstance(default, tuple):
            for j, value in enumerate(default):
                if isinstance(value, str):
                    _check(ctx, value, (*path, "default", j), "the default", True)
    for path, source, what in _expressions(ctx):
        if control_character(source, multiline=True) is None:
            continue
        mark = ctx.parsed.locate(path)
        if (mark.line or 1, mark.column or 1) not in syntax_errors:
            _check(ctx, source, path, what, True)


def _check(ctx: Context, text: str, path: YamlPath, what: str, multiline: bool) -> None:
    found = control_character(text, multiline=multiline)
    if found is not None:
        rule = (
            "a title is one line of printable text"
            if not multiline
            else "a text may be broken up by tab and line feed only"
        )
        message = f"{what} contains the control character {found}: {rule}"
        ctx.report("control-character", ERROR, message, path)


def _described(ctx: Context) -> Iterator[tuple[YamlPath, BaseModel]]:
    """Every part of the definition with a title, a description (or a default)."""
    d = ctx.definition
    yield (), d
    for kind in ("roles", "facts", "consents", "states", "activities"):
        for name, item in getattr(d, kind).items():
            yield (kind, name), item
    for i, t in ctx.transitions:
        where = ("transitions", i)
        yield where, t
        for n, spec in t.input.items():
            yield (*where, "input", n), spec
    for name, activity in d.activities.items():
        for n, spec in activity.input.items():
            yield ("activities", name, "input", n), spec


def _expressions(ctx: Context) -> Iterator[tuple[YamlPath, str, str]]:
    """Every expression, with what it is (for the message)."""
    d = ctx.definition
    for i, t in ctx.transitions:
        where = ("transitions", i)
        if t.when is not None:
            yield (*where, "when"), t.when, "the guard"
        for fact, v in t.set.items():
            if isinstance(v, str):
                yield (*where, "set", fact), v, f"the value for {fact!r}"
    for name, activity in d.activities.items():
        for key in ("when", "expected"):
            source = getattr(activity, key)
            if source is not None:
                yield ("activities", name, key), source, f"the {key!r} expression"
    for name, role in d.roles.items():
        for key in ("on_assign", "on_unassign"):
            hook = getattr(role, key)
            for fact, v in hook.set.items() if hook is not None else ():
                if isinstance(v, str):
                    yield ("roles", name, key, "set", fact), v, f"the value for {fact!r}"
