"""The built-in trajectory ``nt2-consult`` (issue 6): one scenario test per rule.

Source: ``shared/sources/kenniscentrum-nt2-coaching-consult.txt``; the rules in Dutch and
English are in ``docs/trajectories/nt2-consult.md``. Every test shows the right path and
the wrong one, refused with the right exception and reason code.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import networkx as nx
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
    UnknownEvent,
)
from coachflow.files.diagram import to_mermaid
from coachflow.testing import trajectory_machine

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = coachflow.load_definition(ROOT / "definitions" / "nt2-consult.yaml")
DOC = ROOT / "docs" / "trajectories" / "nt2-consult.md"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

TEACHER, MANAGER, CENTRE, CLIENT = "p-tea", "p-man", "p-cen", "p-cli"
QUESTION = "Hoe pas ik mijn leesles aan voor Amir, die net uit Syrië komt?"
HOLD_INTAKE = {
    "history_discussed": True,
    "help_question": "Hoe laat ik Amir meedoen met de leesles in groep 5?",
    "support": "coaching",
    "goals": "Differentiëren in de leesles; woordenschat voorbewerken",
    "duration_weeks": 16,
}

# The happy path: (day, kind, name, actor, input). Kind "assign" binds a person to a role.
Step = tuple[str, str, str, str, dict[str, Any] | None]
ROUTE: list[Step] = [
    ("2026-09-01", "event", "report_help_question", TEACHER,
     {"topic": "nt2_adaptation", "question": QUESTION}),
    ("2026-09-03", "event", "grant_permission", MANAGER, None),
    ("2026-09-03", "assign", "centre", MANAGER, {"person": CENTRE}),
    ("2026-09-03", "assign", "client", MANAGER, {"person": CLIENT}),
    ("2026-09-04", "event", "submit_contact_form", TEACHER,
     {"topic": "nt2_adaptation", "question": QUESTION}),
    ("2026-09-10", "event", "plan_intake", CENTRE, {"date": "2026-09-24"}),
    ("2026-09-21", "activity", "return_intake_forms", TEACHER, None),
    ("2026-09-24", "event", "hold_intake", CENTRE, HOLD_INTAKE),
    ("2026-09-28", "event", "approve_agreements", CLIENT, None),
    ("2026-10-05", "activity", "support_session", CENTRE, {"form": "class_visit",
     "feedback": "Amir volgt de instructie beter met plaatjes erbij."}),
    ("2026-10-12", "activity", "support_session", CENTRE, {"form": "joint_preparation"}),
    ("2026-10-26", "activity", "support_session", CENTRE, {"form": "co_teaching"}),
    ("2026-11-23", "event", "start_interim_evaluation", CENTRE, {"date": "2026-12-03"}),
    ("2026-12-03", "activity", "interim_evaluation_meeting", CENTRE,
     {"notes": "Doelen deels gehaald."}),
    ("2026-12-03", "event", "continue_part_2", CENTRE,
     {"adjusted": True, "adjustment": "Meer nadruk op woordenschat; intervisie toegevoegd."}),
    ("2026-12-07", "activity", "support_session", CENTRE, {"form": "knowledge_transfer"}),
    ("2027-01-11", "activity", "support_session", CENTRE, {"form": "intervision"}),
    ("2027-01-18", "activity", "support_session", CENTRE, {"form": "coaching_talk"}),
    ("2027-01-25", "event", "start_final_evaluation", CENTRE, {"date": "2027-02-04"}),
    ("2027-02-04", "activity", "final_evaluation_meeting", CENTRE, {"notes": "Afgerond."}),
    ("2027-02-04", "event", "complete", CENTRE, None),
]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


class Run:
    """One trajectory on an engine with a clock the route moves along."""

    def __init__(self, **people: str) -> None:
        self.clock = FixedClock(T0)
        self.engine = Engine([DEFINITION], clock=self.clock)
        participants = {"teacher": TEACHER, "manager": MANAGER, **people}
        self.t = self.engine.start("nt2-consult", participants=participants, actor=TEACHER)
        self.id = self.t.id
        self.done = 0  # route steps taken

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
            if payload["person"] not in self.t.participants[name]:  # not bound at start
                self.t = self.engine.assign(self.id, name, payload["person"], actor=actor)
        return self.t

    def until(self, name: str, occurrence: int = 1) -> Trajectory:
        """Take the route's steps up to (not including) the ``occurrence``-th ``name``."""
        seen = 0
        for step in ROUTE[self.done :]:
            if step[2] == name:
                seen += 1
                if seen == occurrence:
                    return self.t
            self.step(step)
            self.done += 1
        raise AssertionError(f"the route has no step {name!r}")

    def rest(self) -> Trajectory:
        for step in ROUTE[self.done :]:
            self.step(step)
            self.done += 1
        return self.t

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


def everyone() -> Run:
    return Run(centre=CENTRE, client=CLIENT)


# --- rule 1: the teacher reports a help question; the trajectory starts in consent --------


def test_rule_1_teacher_reports_help_question_and_trajectory_starts_in_consent() -> None:
    run = Run()
    assert run.t.state == "consent"
    assert run.t.participants["teacher"] == (TEACHER,)
    assert run.engine.allowed_events(run.id, actor=TEACHER) == ["report_help_question"]

    for topic in ("nt2_adaptation", "didactic", "pedagogical"):
        t = run.fire("report_help_question", TEACHER, {"topic": topic, "question": QUESTION})
        assert (t.state, t.facts["help_topic"], t.facts["help_question"]) == (
            "consent",
            topic,
            QUESTION,
        )

    # only the teacher starts the trajectory and reports the question
    engine = run.engine
    people = {"teacher": TEACHER, "manager": MANAGER, "centre": CENTRE}
    for actor in (MANAGER, CENTRE, "p-stranger"):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: engine.start("nt2-consult", participants=people, actor=a),
        )
    refused(
        NotPermitted,
        "not-permitted",
        lambda: run.fire("report_help_question", MANAGER, {"topic": "didactic", "question": "?"}),
        run,
    )
    # a question about something else, or no question, is not a help question
    error = refused(
        InvalidInput,
        "invalid-input",
        lambda: run.fire("report_help_question", TEACHER, {"topic": "maths", "question": "?"}),
        run,
    )
    assert error.fields == ["topic"]
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("report_help_question", TEACHER, {"topic": "didactic", "question": ""}),
        run,
    )
    refused(
        InvalidInput,
        "invalid-input",
        lambda: engine.start(
            "nt2-consult", participants=people, actor=TEACHER, facts={"help_topic": "maths"}
        ),
    )


# --- rule 2: only the manager gives or refuses permission; no intake without it -----------


def test_rule_2_only_the_manager_gives_or_refuses_permission() -> None:
    run = everyone()
    # no permission for a question that was not reported
    refused(GuardFailed, "guard-failed", lambda: run.fire("grant_permission", MANAGER), run)
    run.fire("report_help_question", TEACHER, {"topic": "pedagogical", "question": QUESTION})
    for actor in (TEACHER, CENTRE, CLIENT, "p-stranger"):
        refused(NotPermitted, "not-permitted", lambda a=actor: run.fire("grant_permission", a), run)
        refused(
            NotPermitted, "not-permitted", lambda a=actor: run.fire("refuse_permission", a), run
        )
    # nothing but the manager's decision moves the trajectory on from 'consent'
    for event in ("submit_contact_form", "plan_intake", "hold_intake", "approve_agreements"):
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, CENTRE), run)
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("return_intake_forms", TEACHER),
        run,
    )
    t = run.fire("grant_permission", MANAGER)
    assert t.state == "registration" and t.history[-1].role == "manager"

    # refusing ends the trajectory in 'declined'
    other = everyone()
    other.fire("report_help_question", TEACHER, {"topic": "didactic", "question": QUESTION})
    t = other.fire("refuse_permission", MANAGER, {"reason": "Eerst intern oppakken."})
    assert t.state == "declined" and t.facts["refusal_reason"] == "Eerst intern oppakken."
    assert DEFINITION.states["declined"].final
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: other.fire("submit_contact_form", TEACHER, {"topic": "didactic", "question": "?"}),
        other,
    )

    # the graph: without the manager's 'grant_permission' no path leads to the intake
    graph = DEFINITION.graph()
    grant = "grant_permission"
    assert nx.has_path(graph, "consent", "intake")
    graph.remove_edges_from(
        [(u, v, k) for u, v, k, e in graph.edges(keys=True, data="event") if e == grant]
    )
    assert not nx.has_path(graph, "consent", "intake")
    assert all(t.by == ("manager",) for t in DEFINITION.transitions if "permission" in t.event)


# --- rule 3: contact form, assignment, intake planned, forms returned before the intake ---


def test_rule_3_contact_form_then_intake_planned_and_forms_returned_before_the_intake() -> None:
    run = Run()
    run.until("submit_contact_form")
    assert run.t.state == "registration"
    # the centre cannot plan anything before the teacher's contact form
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.fire("plan_intake", CENTRE, {"date": "2026-09-24"}),
        run,
    )
    form = {"topic": "didactic", "question": "Hoe geef ik instructie aan een nieuwkomer?"}
    for actor in (MANAGER, CENTRE, CLIENT):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.fire("submit_contact_form", a, form),
            run,
        )
    refused(
        InvalidInput,
        "invalid-input",
        lambda: run.fire("submit_contact_form", TEACHER, {"topic": "didactic"}),
        run,
    )
    t = run.fire("submit_contact_form", TEACHER, form)
    assert t.state == "assignment" and t.facts["help_topic"] == "didactic"
    run.done += 1

    # the centre receives the assignment and plans the intake (sending the forms)
    refused(
        NotPermitted,
        "not-permitted",
        lambda: run.fire("plan_intake", TEACHER, {"date": "2026-09-24"}),
        run,
    )
    refused(InvalidInput, "invalid-input", lambda: run.fire("plan_intake", CENTRE, {}), run)
    refused(  # an intake is planned, not in the past
        GuardFailed,
        "guard-failed",
        lambda: run.fire("plan_intake", CENTRE, {"date": "2026-09-01"}),
        run,
    )
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("return_intake_forms", TEACHER),
        run,
    )
    t = run.until("return_intake_forms")
    assert t.state == "intake" and t.facts["intake_date"] == date(2026, 9, 24)
    [forms] = [i for i in run.engine.agenda(run.id) if i.activity == "return_intake_forms"]
    assert (forms.due_date, forms.roles) == (date(2026, 9, 24), ("teacher",))

    # the intake is held only after the completed forms came back
    why = run.engine.explain(run.id, "hold_intake", actor=CENTRE, input=HOLD_INTAKE)
    assert why.codes == ("guard-failed",)
    error = refused(
        GuardFailed, "guard-failed", lambda: run.fire("hold_intake", CENTRE, HOLD_INTAKE), run
    )
    assert "done.return_intake_forms" in str(error.guard)
    refused(NotPermitted, "not-permitted", lambda: run.record("return_intake_forms", CENTRE), run)
    run.record("return_intake_forms", TEACHER)
    refused(GuardFailed, "guard-failed", lambda: run.record("return_intake_forms", TEACHER), run)
    [forms] = [i for i in run.engine.agenda(run.id) if i.activity == "return_intake_forms"]
    assert forms.status == "done"
    t = run.fire("hold_intake", CENTRE, HOLD_INTAKE)
    assert t.facts["intake_held"] is True


# --- rule 4: the intake agrees question, form, goals, duration; the client checks --------


def test_rule_4_intake_agreements_then_client_check_before_part_1() -> None:
    run = everyone()
    run.until("hold_intake")
    refused(GuardFailed, "guard-failed", lambda: run.fire("approve_agreements", CLIENT), run)

    def hold(**change: Any) -> Trajectory:
        return run.fire("hold_intake", CENTRE, {**HOLD_INTAKE, **change})

    # history and current situation discussed, a clear help question, goals
    for change in ({"history_discussed": False}, {"help_question": ""}, {"goals": ""}):
        refused(GuardFailed, "guard-failed", lambda c=change: hold(**c), run)
    # consult-and-advice or coaching: exactly one
    for support in ("both", ["consult", "coaching"], None):
        error = refused(InvalidInput, "invalid-input", lambda s=support: hold(support=s), run)
        assert error.fields == ["support"]
    # duration agreed, within a school year
    for weeks in (0, 53, None):
        error = refused(InvalidInput, "invalid-input", lambda w=weeks: hold(duration_weeks=w), run)
        assert error.fields == ["duration_weeks"]
    for actor in (TEACHER, CLIENT, MANAGER):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.fire("hold_intake", a, HOLD_INTAKE),
            run,
        )

    t = hold(support="consult")
    assert t.state == "intake"  # part 1 waits for the client's check
    assert {k: t.facts[k] for k in ("support", "goals", "duration_weeks", "help_question")} == {
        "support": "consult",
        "goals": HOLD_INTAKE["goals"],
        "duration_weeks": 16,
        "help_question": HOLD_INTAKE["help_question"],
    }
    refused(GuardFailed, "guard-failed", hold, run)  # held once; again only after changes
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("support_session", CENTRE, {"form": "co_teaching"}),
        run,
    )

    # only the client checks; the client may send the agreements back
    for actor in (TEACHER, CENTRE, MANAGER):
        refused(NotPermitted, "not-permitted", lambda a=actor: run.fire("approve_agreements", a))
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("request_changes", CLIENT, {"remarks": ""}),
        run,
    )
    t = run.fire("request_changes", CLIENT, {"remarks": "Verwachtingen over de duur zijn vaag."})
    assert (t.facts["intake_held"], t.facts["client_remarks"]) == (
        False,
        "Verwachtingen over de duur zijn vaag.",
    )
    refused(GuardFailed, "guard-failed", lambda: run.fire("approve_agreements", CLIENT), run)
    hold(duration_weeks=18)
    t = run.fire("approve_agreements", CLIENT)
    assert t.state == "part_1" and t.facts["duration_weeks"] == 18


# --- rule 5: the forms of support are recorded ---------------------------------------------

FORMS = {
    "co_teaching": {},
    "joint_preparation": {},
    "knowledge_transfer": {},
    "class_visit": {"feedback": "Goede opbouw; meer visuele steun."},
    "coaching_talk": {"notes": "Over de eigen rol."},
    "intervision": {},
    "other": {"notes": "Gesprek met de ouders samen voorbereid."},
}


def test_rule_5_forms_of_support_are_recorded() -> None:
    run = everyone()
    run.until("support_session")
    assert run.t.state == "part_1"
    for form, extra in FORMS.items():
        t = run.record("support_session", CENTRE, {"form": form, **extra})
        assert t.history[-1].kind == "activity" and t.history[-1].input["form"] == form
    assert run.t.counts["support_session"] == len(FORMS) and run.t.state == "part_1"

    # a class visit comes with feedback; another form is described
    for payload in ({"form": "class_visit"}, {"form": "other"}):
        refused(
            GuardFailed,
            "guard-failed",
            lambda p=payload: run.record("support_session", CENTRE, p),
            run,
        )
    error = refused(
        InvalidInput,
        "invalid-input",
        lambda: run.record("support_session", CENTRE, {"form": "lecture"}),
        run,
    )
    assert error.fields == ["form"]
    refused(
        InvalidInput,
        "invalid-input",
        lambda: run.record("support_session", CENTRE, {"notes": "no form"}),
        run,
    )
    for actor in (TEACHER, CLIENT, MANAGER):
        refused(
            NotPermitted,
            "not-permitted",
            lambda a=actor: run.record("support_session", a, {"form": "co_teaching"}),
            run,
        )
    refused(
        UnknownEvent,
        "unknown-event",
        lambda: run.record("co_teaching", CENTRE),
        run,
    )
    # recorded in part 1 and part 2, not during the interim evaluation
    run.at("2026-11-23")
    run.fire("start_interim_evaluation", CENTRE, {"date": "2026-12-03"})
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("support_session", CENTRE, {"form": "co_teaching"}),
        run,
    )


# --- rule 6: interim evaluation halfway, adjustments recorded, part 2, final evaluation -----


def test_rule_6_interim_evaluation_then_part_2_then_final_evaluation() -> None:
    run = everyone()
    run.until("support_session")
    plan = {"date": "2026-12-03"}
    # part 1 has had at least one support session before the interim evaluation
    refused(
        GuardFailed, "guard-failed", lambda: run.fire("start_interim_evaluation", CENTRE, plan), run
    )
    run.until("start_interim_evaluation")
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("start_interim_evaluation", CENTRE, {"date": "2026-09-01"}),
        run,
    )
    refused(
        NotPermitted,
        "not-permitted",
        lambda: run.fire("start_interim_evaluation", TEACHER, plan),
        run,
    )
    run.at("2026-11-23")  # halfway: see the next test
    t = run.fire("start_interim_evaluation", CENTRE, plan)
    assert (t.state, t.facts["interim_date"], t.facts["sessions_in_part_1"]) == (
        "interim_evaluation",
        date(2026, 12, 3),
        3,
    )
    run.done += 1
    [meeting] = [i for i in run.engine.agenda(run.id) if i.activity == "interim_evaluation_meeting"]
    assert meeting.due_date == date(2026, 12, 3) and meeting.status != "done"

    # part 2 starts after the evaluation was held; an adjustment is recorded
    adjust = {"adjusted": True, "adjustment": "Doel 2 bijgesteld: woordenschat eerst."}
    refused(GuardFailed, "guard-failed", lambda: run.fire("continue_part_2", CENTRE, adjust), run)
    run.until("continue_part_2")
    for payload in ({"adjusted": True}, {"adjusted": True, "adjustment": ""}):
        refused(
            GuardFailed,
            "guard-failed",
            lambda p=payload: run.fire("continue_part_2", CENTRE, p),
            run,
        )
    refused(InvalidInput, "invalid-input", lambda: run.fire("continue_part_2", CENTRE, {}), run)
    t = run.fire("continue_part_2", CENTRE, adjust)
    assert (t.state, t.facts["goals_adjusted"], t.facts["adjustment"]) == (
        "part_2",
        True,
        adjust["adjustment"],
    )
    run.done += 1

    # the final evaluation follows a part 2 with support of its own
    final = {"date": "2027-02-04"}
    refused(
        GuardFailed, "guard-failed", lambda: run.fire("start_final_evaluation", CENTRE, final), run
    )
    run.until("start_final_evaluation")
    refused(
        GuardFailed,
        "guard-failed",
        lambda: run.fire("start_final_evaluation", CENTRE, {"date": "2026-11-01"}),
        run,
    )
    t = run.fire("start_final_evaluation", CENTRE, final)
    assert (t.state, t.facts["final_evaluation_date"]) == ("final_evaluation", date(2027, 2, 4))
    run.done += 1
    refused(GuardFailed, "guard-failed", lambda: run.fire("complete", CENTRE), run)
    t = run.rest()
    assert t.state == "completed"


def test_rule_6_an_interim_evaluation_without_adjustment() -> None:
    run = everyone()
    run.until("continue_part_2")
    t = run.fire("continue_part_2", CENTRE, {"adjusted": False})
    assert (t.state, t.facts["goals_adjusted"], t.facts["adjustment"]) == ("part_2", False, None)


def test_rule_6_no_step_can_be_skipped_or_repeated_out_of_order() -> None:
    # the main line of the graph is one chain: each phase has exactly one way forward
    main = [
        "consent",
        "registration",
        "assignment",
        "intake",
        "part_1",
        "interim_evaluation",
        "part_2",
        "final_evaluation",
        "completed",
    ]
    forward = {
        (t.from_, t.to)
        for t in DEFINITION.transitions
        if isinstance(t.from_, str) and t.to != t.from_ and t.to not in ("declined", "withdrawn")
    }
    assert forward == set(itertools.pairwise(main))

    # along the route, every event that does not leave the current state is refused
    run = everyone()
    for step in ROUTE:
        state = run.t.state
        leaving = {t.event for t in DEFINITION.outgoing(state)}
        for event in DEFINITION.events:
            if event not in leaving:
                refused(
                    NotAllowedInState,
                    "not-allowed-in-state",
                    lambda e=event: run.fire(e, CENTRE),
                    run,
                )
        for name in DEFINITION.activities:
            if state not in DEFINITION.activity_states(name):
                refused(
                    NotAllowedInState,
                    "not-allowed-in-state",
                    lambda n=name: run.record(n, CENTRE),
                    run,
                )
        run.step(step)
    # each evaluation is held once
    for name in ("interim_evaluation_meeting", "final_evaluation_meeting"):
        assert DEFINITION.activities[name].at_most == 1


def test_rule_6_the_interim_evaluation_is_planned_halfway() -> None:
    run = everyone()
    t = run.until("start_interim_evaluation")  # a 16-week guidance, part 1 began in week 5
    assert (t.facts["part_1_week"], t.facts["duration_weeks"]) == (5, 16)
    plan = {"date": "2026-12-03"}
    run.at("2026-11-16")  # week 12: 7 of the 16 weeks have passed
    error = refused(
        GuardFailed, "guard-failed", lambda: run.fire("start_interim_evaluation", CENTRE, plan), run
    )
    assert error.values["week"] == 12 and error.values["part_1_week"] == 5
    run.at("2026-11-23")  # week 13: halfway
    refused(  # planned, so not in the past
        GuardFailed,
        "guard-failed",
        lambda: run.fire("start_interim_evaluation", CENTRE, {"date": "2026-11-20"}),
        run,
    )
    assert run.fire("start_interim_evaluation", CENTRE, plan).state == "interim_evaluation"


# --- beyond the numbered rules --------------------------------------------------------------


def test_exits_withdrawn_by_teacher_or_manager_while_the_guidance_runs() -> None:
    withdrawable = [
        "registration",
        "assignment",
        "intake",
        "part_1",
        "interim_evaluation",
        "part_2",
    ]
    run = everyone()
    refused(NotAllowedInState, "not-allowed-in-state", lambda: run.fire("withdraw", TEACHER), run)
    for i, step in enumerate(ROUTE):
        state = run.t.state
        if state in withdrawable and step[1] != "assign":
            for actor in (CENTRE, CLIENT):
                refused(NotPermitted, "not-permitted", lambda a=actor: run.fire("withdraw", a), run)
            for actor in (TEACHER, MANAGER):
                other = everyone()
                for earlier in ROUTE[:i]:
                    other.step(earlier)
                t = other.fire("withdraw", actor)
                assert t.state == "withdrawn" and t.history[-1].role in ("teacher", "manager")
                assert other.engine.allowed_events(other.id, actor=actor) == []
        elif state not in withdrawable:
            refused(
                NotAllowedInState,
                "not-allowed-in-state",
                lambda: run.fire("withdraw", MANAGER),
                run,
            )
        run.step(step)


def test_the_manager_binds_the_centre_and_the_client() -> None:
    run = Run()
    engine = run.engine
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(run.id, "centre", CENTRE, actor=TEACHER),
        run,
    )
    t = engine.assign(run.id, "centre", CENTRE, actor=MANAGER)
    refused(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(run.id, "client", CLIENT, actor=CENTRE),
        run,
    )
    t = engine.assign(run.id, "client", CLIENT, actor=MANAGER)
    # the adviser hands over to a colleague
    t = engine.assign(run.id, "centre", "p-cen2", actor=CENTRE, replacing=CENTRE)
    assert t.participants["centre"] == ("p-cen2",) and t.participants["client"] == (CLIENT,)
    refused(
        InvalidInput,
        "invalid-input",
        lambda: engine.assign(run.id, "centre", "p-cen3", actor=MANAGER),
        run,
    )


def test_full_route_to_completed_and_replay_equals_get() -> None:
    run = Run()
    for step in ROUTE:
        run.step(step)
        assert run.engine.replay(run.id) == run.engine.get(run.id)
    t = run.t
    assert t.state == "completed" and t.version == len(ROUTE)
    assert t.counts == {
        "return_intake_forms": 1,
        "support_session": 6,
        "interim_evaluation_meeting": 1,
        "final_evaluation_meeting": 1,
    }
    assert [i.status for i in run.engine.agenda(run.id)] == ["done"] * 4
    assert coachflow.replay(t.id, run.engine.get(t.id).history) == run.engine.get(t.id)
    for event in DEFINITION.events:
        refused(NotAllowedInState, "not-allowed-in-state", lambda e=event: run.fire(e, CENTRE), run)
    refused(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: run.record("support_session", CENTRE, {"form": "co_teaching"}),
        run,
    )


# --- the Hypothesis machine -----------------------------------------------------------------

Machine = trajectory_machine(DEFINITION)
Machine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestNt2ConsultMachine = Machine.TestCase


# --- the document: diagram and sample agenda are real output ---------------------------------


def sample_agenda() -> str:
    """The agenda of the route at five moments, as the document shows it."""
    moments = {  # just before the first step of that name
        "return_intake_forms": "2026-09-18",
        "support_session": "2026-09-28",
        "interim_evaluation_meeting": "2026-11-26",
        "final_evaluation_meeting": "2027-02-01",
    }
    run = Run()
    lines: list[str] = []
    for index, step in enumerate(ROUTE):
        name = step[2]
        if name in moments and name not in [s[2] for s in ROUTE[:index]]:
            day = moments[name]
            run.clock.set(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))
            lines += [f"agenda on {day} (state {run.t.state}):", *_table(run, day), ""]
            if name == "return_intake_forms":
                lines += [f"agenda_for({TEACHER!r}) on {day}:"]
                for item in run.engine.agenda_for(TEACHER, as_of=day):
                    lines.append(f"  {item.activity} due {item.due_date} ({item.status})")
                lines.append("")
        run.step(step)
    lines += ["agenda at the end (state completed):", *_table(run, "2027-02-05")]
    return "\n".join(lines) + "\n"


def _table(run: Run, day: str) -> list[str]:
    rows = []
    for item in run.engine.agenda(run.id, as_of=day):
        due = item.due_date.isoformat() if item.due_date else "-"
        rows.append(
            f"  {item.activity:<28} {due:<11} {item.status:<9} {item.records:>2}  "
            f"{', '.join(item.roles)}"
        )
    return rows


def test_the_document_shows_the_diagram_and_the_sample_agenda() -> None:
    text = DOC.read_text(encoding="utf-8")
    [diagram] = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    # compared as a set of lines: the order of the '--> [*]' lines is not stable
    assert sorted(diagram.splitlines()) == sorted(to_mermaid(DEFINITION).splitlines())
    assert sample_agenda() in text
