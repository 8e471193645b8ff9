"""A small web app that embeds coachflow: FastAPI in front of the async engine and the SQL store.

Who is logged in is the ``X-Person`` header (a real app takes it from its session or
single sign-on). Every change is made *as that person*: the engine checks what they may do
through the roles they hold in the trajectory, and the history is shown as they may read it,
with the confidential values they may not read redacted. Every confidential value a person is
shown is recorded in the access log (by the engine: ``history(viewer=...)``), which the people
of the trajectory read as far as they may read the values themselves.

    POST   /trajectories                               start a trajectory
    GET    /trajectories/{id}                          the trajectory and what this person may do
    POST   /trajectories/{id}/events/{event}           fire an event
    GET    /trajectories/{id}/events/{event}/explain   whether this person may fire it, and why
    POST   /trajectories/{id}/activities/{name}        record an activity
    POST   /trajectories/{id}/consents/{consent}       grant a consent
    DELETE /trajectories/{id}/consents/{consent}       withdraw it
    POST   /trajectories/{id}/roles/{role}             assign a person to a role
    DELETE /trajectories/{id}/roles/{role}/{person}    unassign them
    GET    /trajectories/{id}/history                  the history, as this person may read it
    GET    /trajectories/{id}/access-log               who read which confidential value
    GET    /people/{id}/trajectories                   the trajectories this person takes part in
    GET    /people/{id}/agenda.ics                     their agenda as an iCalendar feed
    GET    /people/{id}/export                         everything held about them
    GET    /agenda?date=YYYY-MM-DD                     this person's agenda over every trajectory

And a few server-rendered HTML pages for a teacher in a browser (no JavaScript), logged in
by a session cookie instead of the header (see "the pages" below and README.md):

    GET    /login?person=ID                            EXAMPLE-ONLY login: sets the cookie
    POST   /logout                                     ends the session
    GET    /me/agenda                                  my agenda
    GET    /me/consents    POST /me/consents           my consents: grant and withdraw them
    GET    /me/reads                                   who read my reports (the access log)

Authorization, on top of the engine's roles: a trajectory is started by one of its
administrators (``create_app(administrators=...)``) or by the person it is about (who holds
its ``subject`` role), and the engine then checks that the person starting holds one of its
``started_by`` roles. Someone who takes no part in a trajectory gets the 404 of a trajectory
that does not exist on every route under ``/trajectories/{id}``. The ``/people/{id}/...``
routes are for that person alone. Request bodies are at most ``max_body`` bytes (413).

Every error is an RFC 9457 problem (``application/problem+json``): ``type``, ``title``,
``status``, ``detail``, and for coachflow's refusals the coded ``reasons`` and the
``trajectory_id``. See README.md.

It is an asyncio app: ``create_app(engine)`` takes an :class:`~coachflow.AsyncEngine`, and
every endpoint that uses the engine or its store is an ``async def`` that awaits it, so a
request waiting for the database holds no thread. The app opens the engine
when it starts and closes its store (``await engine.aclose()``) when it shuts down.

Run it (see README.md): ``create_app(engine)`` builds the app around any async engine (tests
pass one with a fixed clock); ``app_from_env()`` uses ``AsyncSqlStore(COACHFLOW_DB_URL)``.
"""

from __future__ import annotations

import html
import json
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coachflow import REDACTED, AsyncEngine, Trajectory, agenda_to_ical, id_problem
from coachflow.errors import (
    CoachflowError,
    DefinitionError,
    InvalidInput,
    NotPermitted,
    PredicateError,
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

MAX_BODY = 64 * 1024
"""The largest request body accepted, in bytes (larger: 413)."""

PROBLEMS = "https://coachflow.example/problems/"
"""The base of the problem ``type`` URIs: one per kind of error, followed by its code."""


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


class AssignRequest(BaseModel):
    person: str = Field(description="the person to bind to the role")
    replacing: str | None = Field(default=None, description="a person unbound in the same change")
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


# --- problems (RFC 9457) -------------------------------------------------------------------------


class Problem(JSONResponse):
    media_type = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> Problem:
    """The one error body. ``kind``: the code that ends the ``type`` URI (None: a plain
    HTTP error, ``about:blank``, titled by its status); members that are None are left out."""
    body = {
        "type": PROBLEMS + kind if kind else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **{k: v for k, v in members.items() if v is not None},
    }
    return Problem(body, status_code=status, headers=headers)


REFUSALS: dict[str, tuple[int, str]] = {
    # a TransitionRejected's code -> its status and title
    "not-permitted": (403, "Not permitted"),
    "invalid-input": (422, "Invalid input"),
    "bad-id": (422, "Invalid id"),
    "version-conflict": (409, "Changed since it was read"),
    "guard-failed": (400, "Condition not met"),
    "not-allowed-in-state": (400, "Not allowed in this state"),
    "unknown-event": (400, "Unknown event"),
    "consent": (400, "Consent refused"),
}


def refusal(exc: TransitionRejected) -> Problem:
    status, title = REFUSALS.get(exc.code, (400, "Refused"))
    return problem(
        status,
        str(exc),
        kind=exc.code,
        title=title,
        reasons=[{"code": r.code, "message": r.message} for r in exc.reasons],
        trajectory_id=exc.trajectory_id,
        event=exc.event,
        fields=list(exc.fields) if isinstance(exc, InvalidInput) else None,
        expected_version=exc.expected if isinstance(exc, VersionConflict) else None,
        actual_version=exc.actual if isinstance(exc, VersionConflict) else None,
    )


def not_found(trajectory_id: str | None) -> Problem:
    """The same 404 for a trajectory that does not exist and for one the person takes no
    part in: the body does not tell them apart."""
    return problem(
        404,
        f"there is no trajectory {trajectory_id!r} for you",
        kind="unknown-trajectory",
        title="Unknown trajectory",
        trajectory_id=trajectory_id,
    )


def coachflow_problem(request: Request, exc: CoachflowError) -> Problem:
    """The problem of any coachflow exception."""
    if isinstance(exc, TransitionRejected):
        return refusal(exc)
    if isinstance(exc, UnknownTrajectory):
        return not_found(request.path_params.get("trajectory_id"))
    if isinstance(exc, UnknownDefinition):
        return problem(422, str(exc), kind="unknown-definition", title="Unknown definition")
    if isinstance(exc, DefinitionError):
        return problem(422, str(exc), kind="definition-error", title="Definition not usable")
    if isinstance(exc, TrajectoryExists):
        return problem(409, str(exc), kind="trajectory-exists", title="Trajectory exists")
    if isinstance(exc, StoreError | PredicateError):
        # the server, not the request, is at fault: the details (the database file or
        # server, the driver's reason, what a predicate raised) stay in the server's log
        log.error("coachflow: %s", exc)
        if isinstance(exc, StoreError):
            detail = "the database cannot be used right now"
            return problem(503, detail, kind="store-unavailable", title="Store unavailable")
        return problem(500, "the server failed to evaluate a condition")
    return problem(400, str(exc), kind="refused", title="Refused")


def validation_problem(exc: RequestValidationError) -> Problem:
    """FastAPI's 422: where and what, never the value sent (it may be confidential)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return problem(422, detail, kind="invalid-request", title="Invalid request", errors=errors)


class BodyLimit:
    """Refuses (413) a request body over ``limit`` bytes: by its ``Content-Length`` before
    reading anything, and by the bytes that actually arrive (a chunked body has none)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "0")
        if not length.isdigit():
            await problem(400, "Content-Length is not a number")(scope, receive, send)
            return
        if int(length) > self.limit:
            await self.too_large(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self.too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"a request body is at most {self.limit} bytes"
        await problem(413, detail, headers={"Connection": "close"})(scope, receive, send)


# --- the app -------------------------------------------------------------------------------------


def logged_in(x_person: Annotated[str | None, Header()] = None) -> str:
    """The person making the request (the ``X-Person`` header)."""
    if not x_person:
        raise HTTPException(401, "not logged in: send the X-Person header")
    return x_person


Person = Annotated[str, Depends(logged_in)]


async def taking_part(request: Request, trajectory_id: str, person: Person) -> Trajectory:
    """The trajectory, if ``person`` takes part in it; otherwise the 404 of a trajectory
    that does not exist. Asked of the server's own unlogged read, so that a refused request
    logs nothing."""
    engine: AsyncEngine = request.app.state.engine
    t = await engine.get(trajectory_id)
    if not t.roles_of(person):
        raise UnknownTrajectory(trajectory_id)
    return t


Participant = Annotated[Trajectory, Depends(taking_part)]
"""A route's trajectory, for one of its participants (anyone else: 404)."""


def named(people: str | list[str]) -> list[str]:
    return [people] if isinstance(people, str) else people


def create_app(
    engine: AsyncEngine, *, administrators: Iterable[str] = (), max_body: int = MAX_BODY
) -> FastAPI:
    """The web app around the async ``engine`` (its store, clock and definitions).
    ``administrators``: the people who may start a trajectory about someone else. The app
    opens the engine when it starts and closes its store when it shuts down: an app owns
    its engine (give each app an engine of its own)."""
    if not isinstance(engine, AsyncEngine):
        raise TypeError(
            f"create_app takes a coachflow.AsyncEngine (on an AsyncSqlStore or an "
            f"AsyncMemoryStore), not {type(engine).__name__}"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # open the store (and read the definitions it holds) before the first request, on
        # the server's event loop; close its connections on that loop when the server stops
        await engine.open()
        try:
            yield
        finally:
            await engine.aclose()

    app = FastAPI(title="coachflow example", version="1", lifespan=lifespan)
    app.state.engine = engine
    admins = frozenset(administrators)
    app.add_middleware(BodyLimit, limit=max_body)

    @app.exception_handler(CoachflowError)
    def coachflow_error(request: Request, exc: CoachflowError) -> Problem:
        return coachflow_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Problem:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> Problem:
        return validation_problem(exc)

    @app.exception_handler(Exception)
    def failed(request: Request, exc: Exception) -> Problem:
        log.error("unexpected error", exc_info=exc)
        return problem(500, "the server failed; its log says why")

    def only_self(person_id: str, person: str) -> None:
        if person != person_id:
            raise HTTPException(403, "this is for the person themself alone")

    async def may_start(person: str, body: StartRequest) -> None:
        """Only an administrator starts a trajectory about someone else: anyone else only one
        about themself (holding every subject role alone)."""
        if person in admins:
            return
        # the definitions the store holds are known once the engine is open (done when the
        # app starts; again here for a server that runs no lifespan, idempotent and cheap)
        await engine.open()
        definition = engine.definition(body.definition, body.version)
        subjects = [r for r, role in definition.roles.items() if role.subject]
        about = {p for r in subjects for p in named(body.participants.get(r, []))}
        if about != {person}:
            roles = ", ".join(subjects) or "none"
            raise NotPermitted(
                f"{person!r} may not start {definition.id!r} for someone else: only the person "
                f"it is about (subject role: {roles}) or an administrator may start it",
                trajectory_id=body.id,
                actor=person,
            )

    # ``async def`` endpoints: every command of the async engine and every read of its
    # store is awaited on the event loop (no thread waits for the database). None of them
    # touches the ``history`` of a snapshot outside a command: that lazy read would block
    # the loop (see ``history`` and the page ``/me/reads``, which await engine.history).

    @app.post("/trajectories", status_code=201)
    async def start(body: StartRequest, person: Person) -> dict[str, Any]:
        await may_start(person, body)
        calendar = None
        if body.calendar is not None:
            from coachflow import builtin_calendar

            try:
                calendar = builtin_calendar(body.calendar)
            except LookupError as exc:
                raise HTTPException(422, str(exc)) from None
        t = await engine.start(
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
    async def show(t: Participant, person: Person) -> dict[str, Any]:
        return {
            **trajectory_data(t),
            "roles": list(t.roles_of(person)),
            "allowed_events": await engine.allowed_events(t.id, actor=person),
        }

    @app.post("/trajectories/{trajectory_id}/events/{event}")
    async def fire(
        t: Participant, event: str, person: Person, body: EventRequest | None = None
    ) -> dict[str, Any]:
        body = body or EventRequest()
        changed = await engine.fire(
            t.id, event, actor=person, input=body.input, expected_version=body.expected_version
        )
        return trajectory_data(changed)

    @app.get("/trajectories/{trajectory_id}/events/{event}/explain")
    async def explain(t: Participant, event: str, person: Person) -> dict[str, Any]:
        # the input is not checked: whether a form's button can be enabled
        why = await engine.explain(t.id, event, actor=person)
        return {
            "trajectory_id": t.id,
            "event": why.event,
            "state": why.state,
            "allowed": why.allowed,
            "reasons": [{"code": r.code, "message": r.message} for r in why.reasons],
        }

    @app.post("/trajectories/{trajectory_id}/activities/{activity}")
    async def record(
        t: Participant, activity: str, person: Person, body: ActivityRequest | None = None
    ) -> dict[str, Any]:
        body = body or ActivityRequest()
        changed = await engine.record_activity(
            t.id,
            activity,
            actor=person,
            on=body.on,
            input=body.input,
            expected_version=body.expected_version,
        )
        return trajectory_data(changed)

    @app.post("/trajectories/{trajectory_id}/consents/{consent}")
    async def grant(
        t: Participant, consent: str, person: Person, body: ConsentRequest | None = None
    ) -> dict[str, Any]:
        expected = body.expected_version if body else None
        changed = await engine.grant_consent(t.id, consent, actor=person, expected_version=expected)
        return trajectory_data(changed)

    @app.delete("/trajectories/{trajectory_id}/consents/{consent}")
    async def withdraw(t: Participant, consent: str, person: Person) -> dict[str, Any]:
        return trajectory_data(await engine.withdraw_consent(t.id, consent, actor=person))

    @app.post("/trajectories/{trajectory_id}/roles/{role}")
    async def assign(
        t: Participant, role: str, body: AssignRequest, person: Person
    ) -> dict[str, Any]:
        changed = await engine.assign(
            t.id,
            role,
            body.person,
            actor=person,
            replacing=body.replacing,
            expected_version=body.expected_version,
        )
        return trajectory_data(changed)

    @app.delete("/trajectories/{trajectory_id}/roles/{role}/{person_id}")
    async def unassign(t: Participant, role: str, person_id: str, person: Person) -> dict[str, Any]:
        return trajectory_data(await engine.unassign(t.id, role, person_id, actor=person))

    @app.get("/trajectories/{trajectory_id}/history")
    async def history(t: Participant, person: Person) -> list[dict[str, Any]]:
        # redacted for them, and logged; read inside the command (awaited), not lazily after
        shown = await engine.history(t.id, viewer=person)
        return [jsonable(r._asdict()) for r in shown]

    @app.get("/trajectories/{trajectory_id}/access-log")
    async def access_log(trajectory_id: str, person: Person) -> list[dict[str, Any]]:
        # the engine decides what this person may see of the log: someone who took part
        # and wrote in it may read who read what they wrote; anyone else gets the 404
        try:
            entries = await engine.access_log(trajectory_id, viewer=person)
        except NotPermitted:
            raise UnknownTrajectory(trajectory_id) from None
        return [jsonable(e._asdict()) for e in entries]

    @app.get("/people/{person_id}/trajectories")
    async def my_trajectories(person_id: str, person: Person) -> list[dict[str, Any]]:
        only_self(person_id, person)
        found = sorted(await engine.store.with_participant(person), key=lambda t: t.id)
        return [
            {
                "id": t.id,
                "definition_id": t.definition_id,
                "definition_version": t.definition_version,
                "state": t.state,
                "version": t.version,
                "start_date": t.start_date.isoformat(),
                "roles": list(t.roles_of(person)),
            }
            for t in found
        ]

    @app.get("/people/{person_id}/agenda.ics")
    async def agenda_feed(person_id: str, person: Person) -> Response:
        # a real app serves a feed on a secret per-person URL: calendar apps send no login
        only_self(person_id, person)
        # done items stay in the feed (a subscribed calendar updates them), stamped now
        items = await engine.agenda_for(person, include_done=True)
        feed = agenda_to_ical(items, name=f"coachflow: {person}", stamp=engine.clock.now())
        return Response(feed, media_type="text/calendar")

    @app.get("/people/{person_id}/export")
    async def export_person(person_id: str, person: Person) -> dict[str, Any]:
        # the AVG's right of access: everything held about a person, as they may read it,
        # for that person alone (anyone else: 403, and nothing is read or logged)
        only_self(person_id, person)
        return await engine.export_person(person_id)

    @app.get("/agenda")
    async def agenda(
        person: Person,
        day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    ) -> list[dict[str, Any]]:
        try:
            items = await engine.agenda_for(person, as_of=day)
        except ValueError as exc:  # not a date
            raise HTTPException(422, f"date: {exc}") from None
        return [jsonable(i._asdict()) for i in items]

    add_pages(app, engine)
    return app


# --- the pages: server-rendered HTML for a teacher in a browser ---------------------------------
#
# Three pages for the person logged in, plain HTML with no JavaScript: "my agenda", "my
# consents" (a button to grant and one to withdraw each consent they grant) and "who read my
# reports" (the access log). A browser cannot send the X-Person header on a link, so the pages
# take the person from a session cookie that ``GET /login?person=ID`` sets: an EXAMPLE-ONLY
# login that believes whoever it is told, where a real application logs people in through its
# own session or single sign-on. The JSON API above keeps its header and never looks at the
# cookie. Every form POSTs the session's CSRF token (checked before anything else) and is
# answered with a redirect to its page (303, "redirect after post"). Every value shown is
# escaped with ``html.escape``. The pages show the trajectories the person takes part in, and
# only what the engine lets them see there; a form naming a trajectory they take no part in
# gets the very page of one that does not exist, and changes nothing.

SESSION_COOKIE = "coachflow_session"
"""The cookie that holds a browser's session id (HttpOnly, SameSite=Lax)."""

MAX_SESSIONS = 10_000
"""The most sessions kept in memory; a new login beyond it ends the oldest."""

PAGES = {
    "/me/agenda": "My agenda",
    "/me/consents": "My consents",
    "/me/reads": "Who read my reports",
}
"""The pages, in the order of the navigation bar."""

PAGE_HEADERS = {
    "Cache-Control": "no-store",  # personal pages: not kept by the browser or a proxy
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class Session:
    """A logged-in browser: the person, and the token that its forms must send back."""

    person: str
    csrf: str


class Sessions:
    """The sessions of this server process, by the secret id in their cookie. In memory, so
    an example for one process: a real application keeps them in its own session store."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._by_id: dict[str, Session] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def open(self, person: str) -> str:
        """A new session for ``person`` (a fresh id at every login); its id."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            while len(self._by_id) >= self._limit:
                del self._by_id[next(iter(self._by_id))]
            self._by_id[sid] = Session(person, secrets.token_urlsafe(32))
        return sid

    def get(self, sid: str | None) -> Session | None:
        with self._lock:
            return self._by_id.get(sid) if sid else None

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)


def esc(value: object) -> str:
    """``value`` as HTML text, quotes included (safe in an attribute too)."""
    return html.escape(str(value), quote=True)


def page(
    title: str, body: str, session: Session | None = None, *, status: int = 200
) -> HTMLResponse:
    """A whole HTML page; with a session, the navigation and a logout button."""
    nav = ""
    if session is not None:
        links = " | ".join(f'<a href="{esc(path)}">{esc(name)}</a>' for path, name in PAGES.items())
        nav = (
            f"<nav>{links}</nav>"
            f"<form method='post' action='/logout'>Logged in as "
            f"<strong id='person'>{esc(session.person)}</strong> "
            f"{token_field(session)}<button type='submit'>Log out</button></form>"
        )
    document = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)} - coachflow</title></head>"
        f"<body><header>{nav}</header><main><h1>{esc(title)}</h1>{body}</main></body></html>\n"
    )
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)


def error_page(status: int, detail: str, session: Session | None = None) -> HTMLResponse:
    """An error as a page: its status and a sentence that holds no confidential value."""
    title = HTTPStatus(status).phrase
    return page(title, f"<p class='error' role='alert'>{esc(detail)}</p>", session, status=status)


def no_such_trajectory(trajectory_id: str, session: Session) -> HTMLResponse:
    """The same page for a trajectory that does not exist and for one the person takes no
    part in (the detail of the JSON API's 404)."""
    return error_page(404, f"there is no trajectory {trajectory_id!r} for you", session)


def token_field(session: Session) -> str:
    return f"<input type='hidden' name='csrf' value='{esc(session.csrf)}'>"


def table(head: Iterable[str], rows: Iterable[Iterable[str]], empty: str) -> str:
    """An HTML table of cells that are HTML already (escaped by the caller); ``empty``: the
    sentence shown instead when there are no rows."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f"<p class='empty'>{esc(empty)}</p>"
    heads = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted HTML form (``application/x-www-form-urlencoded``; the first
    value of each); anything else reads as no fields, so its CSRF check fails. (Parsed
    here, so that the app needs no multipart parser.)"""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or kind != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", "replace")
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=20)
    except ValueError:  # too many fields
        return {}
    return {name: values[0] for name, values in parsed.items()}


Form = Annotated[dict[str, str], Depends(form_fields)]


def browser_session(request: Request) -> Session | None:
    """The session of the browser's cookie, if it is one of this server's."""
    sessions: Sessions = request.app.state.sessions
    return sessions.get(request.cookies.get(SESSION_COOKIE))


Browser = Annotated[Session | None, Depends(browser_session)]
"""The logged-in browser of a page's request (None: not logged in)."""


def add_pages(app: FastAPI, engine: AsyncEngine) -> None:
    """The HTML pages of the app (see the comment above)."""
    sessions = Sessions()
    app.state.sessions = sessions

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    def posted(session: Session | None, form: Mapping[str, str]) -> HTMLResponse | None:
        """The page refusing a form post (no session, a missing or wrong CSRF token), or
        None when it may go on."""
        if session is None:
            return error_page(401, "you are not logged in (or your session has ended)")
        if not secrets.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
            detail = "this form has expired or did not come from this site: reload the page"
            return error_page(403, detail, session)
        return None

    async def mine(person: str) -> list[Trajectory]:
        """The trajectories ``person`` takes part in, by id (the server's unlogged read:
        the pages show none of their confidential values)."""
        await engine.open()  # title_of reads the definitions the store holds (idempotent)
        return sorted(await engine.store.with_participant(person), key=lambda t: t.id)

    def title_of(t: Trajectory) -> str:
        definition = engine.definition(t.definition_id, t.definition_version)
        return definition.text() or definition.id

    def failure(request: Request, exc: CoachflowError, session: Session) -> HTMLResponse:
        """A refusal of coachflow as a page, with the JSON API's status and detail."""
        found = json.loads(bytes(coachflow_problem(request, exc).body))
        return error_page(int(found["status"]), str(found["detail"]), session)

    @app.get("/login", response_class=HTMLResponse)
    def login(person: str | None = None) -> Response:
        # EXAMPLE ONLY: whoever is named is logged in, no password asked
        if person is None:
            form = (
                "<p>An example login: no password, you are whoever you say.</p>"
                "<form method='get' action='/login'><label>Person "
                "<input name='person' required></label> <button type='submit'>Log in</button>"
                "</form>"
            )
            return page("Log in", form)
        why = id_problem(person)
        if why is not None:
            return error_page(400, f"that is no person id: it {why}")
        response = RedirectResponse("/me/agenda", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, sessions.open(person), httponly=True, samesite="lax", path="/"
        )
        return response

    @app.post("/logout")
    def logout(request: Request, session: Browser, form: Form) -> Response:
        refused = posted(session, form)
        if refused is not None:
            return refused
        sessions.close(request.cookies.get(SESSION_COOKIE))
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/me")
    def me() -> Response:
        return RedirectResponse("/me/agenda", status_code=303)

    @app.get("/me/agenda", response_class=HTMLResponse)
    async def my_agenda(request: Request, session: Browser) -> Response:
        if session is None:
            return to_login()
        try:
            items = await engine.agenda_for(session.person)
        except CoachflowError as exc:
            return failure(request, exc, session)
        rows = [
            [
                esc(i.due_date.isoformat() if i.due_date else "-"),
                esc(i.title or i.activity),
                esc(i.trajectory_id),
                esc(i.status),
            ]
            for i in items
        ]
        heads = ["Due", "Activity", "Trajectory", "Status"]
        return page("My agenda", table(heads, rows, "Nothing to do."), session)

    @app.get("/me/consents", response_class=HTMLResponse)
    async def my_consents(request: Request, session: Browser) -> Response:
        if session is None:
            return to_login()
        rows: list[list[str]] = []
        try:
            for t in await mine(session.person):
                definition = engine.definition(t.definition_id, t.definition_version)
                roles = set(t.roles_of(session.person))
                for name, consent in definition.consents.items():
                    if consent.granted_by in roles:
                        rows.append(consent_row(t, name, consent.text() or name, session))
        except CoachflowError as exc:
            return failure(request, exc, session)
        heads = ["Trajectory", "Consent", "Status", ""]
        return page("My consents", table(heads, rows, "You grant no consents."), session)

    def consent_row(t: Trajectory, name: str, title: str, session: Session) -> list[str]:
        granted = bool(t.consents.get(name, False))

        def button(action: str, label: str, enabled: bool) -> str:
            return (
                "<form method='post' action='/me/consents'>"
                f"{token_field(session)}"
                f"<input type='hidden' name='trajectory' value='{esc(t.id)}'>"
                f"<input type='hidden' name='consent' value='{esc(name)}'>"
                f"<input type='hidden' name='version' value='{esc(t.version)}'>"
                f"<button type='submit' name='action' value='{action}'"
                f"{'' if enabled else ' disabled'}>{label}</button></form>"
            )

        return [
            f"{esc(t.id)} ({esc(title_of(t))})",
            f"{esc(title)} <code>{esc(name)}</code>",
            f"<span class='status'>{'granted' if granted else 'not granted'}</span>",
            button("grant", "Grant", not granted) + " " + button("withdraw", "Withdraw", granted),
        ]

    @app.post("/me/consents", response_class=HTMLResponse)
    async def change_consent(request: Request, session: Browser, form: Form) -> Response:
        refused = posted(session, form)
        if refused is not None:
            return refused
        assert session is not None
        tid, consent, action = (form.get(k, "") for k in ("trajectory", "consent", "action"))
        try:
            t = await engine.get(tid)  # the server's own unlogged read
        except UnknownTrajectory:
            return no_such_trajectory(tid, session)
        except CoachflowError as exc:
            return failure(request, exc, session)
        if not t.roles_of(session.person):
            return no_such_trajectory(tid, session)
        version = form.get("version", "")
        if action not in ("grant", "withdraw") or not version.isdecimal() or not consent:
            return error_page(400, "this form is not one of this site's", session)
        change = engine.grant_consent if action == "grant" else engine.withdraw_consent
        try:
            await change(tid, consent, actor=session.person, expected_version=int(version))
        except UnknownTrajectory:
            return no_such_trajectory(tid, session)
        except VersionConflict:
            detail = f"{tid!r} changed since this page was shown: reload it and try again"
            return error_page(409, detail, session)
        except CoachflowError as exc:
            return failure(request, exc, session)
        return RedirectResponse("/me/consents", status_code=303)

    @app.get("/me/reads", response_class=HTMLResponse)
    async def my_reads(request: Request, session: Browser) -> Response:
        if session is None:
            return to_login()
        rows: list[list[str]] = []
        try:
            for t in await mine(session.person):
                try:
                    entries = await engine.access_log(t.id, viewer=session.person)
                except NotPermitted:  # unassigned since it was listed: not theirs any more
                    continue
                # the names of the records (the server's unlogged read, awaited: the lazy
                # t.history of the listed snapshot would block the event loop)
                records = {r.seq: r.event or r.kind for r in await engine.history(t.id)}
                rows.extend(
                    [
                        esc(e.at.isoformat(timespec="minutes")),
                        f"<span class='viewer'>{esc(e.viewer)}</span>",
                        esc(e.trajectory_id),
                        f"{esc(records.get(e.seq, '?'))} (#{esc(e.seq)})",
                        f"<span class='field'>{esc(e.field)}</span>",
                        esc(e.basis),
                    ]
                    for e in entries
                )
        except CoachflowError as exc:
            return failure(request, exc, session)
        heads = ["When", "Who", "Trajectory", "Record", "Field", "Why they may read it"]
        return page("Who read my reports", table(heads, rows, "Nobody read them."), session)


def engine_from_env() -> AsyncEngine:
    """An async engine on ``AsyncSqlStore(COACHFLOW_DB_URL)`` with the built-in and installed
    definitions. It connects to nothing yet: the app opens it when it starts (the schema is
    then created or upgraded when needed)."""
    from coachflow import AsyncSqlStore

    url = os.environ.get("COACHFLOW_DB_URL", DEFAULT_DB_URL)
    return AsyncEngine(store=AsyncSqlStore(url))


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory app:app_from_env``; ``COACHFLOW_WEBAPP_ADMINS``: the
    administrators' person ids, separated by commas."""
    admins = os.environ.get("COACHFLOW_WEBAPP_ADMINS", "")
    return create_app(engine_from_env(), administrators=[a for a in admins.split(",") if a])


if __name__ == "__main__":  # pragma: no cover - needs uvicorn
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("install uvicorn to serve the app: pip install uvicorn") from None
    uvicorn.run(app_from_env(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
