"""``examples/webapp``: the FastAPI app embedding the async engine with the SQL store.

Every test runs twice: on an SQLite file and on PostgreSQL (``COACHFLOW_TEST_POSTGRES_URL``;
skipped loudly when no server is configured, an error in CI). The app is built by
``create_app(engine)`` around an :class:`~coachflow.AsyncEngine` with a fixed clock and a
small definition written here, on an ``AsyncSqlStore`` of the database of the ``store``
fixture, so the tests do not depend on the shipped definitions; one test runs the built-in
``starter-year`` through the app as ``app_from_env()`` builds it. A test that calls the
app's engine itself does so on the app's event loop (``client.portal.call``). Every error
answer is checked to be an RFC 9457 problem (``application/problem+json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from example_apps import load_example
from icalendar import Calendar

from coachflow import (
    AsyncEngine,
    AsyncMemoryStore,
    AsyncSqlStore,
    Engine,
    FixedClock,
    loads_definition,
)
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
  buddy: {title: Maatje, assigned_by: [director], max: 2}
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

SELF_STUDY = loads_definition("""
coachflow: 1
id: self-study
version: 1
title: Zelfstudie
roles:
  learner: {title: Leerkracht, required: true, subject: true}
  mentor: {title: Mentor}
started_by: [learner]
initial: studying
states:
  studying: {title: Studie}
  done: {title: Klaar, final: true}
transitions:
  - {event: finish, from: studying, to: done, by: [learner]}
""")
"""A definition its subject starts: a person may start one about themself."""

NOW = "2026-09-01T09:00:00+00:00"
STARTER, COACH, DIRECTOR = "sanne", "carla", "dirk"
PEOPLE = {"starter": STARTER, "coach": COACH, "director": DIRECTOR}


STORE_KINDS = ["sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""


CLOCK_AT = NOW
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


def async_engine(store: SqlStore, clock: FixedClock, *definitions: Any) -> AsyncEngine:
    """An async engine on the database of the sync ``store`` (its schema is there already),
    for an app to own: the app opens it when it starts and closes it when it stops."""
    return AsyncEngine(
        list(definitions) or [MENTORING, SELF_STUDY],
        store=AsyncSqlStore(store.url, upgrade=False),
        clock=clock,
    )


@pytest.fixture
def client(store: SqlStore, clock: FixedClock) -> Iterator[TestClient]:
    engine = async_engine(store, clock)
    with TestClient(webapp.create_app(engine, administrators=[DIRECTOR])) as test_client:
        yield test_client


def as_(person: str) -> dict[str, str]:
    return {"X-Person": person}


PROBLEM_MEMBERS = {"type", "title", "status", "detail"}
REFUSALS = {
    "not-permitted",
    "invalid-input",
    "bad-id",
    "version-conflict",
    "guard-failed",
    "not-allowed-in-state",
    "unknown-event",
    "consent",
}
"""The codes of coachflow's refusals: their problems carry the coded ``reasons``."""


def problem(response: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    """The body of ``response``, checked to be an RFC 9457 problem of ``status`` (and of
    the ``kind`` that ends its ``type``; None: ``about:blank``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    expected = "about:blank" if kind is None else f"https://coachflow.example/problems/{kind}"
    assert body["type"] == expected, body
    if kind in REFUSALS:
        assert body["reasons"] and all(set(r) == {"code", "message"} for r in body["reasons"])
    if kind == "unknown-trajectory":
        assert isinstance(body["trajectory_id"], str)
    return body


def start(
    client: TestClient, tid: str = "sanne-2026", people: dict[str, str] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": people or PEOPLE, "id": tid},
        headers=as_(DIRECTOR),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def coaching(
    client: TestClient, tid: str = "sanne-2026", people: dict[str, str] | None = None
) -> None:
    start(client, tid, people)
    coach = (people or PEOPLE)["coach"]
    response = client.post(f"/trajectories/{tid}/events/begin", headers=as_(coach))
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
    assert body["participants"] == {
        "starter": [STARTER],
        "coach": [COACH],
        "director": [DIRECTOR],
        "buddy": [],
    }
    assert body["facts"] == {"sessions": 0}
    assert body["started_at"] == NOW and body["start_date"] == "2026-09-01"
    history = client.get("/trajectories/sanne-2026/history", headers=as_(DIRECTOR)).json()
    assert [(r["kind"], r["actor"], r["role"]) for r in history] == [
        ("started", DIRECTOR, "director")
    ]


def test_only_a_role_in_started_by_may_start(client: TestClient) -> None:
    """An administrator too must take a starting role (the engine's rule)."""
    response = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": {**PEOPLE, "director": "dora"}},
        headers=as_(DIRECTOR),
    )
    body = problem(response, 403, "not-permitted")
    assert "the person starting must be bound" in body["detail"]
    assert [r["code"] for r in body["reasons"]] == ["not-permitted"]


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
    body = problem(response, 400, "consent")
    assert body["reasons"][0]["code"] == "consent" and body["trajectory_id"] == "sanne-2026"


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
    assert problem(again, 400, "guard-failed")["reasons"][0]["code"] == "guard-failed"


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
    body = problem(response, 404, "unknown-trajectory")
    unknown = client.get("/trajectories/nope/access-log", headers=as_(STARTER))
    assert problem(unknown, 404, "unknown-trajectory")["detail"] == body["detail"].replace(
        "sanne-2026", "nope"
    )
    refused = client.get("/trajectories/sanne-2026/history", headers=as_("eva"))
    problem(refused, 404, "unknown-trajectory")
    assert [e[0] for e in access_log(client, STARTER)] == [STARTER]  # eva's try logged nothing
    problem(client.get("/trajectories/sanne-2026/access-log"), 401)


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
    assert "date" in problem(response, 422)["detail"]


# --- error mappings -----------------------------------------------------------------------------


def test_not_permitted_is_403_with_the_reasons(client: TestClient) -> None:
    coaching(client)
    response = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": "x"}},
        headers=as_(STARTER),
    )
    body = problem(response, 403, "not-permitted")
    assert body["event"] == "hold_session" and body["trajectory_id"] == "sanne-2026"
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
    body = problem(response, 422, "invalid-input")
    assert sorted(body["fields"]) == ["held_on", "report"]
    assert {r["code"] for r in body["reasons"]} == {"invalid-input"}


def test_a_version_conflict_is_409(client: TestClient) -> None:
    coaching(client)  # now at version 1
    stale = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": {"held_on": "2026-09-01", "report": "x"}, "expected_version": 0},
        headers=as_(COACH),
    )
    body = problem(stale, 409, "version-conflict")
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
    first = async_engine(store, clock, MENTORING)
    second = async_engine(store, clock, MENTORING)  # a store (and connections) of its own
    app_a = webapp.create_app(first, administrators=[DIRECTOR])
    with TestClient(app_a) as a, TestClient(webapp.create_app(second)) as b:
        coaching(a)
        read_by_b = b.portal.call(second.get, "sanne-2026")  # b reads version 1 ...
        assert session(a, "eerste").status_code == 200  # ... a commits version 2 ...
        # the sync store the async one runs its calls on: the engine loads through it
        monkeypatch.setattr(second.store.sync, "load", lambda trajectory_id: read_by_b)
        response = session(b, "tweede")  # ... and b commits on top of version 1
        body = problem(response, 409, "version-conflict")
        assert (body["expected_version"], body["actual_version"]) == (1, 2)
        monkeypatch.undo()
        history = a.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
    reports = [r["input"]["report"] for r in history if r["event"] == "hold_session"]
    assert reports == ["eerste"]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ("close", "guard-failed"),
        ("begin", "not-allowed-in-state"),
        ("dance", "unknown-event"),
    ],
)
def test_other_refusals_are_400_with_the_reasons(client: TestClient, event: str, code: str) -> None:
    coaching(client)
    person = DIRECTOR if event == "close" else COACH
    response = client.post(f"/trajectories/sanne-2026/events/{event}", headers=as_(person))
    body = problem(response, 400, code)
    assert body["reasons"][0]["code"] == code
    assert body["detail"] == "; ".join(r["message"] for r in body["reasons"])


def test_refusals_change_nothing(client: TestClient) -> None:
    coaching(client)
    before = client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
    client.post("/trajectories/sanne-2026/events/close", headers=as_(DIRECTOR))
    client.post("/trajectories/sanne-2026/events/hold_session", json={}, headers=as_(COACH))
    client.post("/trajectories/sanne-2026/consents/share_reports", headers=as_(COACH))
    assert client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json() == before


def test_login_unknown_trajectories_and_definitions(client: TestClient) -> None:
    problem(client.get("/agenda"), 401)
    problem(client.post("/trajectories/x/events/begin"), 401)
    missing = client.post("/trajectories/nope/events/begin", headers=as_(COACH))
    assert problem(missing, 404, "unknown-trajectory")["trajectory_id"] == "nope"
    problem(client.get("/trajectories/nope/history", headers=as_(COACH)), 404, "unknown-trajectory")
    for person in (DIRECTOR, COACH):  # an unknown definition, whoever asks
        unknown = client.post(
            "/trajectories",
            json={"definition": "nope", "participants": PEOPLE},
            headers=as_(person),
        )
        problem(unknown, 422, "unknown-definition")
    start(client)
    again = client.post(
        "/trajectories",
        json={"definition": "mentoring", "participants": PEOPLE, "id": "sanne-2026"},
        headers=as_(DIRECTOR),
    )
    problem(again, 409, "trajectory-exists")
    bad_body = client.post("/trajectories", json={"participants": PEOPLE}, headers=as_(DIRECTOR))
    body = problem(bad_body, 422, "invalid-request")  # FastAPI's own validation
    assert body["errors"] == [
        {"loc": ["body", "definition"], "msg": "Field required", "type": "missing"}
    ]
    assert body["detail"] == "body.definition: Field required"


# --- the app as it is served --------------------------------------------------------------------


def test_app_from_env_runs_the_starter_year(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``app_from_env()``: ``AsyncSqlStore(COACHFLOW_DB_URL)`` and the built-in definitions;
    the app opens the store when it starts (creating the database) and closes it when it
    stops."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    monkeypatch.setenv("COACHFLOW_DB_URL", url)
    monkeypatch.setenv("COACHFLOW_WEBAPP_ADMINS", "dirk,anna")
    app = webapp.app_from_env()
    engine = app.state.engine
    assert isinstance(engine, AsyncEngine) and isinstance(engine.store, AsyncSqlStore)
    assert engine.store.url == url
    assert not (tmp_path / "served.db").exists()  # nothing is opened before the app starts
    with TestClient(app) as client:
        request = {
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
        }
        # carla is no administrator, and the trajectory is not about her: the app refuses;
        # sanne, whom it is about, holds no starting role: the engine refuses
        for person, says in (("carla", "administrator"), ("sanne", "must be bound")):
            refused = client.post("/trajectories", json=request, headers=as_(person))
            assert says in problem(refused, 403, "not-permitted")["detail"]
        started = client.post("/trajectories", json=request, headers=as_("dirk"))
        assert started.status_code == 201, started.text
        assert started.json()["state"] == "period_1"
        early = client.post("/trajectories/sanne-2026/events/start_period_2", headers=as_("carla"))
        problem(early, 400, "guard-failed")
        director = client.post(
            "/trajectories/sanne-2026/events/start_period_2", headers=as_("dirk")
        )
        problem(director, 403, "not-permitted")
        agenda = client.get("/agenda", params={"date": "2026-09-07"}, headers=as_("carla"))
        due = {i["activity"]: (i["due_date"], i["status"]) for i in agenda.json()}
        assert due["class_visit_w2"] == ("2026-09-13", "due")  # end of school week 2
        bad_calendar = client.post(
            "/trajectories",
            json={"definition": "starter-year", "participants": {}, "calendar": "mars"},
            headers=as_("dirk"),
        )
        assert "mars" in problem(bad_calendar, 422)["detail"]
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
    store = AsyncSqlStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    engine = AsyncEngine([MENTORING], store=store, clock=clock)
    with TestClient(webapp.create_app(engine, administrators=[DIRECTOR])) as client:
        response = client.post(
            "/trajectories",
            json={"definition": "mentoring", "participants": PEOPLE, "id": "t1"},
            headers=as_(DIRECTOR),
        )
    assert problem(response, 503, "store-unavailable") == {
        "type": "https://coachflow.example/problems/store-unavailable",
        "title": "Store unavailable",
        "status": 503,
        "detail": "the database cannot be used right now",
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
        problem(refused, 403)
        assert "Sanne zoekt rust" not in refused.text


# --- one error shape ----------------------------------------------------------------------------


def test_bad_json_and_unknown_routes_are_problems(client: TestClient) -> None:
    bad_json = client.post(
        "/trajectories",
        content=b'{"definition": ',
        headers={**as_(DIRECTOR), "Content-Type": "application/json"},
    )
    body = problem(bad_json, 422, "invalid-request")
    assert [e["type"] for e in body["errors"]] == ["json_invalid"]
    assert "definition" not in body["detail"]  # what was sent is never echoed
    assert problem(client.get("/nope", headers=as_(COACH)), 404)["title"] == "Not Found"
    wrong_method = client.put("/trajectories", headers=as_(DIRECTOR))
    problem(wrong_method, 405)
    assert wrong_method.headers["allow"] == "POST"


def test_validation_errors_do_not_echo_what_was_sent(client: TestClient) -> None:
    start(client)
    secret = "Sanne huilde in de klas"
    response = client.post(
        "/trajectories/sanne-2026/events/hold_session",
        json={"input": secret, "expected_version": "later"},
        headers=as_(COACH),
    )
    body = problem(response, 422, "invalid-request")
    assert {tuple(e["loc"]) for e in body["errors"]} == {
        ("body", "input"),
        ("body", "expected_version"),
    }
    assert secret not in response.text and "later" not in response.text


def test_an_unexpected_failure_is_a_problem_too(store: SqlStore, clock: FixedClock) -> None:
    app = webapp.create_app(async_engine(store, clock, MENTORING))

    def broken() -> None:
        raise RuntimeError("the secret cause")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken")
    problem(response, 500)
    assert "secret" not in response.text


# --- who may start a trajectory, and for whom ---------------------------------------------------


def test_only_an_administrator_starts_a_trajectory_about_someone_else(
    client: TestClient,
) -> None:
    """Eva names herself director, as the definition lets her: the app refuses, since she is
    no administrator and the trajectory is not about her; nothing is stored."""
    people = {**PEOPLE, "director": "eva"}
    for body in (
        {"definition": "mentoring", "participants": people, "id": "sanne-2026"},
        {"definition": "mentoring", "participants": {**people, "starter": ["sanne", "eva"]}},
    ):
        response = client.post("/trajectories", json=body, headers=as_("eva"))
        refused = problem(response, 403, "not-permitted")
        assert "administrator" in refused["detail"]
        assert [r["code"] for r in refused["reasons"]] == ["not-permitted"]
    problem(client.get("/trajectories/sanne-2026", headers=as_(STARTER)), 404, "unknown-trajectory")
    assert client.get(f"/people/{STARTER}/trajectories", headers=as_(STARTER)).json() == []


def test_a_person_starts_a_trajectory_about_themself(client: TestClient) -> None:
    own = {"definition": "self-study", "id": "sanne-self", "participants": {"learner": STARTER}}
    response = client.post("/trajectories", json=own, headers=as_(STARTER))
    assert response.status_code == 201, response.text
    assert response.json()["participants"] == {"learner": [STARTER], "mentor": []}
    for_tom = {**own, "id": "tom-self", "participants": {"learner": "tom", "mentor": STARTER}}
    problem(client.post("/trajectories", json=for_tom, headers=as_(STARTER)), 403, "not-permitted")
    problem(client.get("/trajectories/tom-self", headers=as_("tom")), 404, "unknown-trajectory")
    # the engine's rule holds too: the person it is about must hold a started_by role
    mentored = {**own, "id": "x", "participants": {"learner": STARTER, "mentor": COACH}}
    refused = problem(
        client.post("/trajectories", json=mentored, headers=as_(COACH)), 403, "not-permitted"
    )
    assert "administrator" in refused["detail"]


# --- someone who takes no part: the 404 of a trajectory that does not exist ----------------------

ROUTES = [
    ("GET", "/trajectories/{tid}", None),
    ("POST", "/trajectories/{tid}/events/begin", None),
    ("POST", "/trajectories/{tid}/events/hold_session", {"input": {"held_on": "x"}}),
    ("GET", "/trajectories/{tid}/events/begin/explain", None),
    ("POST", "/trajectories/{tid}/activities/observation", {"input": {"notes": "x"}}),
    ("POST", "/trajectories/{tid}/consents/share_reports", None),
    ("DELETE", "/trajectories/{tid}/consents/share_reports", None),
    ("POST", "/trajectories/{tid}/roles/buddy", {"person": "eva"}),
    ("DELETE", "/trajectories/{tid}/roles/coach/carla", None),
    ("GET", "/trajectories/{tid}/history", None),
    ("GET", "/trajectories/{tid}/access-log", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_someone_who_takes_no_part_gets_the_404_of_no_trajectory(
    client: TestClient, clock: FixedClock, method: str, path: str, body: Any
) -> None:
    """Eva's answer on a trajectory she takes no part in is, byte for byte, the answer an
    app whose store holds no trajectory at all gives her; and her try changes nothing."""
    coaching(client)
    assert session(client, "Rustig.").status_code == 200
    before = client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json()
    read = access_log(client, STARTER)
    url = path.format(tid="sanne-2026")
    hidden = client.request(method, url, json=body, headers=as_("eva"))
    empty = AsyncEngine([MENTORING], store=AsyncMemoryStore(), clock=clock)
    with TestClient(webapp.create_app(empty)) as nothing_stored:
        absent = nothing_stored.request(method, url, json=body, headers=as_("eva"))
    assert problem(hidden, 404, "unknown-trajectory")["trajectory_id"] == "sanne-2026"
    assert (hidden.content, dict(hidden.headers)) == (absent.content, dict(absent.headers))
    assert "coaching" not in hidden.text and "observation" not in hidden.text
    assert access_log(client, STARTER) == read  # eva read nothing
    assert client.get("/trajectories/sanne-2026/history", headers=as_(COACH)).json() == before


# --- the size of a request body ----------------------------------------------------------------


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    start(client)
    limit = webapp.MAX_BODY
    assert limit == 64 * 1024
    json_headers = {**as_(DIRECTOR), "Content-Type": "application/json"}
    at_limit = b" " * (limit - 2) + b"{}"  # read: FastAPI's validation answers
    at = client.post("/trajectories", content=at_limit, headers=json_headers)
    problem(at, 422, "invalid-request")
    over = b" " * (limit - 1) + b"{}"
    response = client.post("/trajectories", content=over, headers=json_headers)
    assert problem(response, 413)["detail"] == f"a request body is at most {limit} bytes"

    def chunks() -> Iterator[bytes]:  # streamed: no Content-Length, counted as it arrives
        yield b'{"input": {"held_on": "2026-09-01", "report": "'
        yield b"x" * limit
        yield b'"}}'

    streamed = client.post(
        "/trajectories/sanne-2026/events/begin", content=chunks(), headers=json_headers
    )
    assert "content-length" not in streamed.request.headers
    problem(streamed, 413)
    state = client.get("/trajectories/sanne-2026", headers=as_(COACH)).json()["state"]
    assert state == "intake"  # refused before the engine was asked


# --- the endpoints of a school app ---------------------------------------------------------------


def test_a_person_lists_their_own_trajectories(client: TestClient) -> None:
    coaching(client)
    start(client, "tom-2026", {**PEOPLE, "starter": "tom", "coach": "cor"})
    response = client.get(f"/people/{COACH}/trajectories", headers=as_(COACH))
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "id": "sanne-2026",
            "definition_id": "mentoring",
            "definition_version": 1,
            "state": "coaching",
            "version": 1,
            "start_date": "2026-09-01",
            "roles": ["coach"],
        }
    ]
    director = client.get(f"/people/{DIRECTOR}/trajectories", headers=as_(DIRECTOR)).json()
    assert [(t["id"], t["roles"], t["state"]) for t in director] == [
        ("sanne-2026", ["director"], "coaching"),
        ("tom-2026", ["director"], "intake"),
    ]
    assert client.get("/people/eva/trajectories", headers=as_("eva")).json() == []
    problem(client.get(f"/people/{COACH}/trajectories", headers=as_(DIRECTOR)), 403)
    problem(client.get(f"/people/{COACH}/trajectories"), 401)


def feed_events(client: TestClient, person: str) -> list[Any]:
    response = client.get(f"/people/{person}/agenda.ics", headers=as_(person))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "text/calendar"
    calendar = Calendar.from_ical(response.content)
    assert calendar.name == "VCALENDAR"
    return list(calendar.walk("VEVENT"))


def test_the_agenda_feed_holds_that_persons_items_only(client: TestClient) -> None:
    coaching(client)
    coaching(client, "tom-2026", {**PEOPLE, "starter": "tom", "coach": "cor"})
    [carla] = feed_events(client, COACH)
    assert str(carla["uid"]) == "sanne-2026.observation.once@coachflow"
    assert carla.decoded("dtstart") == date(2026, 9, 13)
    assert "Klassenbezoek" in str(carla["summary"])
    [cor] = feed_events(client, "cor")
    assert str(cor["uid"]) == "tom-2026.observation.once@coachflow"
    director = feed_events(client, DIRECTOR)  # nothing to do (at most a placeholder)
    assert not [e for e in director if "observation" in str(e.get("uid", ""))]
    refused = client.get(f"/people/{COACH}/agenda.ics", headers=as_(DIRECTOR))
    problem(refused, 403)
    assert "Klassenbezoek" not in refused.text


def test_explain_says_why_an_event_is_or_is_not_allowed(client: TestClient) -> None:
    coaching(client)

    def explain(person: str, event: str) -> dict[str, Any]:
        url = f"/trajectories/sanne-2026/events/{event}/explain"
        response = client.get(url, headers=as_(person))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert (body["trajectory_id"], body["event"], body["state"]) == (
            "sanne-2026",
            event,
            "coaching",
        )
        return body

    assert explain(COACH, "hold_session") == {
        "trajectory_id": "sanne-2026",
        "event": "hold_session",
        "state": "coaching",
        "allowed": True,
        "reasons": [],
    }
    assert explain(STARTER, "hold_session")["reasons"] == [
        {
            "code": "not-permitted",
            "message": "'hold_session' may be done by coach; this person holds starter",
        }
    ]
    cases = {(DIRECTOR, "close"): "guard-failed", (COACH, "begin"): "not-allowed-in-state"}
    for (person, event), code in cases.items():
        body = explain(person, event)
        assert body["allowed"] is False and [r["code"] for r in body["reasons"]] == [code]
    assert [r["code"] for r in explain(COACH, "dance")["reasons"]] == ["unknown-event"]
    assert explain(COACH, "hold_session")["allowed"]  # explaining changes nothing
    assert client.get("/trajectories/sanne-2026", headers=as_(COACH)).json()["version"] == 1


def test_the_director_assigns_and_unassigns_a_buddy(client: TestClient) -> None:
    start(client)
    path = "/trajectories/sanne-2026/roles/buddy"
    problem(client.get("/trajectories/sanne-2026", headers=as_("bram")), 404, "unknown-trajectory")
    refused = client.post(path, json={"person": "bram"}, headers=as_(COACH))
    assert problem(refused, 403, "not-permitted")["reasons"][0]["code"] == "not-permitted"

    assigned = client.post(path, json={"person": "bram"}, headers=as_(DIRECTOR))
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["participants"]["buddy"] == ["bram"]
    shown = client.get("/trajectories/sanne-2026", headers=as_("bram"))
    assert shown.status_code == 200 and shown.json()["roles"] == ["buddy"]
    mine = client.get("/people/bram/trajectories", headers=as_("bram")).json()
    assert [(t["id"], t["roles"]) for t in mine] == [("sanne-2026", ["buddy"])]
    twice = client.post(path, json={"person": "bram"}, headers=as_(DIRECTOR))
    assert problem(twice, 422, "invalid-input")["fields"] == ["person"]
    stale = client.post(path, json={"person": "bo", "expected_version": 0}, headers=as_(DIRECTOR))
    problem(stale, 409, "version-conflict")
    replaced = client.post(path, json={"person": "bo", "replacing": "bram"}, headers=as_(DIRECTOR))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["participants"]["buddy"] == ["bo"]
    problem(client.get("/trajectories/sanne-2026", headers=as_("bram")), 404, "unknown-trajectory")

    problem(client.delete(f"{path}/bo", headers=as_("bo")), 403, "not-permitted")
    unassigned = client.delete(f"{path}/bo", headers=as_(DIRECTOR))
    assert unassigned.status_code == 200, unassigned.text
    assert unassigned.json()["participants"]["buddy"] == []
    problem(client.get("/trajectories/sanne-2026", headers=as_("bo")), 404, "unknown-trajectory")
    unknown_role = client.post(
        "/trajectories/sanne-2026/roles/janitor", json={"person": "bo"}, headers=as_(DIRECTOR)
    )
    assert problem(unknown_role, 422, "invalid-input")["fields"] == ["role"]
