"""A small web app that embeds coachflow: FastAPI in front of the engine and the SQL store.

Who is logged in is the ``X-Person`` header (a real app takes it from its session or
single sign-on). Every change is made *as that person*: the engine checks what they may do
through the roles they hold in the trajectory, and the history is shown as they may read it,
with the confidential values they may not read redacted. Every confidential value a person is
shown is recorded in the access log (by the engine: ``history(viewer=...)``), which the people
of the trajectory read as far as they may read the values themselves.

    POST   /trajectories                          start a trajectory
    GET    /trajectories/{id}                     the trajectory and what this person may do
    POST   /trajectories/{id}/events/{event}      fire an event
    POST   /trajectories/{id}/activities/{name}   record an activity
    POST   /trajectories/{id}/consents/{consent}  grant a consent
    DELETE /trajectories/{id}/consents/{consent}  withdraw it
    GET    /trajectories/{id}/history             the history, as this person may read it
    GET    /trajectories/{id}/access-log          who read which confidential value, as this
                                                  person may see it
    GET    /agenda?date=YYYY-MM-DD                this person's agenda over every trajectory

Refusals keep the engine's reasons: 403 for ``NotPermitted``, 422 for ``InvalidInput``, 409
for ``VersionConflict`` (someone changed the trajectory since it was read), 400 for every
other ``TransitionRejected``, always as ``{"error", "message", "reasons": [{"code",
"message"}]}``. A missing ``X-Person`` header is 401, an unknown trajectory 404, a
trajectory the person takes no part in 403.

Run it (see README.md): ``create_app(engine)`` builds the app around any engine (tests pass
one with a fixed clock); ``app_from_env()`` uses ``SqlStore(COACHFLOW_DB_URL)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from coachflow import REDACTED, Engine, Trajectory
from coachflow.errors import (
    CoachflowError,
    InvalidInput,
    NotPermitted,
    StoreError,
    TrajectoryExists,
    TransitionRejected,
    UnknownDefinition,
    UnknownTrajectory,
    VersionConflict,
)

log = logging.getLogger("coachflow.webapp")

DEFAULT_DB_URL = "sqlite:///coachflow-webapp.db"
"""Used when ``COACHFLOW_DB_URL`` is not set: an SQLite file in the current directory."""


# --- request bodies ------------------------------------------------------------------------------


class StartRequest(BaseModel):
    definition: str = Field(description="the definition's id, e.g. starter-year")
    participants: dict[str, str | list[str]] = Field(description="role -> person(s)")
    facts: dict[str, Any] | None = None
    id: str | None = Field(default=None, description="the trajectory's id (default: random)")
    version: int | None = Field(default=None, description="default: the newest version")
    start_date: str | None = Field(default=None, description="YYYY-MM-DD (default: today)")
    calendar: str | None = Field(default=None, description="a built-in school calendar's name")


class EventRequest(BaseModel):
    input: dict[str, Any] | None = None
    expected_version: int | None = Field(
        default=None, description="refuse (409) unless the trajectory is still at this version"
    )


class ActivityRequest(EventRequest):
    on: str | None = Field(default=None, description="the day it took place (default: today)")


class ConsentRequest(BaseModel):
    expected_version: int | None = None


# --- JSON ----------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON data; a value the reader may not read becomes ``{"redacted": true}``."""
    if value is REDACTED:
        return {"redacted": True}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def trajectory_data(t: Trajectory) -> dict[str, Any]:
    data: dict[str, Any] = t.as_dict()
    data["activities"] = data.pop("counts")
    result: dict[str, Any] = jsonable(data)
    return result


def rejection(exc: TransitionRejected) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": type(exc).__name__,
        "message": str(exc),
        "trajectory_id": exc.trajectory_id,
        "event": exc.event,
        "reasons": [{"code": r.code, "message": r.message} for r in exc.reasons],
    }
    if isinstance(exc, InvalidInput):
        body["fields"] = list(exc.fields)
    if isinstance(exc, VersionConflict):
        body["expected_version"], body["actual_version"] = exc.expected, exc.actual
    return body


def status_of(exc: TransitionRejected) -> int:
    if isinstance(exc, VersionConflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, NotPermitted):
        return 403
    return 400


# --- the app -------------------------------------------------------------------------------------


def logged_in(x_person: Annotated[str | None, Header()] = None) -> str:
    """The person making the request (the ``X-Person`` header)."""
    if not x_person:
        raise HTTPException(401, "not logged in: send the X-Person header")
    return x_person


Person = Annotated[str, Depends(logged_in)]


def create_app(engine: Engine) -> FastAPI:
    """The web app around ``engine`` (its store, clock and definitions)."""
    app = FastAPI(title="coachflow example", version="1")
    app.state.engine = engine

    @app.exception_handler(TransitionRejected)
    def refused(request: Request, exc: TransitionRejected) -> JSONResponse:
        return JSONResponse(rejection(exc), status_code=status_of(exc))

    @app.exception_handler(UnknownTrajectory)
    def unknown_trajectory(request: Request, exc: UnknownTrajectory) -> JSONResponse:
        return JSONResponse({"error": "UnknownTrajectory", "message": str(exc)}, status_code=404)

    @app.exception_handler(UnknownDefinition)
    def unknown_definition(request: Request, exc: UnknownDefinition) -> JSONResponse:
        return JSONResponse({"error": "UnknownDefinition", "message": str(exc)}, status_code=422)

    @app.exception_handler(TrajectoryExists)
    def exists(request: Request, exc: TrajectoryExists) -> JSONResponse:
        return JSONResponse({"error": "TrajectoryExists", "message": str(exc)}, status_code=409)

    @app.exception_handler(StoreError)
    def store_failed(request: Request, exc: StoreError) -> JSONResponse:
        # the database, not the request, is at fault: 503, and the details (the database
        # file or server, the driver's reason) stay in the server's log
        log.error("coachflow store: %s", exc)
        return JSONResponse(
            {"error": "StoreError", "message": "the database cannot be used right now"},
            status_code=503,
        )

    @app.exception_handler(CoachflowError)
    def other(request: Request, exc: CoachflowError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=400)

    def participant(trajectory_id: str, person: str, *, viewer: bool = False) -> Trajectory:
        """The trajectory, if ``person`` takes part in it (with ``viewer``: its history
        redacted for them, and what they are shown of it logged). Who may open a trajectory
        at all is the application's call; here: its participants. Whether they do is asked
        first, of the server's own unlogged read, so that a refused request logs nothing."""
        t = engine.get(trajectory_id)
        if not t.roles_of(person):
            raise HTTPException(403, f"{person!r} takes no part in trajectory {trajectory_id!r}")
        return engine.get(trajectory_id, viewer=person) if viewer else t

    # Plain ``def`` endpoints: the engine and the store block, so FastAPI runs them in its
    # thread pool.

    @app.post("/trajectories", status_code=201)
    def start(body: StartRequest, person: Person) -> dict[str, Any]:
        calendar = None
        if body.calendar is not None:
            from coachflow import builtin_calendar

            try:
                calendar = builtin_calendar(body.calendar)
            except LookupError as exc:
                raise HTTPException(422, str(exc)) from None
        t = engine.start(
            body.definition,
            participants=body.participants,
            actor=person,
            facts=body.facts,
            trajectory_id=body.id,
            version=body.version,
            start_date=body.start_date,
            calendar=calendar,
        )
        return trajectory_data(t)

    @app.get("/trajectories/{trajectory_id}")
    def show(trajectory_id: str, person: Person) -> dict[str, Any]:
        t = participant(trajectory_id, person)
        return {
            **trajectory_data(t),
            "roles": list(t.roles_of(person)),
            "allowed_events": engine.allowed_events(trajectory_id, actor=person),
        }

    @app.post("/trajectories/{trajectory_id}/events/{event}")
    def fire(
        trajectory_id: str, event: str, person: Person, body: EventRequest | None = None
    ) -> dict[str, Any]:
        body = body or EventRequest()
        t = engine.fire(
            trajectory_id,
            event,
            actor=person,
            input=body.input,
            expected_version=body.expected_version,
        )
        return trajectory_data(t)

    @app.post("/trajectories/{trajectory_id}/activities/{activity}")
    def record(
        trajectory_id: str, activity: str, person: Person, body: ActivityRequest | None = None
    ) -> dict[str, Any]:
        body = body or ActivityRequest()
        t = engine.record_activity(
            trajectory_id,
            activity,
            actor=person,
            on=body.on,
            input=body.input,
            expected_version=body.expected_version,
        )
        return trajectory_data(t)

    @app.post("/trajectories/{trajectory_id}/consents/{consent}")
    def grant(
        trajectory_id: str, consent: str, person: Person, body: ConsentRequest | None = None
    ) -> dict[str, Any]:
        expected = body.expected_version if body else None
        t = engine.grant_consent(trajectory_id, consent, actor=person, expected_version=expected)
        return trajectory_data(t)

    @app.delete("/trajectories/{trajectory_id}/consents/{consent}")
    def withdraw(trajectory_id: str, consent: str, person: Person) -> dict[str, Any]:
        t = engine.withdraw_consent(trajectory_id, consent, actor=person)
        return trajectory_data(t)

    @app.get("/trajectories/{trajectory_id}/history")
    def history(trajectory_id: str, person: Person) -> list[dict[str, Any]]:
        t = participant(trajectory_id, person, viewer=True)
        return [jsonable(r._asdict()) for r in t.history]

    @app.get("/trajectories/{trajectory_id}/access-log")
    def access_log(trajectory_id: str, person: Person) -> list[dict[str, Any]]:
        # the engine decides what this person may see of the log (403: none of it)
        return [jsonable(e._asdict()) for e in engine.access_log(trajectory_id, viewer=person)]

    @app.get("/people/{person_id}/export")
    def export_person(person_id: str, person: Person) -> dict[str, Any]:
        # the AVG's right of access: everything held about a person, as they may read it,
        # for that person alone (anyone else: 403, and nothing is read or logged)
        if person != person_id:
            raise HTTPException(403, "a person's export is for that person alone")
        return engine.export_person(person_id)

    @app.get("/agenda")
    def agenda(
        person: Person,
        day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    ) -> list[dict[str, Any]]:
        try:
            items = engine.agenda_for(person, as_of=day)
        except ValueError as exc:  # not a date
            raise HTTPException(422, f"date: {exc}") from None
        return [jsonable(i._asdict()) for i in items]

    return app


def engine_from_env() -> Engine:
    """An engine on ``SqlStore(COACHFLOW_DB_URL)`` with the built-in and installed
    definitions (the schema is created or upgraded when needed)."""
    from coachflow.store import SqlStore

    url = os.environ.get("COACHFLOW_DB_URL", DEFAULT_DB_URL)
    return Engine(store=SqlStore(url))


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory app:app_from_env``."""
    return create_app(engine_from_env())


if __name__ == "__main__":  # pragma: no cover - needs uvicorn
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("install uvicorn to serve the app: pip install uvicorn") from None
    uvicorn.run(app_from_env(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
