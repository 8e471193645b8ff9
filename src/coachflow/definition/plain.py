"""What the runtime reads from the definition language without pydantic: dates, texts,
periods and transition sources.

:mod:`coachflow.definition.model` re-exports every name here; the runtime and the engine
import them from this module, so that ``import coachflow; coachflow.Engine`` loads no
pydantic (it loads when a definition is first read or checked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from coachflow._bounds import shown

if TYPE_CHECKING:
    from coachflow.definition.model import State, Text

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
