"""The built-in trajectory ``starter-coach-network`` (issue 6): one test per rule.

Source: ``shared/sources/leernetwerk-starterscoaches.txt``; the rules in Dutch and English
are in ``docs/trajectories/starter-coach-network.md``. Every test shows the right path and
the wrong one, refused with the right exception and reason code.
"""

from __future__ import annotations

import re
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
DEFINITION = coachflow.load_definition(ROOT / "definitions" / "starter-coach-network.yaml")
DOC = ROOT / "docs" / "trajectories" / "starter-coach-network.md"
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

# A school year: (day, kind, name, actor, input). Kind "assign" binds input["person"].
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
    ("2027-02-01", "activity", "room_2", FAC, {"location": "POS, 's-Hertogenbosch"}),
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

    def __init__(self, **people: Any) -> None:
        self.clock = FixedClock(T0)
        self.engine = Engine([DEFINITION], clock=self.clock)
        participants = {"facilitator": FAC, "coach": [COACH_A], **people}
        self.t = self.engine.start(
            "starter-coach-network", participants=participants, actor=FAC, start_date="2026-08-24"
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


# --- the rules -------------------------------------------------------------------------------


def test_rule_a_facilitator_guides_the_network_and_opens_and_closes_the_year() -> None:
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
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.fire("close_year", FAC), run)
    run.until("close_year")
    assert run.t.state == "rest_of_year"
    refused(NotPermitted, "not-permitted", lambda: run.fire("close_year", COACH_A), run)
    t = run.fire("close_year", FAC)
    assert t.state == "closed" and DEFINITION.states["closed"].final


def test_rule_two_meetings_a_school_year() -> None:
    run = full()
    # the second meeting comes after the first, whichever is planned first
    run.fire("plan_meeting_2", FAC, {"date": "2027-03-18"})
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("plan_meeting_1", FAC, {"date": "2027-04-01"}),
        run,
    )
    run = full()
    run.fire("plan_meeting_1", FAC, {"date": "2026-10-08"})
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("plan_meeting_2", FAC, {"date": "2026-10-01"}),
        run,
    )
    refused(
        NotPermitted,
        "not-permitted",
        lambda: run.fire("plan_meeting_1", COACH_A, {"date": "2026-10-09"}),
        run,
    )
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.fire("hold_meeting_2", FAC), run)

    run = full()
    refused(  # a meeting is planned, not in the past
        GuardFailed,
        "guard-failed",
        lambda: run.fire("plan_meeting_1", FAC, {"date": "2026-08-01"}),
        run,
    )
    run.until("hold_meeting_1")
    run.at("2026-10-08")
    t = run.fire("hold_meeting_1", FAC)
    run.done += 1
    assert t.state == "second_meeting"
    for event in ("hold_meeting_1", "plan_meeting_1"):
        refused(
            NotAllowedInState,
            "not-allowed-in-state",
            lambda e=event: run.fire(e, FAC, {"date": "2026-10-20"} if "plan" in e else None),
            run,
        )
    t = run.fire("plan_meeting_2", FAC, {"date": "2027-03-25"})  # moved within the year
    assert t.facts["meeting_2_date"] == date(2027, 3, 25)
    run.until("hold_meeting_2")
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)  # 03-18
    run.at("2027-03-25")
    t = run.fire("hold_meeting_2", FAC)
    assert t.state == "rest_of_year"
    # no third meeting
    for event in ("hold_meeting_1", "hold_meeting_2"):
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, FAC), run)
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.fire("plan_meeting_2", FAC, {"date": "2027-06-01"}),
        run,
    )


def test_rule_each_meeting_is_prepared_by_the_facilitator() -> None:
    run = full()
    # no meeting without a date, invitations, an inventory and a room
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_1", FAC), run)
    run.fire("plan_meeting_1", FAC, {"date": "2026-10-08"})
    agenda = {i.activity: i for i in run.engine.agenda(run.id, as_of="2026-10-02")}
    for name in ("invite_1", "inventory_1", "room_1"):
        assert (agenda[name].due_date, agenda[name].status) == (date(2026, 10, 8), "due")
        assert agenda[name].roles == ("facilitator",)
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_1", FAC), run)
    run.record("invite_1", FAC)
    run.record("inventory_1", FAC, {"topics": "Vragen over de inductiefase"})
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_1", FAC), run)

    # only the facilitator prepares, once per meeting, for the meeting at hand
    refused(NotPermitted, "not-permitted", lambda: run.record("invite_1", COACH_A), run)
    refused(GuardFailed, "guard-failed", lambda: run.record("invite_1", FAC), run)
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.record("invite_2", FAC), run)
    late = full()  # invitations go out in time: before the day of the meeting
    late.fire("plan_meeting_1", FAC, {"date": "2026-10-08"})
    late.at("2026-10-08")
    refused(GuardFailed, "guard-failed", lambda: late.record("invite_1", FAC), late)

    # a room, possibly at a participant's school: then that participant is named
    refused(InvalidInput, "invalid-input", lambda: run.record("room_1", FAC, {}), run)
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.record("room_1", FAC, {"location": "KBS", "at_participant_school": True}),
        run,
    )
    run.record(
        "room_1", FAC, {"location": "KBS Het Palet", "at_participant_school": True, "host": COACH_A}
    )
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_1", FAC), run)  # not yet
    run.at("2026-10-08")
    t = run.fire("hold_meeting_1", FAC)
    assert t.state == "second_meeting"

    # the preparation of the first meeting does not count for the second
    run.fire("plan_meeting_2", FAC, {"date": "2027-03-18"})
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)
    run.record("invite_2", FAC)
    run.record("inventory_2", FAC)
    refused(GuardFailed, "guard-failed", lambda: run.fire("hold_meeting_2", FAC), run)
    run.record("room_2", FAC, {"location": "POS, 's-Hertogenbosch"})
    run.at("2027-03-18")
    assert run.fire("hold_meeting_2", FAC).state == "rest_of_year"


def test_rule_participants_bring_good_practice_questions_and_cases() -> None:
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


def test_rule_the_coaches_organise_workshops_at_three_moments_a_year() -> None:
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
    assert t.participants["student"] == (STUDENT_1, STUDENT_2)
    assert coachflow.replay(t.id, run.engine.get(t.id).history) == run.engine.get(t.id)
    for event in DEFINITION.events:
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, FAC), run)


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
    """The agenda of the route at two moments and at the end, as the document shows it."""
    moments = {  # just before the first step of that name: the day, and whose agenda
        "inventory_1": ("2026-10-02", FAC),
        "workshop_round_2": ("2027-02-05", STUDENT_1),
    }
    run = Run()
    lines: list[str] = []
    for step in ROUTE:
        moment = moments.pop(step[2], None)
        if moment is not None:
            day, person = moment
            run.clock.set(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))
            lines += [f"agenda on {day} (state {run.t.state}):", *_table(run, day), ""]
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
