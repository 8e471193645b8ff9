"""``examples/webapp``'s pages for a teacher, in a real browser.

The real app runs under uvicorn in a background thread, on a free port of 127.0.0.1, around an
async engine on an SQLite file with a fixed clock (built like ``test_example_webapp.py`` builds
it: ``create_app(engine)`` of the example module around an ``AsyncEngine`` on an
``AsyncSqlStore``, with definitions written here; uvicorn runs the app's lifespan, which opens
the engine on the server's event loop and closes it there). The tests set up and check the
trajectories through a sync ``Engine`` on the same file, as a second process would: the
database is shared, the app's engine is the server's alone. Playwright's sync API drives
Debian's Chromium (``/usr/bin/chromium``; no browser of Playwright's own is downloaded),
launched once for the module; every test has its own browser context, so its own cookies. The
pages are checked by their text and by the engine's state after every click.

Without Playwright, uvicorn or Chromium the tests are skipped, loudly; in CI (``CI`` set) that
is a failure instead (``.ci/run`` installs Chromium, the ``dev`` extra the packages).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import pytest
from example_apps import load_example

from coachflow import AsyncEngine, AsyncSqlStore, ConsentError, Engine, FixedClock, loads_definition
from coachflow.store import SqlStore

pytest.importorskip("fastapi", reason="needs fastapi")

try:
    import uvicorn
except ImportError:  # the browser fixture skips (or fails, in CI)
    uvicorn = None
try:
    import playwright.sync_api as pw
except ImportError:
    pw = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    # what Chromium needs on this closed network (see the machine's notes); Playwright adds
    # --headless and a fresh, empty --user-data-dir of its own at every launch
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

webapp = load_example("webapp/app.py", "coachflow_example_webapp")

COACHING = loads_definition("""
coachflow: 1
id: mentoring
version: 1
title: Begeleiding startende leerkracht
roles:
  starter: {title: Startende leerkracht, required: true, subject: true}
  coach: {title: Coach, required: true}
  director: {title: Directeur, required: true}
started_by: [director]
consents:
  share_reports: {granted_by: starter, title: De directeur mag de verslagen lezen}
initial: intake
states:
  intake: {title: Intake}
  coaching: {title: Coaching}
  closed: {title: Afgesloten, final: true}
transitions:
  - {event: begin, from: intake, to: coaching, by: [coach]}
  - event: hold_session
    from: coaching
    to: coaching
    by: [coach]
    input:
      held_on: {type: date, required: true}
      report:
        type: str
        required: true
        visible_to: [coach, starter]
        disclose_to: {director: share_reports}
  - {event: close, from: coaching, to: closed, by: [director]}
activities:
  observation: {title: Klassenbezoek, by: [coach], during: [coaching], due: {week: 2}}
  logbook: {title: Logboek bijhouden, by: [starter], during: [coaching], due: {week: 3}}
""")
"""The mentoring of ``test_example_webapp.py`` with an activity of the starter's own."""

STUDY = loads_definition("""
coachflow: 1
id: self-study
version: 1
title: Zelfstudie
roles:
  learner: {title: Leerkracht, required: true, subject: true}
started_by: [learner]
initial: studying
states:
  studying: {title: Studie}
  done: {title: Klaar, final: true}
transitions:
  - {event: finish, from: studying, to: done, by: [learner]}
activities:
  reading: {title: Vakliteratuur lezen, by: [learner], during: [studying], due: {week: 4}}
""")

NOW = "2026-09-01T09:00:00+00:00"
TEACHER, COACH, DIRECTOR, OUTSIDER = "sanne", "carla", "dirk", "bram"
TRAJECTORY = "sanne-2026"
STUDYING = "sanne-<b>study</b>&co"
"""Sanne's second trajectory: an id that is HTML when it is not escaped."""
OTHER = "bram-2026"
"""Bram's own trajectory, in which Sanne takes no part (nor Bram in hers)."""


class Site(NamedTuple):
    url: str
    engine: Engine
    """A sync engine on the app's database, for the tests' own setup and checks (the app
    runs an async engine of its own on it)."""


def unavailable(reason: str) -> None:
    """Skip, loudly; in CI, where the browser tests must run, fail."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    pytest.skip(f"NO BROWSER TEST: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if pw is None:
        unavailable("the Python package playwright is not installed (pip install -e '.[dev]')")
    if uvicorn is None:
        unavailable("uvicorn is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with pw.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


def people_of(starter: str) -> dict[str, str]:
    return {"starter": starter, "coach": COACH, "director": DIRECTOR}


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app served by uvicorn, around an async engine on an SQLite file, holding: Sanne's
    coaching, where she grants ``share_reports`` and the director read the coach's report
    once while she had granted it (so its access log has an entry), Sanne's self-study,
    and Bram's coaching (set up through a sync engine on the same file)."""
    clock = FixedClock(NOW)
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'webapp.db'}")
    engine = Engine([COACHING, STUDY], store=store, clock=clock)
    engine.start(
        "mentoring", participants=people_of(TEACHER), actor=DIRECTOR, trajectory_id=TRAJECTORY
    )
    engine.fire(TRAJECTORY, "begin", actor=COACH)
    report = {"held_on": "2026-09-01", "report": "Onrustige klas, goede instructie."}
    engine.fire(TRAJECTORY, "hold_session", actor=COACH, input=report)
    engine.grant_consent(TRAJECTORY, "share_reports", actor=TEACHER)
    engine.get(TRAJECTORY, viewer=DIRECTOR)  # the director reads the report: logged
    engine.withdraw_consent(TRAJECTORY, "share_reports", actor=TEACHER)
    engine.start(
        "self-study", participants={"learner": TEACHER}, actor=TEACHER, trajectory_id=STUDYING
    )
    engine.start("mentoring", participants=people_of(OUTSIDER), actor=DIRECTOR, trajectory_id=OTHER)
    engine.fire(OTHER, "begin", actor=COACH)

    served = AsyncEngine(
        [COACHING, STUDY], store=AsyncSqlStore(store.url, upgrade=False), clock=clock
    )
    app = webapp.create_app(served, administrators=[DIRECTOR])
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))  # a free port, held from here on
    port = listening.getsockname()[1]
    # the app's lifespan opens its engine on the server's loop and closes it when it stops
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", engine)
    server.should_exit = True
    thread.join(10)
    stopped = not thread.is_alive()
    listening.close()
    store.dispose()
    assert stopped, "uvicorn did not stop (nor close the app's engine)"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context()
    made.set_default_timeout(5_000)
    yield made
    made.close()


def logged_in(context: BrowserContext, site: Site, person: str) -> Page:
    """A page of the browser, logged in as ``person`` (the example's login link)."""
    page = context.new_page()
    response = page.goto(f"{site.url}/login?person={quote(person)}")
    assert response is not None and response.ok
    assert page.url == f"{site.url}/me/agenda"
    assert page.locator("#person").inner_text() == person
    return page


def rows(page: Page) -> list[list[str]]:
    """The text of every cell of the page's table, row by row (none: no table)."""
    cells = page.locator("main table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [list(row) for row in cells]


def consent_row(page: Page, trajectory_id: str) -> Any:
    return page.locator("main tbody tr").filter(has_text=trajectory_id)


def consented(site: Site, trajectory_id: str = TRAJECTORY) -> bool:
    return bool(site.engine.get(trajectory_id).consents.get("share_reports", False))


# --- the pages of a teacher ------------------------------------------------------------------


def test_my_agenda_lists_the_teachers_items_across_trajectories(
    context: BrowserContext, site: Site
) -> None:
    page = logged_in(context, site, TEACHER)
    assert page.title() == "My agenda - coachflow"
    shown = rows(page)
    expected = [
        [i.due_date.isoformat(), i.title, i.trajectory_id, i.status]
        for i in site.engine.agenda_for(TEACHER)
    ]
    assert shown == expected
    assert sorted((r[1], r[2]) for r in shown) == [
        ("Logboek bijhouden", TRAJECTORY),
        ("Vakliteratuur lezen", STUDYING),
    ]
    # the coach's item is not hers; the id with markup is shown as text, never as markup
    assert "Klassenbezoek" not in page.locator("main").inner_text()
    assert page.locator("main b").count() == 0
    assert STUDYING in page.locator("main").inner_text()


def test_grant_and_withdraw_a_consent_with_the_buttons(context: BrowserContext, site: Site) -> None:
    page = logged_in(context, site, TEACHER)
    page.get_by_role("link", name="My consents").click()
    pw.expect(page).to_have_url(f"{site.url}/me/consents")
    # only the consent she grants, of the trajectory that has one
    assert [r[:3] for r in rows(page)] == [
        [
            f"{TRAJECTORY} (Begeleiding startende leerkracht)",
            "De directeur mag de verslagen lezen share_reports",
            "not granted",
        ]
    ]
    row = consent_row(page, TRAJECTORY)
    pw.expect(row.get_by_role("button", name="Withdraw")).to_be_disabled()
    assert not consented(site)
    version = site.engine.get(TRAJECTORY).version

    row.get_by_role("button", name="Grant").click()
    pw.expect(row.locator(".status")).to_have_text("granted")
    assert page.url == f"{site.url}/me/consents"  # redirected after the post
    assert consented(site)
    after = site.engine.get(TRAJECTORY)
    assert after.version == version + 1
    assert (after.history[-1].kind, after.history[-1].actor) == ("consent_granted", TEACHER)
    pw.expect(row.get_by_role("button", name="Grant")).to_be_disabled()

    row.get_by_role("button", name="Withdraw").click()
    pw.expect(row.locator(".status")).to_have_text("not granted")
    assert not consented(site)
    after = site.engine.get(TRAJECTORY)
    assert after.version == version + 2
    assert (after.history[-1].kind, after.history[-1].actor) == ("consent_withdrawn", TEACHER)

    # the director takes part, but the consent is not his to grant: no buttons for him
    page = logged_in(context, site, DIRECTOR)
    page.get_by_role("link", name="My consents").click()
    pw.expect(page.locator("main .empty")).to_have_text("You grant no consents.")
    assert rows(page) == []


def test_who_read_my_reports_lists_the_reader_and_the_field(
    context: BrowserContext, site: Site
) -> None:
    page = logged_in(context, site, TEACHER)
    page.get_by_role("link", name="Who read my reports").click()
    pw.expect(page).to_have_url(f"{site.url}/me/reads")
    entries = site.engine.access_log(TRAJECTORY, viewer=TEACHER)
    assert [(e.viewer, e.field, e.basis) for e in entries] == [
        (DIRECTOR, "report", "consent:share_reports")
    ]
    seq = entries[0].seq
    assert rows(page) == [
        [
            "2026-09-01T09:00+00:00",
            DIRECTOR,
            TRAJECTORY,
            f"hold_session (#{seq})",
            "report",
            "consent:share_reports",
        ]
    ]
    # the page shows who read the report, never the report itself
    assert "Onrustige klas" not in page.content()


def test_a_stale_page_and_a_refusal_are_pages_that_change_nothing(
    context: BrowserContext, site: Site
) -> None:
    page = logged_in(context, site, TEACHER)
    page.goto(f"{site.url}/me/consents")
    row = consent_row(page, TRAJECTORY)
    pw.expect(row.locator(".status")).to_have_text("not granted")
    site.engine.grant_consent(TRAJECTORY, "share_reports", actor=TEACHER)  # in another tab
    try:
        version = site.engine.get(TRAJECTORY).version
        with page.expect_response(f"{site.url}/me/consents") as answer:
            row.get_by_role("button", name="Grant").click()  # the page still says: not granted
        assert answer.value.status == 409
        pw.expect(page.get_by_role("alert")).to_have_text(
            f"'{TRAJECTORY}' changed since this page was shown: reload it and try again"
        )
        assert site.engine.get(TRAJECTORY).version == version

        # granting what is granted: the engine's refusal, in its own words
        page.goto(f"{site.url}/me/consents")
        withdraw = consent_row(page, TRAJECTORY).get_by_role("button", name="Withdraw")
        withdraw.evaluate("button => { button.value = 'grant' }")
        with page.expect_response(f"{site.url}/me/consents") as answer:
            withdraw.click()
        assert answer.value.status == 400
        with pytest.raises(ConsentError) as refused:
            site.engine.grant_consent(TRAJECTORY, "share_reports", actor=TEACHER)
        pw.expect(page.get_by_role("alert")).to_have_text(str(refused.value))
        assert site.engine.get(TRAJECTORY).version == version and consented(site)
    finally:
        site.engine.withdraw_consent(TRAJECTORY, "share_reports", actor=TEACHER)


# --- someone who takes no part ---------------------------------------------------------------


def test_a_non_participant_sees_nothing_of_the_trajectory(
    context: BrowserContext, site: Site
) -> None:
    page = logged_in(context, site, OUTSIDER)
    agenda = rows(page)
    assert agenda and {r[2] for r in agenda} == {OTHER}  # his own, and only his own
    for name, path in [("My consents", "/me/consents"), ("Who read my reports", "/me/reads")]:
        page.get_by_role("link", name=name).click()
        pw.expect(page).to_have_url(site.url + path)
        text = page.locator("main").inner_text()
        assert TRAJECTORY not in text and TEACHER not in text
    assert rows(page) == [] and "Nobody read them." in page.locator("main").inner_text()
    page.get_by_role("link", name="My consents").click()
    assert [r[0] for r in rows(page)] == [f"{OTHER} (Begeleiding startende leerkracht)"]

    # his own form, edited in the browser to name her trajectory (his token is valid): the
    # very page of a trajectory that does not exist, and nothing changes
    before = site.engine.get(TRAJECTORY)

    def forged(trajectory_id: str) -> tuple[int, str, str]:
        page.goto(f"{site.url}/me/consents")
        form = (
            consent_row(page, OTHER)
            .locator("form")
            .filter(has=page.get_by_role("button", name="Grant"))
        )
        form.locator("input[name=trajectory]").evaluate("(e, v) => { e.value = v }", trajectory_id)
        form.locator("input[name=version]").evaluate("(e, v) => { e.value = v }", before.version)
        with page.expect_response(f"{site.url}/me/consents") as answer:
            form.get_by_role("button", name="Grant").click()
        pw.expect(page).to_have_title("Not Found - coachflow")
        return answer.value.status, page.title(), page.get_by_role("alert").inner_text()

    status, title, text = forged(TRAJECTORY)
    assert status == 404
    assert text == f"there is no trajectory '{TRAJECTORY}' for you"
    assert page.locator("main > *").count() == 2  # the heading and that sentence: no more
    assert forged("nobody-2026") == (status, title, text.replace(TRAJECTORY, "nobody-2026"))
    after = site.engine.get(TRAJECTORY)
    assert after.version == before.version and not consented(site)
    assert not consented(site, OTHER)


# --- the session and its token ----------------------------------------------------------------


def test_a_form_without_the_sessions_token_changes_nothing(
    browser: Browser, context: BrowserContext, site: Site
) -> None:
    page = logged_in(context, site, TEACHER)
    version = site.engine.get(TRAJECTORY).version
    fields = {"trajectory": TRAJECTORY, "consent": "share_reports", "version": str(version)}
    for token in [None, "", "not-the-token"]:
        form = {**fields, "action": "grant"} | ({} if token is None else {"csrf": token})
        response = page.request.post(f"{site.url}/me/consents", form=form)
        assert response.status == 403, response.text()
        assert "this form has expired" in response.text()
    assert site.engine.get(TRAJECTORY).version == version and not consented(site)

    # another browser, not logged in, is sent to the login; its post is refused
    stranger = browser.new_context()
    try:
        anonymous = stranger.new_page()
        anonymous.goto(f"{site.url}/me/consents")
        pw.expect(anonymous).to_have_url(f"{site.url}/login")
        pw.expect(anonymous.get_by_role("button", name="Log in")).to_be_visible()
        response = anonymous.request.post(f"{site.url}/me/consents", form=fields)
        assert response.status == 401
    finally:
        stranger.close()

    # logging out ends the session: its cookie and token no longer work
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    page.get_by_role("button", name="Log out").click()
    pw.expect(page).to_have_url(f"{site.url}/login")
    response = page.request.post(
        f"{site.url}/me/consents", form={**fields, "csrf": token or "", "action": "grant"}
    )
    assert response.status == 401
    assert site.engine.get(TRAJECTORY).version == version and not consented(site)
