"""``Engine.export_person`` (issue 17, the AVG's right of access): everything the store holds
about one person, each value as they may read it now, on every store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coachflow import Engine, FixedClock, InvalidId, loads_definition

STORE_KINDS = ["memory", "sqlite", "postgresql"]

FOR_THE_DIRECTOR = "Alleen voor de directeur: twijfels over de aanstelling"
BETWEEN_US = "Vertrouwelijk tussen coach en starter"

DEFINITION = loads_definition("""\
coachflow: 1
id: exported
version: 1
roles:
  starter: {required: true, subject: true}
  coach: {required: true}
  director: {required: true}
started_by: [director]
consents:
  share: {granted_by: starter}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: talk
    from: open
    to: open
    by: [coach, starter]
    input:
      notes: {type: str, visible_to: [coach, starter], personal: true}
  - event: assess
    from: open
    to: open
    by: [director]
    input:
      doubts: {type: str, visible_to: [director]}
  - {event: close, from: open, to: closed, by: [director]}
retention:
  confidential: {after_end: P1Y}
""")
PEOPLE = {"starter": "sam", "coach": "cas", "director": "dirk"}


@pytest.fixture
def engine(store: Any) -> Engine:
    made = Engine([DEFINITION], store=store, clock=FixedClock("2026-09-01T09:00:00+00:00"))
    made.start("exported", participants=PEOPLE, actor="dirk", trajectory_id="e1")
    made.fire("e1", "talk", actor="cas", input={"notes": BETWEEN_US})
    made.fire("e1", "assess", actor="dirk", input={"doubts": FOR_THE_DIRECTOR})
    made.grant_consent("e1", "share", actor="sam")
    made.history("e1", viewer="cas")  # the coach reads the notes: logged
    made.start(
        "exported", participants=PEOPLE | {"starter": "stan"}, actor="dirk", trajectory_id="e2"
    )
    return made


def test_the_subject_gets_every_record_as_they_may_read_it(engine: Engine) -> None:
    export = engine.export_person("sam")
    assert export["schema"] == "coachflow.person-export/1"
    assert export["person"] == "sam"
    [part] = export["trajectories"]  # type: ignore[misc]  # not e2: sam is not in it
    assert part["trajectory"] == "e1" and part["subject"] is True
    assert part["roles"] == ["starter"]
    assert [r["kind"] for r in part["records"]] == ["started", "event", "event", "consent_granted"]
    talk, assess = part["records"][1], part["records"][2]
    assert talk["input"] == {"notes": BETWEEN_US}  # theirs to read
    assert assess["input"] == {"doubts": {"redacted": True}}  # the director's alone
    assert part["withheld"] == 1
    assert part["consents"] == [
        {"consent": "share", "granted": True, "at": "2026-09-01T09:00:00+00:00"}
    ]
    assert [(e["viewer"], e["field"]) for e in part["access_log"]] == [("cas", "notes")]
    text = json.dumps(export)  # plain JSON, and nothing sam may not read
    assert FOR_THE_DIRECTOR not in text
    # the export was sam's read: the next one shows it
    [again] = engine.export_person("sam")["trajectories"]  # type: ignore[misc]
    assert [e["viewer"] for e in again["access_log"]] == ["cas", "sam"]


def test_someone_else_gets_only_what_they_wrote(engine: Engine) -> None:
    export = engine.export_person("cas")
    parts = {p["trajectory"]: p for p in export["trajectories"]}  # type: ignore[attr-defined]
    assert set(parts) == {"e1", "e2"}
    e1 = parts["e1"]
    assert e1["subject"] is False and e1["roles"] == ["coach"]
    assert [(r["kind"], r["event"]) for r in e1["records"]] == [("event", "talk")]
    assert parts["e2"]["records"] == []
    assert FOR_THE_DIRECTOR not in json.dumps(export)


def test_a_person_the_store_does_not_know_gets_an_empty_export(engine: Engine) -> None:
    assert engine.export_person("nobody")["trajectories"] == []
    with pytest.raises(InvalidId):
        engine.export_person("")
