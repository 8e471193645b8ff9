"""The built-in trajectory ``starter-coach-network`` (issue 6), version 3: one test per rule.

Source: ``shared/sources/leernetwerk-starterscoaches.txt``; the rules in Dutch and English
are in ``docs/trajectories/starter-coach-network.md``. Every rule test quotes the source
sentence it enforces (checked against the source by
``test_every_rule_test_and_every_definition_comment_quotes_the_source_exactly``) and shows
the right path and the wrong one, refused with the right exception and reason code.
Versions 1 and 2 are kept in ``data/starter-coach-network-v1.yaml`` and ``-v2.yaml``; the
moves from 1 to 2 and from 2 to 3 are tested in ``test_versions_starter_coach_network.py``.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import coachflow
from coachflow import (
    Engine,
    FixedClock,
    GuardFailed,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    Trajectory,
    TransitionRejected,
)
from coachflow.files.diagram import to_mermaid
from coachflow.testing import trajectory_machine

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "definitions" / "starter-coach-network.yaml"
DEFINITION = coachflow.load_definition(PATH)
DOC = ROOT / "docs" / "trajectories" / "starter-coach-network.md"
SOURCE = ROOT.parent / "shared" / "sources" / "leernetwerk-starterscoaches.txt"
T0 = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)

FAC, COACH_A, COACH_B = "p-fac", "p-coach-anna", "p-coach-bas"
STUDENT_1, STUDENT_2 = "p-stu-evi", "p-stu-noor"
ROUNDS = {"round_1": "2026-11-11", "round_2": "2027-02-10", "round_3": "2027-05-12"}
WORKSHOPS = [
    (1, "Rekenen in groep 3", "OBS De Linde"),
    (1, "Klassenmanagement", "KBS Het Palet"),
    (1, "Ouders betrekken", "OBS Tweestroom"),
    (2, "Coöperatief leren", "OBS De Linde"),
    (2, "Begrijpend lezen", "KBS Het Palet"),
    (2, "Executieve functies", "KBS De Wieken"),
    (3, "Meer- en hoogbegaafdheid", "OBS Tweestroom"),
    (3, "Formatief evalueren", "KBS De Wieken"),
    (3, "Rust in de klas", "OBS De Linde"),
]
TIPS = ("invite", "inventory", "room")

# A school year: (day, kind, name, actor, input). Kind "assign" binds input["person"].
# The second meeting is at the POS: no room is reserved for it (a tip, not a condition).
Step = tuple[str, str, str, str, dict[str, Any] | None]
ROUTE: list[Step] = [
    ("2026-08-24", "event", "plan_meeting_1", FAC, {"date": "2026-10-08"}),
    ("2026-08-24", "event", "plan_meeting_2", FAC, {"date": "2027-03-18"}),
    ("2026-09-01", "activity", "invite_1", FAC, None),
    ("2026-09-02", "assign", "coach", COACH_A, {"person": COACH_B}),
    ("2026-09-07", "event", "plan_workshop_rounds", COACH_A, ROUNDS),
    ("2026-09-14", "activity", "inventory_1", FAC, {"topics": "Startende leerkracht en ouders"}),
    ("2026-09-15", "activity", "room_1", FAC,
     {"location": "OBS De Linde, Vught", "at_participant_school": True, "host": COACH_B}),
    ("2026-09-21", "activity", "contribution", COACH_A,
     {"kind": "case", "summary": "Starter die vastloopt in groep 8"}),
    ("2026-09-28", "activity", "contribution", COACH_B,
     {"kind": "good_practice", "summary": "Maatjesrooster voor starters"}),
    *[("2026-10-01", "activity", "offer_workshop", COACH_A if i % 2 else COACH_B,
       {"round": r, "name": n, "school": s}) for i, (r, n, s) in enumerate(WORKSHOPS)],
    ("2026-10-08", "event", "hold_meeting_1", FAC, None),
    ("2026-10-12", "assign", "student", COACH_A, {"person": STUDENT_1}),
    ("2026-10-12", "assign", "student", COACH_B, {"person": STUDENT_2}),
    ("2026-11-11", "activity", "workshop_round_1", STUDENT_1,
     {"workshop": "Rekenen in groep 3", "tour": True}),
    ("2026-11-11", "activity", "workshop_round_1", STUDENT_2, {"workshop": "Klassenmanagement"}),
    ("2027-01-11", "activity", "invite_2", FAC, None),
    ("2027-01-25", "activity", "inventory_2", FAC, {"topics": "Inductie en kwaliteit"}),
    ("2027-02-10", "activity", "workshop_round_2", STUDENT_1, {"workshop": "Begrijpend lezen"}),
    ("2027-02-10", "activity", "workshop_round_2", STUDENT_2,
     {"workshop": "Executieve functies"}),
    ("2027-03-18", "event", "hold_meeting_2", FAC, None),
    ("2027-05-12", "activity", "workshop_round_3", STUDENT_1, {"workshop": "Rust in de klas"}),
    ("2027-07-09", "event", "close_year", FAC, None),
]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


class Run:
    """One school year on an engine with a clock the route moves along."""

    def __init__(
        self,
        start: str = "2026-08-24",
        on: tuple[Engine, FixedClock] | None = None,
        participants: dict[str, Any] | None = None,
        **people: Any,
    ) -> None:
        if on is None:
            self.clock = FixedClock(datetime.fromisoformat(start).replace(hour=9, tzinfo=UTC))
            self.engine = Engine([DEFINITION], clock=self.clock)
        else:  # another trajectory on the same engine and clock
            self.engine, self.clock = on
        everyone = participants or {"facilitator": FAC, "coach": [COACH_A], **people}
        self.t = self.engine.start(
            "starter-coach-network", participants=everyone, actor=FAC, start_date=start
        )
        self.id = self.t.id
        self.done = 0

    def step(self, step: Step) -> Trajectory:
        day, kind, name, actor, payload = step
        when = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        if when > self.clock.now():
            self.clock.set(when)
        if kind == "event":
            self.t = self.engine.fire(self.id, name, actor=actor, input=payload)
        elif kind == "activity":
            self.t = self.engine.record_activity(self.id, name, actor=actor, input=payload)
        else:
            assert payload is not None
            if payload["person"] not in self.t.participants[name]:
                self.t = self.engine.assign(self.id, name, payload["person"], actor=actor)
        return self.t

    def until(self, name: str) -> Trajectory:
        """Take the route's steps up to (not including) the next step called ``name``."""
        for step in ROUTE[self.done :]:
            if step[2] == name:
                return self.t
            self.step(step)
            self.done += 1
        raise AssertionError(f"the route has no further step {name!r}")

    def at(self, day: str) -> None:
        """Set the clock to noon of ``day``."""
        self.clock.set(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))

    def fire(self, event: str, actor: str, payload: dict[str, Any] | None = None) -> Trajectory:
        self.t = self.engine.fire(self.id, event, actor=actor, input=payload)
        return self.t

    def record(
        self, activity: str, actor: str, payload: dict[str, Any] | None = None
    ) -> Trajectory:
        self.t = self.engine.record_activity(self.id, activity, actor=actor, input=payload)
        return self.t

    def plan(self, meeting: int, day: str) -> Trajectory:
        return self.fire(f"plan_meeting_{meeting}", FAC, {"date": day})

    def prepare(self, meeting: int) -> None:
        """The facilitator follows all three tips for ``meeting``."""
        self.record(f"invite_{meeting}", FAC)
        self.record(f"inventory_{meeting}", FAC, {"topics": "Wat er leeft"})
        self.record(f"room_{meeting}", FAC, {"location": "POS, 's-Hertogenbosch"})

    def agenda(self, day: str) -> dict[str, str]:
        return {i.activity: i.status for i in self.engine.agenda(self.id, as_of=day)}


def refused(
    error: type[TransitionRejected], code: str, call: Callable[[], object], run: Run | None = None
) -> TransitionRejected:
    """``call`` raises ``error`` with reason ``code`` and changes nothing."""
    before = run.engine.get(run.id) if run else None
    with pytest.raises(error) as info:
        call()
    assert code in [r.code for r in info.value.reasons], info.value.reasons
    if run is not None:
        assert run.engine.get(run.id) == before
    return info.value


def full() -> Run:
    """Everyone of the route bound from the start."""
    return Run(coach=[COACH_A, COACH_B], student=[STUDENT_1, STUDENT_2])


def _words(text: str) -> str:
    """``text`` with its white space collapsed and typographic single quotes plain."""
    return " ".join(text.split()).replace("\u2018", "'").replace("\u2019", "'")


# --- the rules -------------------------------------------------------------------------------


def test_rule_a_facilitator_guides_the_network_and_opens_and_closes_the_year() -> None:
    """ "Het leernetwerk wordt begeleid door een facilitator." The facilitator is required,
    starts the school year of the network and closes it."""
    engine = Engine([DEFINITION], clock=FixedClock(T0))
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.start(
            "starter-coach-network",
            participants={"facilitator": FAC, "coach": COACH_A},
            actor=COACH_A,
        ),
    )
    refused(
        InvalidInput,
        "invalid-input",
        lambda: engine.start(
            "starter-coach-network", participants={"coach": COACH_A}, actor=COACH_A
        ),
    )
    run = full()
    assert run.t.state == "first_meeting"
    run.until("invite_1")  # both meetings planned: the year is 2026-2027
    refused(GuardFailed, "guard-failed", lambda: run.fire("close_year", FAC), run)  # in the year
    run.until("close_year")
    assert run.t.state == "rest_of_year"
    refused(NotPermitted, "not-permitted", lambda: run.fire("close_year", COACH_A), run)
    t = run.fire("close_year", FAC)
    assert t.state == "closed" and DEFINITION.states["closed"].final


def test_rule_two_meetings_a_school_year() -> None:
    """ "Het leernetwerk voor starterscoaches komt 2x per schooljaar bijeen." A first and a
    second meeting, the second after the first, and no third."""
    run = full()
    # the second meeting comes after the first, whichever is planned first
    run.plan(2, "2027-03-18")
    refused(GuardFailed, "guard-failed", lambda: run.plan(1, "2027-04-01"), run)
    run = full()
    run.plan(1, "2026-10-08")
    refused(GuardFailed, "guard-failed", lambda: run.plan(2, "2026-10-01"), run)
    refused(GuardFailed, "guard-failed", lambda: run.plan(2, "2026-10-08"), run)
    refused(
        NotPermitted,
        "not-permitted",
        lambda: run.fire("plan_meeting_1", COACH_A, {"date": "2026-10-09"}),
        run,
    )
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.fire("hold_meeting_2", FAC), run)
    # a meeting is not held before its day
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_1", FAC), run)
    run.at("2026-10-08")
    t = run.fire("hold_meeting_1", FAC)
    assert t.state == "second_meeting" and t.facts["meeting_1_held_on"] == date(2026, 10, 8)
    for event in ("hold_meeting_1", "plan_meeting_1"):
        refused(
            NotAllowedInState,
            "not-allowed-in-state",
            lambda e=event: run.fire(e, FAC, {"date": "2026-10-20"} if "plan" in e else None),
            run,
        )
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)  # no date
    run.plan(2, "2027-03-18")
    t = run.plan(2, "2027-03-25")  # moved within the year
    assert t.facts["meeting_2_date"] == date(2027, 3, 25)
    run.at("2027-03-18")
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)
    run.at("2027-03-25")
    t = run.fire("hold_meeting_2", FAC)
    assert t.state == "rest_of_year" and t.facts["meeting_2_held_on"] == date(2027, 3, 25)
    # no third meeting
    for event in ("hold_meeting_1", "hold_meeting_2"):
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, FAC), run)
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.plan(2, "2027-06-01"), run)


def test_rule_both_meetings_are_planned_in_the_school_year_of_the_trajectory() -> None:
    """ "Twee keer per schooljaar komen de starterscoaches in het POS bijeen in een
    leernetwerk." The two meetings belong to one school year (1 August to 31 July): the
    first date planned records it (``network_year``), and every later date must lie in it."""
    run = full()
    run.plan(1, "2026-10-08")
    refused(GuardFailed, "guard-failed", lambda: run.plan(2, "2027-08-01"), run)  # 2027-2028
    assert run.t.facts["network_year"] == 2026
    refused(GuardFailed, "guard-failed", lambda: run.plan(1, "2027-10-07"), run)
    assert run.plan(2, "2027-07-31").facts["network_year"] == 2026  # the last day of it
    # whichever meeting is planned first fixes the year
    run = full()
    assert run.plan(2, "2027-03-18").facts["network_year"] == 2026
    refused(GuardFailed, "guard-failed", lambda: run.plan(1, "2026-07-31"), run)  # 2025-2026
    assert run.plan(1, "2026-08-01").facts["meeting_1_date"] == date(2026, 8, 1)
    # also once the first meeting was held: the second is replanned within its year
    run.at("2026-08-01")
    run.fire("hold_meeting_1", FAC)
    refused(GuardFailed, "guard-failed", lambda: run.plan(2, "2027-09-16"), run)
    assert run.plan(2, "2027-06-24").facts["meeting_2_date"] == date(2027, 6, 24)
    # a date that has passed is fine, in the trajectory's school year: the text does not
    # say a meeting must be planned ahead, so it can be recorded after the fact
    late = full()
    late.at("2026-10-12")
    assert late.plan(1, "2026-10-08").facts["network_year"] == 2026
    assert late.fire("hold_meeting_1", FAC).facts["meeting_1_held_on"] == date(2026, 10, 12)


def test_rule_both_meetings_are_held_in_the_school_year_of_the_trajectory() -> None:
    """ "Het leernetwerk voor starterscoaches komt 2x per schooljaar bijeen." A meeting is
    held in the school year it was planned in: not after 31 July, even when every tip was
    followed."""
    run = full()
    run.plan(1, "2026-10-08")
    run.plan(2, "2027-07-15")
    run.prepare(1)
    run.at("2026-10-08")
    run.fire("hold_meeting_1", FAC)
    run.prepare(2)
    run.at("2027-08-02")  # school year 2027-2028
    error = refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)
    assert "school_year(today)" in str(error)
    other = full()
    other.plan(1, "2026-10-08")
    other.plan(2, "2027-07-15")
    other.prepare(1)
    other.at("2026-10-08")
    other.fire("hold_meeting_1", FAC)
    other.prepare(2)
    other.at("2027-07-31")
    t = other.fire("hold_meeting_2", FAC)
    assert (t.state, t.facts["meeting_2_held_on"], t.facts["network_year"]) == (
        "rest_of_year",
        date(2027, 7, 31),
        2026,
    )
    # the first meeting likewise
    first = full()
    first.plan(1, "2027-07-20")
    first.prepare(1)
    first.at("2027-08-01")
    refused(GuardFailed, "guard-failed", lambda: first.fire("hold_meeting_1", FAC), first)


def test_rule_a_new_school_year_is_a_new_trajectory() -> None:
    """ "Twee keer per schooljaar komen de starterscoaches in het POS bijeen in een
    leernetwerk." One trajectory is one school year; the next year is not a new cycle of it
    but a trajectory of its own, with its own two meetings."""
    year_1 = full()
    year_1.plan(1, "2026-10-08")
    year_1.plan(2, "2027-03-18")
    for meeting, day in ((1, "2027-10-07"), (2, "2028-03-16")):  # the next year's dates
        refused(GuardFailed, "guard-failed", lambda m=meeting, d=day: year_1.plan(m, d), year_1)
    year_1.at("2027-08-23")
    year_2 = Run(start="2027-08-23", on=(year_1.engine, year_1.clock))
    assert year_2.id != year_1.id and year_2.t.state == "first_meeting"
    year_2.plan(1, "2027-10-07")
    t = year_2.plan(2, "2028-03-16")
    assert t.facts["network_year"] == 2027
    assert year_1.engine.get(year_1.id).facts["network_year"] == 2026


def test_rule_a_school_year_that_is_over_can_be_closed() -> None:
    """ "Twee keer per schooljaar komen de starterscoaches in het POS bijeen in een
    leernetwerk." Once its school year is over, a trajectory whose second meeting was not
    held can be closed by the facilitator: the next year is another trajectory."""
    run = full()
    run.plan(1, "2026-10-08")
    run.at("2026-10-08")
    run.fire("hold_meeting_1", FAC)
    run.at("2027-07-31")
    refused(GuardFailed, "guard-failed", lambda: run.fire("close_year", FAC), run)
    run.at("2027-08-01")
    refused(NotPermitted, "not-permitted", lambda: run.fire("close_year", COACH_A), run)
    assert run.fire("close_year", FAC).state == "closed"
    # also before the first meeting; a year that has no meeting planned has no school year
    # to wait for, so it can be closed at once (it never waits forever)
    early = full()
    early.plan(2, "2027-03-18")
    early.at("2027-08-01")
    assert early.fire("close_year", FAC).state == "closed"
    unplanned = full()
    unplanned.at("2026-10-01")
    assert unplanned.fire("close_year", FAC).state == "closed"


def test_rule_the_facilitators_tips_are_expected_on_the_agenda_not_conditions() -> None:
    """ "Het is als facilitator handig om met de volgende zaken rekening te houden:" "het
    tijdig uitnodigen van deelnemers aan het leernetwerk", "te inventariseren van wat er
    leeft" and "het reserveren van ruimte". Advice: on the facilitator's agenda, due on the
    day of the meeting, until it is held; the meeting does not wait for them."""
    run = full()
    run.plan(1, "2026-10-08")
    agenda = {i.activity: i for i in run.engine.agenda(run.id, as_of="2026-10-02")}
    for tip in TIPS:
        item = agenda[f"{tip}_1"]
        assert (item.due_date, item.status, item.roles) == (
            date(2026, 10, 8),
            "due",
            ("facilitator",),
        )
        assert agenda[f"{tip}_2"].status == "upcoming"
    assert [i.activity for i in run.engine.agenda_for(FAC, as_of="2026-10-02")][:3] == [
        "invite_1",
        "inventory_1",
        "room_1",
    ]
    assert run.agenda("2026-10-09")["room_1"] == "overdue"  # expected, and late
    # the meeting is held without them ...
    run.record("invite_1", FAC)
    run.at("2026-10-08")
    run.record("invite_1", FAC)  # on the day itself, and a second time (a reminder)
    t = run.fire("hold_meeting_1", FAC)
    assert t.state == "second_meeting" and t.counts["invite_1"] == 2
    # ... after which a tip not followed is no longer expected; one followed stays done
    statuses = run.agenda("2026-10-09")
    assert statuses["invite_1"] == "done"
    assert "inventory_1" not in statuses and "room_1" not in statuses
    assert {statuses[f"{tip}_2"] for tip in TIPS} == {"upcoming"}
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.record("room_1", FAC), run)
    # the second meeting likewise, with none of its tips
    run.plan(2, "2027-03-18")
    run.at("2027-03-18")
    assert run.fire("hold_meeting_2", FAC).state == "rest_of_year"
    assert not {f"{tip}_2" for tip in TIPS} & set(run.agenda("2027-03-19"))


def test_rule_the_tips_are_for_the_facilitator_for_the_meeting_at_hand() -> None:
    """ "Het is als facilitator handig om met de volgende zaken rekening te houden:" and "het
    reserveren van ruimte, ook dit kan per toerbeurt op locatie van een van de deelnemers":
    the facilitator records them, for the meeting being prepared; a room at a
    participant's school names that participant, whose turn it is."""
    run = full()
    run.plan(1, "2026-10-08")
    refused(NotPermitted, "not-permitted", lambda: run.record("invite_1", COACH_A), run)
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.record("invite_2", FAC), run)
    t = run.record("inventory_1", FAC, {"topics": "Vragen over de inductiefase"})
    assert t.history[-1].role == "facilitator"
    refused(InvalidInput, "invalid-input", lambda: run.record("room_1", FAC, {}), run)
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.record("room_1", FAC, {"location": "KBS", "at_participant_school": True}),
        run,
    )
    t = run.record(
        "room_1", FAC, {"location": "KBS Het Palet", "at_participant_school": True, "host": COACH_A}
    )
    assert t.history[-1].input["host"] == COACH_A


def test_rule_participants_bring_good_practice_questions_and_cases() -> None:
    """ "In deze bijeenkomsten staat vooral centraal wat men zelf komt halen en brengen. Dat
    vraagt voorbereiding van deelnemers" and "good practice, vragen en casussen mee te nemen
    naar de bijeenkomst": the coaches record what they bring, before the meetings."""
    run = full()
    for kind in ("good_practice", "question", "case"):
        t = run.record("contribution", COACH_B, {"kind": kind, "summary": f"Een {kind}"})
        assert t.history[-1].input["kind"] == kind and t.history[-1].role == "coach"
    for actor in (FAC, STUDENT_1):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.record("contribution", a, {"kind": "case", "summary": "x"}),
            run,
        )
    refused(
        InvalidInput,
        "invalid-input",
        lambda: run.record("contribution", COACH_A, {"kind": "gossip", "summary": "x"}),
        run,
    )
    refused(
        InvalidInput,
        "invalid-input",
        lambda: run.record("contribution", COACH_A, {"kind": "case"}),
        run,
    )
    run.until("close_year")
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("contribution", COACH_A, {"kind": "case", "summary": "x"}),
        run,
    )


def test_rule_a_starter_coach_brings_along_a_colleague() -> None:
    """ "het tijdig uitnodigen van deelnemers aan het leernetwerk met de uitnodiging vooral
    ook die starterscoach-collega mee te nemen": the facilitator invites coaches, a coach
    brings a colleague; "workshops voor hun studenten": a coach binds their students."""
    run = Run()
    engine = run.engine
    t = engine.assign(run.id, "coach", COACH_B, actor=COACH_A)  # brought along by a coach
    assert t.participants["coach"] == (COACH_A, COACH_B)
    assert t.history[-1].role == "coach"
    t = engine.assign(run.id, "coach", "p-coach-cor", actor=FAC)  # invited by the facilitator
    assert len(t.participants["coach"]) == 3
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(run.id, "coach", "p-x", actor="p-stranger"),
        run,
    )
    # students are the coaches' own students
    t = engine.assign(run.id, "student", STUDENT_1, actor=COACH_B)
    assert t.participants["student"] == (STUDENT_1,)
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(run.id, "coach", "p-y", actor=STUDENT_1),
        run,
    )
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(run.id, "student", "p-z", actor=FAC),
        run,
    )
    assert DEFINITION.roles["coach"].max >= 50 and DEFINITION.roles["student"].max >= 100


def test_rule_a_coach_is_never_one_of_the_students_but_may_be_the_facilitator() -> None:
    """ "De basisschoolcoaches van deze scholen organiseren op drie momenten in het jaar
    workshops voor hun studenten.": the students are the coaches' students, so one person is
    never both. "Het leernetwerk wordt begeleid door een facilitator." says nothing that keeps
    a starter coach from facilitating: that is allowed."""
    # the facilitator is also a starter coach: at the start, and when assigned later
    both = Run(participants={"facilitator": FAC, "coach": [FAC, COACH_A]})
    t = both.record("contribution", FAC, {"kind": "question", "summary": "Hoe start ik?"})
    assert t.history[-1].role == "coach"
    later = Run()
    assert FAC in later.engine.assign(later.id, "coach", FAC, actor=COACH_A).participants["coach"]
    assert DEFINITION.roles["coach"].excludes == ("student",)
    assert not DEFINITION.roles["facilitator"].excludes
    # a coach is never a student, nor a student a coach
    engine = Engine([DEFINITION], clock=FixedClock(T0))
    error = refused(
        NotPermitted,
        "excluded-roles",
        lambda: engine.start(
            "starter-coach-network",
            participants={"facilitator": FAC, "coach": [COACH_A], "student": [COACH_A]},
            actor=FAC,
        ),
    )
    assert "role 'coach' excludes 'student'" in str(error)
    run = Run(coach=[COACH_A, COACH_B], student=[STUDENT_1])
    refused(
        NotPermitted,
        "excluded-roles",
        lambda: run.engine.assign(run.id, "student", COACH_B, actor=COACH_A),
        run,
    )
    refused(
        NotPermitted,
        "excluded-roles",
        lambda: run.engine.assign(run.id, "coach", STUDENT_1, actor=COACH_A),
        run,
    )


def test_rule_the_coaches_organise_workshops_at_three_moments_a_year() -> None:
    """ "De basisschoolcoaches van deze scholen organiseren op drie momenten in het jaar
    workshops voor hun studenten.": three dates, in order, planned (and moved) by a coach."""
    run = full()
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.record("workshop_round_1", STUDENT_1, {"workshop": "Rekenen in groep 3"}),
        run,
    )
    for actor in (FAC, STUDENT_1):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.fire("plan_workshop_rounds", a, ROUNDS),
            run,
        )
    unordered = {**ROUNDS, "round_2": "2027-06-01"}
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("plan_workshop_rounds", COACH_A, unordered),
        run,
    )
    error = refused(
        InvalidInput,
        "invalid-input",
        lambda: run.fire("plan_workshop_rounds", COACH_A, {"round_1": "2026-11-11"}),
        run,
    )
    assert error.fields == ["round_2", "round_3"]
    t = run.fire("plan_workshop_rounds", COACH_A, ROUNDS)
    assert [t.facts[f"round_{n}_date"] for n in (1, 2, 3)] == [
        date(2026, 11, 11),
        date(2027, 2, 10),
        date(2027, 5, 12),
    ]
    # the rounds can be moved in every phase of the year
    run.until("close_year")
    t = run.fire("plan_workshop_rounds", COACH_B, {**ROUNDS, "round_3": "2027-06-02"})
    assert t.facts["round_3_date"] == date(2027, 6, 2) and t.state == "rest_of_year"


def test_rule_nine_workshops_are_offered_at_the_schools() -> None:
    """ "In totaal worden negen workshops aangeboden." and "De workshops vinden plaats van
    9.00 tot 12.00 uur op de scholen.": at most nine, each in a round (1-3) at a school."""
    run = full()
    for i, (number, name, school) in enumerate(WORKSHOPS):
        coach = COACH_A if i % 2 else COACH_B
        run.record("offer_workshop", coach, {"round": number, "name": name, "school": school})
    assert run.t.counts["offer_workshop"] == 9
    error = refused(
        GuardFailed,
        "guard-failed",
        lambda: run.record("offer_workshop", COACH_A, {"round": 3, "name": "Tien", "school": "X"}),
        run,
    )
    assert "at most 9" in str(error)
    other = full()
    for payload in (
        {"round": 4, "name": "Vierde ronde", "school": "X"},
        {"round": 1, "name": "Zonder school"},
    ):
        refused(
            InvalidInput,
            "invalid-input",
            lambda p=payload: other.record("offer_workshop", COACH_A, p),
            other,
        )
    refused(
        NotPermitted,
        "not-permitted",
        lambda: other.record("offer_workshop", STUDENT_1, {"round": 1, "name": "x", "school": "y"}),
        other,
    )


def test_rule_each_student_follows_three_of_the_nine_workshops_one_per_round() -> None:
    """ "De studenten mogen er drie naar keuze volgen, passend bij hun interesse of leerdoel
    of als bewijsmateriaal voor hun portfolio." and "De workshops vinden plaats van 9.00 tot
    12.00 uur": the workshops of a round are at the same time, so one per round."""
    run = full()
    run.fire("plan_workshop_rounds", COACH_A, ROUNDS)
    agenda = run.engine.agenda_for(STUDENT_2, as_of="2026-09-01")
    assert [(i.activity, i.due_date) for i in agenda] == [
        ("workshop_round_1", date(2026, 11, 11)),
        ("workshop_round_2", date(2027, 2, 10)),
        ("workshop_round_3", date(2027, 5, 12)),
    ]
    refused(  # not before the day of the round
        GuardFailed,
        "guard-failed",
        lambda: run.record("workshop_round_1", STUDENT_1, {"workshop": "Klassenmanagement"}),
        run,
    )
    for n in (1, 2, 3):
        run.at(ROUNDS[f"round_{n}"])
        run.record(f"workshop_round_{n}", STUDENT_1, {"workshop": WORKSHOPS[3 * n - 1][1]})
    # the workshops of a round run at the same time, 9:00-12:00: one per round, three in all
    for n in (1, 2, 3):
        refused(
            GuardFailed,
            "guard-failed",
            lambda n=n: run.record(f"workshop_round_{n}", STUDENT_1, {"workshop": "Nog één"}),
            run,
        )
        activity = DEFINITION.activities[f"workshop_round_{n}"]
        assert activity.at_most_per_person == 1 and activity.hours == {"student": 3}
        assert "9.00-12.00" in str(activity.title) and "9:00-12:00" in str(activity.title)
    # another student chooses for herself
    t = run.record("workshop_round_1", STUDENT_2, {"workshop": "Ouders betrekken"})
    assert t.counts["workshop_round_1"] == 2
    for actor in (COACH_A, FAC):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.record("workshop_round_2", a, {"workshop": "x"}),
            run,
        )
    refused(InvalidInput, "invalid-input", lambda: run.record("workshop_round_2", STUDENT_2), run)
    assert DEFINITION.workload() == {"student": 9.0}  # three mornings of three hours


def test_rule_students_may_get_a_tour() -> None:
    """ "Studenten krijgen desgewenst ook een rondleiding.": a yes/no of their own, no by
    default."""
    run = full()
    run.fire("plan_workshop_rounds", COACH_A, ROUNDS)
    run.at(ROUNDS["round_1"])
    t = run.record("workshop_round_1", STUDENT_1, {"workshop": "Klassenmanagement", "tour": True})
    assert t.history[-1].input["tour"] is True
    t = run.record("workshop_round_1", STUDENT_2, {"workshop": "Klassenmanagement"})
    assert t.history[-1].input["tour"] is False
    error = refused(
        InvalidInput,
        "invalid-input",
        lambda: run.record("workshop_round_2", STUDENT_2, {"workshop": "x", "tour": "ja"}),
        run,
    )
    assert error.fields == ["tour"]


def test_full_school_year_to_closed_and_replay_equals_get() -> None:
    run = Run()
    for step in ROUTE:
        run.step(step)
        assert run.engine.replay(run.id) == run.engine.get(run.id)
    t = run.t
    assert t.state == "closed" and t.version == len(ROUTE)
    assert t.counts["offer_workshop"] == 9 and t.counts["contribution"] == 2
    assert t.counts.get("room_2", 0) == 0  # the second meeting was held without it
    assert t.participants["student"] == (STUDENT_1, STUDENT_2)
    assert (t.facts["network_year"], t.facts["meeting_2_held_on"]) == (2026, date(2027, 3, 18))
    assert coachflow.replay(t.id, run.engine.get(t.id).history) == run.engine.get(t.id)
    for event in DEFINITION.events:
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, FAC), run)


def test_the_definition_validates_strictly_and_is_version_3() -> None:
    assert coachflow.validate_text(PATH.read_text(encoding="utf-8")) == []
    assert DEFINITION.version == 3
    assert DEFINITION.migrates_from is not None and DEFINITION.migrates_from.version == 2


def test_every_rule_test_and_every_definition_comment_quotes_the_source_exactly() -> None:
    """Each rule test's docstring opens with a quote of the source, and every quote in it
    and in the definition's comments occurs in the source, word for word."""
    module = sys.modules[__name__]
    quotes: list[str] = []
    for name, test in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("test_rule_"):
            doc = inspect.getdoc(test) or ""
            assert doc.startswith('"'), f"{name} does not quote its source sentence"
            quotes += re.findall(r'"([^"]+)"', doc)
    comments = " ".join(
        line.split("#", 1)[1]
        for line in PATH.read_text(encoding="utf-8").splitlines()
        if "#" in line
    )
    quotes += re.findall(r'"([^"]+)"', comments)
    assert len(quotes) > 20
    if not SOURCE.is_file():  # the sources live next to the repository, not in it
        pytest.skip(f"{SOURCE} is not at hand")
    text = _words(SOURCE.read_text(encoding="utf-8"))
    for quote in quotes:
        assert _words(quote).rstrip(":") in text, quote


# --- the Hypothesis machine -----------------------------------------------------------------

Machine = trajectory_machine(DEFINITION)
Machine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStarterCoachNetworkMachine = Machine.TestCase


# --- the document: diagram and sample agenda are real output ---------------------------------


def sample_agenda() -> str:
    """The agenda of the route at three moments and at the end, as the document shows it."""
    moments: dict[str, tuple[str, str | None]] = {  # just before the first step of that name
        "inventory_1": ("2026-10-02", FAC),
        "workshop_round_2": ("2027-02-05", STUDENT_1),
        "workshop_round_3": ("2027-05-10", None),
    }
    run = Run()
    lines: list[str] = []
    for step in ROUTE:
        moment = moments.pop(step[2], None)
        if moment is not None:
            day, person = moment
            run.clock.set(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))
            lines += [f"agenda on {day} (state {run.t.state}):", *_table(run, day), ""]
            if person is not None:
                lines.append(f"agenda_for({person!r}) on {day}:")
                for item in run.engine.agenda_for(person, as_of=day):
                    lines.append(f"  {item.activity} due {item.due_date} ({item.status})")
                lines.append("")
        run.step(step)
    lines += ["agenda at the end (state closed):", *_table(run, "2027-07-09")]
    return "\n".join(lines) + "\n"


def _table(run: Run, day: str) -> list[str]:
    rows = []
    for item in run.engine.agenda(run.id, as_of=day):
        due = item.due_date.isoformat() if item.due_date else "-"
        rows.append(
            f"  {item.activity:<18} {due:<11} {item.status:<9} {item.records:>2}  "
            f"{', '.join(item.roles)}"
        )
    return rows


def test_the_document_shows_the_diagram_and_the_sample_agenda() -> None:
    text = DOC.read_text(encoding="utf-8")
    [diagram] = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    # compared as a set of lines: the order of the '--> [*]' lines is not stable
    assert sorted(diagram.splitlines()) == sorted(to_mermaid(DEFINITION).splitlines())
    assert sample_agenda() in text
    assert "version 3" in text
