"""Reading and writing definition files: the only place that reads YAML.

:func:`parse_definition` turns the text of a file into a
:class:`~coachflow.definition.model.Definition` (or as much of one as is valid) plus
located diagnostics. Structural problems found by pydantic are mapped back to the line
and column of their YAML node. Cross-references, expressions and the graph are checked
later, by :mod:`coachflow.definition.checks`.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

import yaml
from pydantic import BaseModel, ValidationError

from coachflow._bounds import show_int
from coachflow.definition.model import FACT_TYPES, FORMAT_VERSION, UNION_TAGS, Definition
from coachflow.definition.parsed import ParsedDefinition
from coachflow.diagnostics import ERROR, Diagnostic
from coachflow.files.reader import (
    YamlData,
    YamlDocument,
    YamlProblem,
    YamlScalar,
    _resolve_plain,
    read_yaml,
)

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

COLLECTIONS = ("roles", "facts", "consents", "states", "activities")
"""Top-level mappings whose entries can be dropped one by one when they are invalid."""
LISTS = ("transitions",)
PLACEHOLDERS: dict[str, YamlData] = {"coachflow": FORMAT_VERSION, "id": "invalid", "version": 1}
OPTIONAL_TOP = (
    "title",
    "description",
    "predicates",
    "facts",
    "consents",
    "started_by",
    "migrates_from",
)


def parse_definition(source: str | bytes, path: str = "<string>") -> ParsedDefinition:
    """Read a definition from text; never raises for problems in the content."""
    document, diagnostics = read_yaml(source, path)
    result = ParsedDefinition(path, None, None, diagnostics)
    if document.data is None and diagnostics:
        return result
    result.document = document
    data = document.data
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        diagnostics.append(
            Diagnostic(
                "schema",
                ERROR,
                f"a definition file must be a mapping of keys (coachflow, id, ...); it is {what}",
                path,
                document.root.line or 1,
                document.root.column or 1,
            )
        )
        return result
    taken = {(d.line, d.column) for d in diagnostics}
    try:
        result.definition = Definition.model_validate(data)
        result.transition_index = tuple(range(len(result.definition.transitions)))
        return result
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    for diag in _schema_diagnostics(_not_yet_reported(errors, document, taken), document, path):
        if (diag.line, diag.column) not in taken:
            diagnostics.append(diag)
    _salvage(result, data, errors)
    return result


Loc: TypeAlias = tuple[int | str, ...]
"""Where pydantic says an error is: keys and indexes, and the tags of the unions it tried."""


def _salvage(
    result: ParsedDefinition, data: dict[YamlScalar, YamlData], errors: list[ErrorDetails]
) -> None:
    """Drop the invalid entries and validate what is left, so the later checks can
    still report what is wrong elsewhere in the file."""
    pruned: dict[YamlScalar, YamlData] = dict(data)
    dropped: dict[str, set[str]] = {name: set() for name in COLLECTIONS}
    bad_transitions: set[int] = set()
    for err in errors:
        loc = err["loc"]
        head = loc[0] if loc else None
        if head in COLLECTIONS and len(loc) >= 2 and isinstance(data.get(head), dict):
            dropped[str(head)].add(str(loc[1]))
        elif head in LISTS and len(loc) >= 2 and isinstance(loc[1], int):
            bad_transitions.add(loc[1])
        elif head in OPTIONAL_TOP:
            pruned.pop(str(head), None)
        elif head in PLACEHOLDERS:
            pruned[str(head)] = PLACEHOLDERS[str(head)]  # no later check reads it
        else:
            return  # a required top-level value is wrong: nothing more to check
    for name, keys in dropped.items():
        entries = pruned.get(name)
        if keys and isinstance(entries, dict):
            pruned[name] = {k: v for k, v in entries.items() if k not in keys}
    index: tuple[int, ...] = ()
    transitions = data.get("transitions")
    if isinstance(transitions, list):
        index = tuple(i for i in range(len(transitions)) if i not in bad_transitions)
        pruned["transitions"] = [transitions[i] for i in index]
    try:
        result.definition = Definition.model_validate(pruned)
    except ValidationError:
        return
    result.dropped = dropped
    result.transition_index = index
    result.dropped_transitions = frozenset(bad_transitions)


# --- pydantic errors -> diagnostics ---------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
    "none_required": "nothing (null)",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _schema_diagnostics(
    errors: list[ErrorDetails], doc: YamlDocument, path: str
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple[int, int, str]] = set()
    grouped = _group_union_errors(errors, doc)
    for loc, message, at_key in grouped:
        mark = doc.locate(loc, key=at_key)
        line, column = (mark.line or 1, mark.column or 1)
        if (line, column, message) in seen:
            continue
        seen.add((line, column, message))
        out.append(Diagnostic("schema", ERROR, message, path, line, column))
    return out


def _not_yet_reported(
    errors: list[ErrorDetails], doc: YamlDocument, taken: set[tuple[int, int]]
) -> list[ErrorDetails]:
    """The errors that are not about a value the reader refused already (an integer out of
    range, a tag): it stands as null, and what pydantic says about that null - in every
    member of a union around it - says nothing new."""
    if not taken:
        return errors
    unions: dict[int, Loc] = {}
    refused: set[Loc] = set()
    for i, err in enumerate(errors):
        loc = _without_tags(tuple(err["loc"]), doc)
        prefix, gap = _data_prefix(loc, doc)
        unions[i] = prefix if gap >= 0 else loc
        mark = doc.locate(loc)
        if (mark.line or 1, mark.column or 1) in taken:
            refused.add(unions[i])
    return [e for i, e in enumerate(errors) if unions[i] not in refused]


def _without_tags(loc: Loc, doc: YamlDocument) -> Loc:
    """``loc`` without pydantic's discriminator tags (``('facts', 'n', 'int', 'min')``
    becomes ``('facts', 'n', 'min')``), so it can be followed through the data."""
    out: list[int | str] = []
    node: object = doc.data
    for comp in loc:
        child, mark, _ = doc.step(node, comp)
        if mark is None and _is_discriminator_tag(node, comp):
            continue
        out.append(comp)
        node = child
    return tuple(out)


def _data_prefix(loc: Loc, doc: YamlDocument) -> tuple[Loc, int]:
    """The part of ``loc`` that exists in the data, and the index of the first
    component that does not (pydantic's union tags), or -1."""
    node: object = doc.data
    for i, comp in enumerate(loc):
        node, mark, _ = doc.step(node, comp)
        if mark is None:
            return loc[:i], i
    return loc, -1


def _group_union_errors(
    errors: list[ErrorDetails], doc: YamlDocument
) -> list[tuple[Loc, str, bool]]:
    """One message per problem. Errors of a plain union (``str | mapping``) come once per
    member; they are merged into a single 'expected X or Y' message."""
    results: list[tuple[Loc, str, bool]] = []
    unions: dict[Loc, list[ErrorDetails]] = {}
    failing = [_without_tags(tuple(e["loc"]), doc) for e in errors]
    for err in errors:
        loc = _without_tags(tuple(err["loc"]), doc)
        if err["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in failing
        ):
            continue  # "empty" only because its entries failed: those are reported
        prefix, gap = _data_prefix(loc, doc)
        is_union_member = (
            gap >= 0
            and err["type"] not in ("missing", "extra_forbidden")
            and loc[gap] != "[key]"
            and not _is_discriminator_tag(_value_at(doc, prefix), loc[gap])
        )
        if is_union_member:
            unions.setdefault(prefix, []).append(err)
            continue
        results.append(_message(err, loc, prefix, gap))
    for prefix, errs in unions.items():
        tag_at = len(prefix)
        # a member whose error is not a plain type mismatch had the right shape: its
        # error is the one that says what is wrong (an empty list, a bad key...)
        shaped = [e for e in errs if len(e["loc"]) > tag_at + 1 or e["type"] not in _TYPE_WORDS]
        if shaped:
            for e in shaped:
                loc = tuple(e["loc"])
                clean = loc[:tag_at] + loc[tag_at + 1 :]
                p, g = _data_prefix(clean, doc)
                results.append(_message(e, clean, p, g))
            continue
        wanted: list[str] = []
        for e in errs:
            word = _TYPE_WORDS[e["type"]]
            if word not in wanted:
                wanted.append(word)
        got = _value_at(doc, prefix)
        results.append((prefix, f"expected {' or '.join(wanted)}, got {_show(got)}", False))
    return results


def _is_discriminator_tag(value: object, comp: object) -> bool:
    return (isinstance(value, dict) and value.get("type") == comp) or comp in UNION_TAGS


def _value_at(doc: YamlDocument, loc: Loc) -> object:
    node: object = doc.data
    for comp in loc:
        node = doc.step(node, comp)[0]
    return node


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {show_int(value)}"
    if isinstance(value, float):
        return f"the number {value!r}"
    text = str(value)
    return f"{text[:60]!r}" + ("..." if len(text) > 60 else "")


def _where(prefix: Loc) -> str:
    if not prefix:
        return "the definition"
    head = prefix[0]
    if isinstance(head, str) and head in COLLECTIONS and len(prefix) >= 2:
        singular = {"activities": "activity"}.get(head, head[:-1])
        return f"{singular} {prefix[1]!r}"
    if head == "transitions" and len(prefix) >= 2 and isinstance(prefix[1], int):
        rest = prefix[2:]
        inner = f" {rest[0]} {rest[1]!r}" if len(rest) >= 2 and rest[0] == "input" else ""
        return f"transition #{prefix[1] + 1}{inner}"
    return f"{head!r}"


def _message(err: ErrorDetails, loc: Loc, prefix: Loc, gap: int) -> tuple[Loc, str, bool]:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        name = loc[-1]
        return prefix, f"missing required key {name!r} in {_where(prefix)}", False
    if kind == "extra_forbidden":
        name = loc[-1]
        allowed = _allowed_keys(tuple(err["loc"])[:-1])
        listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return prefix, f"unknown key {name!r} in {_where(prefix[:-1])}{listing}", True
    at_key = gap >= 0 and loc[gap] == "[key]"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "_-]" in pattern:
            rule = "lowercase letters, digits, '_' and '-', starting with a letter"
        elif "A-Z" in pattern:
            rule = "a language code such as nl or en"
        elif "\\*" in pattern:
            rule = 'a state name or "*"'
        else:
            rule = "lowercase letters, digits and '_', starting with a letter"
        return prefix, f"{value!r} is not a valid name ({rule})", at_key
    if kind == "literal_error" and loc == ("coachflow",):
        return (
            prefix,
            f"unsupported format version {value!r}; this coachflow reads format "
            f"{FORMAT_VERSION} (coachflow: {FORMAT_VERSION})",
            False,
        )
    if kind == "literal_error" and ctx.get("expected") == "'keep'":
        return (
            prefix,
            f"expected keep or a period ({{after_end: P2Y}} or {{after_start: P2Y}}), "
            f"got {_show(value)}",
            False,
        )
    if kind == "union_tag_invalid":
        return (
            (*prefix, "type"),
            f"unknown type {_show(ctx.get('tag'))}; expected one of {', '.join(FACT_TYPES)}",
            False,
        )
    if kind == "union_tag_not_found":
        return prefix, f"missing required key 'type' in {_where(prefix)}", False
    if kind in _TYPE_WORDS:
        return prefix, f"expected {_TYPE_WORDS[kind]}, got {_show(value)}", at_key
    if kind == "too_short":
        if len(prefix) <= 1 or (prefix[0] in COLLECTIONS and len(prefix) == 2):
            return prefix, f"{_where(prefix)} must not be empty", False
        return prefix, f"{prefix[-1]!r} in {_where(prefix[:-1])} must not be empty", False
    if kind == "greater_than" and ctx.get("gt") == 0:
        return prefix, f"expected a positive integer, got {_show(value)}", False
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        word = "more than" if kind == "greater_than" else "at least"
        return prefix, f"expected a number {word} {bound}, got {_show(value)}", False
    if kind == "less_than_equal":
        return prefix, f"expected a number at most {ctx.get('le')}, got {_show(value)}", False
    if kind in ("value_error", "assertion_error"):
        return prefix, str(err["msg"]).removeprefix("Value error, "), False
    if kind == "invalid_key":
        return prefix, f"mapping keys must be strings, got {_show(value)}", True
    if kind == "finite_number":
        return prefix, "expected a finite number", False
    return prefix, str(err["msg"]), at_key


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts (by walking the model's annotations)."""
    tp: object = Definition
    for comp in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or n: f for n, f in tp.model_fields.items()}
            if not isinstance(comp, str) or comp not in fields:  # field names are strings
                return []
            tp = fields[comp].annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is dict:
            tp = args[1]
        elif origin is tuple:
            tp = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [_unwrap(a) for a in args]
            chosen = [m for m in members if _tag_of(m) == comp]
            tp = (
                chosen[0]
                if chosen
                else next(
                    (m for m in members if isinstance(m, type) and issubclass(m, BaseModel)), None
                )
            )
            if tp is None:
                return []
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next((a for a in map(_unwrap, typing.get_args(tp)) if _is_model(a)), None)
    if _is_model(tp):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _is_model(tp: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _unwrap(tp: object) -> object:
    """An annotation without its ``Annotated[...]`` metadata."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _tag_of(tp: object) -> object:
    if _is_model(tp) and "type" in tp.model_fields:
        args = typing.get_args(tp.model_fields["type"].annotation)
        return args[0] if args else None
    return None


# --- writing -------------------------------------------------------------------------------


def definition_data(definition: Definition) -> dict[str, object]:
    """The definition as plain data, keyed like the YAML file."""
    data: dict[str, object] = definition.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


class _Dumper(yaml.SafeDumper):
    """Writes strings so that :func:`read_yaml` reads them back as the same strings."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None
    try:
        as_read = _resolve_plain(value)
    except YamlProblem:
        as_read = None
    if not isinstance(as_read, str) or any(c in value for c in "\x85\u2028\u2029"):
        style = '"'  # would read back as a number, bool or null, or break a line
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_definition(definition: Definition, *, header: str | None = None) -> str:
    """The definition as YAML text that :func:`parse_definition` reads back equal."""
    text = yaml.dump(
        definition_data(definition),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return (header + "\n" if header else "") + text
