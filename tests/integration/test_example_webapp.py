"""``examples/webapp``: the FastAPI app embedding the engine with the SQL store.

Every test runs twice: on an SQLite file and on PostgreSQL (``COACHFLOW_TEST_POSTGRES_URL``;
skipped loudly when no server is configured, an error in CI). The app is built by
``create_app(engine)`` around an engine with a fixed clock and a small definition written
here, so the tests do not depend on the shipped definitions; one test runs the built-in
``starter-year`` through the app as ``app_from_env()`` builds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from example_apps import load_example

from coachflow import Engine, FixedClock, loads_definition
from coachflow.store import SqlStore

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
else:
    TestClient = pytest.importorskip("fastapi.testclient", reason="needs fastapi").TestClient
    pytest.importorskip("httpx", reason="needs httpx")


def load_app_module() -> ModuleType:
    return load_example("webapp/app.py", "coachflow_example_webapp")


webapp = load_app_module()

MENTORING = loads_definition("""
coachflow: 1
id: mentoring
version: 1
title: Begeleiding startende leerkracht
roles:
  starter: {title: Startende leerkracht, required: true, subject: true}
  coach: {title: Coach, required: true}
  director: {title: Directeur, required: true}
started_by: [director]
facts:
  sessions: {type: int, default: 0, min: 0}
consents:
  share_reports: {granted_by: starter, title: De directeur mag de verslagen lezen}
initial: intake
states:
  intake: {title: Intake}
  coaching: {title: Coaching}
  closed: {title: Afgesloten, final: true}
transitions:
  - event: begin
    from: intake
    to: coaching
    by: [coach]
  - event: hold_session
    from: coaching
    to: coaching
    by: [coach]
    when: sessions < 3
    input:
      held_on: {type: date, required: true}
      report:
        type: str
        required: true
        visible_to: [coach, starter]
        disclose_to: {director: share_reports}
    set: {sessions: sessions + 1}
  - event: close
    from: coaching
    to: closed
    by: [director]
    when: sessions >= 2
activities:
  observation:
    title: Klassenbezoek
    by: [coach]
    during: [coaching]
    due: {week: 2}
    at_most: 1
    input:
      notes:
        type: str
        required: true
        visible_to: [coach, starter]
        disclose_to: {director: share_reports}
""")

NOW = "2026-09-01T09:00:00+00:00"
STARTER, COACH, DIRECTOR = "sanne", "carla", "dirk"
PEOPLE = {"starter": STARTER, "coach": COACH, "director": DIRECTOR}


STORE_KINDS = ["sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""


CLOCK_AT = NOW
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


@pytest.fixture
def client(store: SqlStore, clock: FixedClock) -> Iterator[TestClient]:
    engine = Engine([MENTORING], store=store, clock=clock)
    with TestClient(webapp.create_app(engine)) as test_client:
        yield test_client


def as_(person: str) -> dict[str, str]:
    return {"X-Person": person}


def start(client: TestClient, tid: str = "sanne-2026") -> dict[str, Any]:
    response = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": PEOPLE, "id": tid},
        headers=as_(DIRECTOR),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def coaching(client: TestClient, tid: str = "sanne-2026") -> None:
    start(client, tid)
    response = client.post(f"/trajectories/{tid}/events/begin", headers=as_(COACH))
    assert response.status_code == 200, response.text


def session(client: TestClient, report: str, tid: str = "sanne-2026") -> Any:
    return client.post(
        f"/trajectories/{tid}/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": report}},
        headers=as_(COACH),
    )


def history_inputs(client: TestClient, person: str, event: str) -> list[dict[str, Any]]:
    response = client.get("/trajectories/sanne-2026/history", headers=as_(person))
    assert response.status_code == 200, response.text
    return [r["input"] for r in response.json() if r["event"] == event]


# --- start and fire as the logged-in person -------------------------------------------------


def test_start_as_the_logged_in_person(client: TestClient) -> None:
    body = start(client)
    assert body["id"] == "sanne-2026" and body["state"] == "intake" and body["version"] == 0
    assert body["participants"] == {"starter": [STARTER], "coach": [COACH], "director": [DIRECTOR]}
    assert body["facts"] == {"sessions": 0}
    assert body["started_at"] == NOW and body["start_date"] == "2026-09-01"
    history = client.get("/trajectories/sanne-2026/history", headers=as_(DIRECTOR)).json()
    assert [(r["kind"], r["actor"], r["role"]) for r in history] == [
        ("started", DIRECTOR, "director")
    ]


def test_only_a_role_in_started_by_may_start(client: TestClient) -> None:
    response = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": PEOPLE},
        headers=as_(COACH),
    )
    assert response.status_code == 403
    assert response.json()["error"] == "NotPermitted"


def test_fire_as_the_logged_in_person(client: TestClient) -> None:
    coaching(client)
    response = session(client, "Rustige start.")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "coaching" and body["facts"] == {"sessions": 1}
    assert body["version"] == 2
    history = client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
    last = history[-1]
    assert (last["kind"], last["event"], last["actor"], last["role"]) == (
        "event",
        "hold_session",
        COACH,
        "coach",
    )
    assert last["input"] == {"held_on": "2026-09-01", "report": "Rustige start."}
    assert last["changes"] == {"sessions": 1}
    assert last["at"] == NOW


def test_show_tells_the_person_what_they_may_do(client: TestClient) -> None:
    coaching(client)
    coach = client.get("/trajectories/sanne-2026", headers=as_(COACH)).json()
    assert coach["roles"] == ["coach"] and coach["allowed_events"] == ["hold_session"]
    director = client.get("/trajectories/sanne-2026", headers=as_(DIRECTOR)).json()
    assert director["allowed_events"] == []


# --- the history as that person --------------------------------------------------------------


def test_the_director_reads_the_reports_only_with_consent(client: TestClient) -> None:
    coaching(client)
    assert session(client, "Instructie te lang.").status_code == 200
    redacted = {"held_on": "2026-09-01", "report": {"redacted": True}}
    assert history_inputs(client, DIRECTOR, "hold_session") == [redacted]
    assert history_inputs(client, STARTER, "hold_session")[0]["report"] == "Instructie te lang."

    granted = client.post("/trajectories/sanne-2026/consents/share_reports", headers=as_(STARTER))
    assert granted.status_code == 200, granted.text
    assert granted.json()["consents"] == {"share_reports": True}
    assert history_inputs(client, DIRECTOR, "hold_session")[0]["report"] == "Instructie te lang."

    withdrawn = client.delete(
        "/trajectories/sanne-2026/consents/share_reports", headers=as_(STARTER)
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["consents"] == {"share_reports": False}
    assert history_inputs(client, DIRECTOR, "hold_session") == [redacted]


def test_only_the_starter_grants_the_consent(client: TestClient) -> None:
    start(client)
    response = client.post("/trajectories/sanne-2026/consents/share_reports", headers=as_(DIRECTOR))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "ConsentError" and body["reasons"][0]["code"] == "consent"


def test_someone_who_takes_no_part_reads_nothing(client: TestClient) -> None:
    start(client)
    for path in ("/trajectories/sanne-2026", "/trajectories/sanne-2026/history"):
        response = client.get(path, headers=as_("eva"))
        assert response.status_code == 403, path
        assert "takes no part" in response.json()["detail"]


def test_activities_are_recorded_and_redacted_alike(client: TestClient, clock: FixedClock) -> None:
    coaching(client)
    clock.advance(days=2)
    response = client.post(
        "/trajectories/sanne-2026/activities/observation",
        json={"input": {"notes": "Goede sfeer."}, "on": "2026-09-02"},
        headers=as_(COACH),
    )
    assert response.status_code == 200, response.text
    assert response.json()["activities"] == {"observation": 1}
    [record] = [
        r
        for r in client.get("/trajectories/sanne-2026/history", headers=as_(DIRECTOR)).json()
        if r["kind"] == "activity"
    ]
    assert record["on"] == "2026-09-02" and record["input"] == {"notes": {"redacted": True}}
    again = client.post(
        "/trajectories/sanne-2026/activities/observation",
        json={"input": {"notes": "Nog eens."}},
        headers=as_(COACH),
    )
    assert again.status_code == 400 and again.json()["error"] == "GuardFailed"  # at_most: 1


# --- the access log ----------------------------------------------------------------------------


def access_log(client: TestClient, person: str) -> list[tuple[str, str, int, str, str]]:
    response = client.get("/trajectories/sanne-2026/access-log", headers=as_(person))
    assert response.status_code == 200, response.text
    return [(e["viewer"], e["at"], e["seq"], e["field"], e["basis"]) for e in response.json()]


def test_every_confidential_read_is_logged_and_the_starter_sees_who_read(
    client: TestClient, clock: FixedClock
) -> None:
    coaching(client)
    assert session(client, "Instructie te lang.").status_code == 200  # record 2
    history_inputs(client, DIRECTOR, "hold_session")  # redacted: nothing logged
    assert access_log(client, STARTER) == []
    client.post("/trajectories/sanne-2026/consents/share_reports", headers=as_(STARTER))
    clock.advance(hours=2)
    later = clock.now().isoformat()
    assert history_inputs(client, DIRECTOR, "hold_session")[0]["report"] == "Instructie te lang."
    history_inputs(client, COACH, "hold_session")
    expected = [
        (DIRECTOR, later, 2, "report", "consent:share_reports"),
        (COACH, later, 2, "report", "author"),
    ]
    assert access_log(client, STARTER) == expected  # who read her reports
    assert access_log(client, COACH) == expected
    assert access_log(client, STARTER) == expected  # reading the log is not logged
    show = client.get("/trajectories/sanne-2026", headers=as_(DIRECTOR))
    assert show.status_code == 200  # shows no history: nothing logged
    assert access_log(client, STARTER) == expected

    # without the consent the director may not read the report: nor who read it
    client.delete("/trajectories/sanne-2026/consents/share_reports", headers=as_(STARTER))
    assert access_log(client, DIRECTOR) == []
    assert len(access_log(client, STARTER)) == 2


def test_someone_who_takes_no_part_reads_no_access_log(client: TestClient) -> None:
    coaching(client)
    session(client, "x")
    history_inputs(client, STARTER, "hold_session")
    response = client.get("/trajectories/sanne-2026/access-log", headers=as_("eva"))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "NotPermitted" and "'eva' takes no part" in body["message"]
    refused = client.get("/trajectories/sanne-2026/history", headers=as_("eva"))
    assert refused.status_code == 403
    assert [e[0] for e in access_log(client, STARTER)] == [STARTER]  # eva's try logged nothing
    assert client.get("/trajectories/nope/access-log", headers=as_(STARTER)).status_code == 404
    assert client.get("/trajectories/sanne-2026/access-log").status_code == 401


# --- the agenda ---------------------------------------------------------------------------------


def test_the_agenda_of_the_logged_in_person(client: TestClient) -> None:
    coaching(client)
    coaching(client, "tom-2026")
    response = client.get("/agenda", params={"date": "2026-09-10"}, headers=as_(COACH))
    assert response.status_code == 200, response.text
    items = response.json()
    assert [(i["trajectory_id"], i["activity"], i["due_date"], i["status"]) for i in items] == [
        ("sanne-2026", "observation", "2026-09-13", "due"),
        ("tom-2026", "observation", "2026-09-13", "due"),
    ]
    assert items[0]["title"] == "Klassenbezoek" and items[0]["roles"] == ["coach"]
    later = client.get("/agenda", params={"date": "2026-09-20"}, headers=as_(COACH)).json()
    assert {i["status"] for i in later} == {"overdue"}
    assert client.get("/agenda", headers=as_(DIRECTOR)).json() == []  # nothing for the director


def test_the_agenda_defaults_to_today_and_checks_the_date(client: TestClient) -> None:
    coaching(client)
    [item] = client.get("/agenda", headers=as_(COACH)).json()  # today: 1 September
    assert (item["due_date"], item["status"]) == ("2026-09-13", "upcoming")  # end of week 2
    response = client.get("/agenda", params={"date": "10-09-2026"}, headers=as_(COACH))
    assert response.status_code == 422


# --- error mappings -----------------------------------------------------------------------------


def test_not_permitted_is_403_with_the_reasons(client: TestClient) -> None:
    coaching(client)
    response = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": "x"}},
        headers=as_(STARTER),
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "NotPermitted" and body["event"] == "hold_session"
    assert body["reasons"] == [
        {
            "code": "not-permitted",
            "message": "'hold_session' may be done by coach; this person holds starter",
        }
    ]


def test_invalid_input_is_422_with_the_fields(client: TestClient) -> None:
    coaching(client)
    response = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "yesterday"}},
        headers=as_(COACH),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert sorted(body["fields"]) == ["held_on", "report"]
    assert {r["code"] for r in body["reasons"]} == {"invalid-input"}


def test_a_version_conflict_is_409(client: TestClient) -> None:
    coaching(client)  # now at version 1
    stale = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": "x"}, "expected_version": 0},
        headers=as_(COACH),
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "VersionConflict"
    assert (body["expected_version"], body["actual_version"]) == (0, 1)
    assert body["reasons"][0]["code"] == "version-conflict"
    fresh = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": "x"}, "expected_version": 1},
        headers=as_(COACH),
    )
    assert fresh.status_code == 200, fresh.text


def test_a_concurrent_writer_gets_409(
    store: SqlStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app instances on one database: of two writers of the same version, the one that
    commits second gets 409 and nothing of its change is kept."""
    other_store = SqlStore(store.url)
    try:
        first = Engine([MENTORING], store=store, clock=clock)
        second = Engine([MENTORING], store=other_store, clock=clock)
        with TestClient(webapp.create_app(first)) as a, TestClient(webapp.create_app(second)) as b:
            coaching(a)
            read_by_b = second.get("sanne-2026")  # b reads version 1 ...
            assert session(a, "eerste").status_code == 200  # ... a commits version 2 ...
            monkeypatch.setattr(other_store, "load", lambda trajectory_id: read_by_b)
            response = session(b, "tweede")  # ... and b commits on top of version 1
            assert response.status_code == 409, response.text
            body = response.json()
            assert body["error"] == "VersionConflict"
            assert (body["expected_version"], body["actual_version"]) == (1, 2)
            monkeypatch.undo()
            history = a.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
        reports = [r["input"]["report"] for r in history if r["event"] == "hold_session"]
        assert reports == ["eerste"]
    finally:
        other_store.dispose()


@pytest.mark.parametrize(
    ("event", "error", "code"),
    [
        ("close", "GuardFailed", "guard-failed"),
        ("begin", "NotAllowedInState", "not-allowed-in-state"),
        ("dance", "UnknownEvent", "unknown-event"),
    ],
)
def test_other_refusals_are_400_with_the_reasons(
    client: TestClient, event: str, error: str, code: str
) -> None:
    coaching(client)
    person = DIRECTOR if event == "close" else COACH
    response = client.post(f"/trajectories/sanne-2026/events/{event}", headers=as_(person))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error and body["reasons"][0]["code"] == code
    assert body["message"] == "; ".join(r["message"] for r in body["reasons"])


def test_refusals_change_nothing(client: TestClient) -> None:
    coaching(client)
    before = client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
    client.post("/trajectories/sanne-2026/events/close", headers=as_(DIRECTOR))
    client.post("/trajectories/sanne-2026/events/hold_session", json={}, headers=as_(COACH))
    client.post("/trajectories/sanne-2026/consents/share_reports", headers=as_(COACH))
    assert client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json() == before


def test_login_unknown_trajectories_and_definitions(client: TestClient) -> None:
    assert client.get("/agenda").status_code == 401
    assert client.post("/trajectories/x/events/begin").status_code == 401
    missing = client.post("/trajectories/nope/events/begin", headers=as_(COACH))
    assert missing.status_code == 404 and missing.json()["error"] == "UnknownTrajectory"
    assert client.get("/trajectories/nope/history", headers=as_(COACH)).status_code == 404
    unknown = client.post(
        "/trajectories",
        json={"definition": "nope", "participants": PEOPLE},
        headers=as_(DIRECTOR),
    )
    assert unknown.status_code == 422 and unknown.json()["error"] == "UnknownDefinition"
    start(client)
    again = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": PEOPLE, "id": "sanne-2026"},
        headers=as_(DIRECTOR),
    )
    assert again.status_code == 409 and again.json()["error"] == "TrajectoryExists"
    bad_body = client.post("/trajectories", json={"participants": PEOPLE}, headers=as_(DIRECTOR))
    assert bad_body.status_code == 422  # FastAPI's own validation: no definition named


# --- the app as it is served --------------------------------------------------------------------


def test_app_from_env_runs_the_starter_year(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``app_from_env()``: ``SqlStore(COACHFLOW_DB_URL)`` and the built-in definitions."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    monkeypatch.setenv("COACHFLOW_DB_URL", url)
    app = webapp.app_from_env()
    with TestClient(app) as client:
        started = client.post(
            "/trajectories",
            json={
                "definition": "starter-year",
                "id": "sanne-2026",
                "participants": {
                    "starter": "sanne",
                    "coach": "carla",
                    "director": "dirk",
                    "buddy": "bram",
                },
                "start_date": "2026-08-31",
                "calendar": "nl-2026-2027-midden",
            },
            headers=as_("dirk"),
        )
        assert started.status_code == 201, started.text
        assert started.json()["state"] == "period_1"
        early = client.post("/trajectories/sanne-2026/events/start_period_2", headers=as_("carla"))
        assert early.status_code == 400 and early.json()["error"] == "GuardFailed"
        director = client.post(
            "/trajectories/sanne-2026/events/start_period_2", headers=as_("dirk")
        )
        assert director.status_code == 403
        agenda = client.get("/agenda", params={"date": "2026-09-07"}, headers=as_("carla"))
        due = {i["activity"]: (i["due_date"], i["status"]) for i in agenda.json()}
        assert due["class_visit_w2"] == ("2026-09-13", "due")  # end of school week 2
        bad_calendar = client.post(
            "/trajectories",
            json={"definition": "starter-year", "participants": {}, "calendar": "mars"},
            headers=as_("dirk"),
        )
        assert bad_calendar.status_code == 422
    app.state.engine.store.dispose()
    assert (tmp_path / "served.db").exists()


def test_a_database_that_cannot_be_written_is_503_without_its_details(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A store failure is the server's fault, not the request's: 503, one generic message
    for the client; the file and the driver's reason go to the log."""
    path = tmp_path / "served.db"
    writable = SqlStore(f"sqlite:///{path}")  # the schema and the definition, then read-only
    Engine([MENTORING], store=writable, clock=clock)
    writable.dispose()
    store = SqlStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    engine = Engine([MENTORING], store=store, clock=clock)
    try:
        with TestClient(webapp.create_app(engine)) as client:
            response = client.post(
                "/trajectories",
                json={"definition": "mentoring", "participants": PEOPLE, "id": "t1"},
                headers=as_(DIRECTOR),
            )
    finally:
        store.dispose()
    assert response.status_code == 503, response.text
    assert response.json() == {
        "error": "StoreError",
        "message": "the database cannot be used right now",
    }
    assert str(path) not in response.text
    assert any(str(path) in r.getMessage() for r in caplog.records)


# --- a person's export (AVG art. 15) ---------------------------------------------------------


def test_a_person_exports_their_own_data_and_no_one_elses(client: TestClient) -> None:
    coaching(client)
    assert session(client, "Sanne zoekt rust in de klas").status_code == 200
    response = client.get(f"/people/{STARTER}/export", headers=as_(STARTER))
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["schema"] == "coachflow.person-export/1" and export["person"] == STARTER
    [part] = export["trajectories"]
    assert part["trajectory"] == "sanne-2026" and part["roles"] == ["starter"]
    reports = [r["input"]["report"] for r in part["records"] if r["event"] == "hold_session"]
    assert reports == ["Sanne zoekt rust in de klas"]  # hers to read
    director = client.get(f"/people/{DIRECTOR}/export", headers=as_(DIRECTOR)).json()
    [seen] = director["trajectories"]
    assert "Sanne zoekt rust" not in str(seen)  # no consent: not in the director's own export
    for asker in (DIRECTOR, COACH, "eva"):  # another person's export: refused, nothing read
        refused = client.get(f"/people/{STARTER}/export", headers=as_(asker))
        assert refused.status_code == 403
        assert "Sanne zoekt rust" not in refused.text
