"""Time that acts: which reminders, escalations and timeouts a trajectory has, when, and
the records the worker makes of those that are due.

Every timer is one occurrence with a key unique in its trajectory:

* ``remind:<activity>:<before>:<roles>`` - a ``remind`` of a one-off activity, ``before``
  its due date, for the roles joined by ``+`` (topic ``activity.reminder``);
* ``escalate:<activity>:<after>:<roles>`` - an ``escalate``, ``after`` the due date
  (``activity.overdue``);
* ``timeout:<state>:<seq>:<after>:<event>`` - the ``timeout`` (``after``, ``event``) of the
  stay in a state that the record ``seq`` began (``state.timeout``): each stay has its own;
  a migration neither begins a stay nor renames it.

A key says what the timer is, not where the definition lists it: a migration to a version
that keeps a reminder (in any place of its list) or the state's timeout keeps it handled,
and one that changes it (another duration, other roles, another event; a state merged into
one that times out otherwise) makes a new one.

A notice is pending while its activity is expected and not done and the trajectory has not
ended; a timeout while the trajectory stays in the state. None is pending while the
trajectory is suspended; afterwards each date moves on by the suspended time (school days
for school-week durations and due weeks, calendar days otherwise). The worker handles a due
timer by one ``timer`` record (its key in the record's input, so the trajectory's
:class:`~coachflow.runtime.trajectory.Timing` holds it and it is never due again), and for a
timeout also the ``event`` record of the state's timeout event, fired by the actor
``system`` - both in one commit, so a timer is handled exactly once even when several
workers race (the store's version check refuses all but one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING

from coachflow._frozen import FrozenDict
from coachflow.durations import Duration, duration_key, shifted
from coachflow.errors import CoachflowError, TransitionRejected
from coachflow.runtime.agenda import due_date, stays
from coachflow.runtime.outbox import OVERDUE, REMINDER, TIMEOUT
from coachflow.runtime.trajectory import HistoryRecord, Trajectory, new_record

if TYPE_CHECKING:
    from coachflow.definition.model import Text
    from coachflow.runtime.decide import Moment
    from coachflow.runtime.program import Program

SYSTEM = "system"
"""The actor and the role of the worker (see :data:`coachflow.definition.model.SYSTEM`)."""


@dataclass(frozen=True, slots=True)
class Timer:
    """One reminder, escalation or timeout of a trajectory, and the day it is due."""

    key: str
    topic: str
    day: date
    subject: str
    """The activity (a notice) or the state (a timeout)."""
    to: tuple[str, ...] = ()
    """The roles a notice is for."""
    due: date | None = None
    """The activity's due date (a notice)."""
    event: str | None = None
    """The event a timeout fires."""
    message: Text | None = None
    after: Duration | None = None


Notice = tuple[str, str, Duration, tuple[str, ...], "Text | None"]
"""A reminder or escalation of an activity: key, topic, duration, roles, message."""


@dataclass(frozen=True, slots=True)
class TimerRules:
    """The timers of one definition version, compiled once (:attr:`Program.timers`)."""

    notices: tuple[tuple[str, tuple[Notice, ...]], ...]
    """Per activity with notices: ``(key, topic, duration, roles, message)`` each."""
    timeouts: Mapping[str, tuple[Duration, str]]
    """State -> its timeout's duration and event."""
    changing: frozenset[str] = frozenset()
    """The activities with notices whose ``expected`` reads the time (``today``,
    ``week``) or a predicate: it may turn true on a day no record is made."""

    @property
    def any(self) -> bool:
        return bool(self.notices or self.timeouts)


def timer_rules(program: Program) -> TimerRules:
    d = program.definition
    notices = []
    changing = set()
    for name, activity in d.activities.items():
        found: dict[str, Notice] = {}
        for kind, key, duration, notice in activity.notices(name):
            topic = REMINDER if kind == "remind" else OVERDUE
            found.setdefault(key, (key, topic, duration, notice.to, notice.message))
        if found and activity.due is not None:
            notices.append((name, tuple(found.values())))
            expr = program.expected.get(name)
            if expr is not None and (expr.time or expr.predicates):
                changing.add(name)
    timeouts = {
        name: (state.timeout.after, state.timeout.event)
        for name, state in d.states.items()
        if state.timeout is not None and not state.final
    }
    return TimerRules(tuple(notices), MappingProxyType(timeouts), frozenset(changing))


def pending(
    program: Program,
    t: Trajectory,
    expected: Mapping[str, Callable[[Trajectory], bool]] | None = None,
    waiting: list[Timer] | None = None,
    failing: list[tuple[str, CoachflowError]] | None = None,
) -> list[Timer]:
    """The timers of ``t`` not handled yet, earliest first (none while it is suspended,
    or has ended). With ``waiting``, the timers of activities not expected today whose
    ``expected`` may turn true by itself (:attr:`TimerRules.changing`), or cannot be
    evaluated now (a predicate failed), are added to it instead of being left out; without
    it, a failing predicate raises. ``failing`` gets each activity whose ``expected``
    raised, with the error."""
    rules: TimerRules = program.timers
    if not rules.any or t.state in program.definition.final_states:
        return []
    timing = t.timing
    if timing.suspended:
        return []
    handled, pauses, calendar = timing.handled, timing.pauses, t.calendar
    found: list[Timer] = []
    d = program.definition
    for name, notices in rules.notices:
        if t.counts.get(name):
            continue
        keys = [n for n in notices if n[0] not in handled]
        if not keys:
            continue
        check = expected.get(name) if expected else None
        into = found
        if check is not None:
            try:
                ok = check(t)
            except CoachflowError as exc:
                if waiting is None:
                    raise
                if failing is not None:
                    failing.append((name, exc))
                ok = False
                into = waiting
            else:
                if not ok and waiting is not None and name in rules.changing:
                    into = waiting
            if not ok and into is found:
                continue
        due = due_date(d, t, name, calendar)
        if due is None:
            continue
        for key, topic, duration, roles, message in keys:
            if topic == REMINDER:
                day = duration.before(due, calendar)
            else:
                day = shifted(
                    duration.after(due, calendar),
                    pauses,
                    school=duration.in_school_weeks,
                    calendar=calendar,
                    since=due,
                )
            into.append(Timer(key, topic, day, name, roles, due, message=message, after=duration))
    timeout = rules.timeouts.get(t.state)
    if timeout is not None:
        duration, event = timeout
        stay = stays(t)[-1]
        entered_on = stay.start
        stay_key = f"timeout:{stay.state}:{stay.seq}"
        key = f"{stay_key}:{duration_key(duration)}:{event}"
        # stay_key alone: the key a timeout had before it named its duration and event
        if key not in handled and stay_key not in handled:
            day = shifted(
                duration.after(entered_on, calendar),
                pauses,
                school=duration.in_school_weeks,
                calendar=calendar,
                since=entered_on,
            )
            found.append(Timer(key, TIMEOUT, day, t.state, event=event, after=duration))
    found.sort(key=lambda timer: (timer.day, timer.key))
    return found


def next_timer(
    program: Program,
    t: Trajectory,
    expected: Mapping[str, Callable[[Trajectory], bool]] | None = None,
    today: date | None = None,
) -> date | None:
    """The first day a timer of ``t`` is due (the store's index for the worker), or None.
    With ``today``, a timer whose activity is not expected today but may be later
    (:attr:`TimerRules.changing`) counts too, on tomorrow at the earliest: the worker
    asks again each day until it is expected, or done."""
    if not program.timers.any:
        return None
    waiting: list[Timer] | None = [] if today is not None else None
    timers = pending(program, t, expected, waiting)
    days = [timer.day for timer in timers[:1]]
    if waiting and today is not None:
        tomorrow = today + timedelta(days=1) if today < date.max else today
        days += [max(timer.day, tomorrow) for timer in waiting]
    return min(days) if days else None


def timer_record(
    t: Trajectory, timer: Timer, moment: Moment, fired: str | None, refused: tuple[str, ...]
) -> HistoryRecord:
    """The ``timer`` record of handling ``timer`` now (``fired``: the timeout's event when
    the machine took it; ``refused``: the codes why not). Its ``event`` is the timer's key
    (never an event's name: a timeout's event has a record of its own)."""
    people = FrozenDict({role: tuple(t.participants.get(role, ())) for role in timer.to})
    given: dict[str, object] = {
        "item": timer.key,
        "topic": timer.topic,
        "subject": timer.subject,
        "day": timer.day,
        "to": people,
    }
    if timer.due is not None:
        given["due"] = timer.due
    if timer.message is not None:
        given["message"] = timer.message
    if timer.event is not None:
        given["event"] = timer.event
        given["fired"] = fired is not None
        if refused:
            given["refused"] = tuple(refused)
    return new_record(
        t.version + 1,
        moment.now,
        SYSTEM,
        SYSTEM,
        "timer",
        timer.key,
        t.state,
        t.state,
        FrozenDict(given),
    )


def decide_due(
    program: Program,
    t: Trajectory,
    today: date,
    moment: Moment,
    fire: Callable[[Trajectory, str], HistoryRecord],
    expected: Mapping[str, Callable[[Trajectory], bool]] | None = None,
    failing: list[tuple[str, CoachflowError]] | None = None,
) -> list[HistoryRecord]:
    """The records of handling the first timer of ``t`` due on or before ``today``: its
    ``timer`` record, and for a timeout whose event the machine takes (``fire``: decides
    the event as the actor ``system``) that event's record. Empty when none is due.
    An activity whose ``expected`` raises is left for a later pass (and added to
    ``failing``), never holding up the other timers of ``t``."""
    found = pending(program, t, expected, [], failing)
    due = [timer for timer in found if timer.day <= today]
    if not due:
        return []
    timer = due[0]
    if timer.topic != TIMEOUT or timer.event is None:
        return [timer_record(t, timer, moment, None, ())]
    try:
        event = fire(t, timer.event)
    except TransitionRejected as exc:
        codes = tuple(dict.fromkeys(r.code for r in exc.reasons))
        return [timer_record(t, timer, moment, None, codes)]
    record = timer_record(t, timer, moment, timer.event, ())
    return [record, event._replace(seq=record.seq + 1)]


__all__ = [
    "SYSTEM",
    "Timer",
    "TimerRules",
    "decide_due",
    "next_timer",
    "pending",
    "timer_record",
    "timer_rules",
]
