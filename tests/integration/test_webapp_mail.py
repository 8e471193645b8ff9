"""``examples/webapp/mail.py``: the engine's reminders and escalations, sent as e-mail.

Against a real SMTP server, never a mock: aiosmtpd's ``Controller`` on 127.0.0.1 and a free
port, whose handler keeps every message it received. Each engine test runs on the memory
store and on an SQLite file (``STORE_KINDS``): a reminder that ``run_due`` wrote to the outbox
must arrive as an e-mail to the right address, once; when the server is down or refuses,
nothing is acknowledged and the e-mail is sent exactly once after the lease has run out; when
it refuses for good (``5xx``), the notice is acknowledged and the next one still goes out.
"""

from __future__ import annotations

import json
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from example_apps import load_example

from coachflow import Engine, FixedClock, loads_definition
from coachflow.store import SqlStore

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
else:
    Controller = pytest.importorskip(
        "aiosmtpd.controller", reason="needs aiosmtpd (pip install -e '.[dev]')"
    ).Controller


mail = load_example("webapp/mail.py", "coachflow_example_webapp_mail")

VISITS = loads_definition("""
coachflow: 1
id: mail-visits
version: 1
roles:
  starter: {required: true}
  coach: {required: true}
  coordinator: {required: true}
started_by: [coordinator]
initial: running
states:
  running: {}
  done: {final: true}
transitions:
  - event: note
    from: running
    to: running
    by: [coach]
    input:
      text: {type: str, required: true, visible_to: [coach]}
  - {event: finish, from: running, to: done, by: [coordinator]}
activities:
  visit:
    title: {nl: Lesbezoek, en: Classroom visit}
    by: [coach]
    due: {week: 3}
    remind: [{before: P7D, to: [starter, coach]}]
    escalate:
      - after: P14D
        to: [coordinator]
        message: {nl: Het lesbezoek is te laat, en: The classroom visit is late}
""")

CLOCK_AT = "2026-09-07T08:00:00+00:00"  # a Monday: the visit is due on Sunday 2026-09-27
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
REMINDER_DAY = datetime.fromisoformat("2026-09-20T06:00:00+00:00")  # 7 days before
ESCALATION_DAY = datetime.fromisoformat("2026-10-11T06:00:00+00:00")  # 14 days after

STORE_KINDS = ["memory", "sqlite"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""

SENDER = "coachflow@school.example"
PEOPLE = {"starter": "sanne", "coach": "carla", "coordinator": "cor"}
DIRECTORY = {
    "sanne": "sanne@school.example",
    "carla": "carla@school.example",
    "cor": "cor@school.example",
}
SECRET = "Geheime notitie over de klas"
REMINDER_KEY = "activity.reminder:sanne-2026:remind:visit:P1W:coach+starter"


# --- a real SMTP server ------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def body(self) -> str:
        """The text, with the line ends of the wire (CRLF) read as newlines."""
        text: str = self.message.get_content()
        return text.replace("\r\n", "\n")


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps every message it accepts; while ``refuse`` is set it
    answers DATA with that reply (e.g. ``451`` try again later) and keeps nothing."""

    received: list[Received] = field(default_factory=list)
    refuse: str | None = None
    unknown: set[str] = field(default_factory=set)
    """Addresses answered with ``unknown_reply`` (no such mailbox) at RCPT."""
    unknown_reply: str = "550 5.1.1 No such mailbox here"
    refuse_sender: str | None = None
    """While set, the reply to every ``MAIL FROM`` (e.g. ``553`` sender not allowed)."""
    refuse_greeting: str | None = None
    """While set, the reply to every ``EHLO`` and ``HELO``."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.refuse_greeting is not None:
            return [self.refuse_greeting]
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        if self.refuse_greeting is not None:
            return self.refuse_greeting
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_sender is not None:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return self.unknown_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        raw = bytes(envelope.content)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, started and stopped at will."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        assert self._controller is None
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return self.inbox.received


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    """A server that is not started yet (its port is closed until ``start()``)."""
    smtp = SmtpServer()
    try:
        yield smtp
    finally:
        smtp.stop()


@pytest.fixture
def smtp(server: SmtpServer) -> SmtpServer:
    """A running server."""
    server.start()
    return server


@pytest.fixture
def engine(store: Any, clock: FixedClock) -> Engine:
    """An engine on each store of ``STORE_KINDS`` with a trajectory whose coach wrote a
    confidential note (which no e-mail may carry)."""
    made = Engine([VISITS], store=store, clock=clock)
    made.start("mail-visits", participants=PEOPLE, actor="cor", trajectory_id="sanne-2026")
    made.fire("sanne-2026", "note", actor="carla", input={"text": SECRET})
    return made


def send(engine: Engine, server: SmtpServer, **options: Any) -> Any:
    options.setdefault("directory", DIRECTORY)
    return mail.send_notices(engine, host="127.0.0.1", port=server.port, sender=SENDER, **options)


def due(engine: Engine, clock: FixedClock, now: datetime) -> Any:
    clock.set(now)
    return engine.run_due(now)


def unacked_keys(engine: Engine, consumer: str = "mail") -> list[str]:
    return [m.key for m in engine.outbox.messages(consumer=consumer)]


# --- a reminder arrives, once ------------------------------------------------------------------


def test_a_reminder_arrives_as_an_email_once(
    engine: Engine, clock: FixedClock, smtp: SmtpServer
) -> None:
    assert due(engine, clock, REMINDER_DAY).reminders == 1

    report = send(engine, smtp)

    assert (report.sent, report.skipped) == (1, 0)
    assert report.acked == 4  # started, note, the timer record's change, the reminder
    [got] = smtp.received
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["sanne@school.example", "carla@school.example"]
    message = got.message
    assert message["Subject"] == "Herinnering: Lesbezoek (uiterlijk 2026-09-27)"
    assert message["To"] == "sanne@school.example, carla@school.example"
    assert message["X-Coachflow-Key"] == REMINDER_KEY
    assert message["Message-ID"] == mail.message_id(REMINDER_KEY, SENDER)
    assert message["Message-ID"].endswith("@school.example>")
    body = got.body
    assert body.startswith("Herinnering: Lesbezoek moet uiterlijk 2026-09-27 gedaan zijn.\n")
    assert "Traject: sanne-2026" in body and "Uiterlijk: 2026-09-27" in body
    assert SECRET.encode() not in got.raw and b"Geheime" not in got.raw
    assert unacked_keys(engine) == []

    # again: nothing is sent twice, and the worker has nothing left to do that day
    assert send(engine, smtp) == mail.MailReport(0, 0, 0)
    assert engine.run_due(REMINDER_DAY).handled == 0
    assert send(engine, smtp) == mail.MailReport(0, 0, 0)
    assert len(smtp.received) == 1


def test_escalations_in_the_chosen_language(
    engine: Engine, clock: FixedClock, smtp: SmtpServer
) -> None:
    report = due(engine, clock, ESCALATION_DAY)
    assert (report.reminders, report.escalations) == (1, 1)

    # each consumer name gets every message: one sends in Dutch, one in English
    assert send(engine, smtp).sent == 2
    assert send(engine, smtp, consumer="mail-en", language="en").sent == 2

    by_subject = {r.message["Subject"]: r for r in smtp.received}
    assert sorted(by_subject) == [
        "Herinnering: Lesbezoek (uiterlijk 2026-09-27)",
        "Overdue: Classroom visit (due 2026-09-27)",
        "Reminder: Classroom visit (due 2026-09-27)",
        "Te laat: Lesbezoek (uiterlijk 2026-09-27)",
    ]
    late_nl = by_subject["Te laat: Lesbezoek (uiterlijk 2026-09-27)"]
    late_en = by_subject["Overdue: Classroom visit (due 2026-09-27)"]
    assert late_nl.rcpt_tos == late_en.rcpt_tos == ["cor@school.example"]
    assert late_nl.body.startswith("Het lesbezoek is te laat\n")
    assert late_en.body.startswith("The classroom visit is late\n")
    assert "Trajectory: sanne-2026" in late_en.body
    overdue_key = "activity.overdue:sanne-2026:escalate:visit:P2W:coordinator"
    assert late_nl.message["X-Coachflow-Key"] == overdue_key
    reminder_en = by_subject["Reminder: Classroom visit (due 2026-09-27)"]
    assert reminder_en.body.startswith("Reminder: Classroom visit is due by 2026-09-27.\n")
    assert unacked_keys(engine) == unacked_keys(engine, "mail-en") == []


def test_people_without_an_address_are_skipped(
    engine: Engine, clock: FixedClock, smtp: SmtpServer
) -> None:
    due(engine, clock, REMINDER_DAY)

    # nobody has an address: no e-mail, both counted, the notice acknowledged all the same
    report = send(engine, smtp, directory={})
    assert (report.sent, report.skipped) == (0, 2)
    assert smtp.received == []
    assert unacked_keys(engine) == []

    # only the starter has one: she alone gets it
    report = send(engine, smtp, consumer="mail-2", directory={"sanne": "s@school.example"})
    assert (report.sent, report.skipped) == (1, 1)
    [got] = smtp.received
    assert got.rcpt_tos == ["s@school.example"]
    assert unacked_keys(engine, "mail-2") == []


# --- the server is down: nothing acknowledged, sent once when it is back -------------------------


@pytest.mark.parametrize("failure", ["closed port", "451 reply"])
def test_a_failed_send_is_retried_after_the_lease(
    engine: Engine, clock: FixedClock, server: SmtpServer, failure: str
) -> None:
    due(engine, clock, REMINDER_DAY)
    if failure == "451 reply":
        server.inbox.refuse = "451 Requested action aborted: try again later"
        server.start()

    with pytest.raises(mail.DeliveryFailed) as failed:
        send(engine, server, lease=timedelta(minutes=5))

    expected_cause = OSError if failure == "closed port" else smtplib.SMTPDataError
    assert isinstance(failed.value.__cause__, expected_cause)
    assert REMINDER_KEY in str(failed.value)
    assert failed.value.report.sent == 0
    assert server.received == []
    assert REMINDER_KEY in unacked_keys(engine)  # not acknowledged

    # the server is back; the notice is still claimed until its lease runs out
    if failure == "451 reply":
        server.inbox.refuse = None
    else:
        server.start()
    assert send(engine, server).sent == 0
    assert server.received == []
    assert REMINDER_KEY in unacked_keys(engine)

    clock.advance(minutes=6)
    assert send(engine, server).sent == 1
    [got] = server.received
    assert got.message["X-Coachflow-Key"] == REMINDER_KEY
    assert unacked_keys(engine) == []

    clock.advance(minutes=6)
    assert send(engine, server).sent == 0
    assert len(server.received) == 1  # exactly once


# --- refused for good: logged, acknowledged, never blocking the notices after it ---------------


@pytest.mark.parametrize("refusal", ["every recipient unknown", "554 reply"])
def test_a_notice_refused_for_good_never_blocks_the_next(
    engine: Engine, clock: FixedClock, smtp: SmtpServer, refusal: str
) -> None:
    due(engine, clock, ESCALATION_DAY)  # the reminder, then the escalation
    if refusal == "554 reply":
        smtp.inbox.refuse = "554 5.6.0 Message refused"
    else:
        smtp.inbox.unknown = {"sanne@school.example", "carla@school.example"}
    report = send(engine, smtp, batch=1)
    if refusal == "554 reply":
        assert (report.sent, report.failed) == (0, 2)
    else:  # the reminder is refused; the escalation to the coordinator arrives
        assert (report.sent, report.failed) == (1, 1)
        [got] = smtp.received
        assert got.rcpt_tos == ["cor@school.example"]
    assert unacked_keys(engine) == []
    clock.advance(minutes=6)
    assert send(engine, smtp).sent == 0  # not tried again


@pytest.mark.parametrize("refusal", ["DMARC at DATA", "relaying denied to every recipient"])
def test_a_policy_refusal_is_never_taken_for_a_refusal_of_this_email(
    engine: Engine, clock: FixedClock, smtp: SmtpServer, refusal: str
) -> None:
    """A ``5.7.x`` reply (security or policy: a sender failing DMARC, relaying denied) would
    refuse every e-mail alike: the notices wait for the lease instead of being dropped."""
    due(engine, clock, ESCALATION_DAY)
    if refusal == "DMARC at DATA":
        smtp.inbox.refuse = "550 5.7.26 Unauthenticated email is not accepted (DMARC)"
    else:
        smtp.inbox.unknown = set(DIRECTORY.values())
        smtp.inbox.unknown_reply = "550 5.7.1 Relaying denied"
    with pytest.raises(mail.DeliveryFailed):
        send(engine, smtp)
    assert len(unacked_keys(engine)) == 2


@pytest.mark.parametrize("refusal", ["sender refused", "greeting refused"])
def test_a_refusal_of_every_email_is_never_taken_for_a_refusal_of_this_one(
    engine: Engine, clock: FixedClock, smtp: SmtpServer, refusal: str
) -> None:
    """A ``5xx`` to ``MAIL FROM`` (a wrong ``--from``) or to the greeting would refuse every
    e-mail: the notice stays unacknowledged and goes out once the server is set right."""
    due(engine, clock, ESCALATION_DAY)
    if refusal == "sender refused":
        smtp.inbox.refuse_sender = "553 5.7.1 Sender address not allowed"
        cause: type[Exception] = smtplib.SMTPSenderRefused
    else:
        smtp.inbox.refuse_greeting = "554 5.7.0 Go away"
        cause = smtplib.SMTPHeloError
    with pytest.raises(mail.DeliveryFailed) as failed:
        send(engine, smtp)
    assert isinstance(failed.value.__cause__, cause)
    assert (failed.value.report.sent, failed.value.report.failed) == (0, 0)
    assert len(unacked_keys(engine)) == 2  # neither notice was dropped
    assert smtp.received == []

    smtp.inbox.refuse_sender = smtp.inbox.refuse_greeting = None
    clock.advance(minutes=6)
    assert send(engine, smtp).sent == 2
    assert unacked_keys(engine) == []


def test_one_unknown_recipient_leaves_the_others_their_email(
    engine: Engine, clock: FixedClock, smtp: SmtpServer
) -> None:
    due(engine, clock, REMINDER_DAY)
    smtp.inbox.unknown = {"carla@school.example"}
    report = send(engine, smtp)
    assert (report.sent, report.failed) == (1, 0)
    [got] = smtp.received
    assert got.rcpt_tos == ["sanne@school.example"]


# --- the command --------------------------------------------------------------------------------


def command_with_a_reminder(tmp_path: Path, clock: FixedClock, server: SmtpServer) -> list[str]:
    """The command's arguments for an SQLite file ``webapp.db`` in ``tmp_path`` that holds
    one due reminder, a directory file and ``server``."""
    url = f"sqlite:///{tmp_path}/webapp.db"
    store = SqlStore(url)
    try:
        engine = Engine([VISITS], store=store, clock=clock)
        engine.start("mail-visits", participants=PEOPLE, actor="cor", trajectory_id="sanne-2026")
        assert due(engine, clock, REMINDER_DAY).reminders == 1
    finally:
        store.dispose()
    people = tmp_path / "people.json"
    people.write_text(json.dumps(DIRECTORY), encoding="utf-8")
    argv = ["--directory", str(people), "--db", url, "--smtp-host", "127.0.0.1"]
    return [*argv, "--smtp-port", str(server.port), "--from", SENDER]


def test_the_command_sends_once_and_fails_with_status_1(
    tmp_path: Path, clock: FixedClock, server: SmtpServer
) -> None:
    argv = [*command_with_a_reminder(tmp_path, clock, server), "--once"]

    assert mail.main(argv) == 1  # the server is not running yet
    assert server.received == []

    server.start()
    # the command's clock is the system clock: the failed claim's lease is still running
    assert mail.main([*argv, "--consumer", "mail-cli"]) == 0
    [got] = server.received
    assert got.message["Subject"] == "Herinnering: Lesbezoek (uiterlijk 2026-09-27)"
    assert got.rcpt_tos == ["sanne@school.example", "carla@school.example"]
    assert mail.main([*argv, "--consumer", "mail-cli"]) == 0
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("problem", "status", "said"),
    [
        ("missing directory", 2, "--directory"),
        ("directory not json", 2, "not JSON"),
        ("directory a list", 2, "expected a JSON object"),
        ("bad database url", 3, "--db"),
        ("database in no directory", 3, "no such directory"),
        ("negative interval", 2, "--interval"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str, status: int, said: str
) -> None:
    people = tmp_path / "people.json"
    people.write_text(json.dumps(DIRECTORY), encoding="utf-8")
    argv = ["--directory", str(people), "--db", f"sqlite:///{tmp_path}/x.db", "--once"]
    if problem == "missing directory":
        argv[1] = str(tmp_path / "nobody.json")
    elif problem == "directory not json":
        people.write_text("sanne: s@school.example", encoding="utf-8")
    elif problem == "directory a list":
        people.write_text('["s@school.example"]', encoding="utf-8")
    elif problem == "bad database url":
        argv[3] = "nonsense://x"
    elif problem == "database in no directory":
        argv[3] = f"sqlite:///{tmp_path}/no/such/x.db"
    else:
        argv += ["--interval", "-1"]
    if problem == "negative interval":  # argparse's own usage error
        with pytest.raises(SystemExit) as exited:
            mail.main(argv)
        assert exited.value.code == status
    else:
        assert mail.main(argv) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("mail.py: error:") and said in err[-1]


class _Stopped(Exception):
    """Ends the long-running loop in a test."""


@pytest.mark.parametrize("once", [True, False])
def test_a_database_that_goes_away_is_retried_by_the_loop_and_fatal_once(
    tmp_path: Path,
    clock: FixedClock,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    once: bool,
) -> None:
    """The database file is damaged after the command opened it: ``--once`` exits 3 in one
    line; every ``--interval`` the pass is logged and the next one goes on (here: mails)."""
    argv = [*command_with_a_reminder(tmp_path, clock, smtp), "--interval", "0"]
    db = tmp_path / "webapp.db"
    good = db.read_bytes()

    def damaged_after_open(**options: Any) -> Engine:
        made = Engine(**options)
        made.store.dispose()  # no connection kept that still reads the old file
        db.write_bytes(b"not a database at all" * 200)
        return made

    monkeypatch.setattr(mail, "Engine", damaged_after_open)
    if once:
        assert mail.main([*argv, "--once"]) == 3
        err = capsys.readouterr().err.strip().splitlines()
        assert "Traceback" not in "\n".join(err)
        assert err[-1].startswith("mail.py: error: --db:")
        assert smtp.received == []
        return

    passes: list[int] = []

    def sleep(seconds: float) -> None:
        passes.append(len(smtp.received))
        if len(passes) == 1:
            db.write_bytes(good)  # the database is back
        else:
            raise _Stopped

    monkeypatch.setattr(mail.time, "sleep", sleep)
    with caplog.at_level("ERROR"), pytest.raises(_Stopped):
        mail.main(argv)
    assert passes == [0, 1]  # the failed pass, then the pass that mailed the reminder
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.getMessage().startswith("--db: ") and "next pass" in logged.getMessage()
