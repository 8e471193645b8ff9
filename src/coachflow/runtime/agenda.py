"""School calendars, due dates, the agenda of a trajectory, and iCalendar export.

Weeks count from the trajectory's start date: week 1 is the calendar week (Monday to
Sunday) that holds the start date, and a due week means the last day (Sunday) of that
week. With a :class:`SchoolCalendar`, "week N" is the N-th *school* week: weeks whose
weekdays are all holidays are skipped.

Agenda statuses: ``done``; ``upcoming``; ``due`` (due within 7 days); ``overdue`` (past
its due date, not done); ``missed`` (a recurring period that ended with fewer than
``at_least`` records while the trajectory was in one of the activity's states);
``suspended`` (not done, and the trajectory is suspended: nothing is due; its due date is
where it would be were the trajectory resumed that day).

A suspension moves every due date that follows its start on by the time it lasted:
school days for a due week, calendar days for ``days`` and ``fact`` (see
:func:`coachflow.durations.shifted`); a recurring period that lies wholly within one asks
nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from coachflow.calendar import SchoolCalendar, due_before, monday_of, week_end
from coachflow.clock import day_of
from coachflow.definition.plain import DEFAULT_LANGUAGE, PERIOD_NAMES, text_of
from coachflow.durations import shifted
from coachflow.runtime.trajectory import Trajectory

if TYPE_CHECKING:
    from coachflow.definition.model import Definition, FactRef

Status = Literal["done", "upcoming", "due", "overdue", "missed", "suspended"]
STATUS_ORDER: dict[str, int] = {
    "missed": 0,
    "overdue": 0,
    "due": 1,
    "upcoming": 2,
    "suspended": 2,
    "done": 3,
}
DUE_SOON_DAYS = 7


# --- where the trajectory was when ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """The trajectory was in ``state`` from ``start`` to ``end`` (None: still there)."""

    state: str
    start: date
    end: date | None
    seq: int = 0
    """The seq of the record that began the stay (the start, or an event)."""


def stays(trajectory: Trajectory) -> list[Stay]:
    """Every state the trajectory was in, with dates (from its history)."""
    result: list[Stay] = []
    current: str | None = None
    since = trajectory.start_date
    began = 0
    for r in trajectory.history:
        if r.kind == "started":
            current, since, began = r.target, trajectory.start_date, r.seq
        elif r.kind == "event" and r.target != r.source and current is not None:
            day = max(day_of(r.at), since)
            result.append(Stay(current, since, day, began))
            current, since, began = r.target, day, r.seq
    if current is not None:
        result.append(Stay(current, since, None, began))
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
    notice: str | None = None
    """What a planner must know about the due date: it was kept before a holiday
    (``due: {before: ...}``), or it lies past the end of the school calendar."""
    version: int = 0
    """The version of the trajectory the item was read at: it only grows, with every change
    of the trajectory (a calendar feed's ``SEQUENCE`` is made of it)."""

    @property
    def uid(self) -> str:
        """A stable identifier (for calendars): the same item keeps it across exports."""
        period = self.period_start.isoformat() if self.period_start else "once"
        return f"{self.trajectory_id}.{self.activity}.{period}@coachflow"


def activity_dates(trajectory: Trajectory, activity: str, until: date | None = None) -> list[date]:
    """The days an activity took place (up to ``until``)."""
    days = (
        r.on or day_of(r.at)
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
    """When a one-off activity is due (None when that is not known yet), moved on by the
    suspensions that ended before it (one that lasts moves nothing yet)."""
    return _due(definition, trajectory, activity, calendar, all_stays)[0]


def _due(
    definition: Definition,
    trajectory: Trajectory,
    activity: str,
    calendar: SchoolCalendar | None,
    all_stays: Sequence[Stay] | None = None,
    as_of: date | None = None,
) -> tuple[date | None, str | None]:
    """When a one-off activity is due, and the agenda's notice about that date; moved on
    by the trajectory's suspensions (one that lasts counts up to ``as_of``)."""
    due = definition.activities[activity].due
    if due is not None and due.days is not None and all_stays is None:
        all_stays = stays(trajectory)  # read once, for the date and its pauses
    day, notice = _planned_due(definition, trajectory, activity, calendar, all_stays)
    pauses = trajectory.timing.pauses
    if day is None or not pauses:
        return day, notice
    school = due is not None and due.week is not None
    since = None
    if due is not None and due.days is not None and all_stays is not None:
        # counted from entering a state: a pause before that moves nothing, one lasting
        # then from that day on
        since = entered(all_stays, definition.activity_states(activity))
    shift = shifted(day, pauses, school=school, calendar=calendar, as_of=as_of, since=since)
    return shift, notice


def _planned_due(
    definition: Definition,
    trajectory: Trajectory,
    activity: str,
    calendar: SchoolCalendar | None,
    all_stays: Sequence[Stay] | None = None,
) -> tuple[date | None, str | None]:
    """When a one-off activity is due as planned (no suspension), and its notice."""
    due = definition.activities[activity].due
    if due is None:
        return None, None
    day: date | None
    if due.week is not None:
        day = week_end(trajectory.start_date, due.week, calendar)
    elif due.days is not None:
        since = entered(
            all_stays if all_stays is not None else stays(trajectory),
            definition.activity_states(activity),
        )
        day = None if since is None else since + timedelta(days=due.days)
    else:
        value = trajectory.facts.get(due.fact or "")
        day = value if isinstance(value, date) else None
    if day is None:
        return None, None
    kept, holiday = due_before(day, trajectory.start_date, calendar, due.before)
    if holiday is not None and due.week is not None and day - timedelta(days=2) < holiday.start:
        # every school day of week N (to its Friday) comes before the holiday: only its
        # weekend is in it
        return kept, None
    if holiday is not None:
        when = f"school week {due.week}" if due.week is not None else "its due date"
        return kept, (
            f"{when} ({day.isoformat()}) falls after the start of the {holiday.name} "
            f"({holiday.start.isoformat()}) in this school calendar; the activity belongs "
            f"before it, so it is due on {kept.isoformat()}"
        )
    found = None
    if due.before is not None and calendar is not None:
        found = calendar.holiday(due.before, trajectory.start_date)
    if found is not None and found.start <= trajectory.start_date:
        return day, (
            f"the activity belongs before the {found.name} ({found.start.isoformat()} to "
            f"{found.end.isoformat()}), and the trajectory started on "
            f"{trajectory.start_date.isoformat()}, after it began: it cannot be kept before it"
        )
    if due.before is not None and found is None:
        return day, (
            f"the activity belongs before the holiday {due.before!r}, which "
            + (
                "the trajectory has no school calendar for"
                if calendar is None
                else f"the school calendar {calendar.name!r} does not have"
            )
        )
    return day, _past_calendar(day, calendar)


def calendar_warning(
    definition: Definition, start: date, calendar: SchoolCalendar | None
) -> str | None:
    """Why the weeks of a trajectory of ``definition`` started on ``start`` run past its
    school calendar (its planned weeks: states' ``weeks`` and due weeks), or ``None``."""
    if calendar is None:
        return None
    weeks = [a.due.week for a in definition.activities.values() if a.due and a.due.week]
    weeks += [s.weeks.to for s in definition.states.values() if s.weeks is not None]
    if not calendar.covers(start):
        return (
            f"the trajectory starts on {start.isoformat()}, outside the school calendar "
            f"{calendar.name!r}: its holidays do not apply there"
        )
    if not weeks:
        return None
    last = week_end(start, max(weeks), calendar)
    if calendar.covers(last):
        return None
    return (
        f"week {max(weeks)} of the trajectory ends on {last.isoformat()}, after the end of the "
        f"school calendar {calendar.name!r} ({calendar.last_day}): past it every week is "
        "counted as a school week"
    )


def _past_calendar(day: date, calendar: SchoolCalendar | None) -> str | None:
    """The notice of a due date past the end of the school calendar, if it is."""
    if calendar is None or calendar.covers(day):
        return None
    last = calendar.last_day
    if last is not None and day > last:
        return (
            f"due {day.isoformat()}, after the end of the school calendar {calendar.name!r} "
            f"({last.isoformat()}): its holidays are not known there, so every week is "
            "counted as a school week"
        )
    return f"due {day.isoformat()}, before the school year of the calendar {calendar.name!r}"


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
            day = day_of(r.at)
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
    language: str = DEFAULT_LANGUAGE,
) -> list[AgendaItem]:
    """Every activity of the trajectory with its due date and status on ``as_of``.

    ``expected``: per activity, whether it is expected now (an activity's ``expected``
    expression); one that is not expected and not done is left out. ``language``: of the
    items' titles (falling back to Dutch).
    """
    all_stays = stays(trajectory)
    t_version = trajectory.version
    final = trajectory.state in definition.final_states
    suspended = trajectory.timing.suspended
    items: list[AgendaItem] = []
    for name, activity in definition.activities.items():
        title = text_of(activity.title, language)
        roles = activity.by
        dates = activity_dates(trajectory, name, as_of)
        if activity.recurring is not None and activity.recurring.include:
            for other in activity.recurring.include:
                dates += activity_dates(trajectory, other, as_of)
            dates.sort()
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
        due, notice = _due(definition, trajectory, name, calendar, all_stays, as_of)
        count = len(dates)
        if count:
            status = "done"
        elif final:
            continue  # the trajectory has ended: nothing is still to do
        elif suspended:
            status = "suspended"
        elif due is None or (due - as_of).days > DUE_SOON_DAYS:
            status = "upcoming"
        elif as_of > due:
            status = "overdue"
        else:
            status = "due"
        items.append(
            AgendaItem(
                name, due, status, roles, trajectory.id, title, None, count, notice, t_version
            )
        )
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
    pauses = trajectory.timing.pauses
    for start, end in _periods(frequency, first, as_of, trajectory.start_date):
        if calendar is not None and not calendar.has_school_day(start, end):
            continue  # a holiday period asks nothing
        pause = next((p for p in pauses if p[0] <= start and (p[1] is None or end < p[1])), None)
        count = sum(1 for d in dates if start <= d <= end)
        status: str | None
        if pause is not None and pause[1] is not None and count < at_least:
            continue  # a period wholly suspended asks nothing
        if count >= at_least:
            status = "done"
        elif pause is not None or (pauses and pauses[-1][1] is None and pauses[-1][0] <= end):
            status = "suspended"
        elif end < as_of:
            status = "missed" if state_on(all_stays, end) in during else None
        elif state_on(all_stays, as_of) in during:
            status = "due" if (end - as_of).days <= DUE_SOON_DAYS else "upcoming"
        else:
            status = None
        if status is not None:
            items.append(
                AgendaItem(
                    name,
                    end,
                    status,
                    activity.by,
                    trajectory.id,
                    title,
                    start,
                    count,
                    _past_calendar(end, calendar),
                    trajectory.version,
                )
            )
    return items


def most_urgent_first(items: Iterable[AgendaItem]) -> list[AgendaItem]:
    return sorted(
        items,
        key=lambda i: (STATUS_ORDER[i.status], i.due_date or date.max, i.trajectory_id),
    )


# --- iCalendar ---------------------------------------------------------------------------


__all__ = ["AgendaItem", "agenda", "calendar_warning", "due_date", "most_urgent_first"]
