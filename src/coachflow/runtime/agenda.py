"""School calendars, due dates, the agenda of a trajectory, and iCalendar export.

Weeks count from the trajectory's start date: week 1 is the calendar week (Monday to
Sunday) that holds the start date, and a due week means the last day (Sunday) of that
week. With a :class:`SchoolCalendar`, "week N" is the N-th *school* week: weeks whose
weekdays are all holidays are skipped.

Agenda statuses: ``done``; ``upcoming``; ``due`` (due within 7 days); ``overdue`` (past
its due date, not done); ``missed`` (a recurring period that ended with fewer than
``at_least`` records while the trajectory was in one of the activity's states).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from coachflow.calendar import SchoolCalendar, monday_of, week_end
from coachflow.definition.plain import PERIOD_NAMES, text_of
from coachflow.runtime.trajectory import Trajectory

if TYPE_CHECKING:
    from coachflow.definition.model import Definition, FactRef, Text

Status = Literal["done", "upcoming", "due", "overdue", "missed"]
STATUS_ORDER: dict[str, int] = {"missed": 0, "overdue": 0, "due": 1, "upcoming": 2, "done": 3}
DUE_SOON_DAYS = 7


# --- where the trajectory was when ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """The trajectory was in ``state`` from ``start`` to ``end`` (None: still there)."""

    state: str
    start: date
    end: date | None


def stays(trajectory: Trajectory) -> list[Stay]:
    """Every state the trajectory was in, with dates (from its history)."""
    result: list[Stay] = []
    current: str | None = None
    since = trajectory.start_date
    for r in trajectory.history:
        if r.kind == "started":
            current, since = r.target, trajectory.start_date
        elif r.kind == "event" and r.target != r.source and current is not None:
            day = max(r.at.date(), since)
            result.append(Stay(current, since, day))
            current, since = r.target, day
    if current is not None:
        result.append(Stay(current, since, None))
    return result


def state_on(all_stays: Sequence[Stay], day: date) -> str | None:
    """The state the trajectory was in at the end of ``day``."""
    found = None
    for s in all_stays:
        if s.start <= day and (s.end is None or day < s.end):
            found = s.state
    return found


def entered(all_stays: Sequence[Stay], states: Iterable[str]) -> date | None:
    """When the trajectory first entered one of ``states``."""
    wanted = set(states)
    return next((s.start for s in all_stays if s.state in wanted), None)


# --- the agenda ---------------------------------------------------------------------------


class AgendaItem(NamedTuple):
    """One thing to do (or done) in a trajectory."""

    activity: str
    due_date: date | None
    status: str
    roles: tuple[str, ...]
    trajectory_id: str = ""
    title: str | None = None
    period_start: date | None = None
    records: int = 0
    """How many records of the activity count for this item."""

    @property
    def uid(self) -> str:
        """A stable identifier (for calendars): the same item keeps it across exports."""
        period = self.period_start.isoformat() if self.period_start else "once"
        return f"{self.trajectory_id}.{self.activity}.{period}@coachflow"


def activity_dates(trajectory: Trajectory, activity: str, until: date | None = None) -> list[date]:
    """The days an activity took place (up to ``until``)."""
    days = (
        r.on or r.at.date()
        for r in trajectory.history
        if r.kind == "activity" and r.event == activity
    )
    return [d for d in days if until is None or d <= until]


def due_date(
    definition: Definition,
    trajectory: Trajectory,
    activity: str,
    calendar: SchoolCalendar | None,
    all_stays: Sequence[Stay] | None = None,
) -> date | None:
    """When a one-off activity is due (None when that is not known yet)."""
    due = definition.activities[activity].due
    if due is None:
        return None
    if due.week is not None:
        return week_end(trajectory.start_date, due.week, calendar)
    if due.days is not None:
        since = entered(
            all_stays if all_stays is not None else stays(trajectory),
            definition.activity_states(activity),
        )
        return None if since is None else since + timedelta(days=due.days)
    value = trajectory.facts.get(due.fact or "")
    return value if isinstance(value, date) else None


def _period_of(every: str, day: date, anchor: date, start_date: date) -> tuple[date, date]:
    """The period of kind ``every`` holding ``day``: a calendar week or month, a fortnight
    counted from the Monday of ``anchor``, or a year of the trajectory from ``start_date``."""
    if every == "week":
        first = monday_of(day)
        return first, first + timedelta(days=6)
    if every == "fortnight":
        first = monday_of(anchor)
        first += timedelta(weeks=2 * ((day - first).days // 14))
        return first, first + timedelta(days=13)
    if every == "month":
        first = day.replace(day=1)
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first, nxt - timedelta(days=1)
    years = day.year - start_date.year
    while _add_years(start_date, years) > day:
        years -= 1
    while _add_years(start_date, years + 1) <= day:
        years += 1
    return _add_years(start_date, years), _add_years(start_date, years + 1) - timedelta(days=1)


def _periods(
    frequency: Callable[[date], str | None], first: date, last: date, start_date: date
) -> list[tuple[date, date]]:
    """The periods from the one holding ``first`` up to ``last``. Each period's kind is
    the ``frequency`` on its first day (from ``first`` on); a day without one asks
    nothing."""
    periods: list[tuple[date, date]] = []
    day = first
    while day <= last:
        every = frequency(day)
        if every is None:
            day += timedelta(days=1)
            continue
        start, end = _period_of(every, day, first, start_date)
        periods.append((start if not periods else max(start, day), end))
        day = end + timedelta(days=1)
    return periods


def _frequency(trajectory: Trajectory, every: str | FactRef) -> Callable[[date], str | None]:
    """The period kind of a recurring activity on a day: fixed, or the value its fact held
    at the end of that day (read from the history). The fact counts from the trajectory's
    start date, or from its last migration: before that, another version's rules held."""
    if isinstance(every, str):
        return lambda day: every
    changes: list[tuple[date, str | None]] = []
    for r in trajectory.history:
        if every.fact in r.changes or r.kind in ("started", "migrated"):
            value = r.changes.get(every.fact)
            day = r.at.date()
            if r.kind == "started":
                day = min(day, trajectory.start_date)  # as stays() counts it
            elif r.kind == "migrated":
                changes = [(date.min, None)]
            changes.append((day, PERIOD_NAMES.get(value) if isinstance(value, str) else None))
    days = [d for d, _ in changes]

    def on(day: date) -> str | None:
        i = bisect_right(days, day)
        return changes[i - 1][1] if i else None

    return on


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def agenda(
    definition: Definition,
    trajectory: Trajectory,
    as_of: date,
    calendar: SchoolCalendar | None = None,
    expected: Mapping[str, Callable[[Trajectory], bool]] | None = None,
) -> list[AgendaItem]:
    """Every activity of the trajectory with its due date and status on ``as_of``.

    ``expected``: per activity, whether it is expected now (an activity's ``expected``
    expression); one that is not expected and not done is left out.
    """
    all_stays = stays(trajectory)
    final = trajectory.state in definition.final_states
    items: list[AgendaItem] = []
    for name, activity in definition.activities.items():
        title = _title(activity.title)
        roles = activity.by
        dates = activity_dates(trajectory, name, as_of)
        check = expected.get(name) if expected else None
        if check is not None and not dates and not check(trajectory):
            continue
        if activity.recurring is not None:
            items.extend(
                _recurring_items(
                    definition, trajectory, name, as_of, calendar, all_stays, dates, title
                )
            )
            continue
        due = due_date(definition, trajectory, name, calendar, all_stays)
        count = len(dates)
        if count:
            status = "done"
        elif final:
            continue  # the trajectory has ended: nothing is still to do
        elif due is None or (due - as_of).days > DUE_SOON_DAYS:
            status = "upcoming"
        elif as_of > due:
            status = "overdue"
        else:
            status = "due"
        items.append(AgendaItem(name, due, status, roles, trajectory.id, title, None, count))
    return items


def _recurring_items(
    definition: Definition,
    trajectory: Trajectory,
    name: str,
    as_of: date,
    calendar: SchoolCalendar | None,
    all_stays: Sequence[Stay],
    dates: Sequence[date],
    title: str | None,
) -> list[AgendaItem]:
    activity = definition.activities[name]
    assert activity.recurring is not None
    during = set(definition.activity_states(name))
    first = entered(all_stays, during)
    if first is None or first > as_of:
        return []
    at_least = activity.recurring.at_least
    items = []
    frequency = _frequency(trajectory, activity.recurring.every)
    for start, end in _periods(frequency, first, as_of, trajectory.start_date):
        if calendar is not None and not calendar.has_school_day(start, end):
            continue  # a holiday period asks nothing
        count = sum(1 for d in dates if start <= d <= end)
        status: str | None
        if count >= at_least:
            status = "done"
        elif end < as_of:
            status = "missed" if state_on(all_stays, end) in during else None
        elif state_on(all_stays, as_of) in during:
            status = "due" if (end - as_of).days <= DUE_SOON_DAYS else "upcoming"
        else:
            status = None
        if status is not None:
            items.append(
                AgendaItem(name, end, status, activity.by, trajectory.id, title, start, count)
            )
    return items


def _title(text: Text | None) -> str | None:

    return text_of(text)


def most_urgent_first(items: Iterable[AgendaItem]) -> list[AgendaItem]:
    return sorted(
        items,
        key=lambda i: (STATUS_ORDER[i.status], i.due_date or date.max, i.trajectory_id),
    )


# --- iCalendar ---------------------------------------------------------------------------


__all__ = ["AgendaItem", "agenda", "due_date", "most_urgent_first"]
