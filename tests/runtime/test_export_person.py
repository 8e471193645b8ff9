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
OWN_NOTE = "Mijn eigen aantekening"

DEFINITION = loads_definition("""\
coachflow: 1
id: exported
version: 1
roles:
  starter: {required: true, subject: true}
  coach: {required: true}
  director: {required: true}
  buddy: {assigned_by: [director]}
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
  - event: report
    from: open
    to: open
    by: [coach]
    input:
      report: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
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
    made.fire("e1", "talk", actor="cas", input={"notes": BETWEEN_US})  # seq 1
    made.fire("e1", "assess", actor="dirk", input={"doubts": FOR_THE_DIRECTOR})  # 2
    made.fire("e1", "talk", actor="sam", input={"notes": OWN_NOTE})  # 3
    made.fire("e1", "report", actor="cas", input={"report": "Verslag"})  # 4
    made.grant_consent("e1", "share", actor="sam")  # 5
    made.history("e1", viewer="cas")  # the coach reads the notes and the report: logged
    made.history("e1", viewer="dirk")  # the director reads the report, by sam's consent
    other = PEOPLE | {"starter": "stan"}
    made.start("exported", participants=other, actor="dirk", trajectory_id="e2")
    return made


def parts(export: dict[str, Any]) -> dict[str, Any]:
    return {p["trajectory"]: p for p in export["trajectories"]}


def test_the_subject_gets_every_record_as_they_may_read_it(engine: Engine) -> None:
    export: dict[str, Any] = engine.export_person("sam")
    assert export["schema"] == "coachflow.person-export/1"
    assert export["person"] == "sam"
    part = parts(export)["e1"]
    assert set(parts(export)) == {"e1"}  # not e2: sam has no part in it
    assert part["subject"] is True
    assert part["roles"] == part["roles_held"] == ["starter"]
    kinds = [r["kind"] for r in part["records"]]
    assert kinds == ["started", "event", "event", "event", "event", "consent_granted"]
    talk, assess = part["records"][1], part["records"][2]
    assert talk["input"] == {"notes": BETWEEN_US}  # theirs to read
    assert assess["input"] == {"doubts": {"redacted": True}}  # the director's alone
    assert part["withheld"] == 1
    granted = {"consent": "share", "granted": True, "at": "2026-09-01T09:00:00+00:00"}
    assert part["consents"] == [granted]
    # who read their data: the coach their notes, the director the report by their consent
    log = {(e["viewer"], e["seq"], e["basis"]) for e in part["access_log"]}
    assert ("dirk", 4, "consent:share") in log
    assert ("cas", 3, "role:coach") in log
    assert {viewer for viewer, _, _ in log} == {"cas", "dirk"}
    assert FOR_THE_DIRECTOR not in json.dumps(export)  # plain JSON, nothing sam may not read
    # the export was sam's read: the next one shows it
    again = parts(engine.export_person("sam"))["e1"]
    assert "sam" in {e["viewer"] for e in again["access_log"]}


def test_someone_else_gets_only_what_they_wrote(engine: Engine) -> None:
    export: dict[str, Any] = engine.export_person("cas")
    found = parts(export)
    assert set(found) == {"e1", "e2"}
    e1 = found["e1"]
    assert e1["subject"] is False and e1["roles"] == ["coach"]
    # the records they wrote, and the start that bound them to the coach's role
    wrote = [(r["actor"], r["kind"], r["event"]) for r in e1["records"]]
    assert wrote == [
        ("dirk", "started", None),
        ("cas", "event", "talk"),
        ("cas", "event", "report"),
    ]
    assert [r["kind"] for r in found["e2"]["records"]] == ["started"]
    text = json.dumps(export)
    assert FOR_THE_DIRECTOR not in text and OWN_NOTE not in text


def test_an_export_logs_only_the_values_it_shows(engine: Engine) -> None:
    """The coach may read the starter's own note, but the coach's export does not hold it:
    no read of it is logged."""
    before = len(engine.store.access_log("e1"))
    engine.export_person("cas")
    new = engine.store.access_log("e1")[before:]
    assert new and {(e.viewer, e.seq) for e in new} <= {("cas", 1), ("cas", 4)}


def test_a_former_participant_is_found_by_the_records_that_name_them(engine: Engine) -> None:
    engine.assign("e1", "buddy", "bea", actor="dirk")
    engine.unassign("e1", "buddy", "bea", actor="dirk")
    part = parts(engine.export_person("bea"))["e1"]
    assert part["roles"] == [] and part["roles_held"] == ["buddy"]
    assert [r["kind"] for r in part["records"]] == ["assigned", "unassigned"]
    text = json.dumps(part)
    assert FOR_THE_DIRECTOR not in text and BETWEEN_US not in text


def test_a_person_the_store_does_not_know_gets_an_empty_export(engine: Engine) -> None:
    assert engine.export_person("nobody")["trajectories"] == []
    with pytest.raises(InvalidId):
        engine.export_person("")
    with pytest.raises(InvalidId, match="worker"):
        engine.export_person("system")
