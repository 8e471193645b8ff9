"""Separation of duties (issue 14): a role may declare ``excludes: [roles]``, and one person
never holds two roles that exclude each other - not at start, not by ``assign``, not by
``assign(..., replacing=...)``. The exclusion is symmetric: declared on either role, it
holds both ways. A refusal is a :class:`NotPermitted` with the reason code
``excluded-roles`` naming the person and the two roles, and writes nothing.

The finding behind it: the director of a starter year may assign the coach; he assigned
himself as coach (``assign(tid, "coach", "dirk", actor="dirk", replacing="carla")``, or
started the trajectory with ``--role coach=dirk``) and then read every confidential report
the starter never consented to share. ``definitions/starter-year.yaml`` now declares that
the director and the starter are never the coach (source:
``shared/sources/begeleiding-beginnende-leerkrachten.txt``: "De besprekingen tussen coach en
leerkracht zijn vertrouwelijk van aard. De coach brengt geen verslag uit aan de directeur
als de leerkracht hier geen toestemming voor gegeven heeft.").
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

import coachflow
from coachflow import REDACTED, Engine, NotPermitted, UnknownTrajectory

ROOT = Path(__file__).resolve().parents[2]
STARTER_YEAR = coachflow.load_definition(ROOT / "definitions" / "starter-year.yaml")

DUTIES_YAML = """\
coachflow: 1
id: duties
version: 1
roles:
  lead: {required: true}
  coach: {required: true, assigned_by: [lead], excludes: [lead, pupil]}
  pupil: {required: true}
  helper: {assigned_by: [lead, coach], max: 2}
  observer: {assigned_by: [lead], excludes: [helper]}
started_by: [lead]
initial: running
states:
  running: {}
  done: {final: true}
transitions:
  - event: finish
    from: running
    to: done
    by: [lead]
activities:
  note: {by: [coach, pupil, helper, observer]}
"""
DUTIES = coachflow.loads_definition(DUTIES_YAML)

DEFINITIONS = [STARTER_YEAR, DUTIES]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
CLOCK_AT = datetime(2026, 8, 31, 8, 30, tzinfo=UTC)

PEOPLE = {"starter": "sanne", "coach": "carla", "director": "dirk", "buddy": "bram"}
REPORT = {"report": "Sanne twijfelt of ze het vak wel aankan"}


def test_the_duties_definition_is_valid() -> None:
    assert coachflow.validate_text(DUTIES_YAML) == []


def excluded(exc: pytest.ExceptionInfo[NotPermitted]) -> list[str]:
    """The messages of the ``excluded-roles`` reasons of a refusal."""
    return [r.message for r in exc.value.reasons if r.code == "excluded-roles"]


def starter_year(engine: Engine, **people: str) -> str:
    return engine.start(
        "starter-year",
        participants={**PEOPLE, **people},
        actor="dirk",
        trajectory_id="d1",
        calendar=coachflow.builtin_calendar(),
    ).id


def snapshot(engine: Engine, tid: str) -> tuple[Any, ...]:
    t = engine.get(tid)
    return (t.version, dict(t.participants), dict(t.facts), t.state, len(t.history))


# --- the finding: a starter-year director makes himself the coach ----------------------------


def test_the_director_cannot_replace_the_coach_by_himself(engine: Engine) -> None:
    tid = starter_year(engine)
    engine.record_activity(tid, "guidance_talk_w4", actor="carla", input=REPORT)
    before = snapshot(engine, tid)
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "coach", "dirk", actor="dirk", replacing="carla")
    assert excluded(exc) == [
        "'dirk' may not be both director and coach: role 'coach' excludes 'director'"
    ]
    assert exc.value.trajectory_id == tid and exc.value.actor == "dirk"
    assert snapshot(engine, tid) == before  # nothing written
    assert engine.history(tid, viewer="dirk")[-1].input["report"] is REDACTED


def test_the_director_cannot_start_the_year_as_the_coach(engine: Engine) -> None:
    with pytest.raises(NotPermitted) as exc:
        starter_year(engine, coach="dirk")
    assert excluded(exc) == [  # at start, the roles in the definition's order
        "'dirk' may not be both coach and director: role 'coach' excludes 'director'"
    ]
    with pytest.raises(UnknownTrajectory):
        engine.get("d1")  # nothing written
    assert list(engine.trajectories()) == []


def test_the_starter_is_never_their_own_coach(engine: Engine) -> None:
    with pytest.raises(NotPermitted) as exc:
        starter_year(engine, coach="sanne")
    assert excluded(exc) == [
        "'sanne' may not be both starter and coach: role 'coach' excludes 'starter'"
    ]


def test_the_director_may_still_hand_the_coach_role_to_someone_else(engine: Engine) -> None:
    tid = starter_year(engine)
    t = engine.assign(tid, "coach", "kees", actor="dirk", replacing="carla")
    assert t.participants["coach"] == ("kees",)


# --- the rule, on a small definition -------------------------------------------------------


def duties(engine: Engine, **people: Any) -> str:
    participants = {"lead": "lea", "coach": "cas", "pupil": "pim", **people}
    return engine.start("duties", participants=participants, actor="lea").id


def test_assign_is_refused_and_writes_nothing(engine: Engine) -> None:
    tid = duties(engine, helper=["hans"])
    before = snapshot(engine, tid)
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "observer", "hans", actor="lea")
    assert excluded(exc) == [
        "'hans' may not be both helper and observer: role 'observer' excludes 'helper'"
    ]
    assert exc.value.code == "not-permitted"
    assert str(exc.value) == excluded(exc)[0]
    assert snapshot(engine, tid) == before


def test_replacing_is_refused_and_writes_nothing(engine: Engine) -> None:
    tid = duties(engine)
    before = snapshot(engine, tid)
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "coach", "pim", actor="lea", replacing="cas")
    assert excluded(exc) == ["'pim' may not be both pupil and coach: role 'coach' excludes 'pupil'"]
    assert snapshot(engine, tid) == before
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "coach", "lea", actor="lea", replacing="cas")
    assert excluded(exc) == ["'lea' may not be both lead and coach: role 'coach' excludes 'lead'"]
    assert snapshot(engine, tid) == before


def test_the_exclusion_is_symmetric(engine: Engine) -> None:
    # 'observer' declares it: holding 'observer', being given 'helper' is refused too
    tid = duties(engine, observer="otto")
    before = snapshot(engine, tid)
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "helper", "otto", actor="cas")
    assert excluded(exc) == [
        "'otto' may not be both observer and helper: role 'observer' excludes 'helper'"
    ]
    assert snapshot(engine, tid) == before
    # and at start, whichever role is named first
    for people in (
        {"helper": ["otto"], "observer": "otto"},
        {"observer": "otto", "helper": "otto"},
    ):
        with pytest.raises(NotPermitted) as refused:
            duties(engine, **people)
        assert excluded(refused) == [
            "'otto' may not be both helper and observer: role 'observer' excludes 'helper'"
        ]


def test_start_names_every_conflict(engine: Engine) -> None:
    with pytest.raises(NotPermitted) as exc:
        duties(engine, coach="lea", pupil="lea", helper=["pim"], observer="pim")
    assert excluded(exc) == [
        "'lea' may not be both lead and coach: role 'coach' excludes 'lead'",
        "'lea' may not be both coach and pupil: role 'coach' excludes 'pupil'",
        "'pim' may not be both helper and observer: role 'observer' excludes 'helper'",
    ]
    assert list(engine.trajectories()) == []


def test_roles_that_do_not_exclude_each_other_may_be_held_together(engine: Engine) -> None:
    tid = duties(engine, helper=["lea", "cas"])
    assert engine.get(tid).roles_of("lea") == ("lead", "helper")
    t = engine.assign(tid, "observer", "pim", actor="lea")  # a pupil may observe
    assert t.roles_of("pim") == ("pupil", "observer")


def test_never_both_at_once_but_one_after_the_other(engine: Engine) -> None:
    tid = duties(engine, observer="otto")
    with pytest.raises(NotPermitted):
        engine.assign(tid, "helper", "otto", actor="lea")
    engine.unassign(tid, "observer", "otto", actor="lea")
    assert engine.assign(tid, "helper", "otto", actor="lea").roles_of("otto") == ("helper",)


def test_the_permission_to_assign_is_checked_first(engine: Engine) -> None:
    tid = duties(engine, observer="otto")
    with pytest.raises(NotPermitted) as exc:
        engine.assign(tid, "helper", "otto", actor="pim")  # a pupil assigns no helper
    assert [r.code for r in exc.value.reasons] == ["not-permitted"]


# --- the command line --------------------------------------------------------------------------


def test_the_cli_refuses_the_director_as_coach(tmp_path: Path) -> None:
    common = ["--db", str(tmp_path / "year.db"), "--definitions", str(ROOT / "definitions")]
    started = run_cli(
        "start", "starter-year", "--id", "d1", "--as", "dirk",
        "--role", "starter=sanne", "--role", "coach=carla", "--role", "director=dirk",
        "--role", "buddy=bram", "--now", "2026-08-31T08:30",
        "--calendar", "nl-2026-2027-midden", *common,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assigned = run_cli(
        "assign", "d1", "coach", "dirk", "--as", "dirk", "--replacing", "carla",
        "--now", "2026-09-01T08:30", *common,
    )  # fmt: skip
    assert assigned.returncode == 1, assigned.stdout + assigned.stderr
    message = "'dirk' may not be both director and coach: role 'coach' excludes 'director'"
    assert assigned.stderr.splitlines() == [f"coachflow: rejected (excluded-roles): {message}"]
    shown = run_cli("show", "d1", *common)
    assert shown.returncode == 0, shown.stderr
    assert "version 0" in shown.stdout and "coach: carla" in shown.stdout, shown.stdout
    restarted = run_cli(
        "start", "starter-year", "--id", "d2", "--as", "dirk",
        "--role", "starter=sanne", "--role", "coach=dirk", "--role", "director=dirk",
        "--role", "buddy=bram", "--now", "2026-08-31T08:30",
        "--calendar", "nl-2026-2027-midden", *common,
    )  # fmt: skip
    assert restarted.returncode == 1
    message = "'dirk' may not be both coach and director: role 'coach' excludes 'director'"
    assert restarted.stderr.splitlines() == [f"coachflow: rejected (excluded-roles): {message}"]
    assert run_cli("show", "d2", *common).returncode == 1


# --- the built-in definitions: the exclusions their sources imply ------------------------------

SOURCES = ROOT.parent / "shared" / "sources"
BUILT_IN: list[tuple[str, str, tuple[str, ...], str, tuple[str, ...]]] = [
    # (definition, role, the roles it excludes, source file, the sentences behind it)
    (
        "starter-year", "coach", ("starter", "director"), "begeleiding-beginnende-leerkrachten",
        (
            "De besprekingen tussen coach en leerkracht zijn vertrouwelijk van aard.",
            "De coach brengt geen verslag uit aan de directeur als de leerkracht hier geen "
            "toestemming voor gegeven heeft.",
        ),
    ),
    (
        "starter-year", "director", ("starter",), "begeleiding-beginnende-leerkrachten",
        (
            "Na een klassenbezoek in de 38e schoolweek houdt de directeur een "
            "beoordelingsgesprek met de leerkracht.",
        ),
    ),
    (
        "starter-year", "buddy", ("starter",), "begeleiding-beginnende-leerkrachten",
        (
            "Voor alle spontane (dagelijkse) werkvragen en hulpvragen wijzen we per "
            "'beginnende leerkracht' een collega aan.",
        ),
    ),
    (
        "teacher-coaching", "coachee", ("manager", "client"), "coachingstraject-leerkracht",
        (
            "de vorderingen worden mondeling aan het eind van het traject door de adviseur "
            "aan de opdrachtgever of leidinggevende gemeld door de coachee.",
            "Wanneer de opdrachtgever liever een schriftelijk evaluatieverslag (meerwerk) "
            "heeft wordt dat vooraf met de coachee afgesproken.",
        ),
    ),
    (
        "teacher-coaching", "adviser", ("manager", "client"), "coachingstraject-leerkracht",
        (
            "de vorderingen worden mondeling aan het eind van het traject door de adviseur "
            "aan de opdrachtgever of leidinggevende gemeld",
        ),
    ),
    (
        "career-switcher", "switcher", ("manager", "study_adviser", "buddy"),
        "leerkrachtcoach-zij-instromer",
        (
            "is aanwezig bij het tripartite gesprek met de zij-instromer, vertegenwoordiger "
            "van de opleiding (studieloopbaanbegeleider- slb'er) en leidinggevende.",
            "stemt af met de duo/ het maatje op welke wijze de zij-instromer wordt "
            "geïnformeerd over de praktische zaken",
        ),
    ),
    (
        "career-switcher", "coach", ("switcher", "manager", "study_adviser", "buddy"),
        "leerkrachtcoach-zij-instromer",
        (
            "De leerkrachtcoach begeleidt en coacht de zij-instromer",
            "tussen de leidinggevende, zij-instromer en de leerkrachtcoach",
            "met de zij-instromer en de studieloopbaanbegeleider",
            "bereidt samen lessen voor of besteedt dit uit aan de duo/ het maatje of een "
            "andere collega",
        ),
    ),
    (
        "career-switcher", "manager", ("study_adviser",), "leerkrachtcoach-zij-instromer",
        ("vertegenwoordiger van de opleiding (studieloopbaanbegeleider- slb'er) en "
         "leidinggevende",),
    ),
    (
        "nt2-consult", "teacher", ("manager",), "kenniscentrum-nt2-coaching-consult",
        ("De leidinggevende van de leerkracht geeft toestemming om het Kenniscentrum NT2 in te "
         "schakelen.",),
    ),
    (
        "nt2-consult", "centre", ("teacher", "manager"), "kenniscentrum-nt2-coaching-consult",
        (
            "Wij plannen een intakegesprek en sturen de intake-formulieren naar de school.",
            "Tijdens het intakegesprek bespreken we wat de leerkracht wil leren",
        ),
    ),
    (
        "nt2-consult", "client", ("teacher", "centre"), "kenniscentrum-nt2-coaching-consult",
        (
            "Het Kenniscentrum NT2 ontvangt de opdracht.",
            "Controle van de hulpvraag, verwachtingen en de gemaakte afspraken door de "
            "opdrachtgever",
        ),
    ),
    (
        "starter-coach-network", "coach", ("student",), "leernetwerk-starterscoaches",
        (
            "De basisschoolcoaches van deze scholen organiseren op drie momenten in het jaar "
            "workshops voor hun studenten.",
        ),
    ),
]  # fmt: skip


def _words(text: str) -> str:
    """``text`` with its white space collapsed and typographic single quotes plain."""
    return " ".join(text.split()).replace("\u2018", "'").replace("\u2019", "'")


def test_every_exclusion_of_the_built_in_definitions_is_listed_here() -> None:
    declared = {
        (d.id, name, role.excludes)
        for path in sorted((ROOT / "definitions").glob("*.yaml"))
        for d in [coachflow.load_definition(path)]
        for name, role in d.roles.items()
        if role.excludes
    }
    assert declared == {(d, role, excludes) for d, role, excludes, _, _ in BUILT_IN}


@pytest.mark.parametrize(("definition", "role", "excludes", "source", "sentences"), BUILT_IN)
def test_each_exclusion_of_a_built_in_definition_rests_on_its_source(
    definition: str, role: str, excludes: tuple[str, ...], source: str, sentences: tuple[str, ...]
) -> None:
    # the definition quotes the source (the source texts are not part of this repository:
    # where they are at hand, next to it, the quotes are checked against them too)
    yaml_text = (ROOT / "definitions" / f"{definition}.yaml").read_text(encoding="utf-8")
    comments = _words(
        " ".join(line.split("#", 1)[1] for line in yaml_text.splitlines() if "#" in line)
    )
    source_file = SOURCES / f"{source}.txt"
    text = _words(source_file.read_text(encoding="utf-8")) if source_file.is_file() else None
    for sentence in sentences:
        assert _words(sentence) in comments, f"{definition}.yaml does not quote {sentence!r}"
        assert text is None or _words(sentence) in text
    d = coachflow.load_definition(ROOT / "definitions" / f"{definition}.yaml")
    assert d.roles[role].excludes == excludes
    # and the engine refuses one person in both, at start
    people = {name: f"p-{name}" for name, spec in d.roles.items() if spec.required}
    starter = next(r for r in d.started_by or d.roles if r in people or r == role)
    for other in excludes:
        both = {**people, role: "twofold", other: "twofold"}
        engine = Engine([d])
        with pytest.raises(NotPermitted) as exc:
            engine.start(definition, participants=both, actor=both.get(starter, "twofold"))
        assert any(
            r.code == "excluded-roles" and f"role {role!r} excludes {other!r}" in r.message
            for r in exc.value.reasons
        ), exc.value.reasons
