"""Where coachflow gets the time: an injectable clock.

An object with ``now() -> datetime`` (timezone-aware) is a clock. Tests use
:class:`FixedClock`; everything else gets :class:`SystemClock`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that says what it is told: for tests and replays.

    ``advance()`` moves it forward; ``set()`` puts it anywhere.
    """

    def __init__(self, at: datetime | date | str = "2026-09-01T09:00:00+00:00") -> None:
        self._now = _aware(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime | date | str) -> None:
        self._now = _aware(at)

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        self._now += timedelta(days=days, hours=hours, minutes=minutes)
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()!r})"


def _aware(at: datetime | date | str) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, tzinfo=UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock's time must be timezone-aware, got {at!r}")
    return at


def day_of(at: datetime) -> date:
    """The day a record written at ``at`` took place: its date in UTC. The stores keep
    moments in UTC, so a record is dated alike on every store, before and after a reload,
    whatever the offset of the clock that wrote it."""
    return at.astimezone(UTC).date() if at.utcoffset() else at.date()


def checked_now(clock: Clock) -> datetime:
    """``clock.now()``, refusing a naive datetime (it would make history ambiguous)."""
    kind = type(clock)
    if kind is SystemClock or kind is FixedClock:  # aware by construction
        return clock.now()
    now = clock.now()
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"clock {clock!r} returned {now!r}; a timezone-aware datetime is needed")
    return now
