"""What the runtime reads from the definition language without pydantic: dates, texts,
periods, transition sources, and the one reading rule of confidential fields.

:mod:`coachflow.definition.model` re-exports every name here; the runtime and the engine
import them from this module, so that ``import coachflow; coachflow.Engine`` loads no
pydantic (it loads when a definition is first read or checked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from coachflow._bounds import shown

if TYPE_CHECKING:
    from coachflow.definition.model import AnyInput, State, Text

DEFAULT_LANGUAGE = "nl"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: object) -> date:
    """Accept a :class:`date` or an ISO ``YYYY-MM-DD`` string; nothing else (not a
    ``datetime``: a moment is not a day)."""
    if isinstance(value, datetime):
        raise ValueError(f"expected a date, got the date-time {value.isoformat()!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid date") from exc
    raise ValueError(f"expected a date written YYYY-MM-DD, got {shown(value)}")


def text_of(value: Text | None, language: str = DEFAULT_LANGUAGE) -> str | None:
    """The text in ``language`` (falling back to Dutch, then to any language)."""
    if value is None or isinstance(value, str):
        return value
    for lang in (language, DEFAULT_LANGUAGE):
        if lang in value:
            return value[lang]
    return next(iter(value.values()), None)


PERIODS: tuple[str, ...] = ("week", "fortnight", "month", "year")
"""The periods of a recurring activity."""
PERIOD_NAMES: dict[str, str] = {
    **{p: p for p in PERIODS},
    "weekly": "week",
    "fortnightly": "fortnight",
    "monthly": "month",
    "yearly": "year",
}
"""The values a frequency fact may hold, each with its period."""


def expand_sources(from_: str | tuple[str, ...], states: Mapping[str, State]) -> tuple[str, ...]:
    """The states a transition with this ``from`` leaves (``*``: every non-final state)."""
    if from_ == "*":
        return tuple(name for name, s in states.items() if not s.final)
    if isinstance(from_, str):
        return (from_,)
    return tuple(dict.fromkeys(from_))  # a state listed twice leaves once


def leaves(from_: str | tuple[str, ...], state: str, states: Mapping[str, State]) -> bool:
    """Whether a transition with this ``from`` leaves ``state``: ``state in
    expand_sources(from_, states)`` without building the expansion."""
    if from_ == "*":
        spec = states.get(state)
        return spec is not None and not spec.final
    if isinstance(from_, str):
        return from_ == state
    return state in from_


# --- who may read a confidential value ------------------------------------------------------


class Rule(NamedTuple):
    """One input spec's reading rule: ``visible_to`` (None: every participant) and
    ``disclose_to`` as sorted ``(role, consent)`` pairs."""

    visible_to: tuple[str, ...] | None
    disclose_to: tuple[tuple[str, str], ...]


Label = tuple[Rule, ...]
"""Who may read one input value: a reader must pass every rule (each spec that described
the field when it was written: the strictest of them wins)."""


def rule_of(spec: AnyInput) -> Rule:
    """The reading rule of one input spec."""
    visible = spec.visible_to
    return Rule(
        tuple(sorted(visible)) if visible is not None else None,
        tuple(sorted(spec.disclose_to.items())),
    )


def labels_of(specs: Iterable[Mapping[str, AnyInput]]) -> Mapping[str, Label]:
    """The labels of the fields these input specs describe: each confidential field gets
    every rule any of them declares for it (a reader must pass them all, so the strictest
    wins); a field no spec makes confidential gets none."""
    rules: dict[str, dict[Rule, None]] = {}
    for inputs in specs:
        for name, spec in inputs.items():
            if spec.confidential:
                rules.setdefault(name, {})[rule_of(spec)] = None
    return MappingProxyType({name: tuple(found) for name, found in rules.items()})


def rule_basis(rule: Rule, roles: Iterable[str], consents: Mapping[str, bool]) -> str | None:
    """Why someone holding ``roles`` passes ``rule`` (``consent:<c>`` or ``role:<r>``), or
    None: a role named in ``disclose_to`` reads while its consent is granted; otherwise a
    role in ``visible_to`` reads, or with no ``visible_to`` any role ``disclose_to`` does not
    name."""
    roles = tuple(roles)
    for role, consent in rule.disclose_to:
        if role in roles and consents.get(consent, False):
            return f"consent:{consent}"
    disclosed = {role for role, _ in rule.disclose_to}
    visible = rule.visible_to
    for role in roles:
        if role in visible if visible is not None else role not in disclosed:
            return f"role:{role}"
    return None


def label_basis(label: Label, roles: Iterable[str], consents: Mapping[str, bool]) -> str | None:
    """Why someone holding ``roles`` (not the author) may read a value with ``label`` now:
    every rule must let them (a consent named when one did), or None. No roles: None."""
    roles = tuple(roles)
    if not roles:
        return None  # not a participant
    found: list[str] = []
    for rule in label:
        why = rule_basis(rule, roles, consents)
        if why is None:
            return None
        found.append(why)
    if not found:
        return f"role:{roles[0]}"  # no rule: every participant reads it
    return next((why for why in found if why.startswith("consent:")), found[0])


def may_read(label: Label, roles: Iterable[str], consents: Mapping[str, bool]) -> bool:
    """Whether someone holding ``roles`` (not the author) may read a value with ``label``."""
    return label_basis(label, roles, consents) is not None
