"""E-mail for the engine's notices: reminders and escalations from the outbox, sent by SMTP.

``coachflow worker`` (or ``engine.run_due()``) turns due reminders and escalations into
outbox messages of the topics ``activity.reminder`` and ``activity.overdue``; this consumer
claims them under its own name (default ``"mail"``), looks up the addresses of the people
they are for in a directory (person id -> e-mail address: the app's user table, an LDAP
export; here a plain mapping) and sends one e-mail per notice::

    report = send_notices(engine, {"sanne": "sanne@school.example"}, host="smtp.school.example")
    print(report.sent, report.skipped)

Delivery is **at least once**: a notice is acknowledged only after the SMTP server accepted
its e-mail, so when the server is down :class:`DeliveryFailed` is raised, the notice stays
unacknowledged and is claimed again when its lease has run out (five minutes by default). A
crash between the send and the acknowledgement sends it again; the e-mail's ``Message-ID``
is derived from the notice's unique key (and ``X-Coachflow-Key`` carries the key itself), so
a receiving system can recognise the duplicate.

A refusal of this one e-mail that will not change (a ``5xx`` reply to every recipient, or to
the message itself) is not retried, since it would block every notice after it: the notice is
acknowledged, logged as an error and counted in :attr:`MailReport.failed`. Everything else
raises :class:`DeliveryFailed` as above: a ``4xx``, a server that is down or does not answer,
and a refusal that is about the sender or the connection rather than this e-mail (a ``5xx`` to
``MAIL FROM`` or ``HELO``, or a security or policy refusal ``5.7.x`` such as a failed DMARC
check or relaying denied: a wrong ``--from`` would otherwise drop the whole outbox).

People without an address are skipped (counted in :attr:`MailReport.skipped`), and the
notice is acknowledged all the same. Every other message (``trajectory.changed``, and the
``state.timeout`` notices, which are for no one) is acknowledged without an e-mail. A notice
carries no input value and no fact, so neither does the e-mail: it names the activity (its
title in the definition), its due date and the definition's message.

As a command, next to ``coachflow worker`` (see README.md)::

    python examples/webapp/mail.py --directory people.json --smtp-host localhost --once
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import smtplib
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr

from coachflow import CoachflowError, Engine, Message, StoreError

log = logging.getLogger("coachflow.webapp.mail")

CONSUMER = "mail"
"""The consumer name the notices are claimed under (every name gets every message)."""

DEFAULT_DB_URL = "sqlite:///coachflow-webapp.db"
"""The database when ``COACHFLOW_DB_URL`` is not set (the same as the app's)."""

REMINDER, OVERDUE = "activity.reminder", "activity.overdue"
MAILED_TOPICS = (REMINDER, OVERDUE)

# The texts of the e-mails, by language; {title}: the activity, {due}: its due date.
TEXTS: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "subject:" + REMINDER: "Herinnering: {title} (uiterlijk {due})",
        "subject:" + OVERDUE: "Te laat: {title} (uiterlijk {due})",
        "body:" + REMINDER: "Herinnering: {title} moet uiterlijk {due} gedaan zijn.",
        "body:" + OVERDUE: "{title} had uiterlijk {due} gedaan moeten zijn en is nog niet gedaan.",
        "trajectory": "Traject",
        "activity": "Activiteit",
        "due": "Uiterlijk",
        "footer": "Dit bericht is automatisch verstuurd door coachflow.",
    },
    "en": {
        "subject:" + REMINDER: "Reminder: {title} (due {due})",
        "subject:" + OVERDUE: "Overdue: {title} (due {due})",
        "body:" + REMINDER: "Reminder: {title} is due by {due}.",
        "body:" + OVERDUE: "{title} was due by {due} and is not done yet.",
        "trajectory": "Trajectory",
        "activity": "Activity",
        "due": "Due",
        "footer": "This message was sent automatically by coachflow.",
    },
}
DEFAULT_LANGUAGE = "nl"


@dataclass(frozen=True, slots=True)
class MailReport:
    """What one :func:`send_notices` did: ``sent`` e-mails, ``skipped`` recipients without
    an address, ``acked`` messages acknowledged (the notices mailed or skipped and every
    other message, which is acknowledged without an e-mail), ``failed`` notices refused for
    good."""

    sent: int = 0
    skipped: int = 0
    acked: int = 0
    failed: int = 0
    """Notices the server refused for good (a ``5xx`` reply): acknowledged, not sent."""


class DeliveryFailed(Exception):
    """The SMTP server could not be reached or refused an e-mail. The notice it was for is
    not acknowledged (it is handed out again after its lease); ``report`` says what was done
    before, and ``__cause__`` is the error of :mod:`smtplib` or the socket."""

    def __init__(self, message: str, report: MailReport) -> None:
        super().__init__(message)
        self.report = report


def _text(value: object, language: str) -> str | None:
    """A definition's text (a string or ``{language: text}``) in ``language``, else Dutch,
    else any language it has."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for lang in (language, DEFAULT_LANGUAGE):
            if isinstance(value.get(lang), str):
                return str(value[lang])
        return next((str(v) for v in value.values() if isinstance(v, str)), None)
    return None


def activity_title(engine: Engine, definition_id: str, activity: str, language: str) -> str:
    """The activity's title in the (newest loaded) definition, else its name."""
    try:
        found = engine.definition(definition_id).activities.get(activity)
    except LookupError:  # the definition is not loaded in this process
        return activity
    return (found.text(language) if found is not None else None) or activity


def recipients(message: Message) -> tuple[str, ...]:
    """The people a notice is for (every role's people, each once, in order)."""
    to = message.payload.get("to")
    people: dict[str, None] = {}
    if isinstance(to, Mapping):
        for ids in to.values():
            for person in ids if isinstance(ids, (list, tuple)) else ():
                people[str(person)] = None
    return tuple(people)


def message_id(key: str, sender: str) -> str:
    """A ``Message-ID`` that is the same for every delivery of the notice with ``key``."""
    domain = sender.rpartition("@")[2] or "coachflow.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def notice_email(
    message: Message,
    addresses: Sequence[str],
    *,
    sender: str,
    title: str,
    language: str = DEFAULT_LANGUAGE,
) -> EmailMessage:
    """The e-mail of a reminder or escalation ``message`` to ``addresses``: the subject
    names the activity (``title``) and its due date; the body is the definition's message
    in ``language`` (else a sentence saying the same as the subject). Nothing confidential:
    a notice carries no input value and no fact."""
    texts = TEXTS[language]
    payload = message.payload
    due = str(payload.get("due", payload.get("day", "")))
    fields = {"title": title, "due": due}
    text = _text(payload.get("message"), language) or texts["body:" + message.topic].format(
        **fields
    )
    mail = EmailMessage()
    mail["Subject"] = texts["subject:" + message.topic].format(**fields)
    mail["From"] = formataddr(("coachflow", sender))
    mail["To"] = ", ".join(addresses)
    mail["Message-ID"] = message_id(message.key, sender)
    mail["X-Coachflow-Key"] = message.key
    mail["Content-Language"] = language
    mail.set_content(
        f"{text}\n\n"
        f"{texts['trajectory']}: {message.trajectory_id}\n"
        f"{texts['activity']}: {title}\n"
        f"{texts['due']}: {due}\n\n"
        f"-- \n{texts['footer']}\n"
    )
    return mail


def send_notices(
    engine: Engine,
    directory: Mapping[str, str],
    *,
    host: str = "localhost",
    port: int = 25,
    sender: str = "coachflow@localhost",
    consumer: str = CONSUMER,
    language: str = DEFAULT_LANGUAGE,
    batch: int = 100,
    lease: timedelta = timedelta(minutes=5),
    timeout: float = 30.0,
) -> MailReport:
    """Mail every reminder and escalation ``consumer`` has not acknowledged yet, through
    the SMTP server ``host:port`` (one connection, opened when the first e-mail is due),
    claiming ``batch`` messages at a time for ``lease``. ``directory``: person id ->
    e-mail address; a person not in it is skipped. Each message is acknowledged after its
    e-mail was sent (or when it needs none). :class:`DeliveryFailed` when an e-mail cannot
    be sent: that notice and the rest of the batch stay claimed until their lease ends."""
    if language not in TEXTS:
        raise ValueError(f"language: one of {', '.join(TEXTS)}, not {language!r}")
    sent = skipped = acked = failed = 0
    with ExitStack() as stack:
        smtp: smtplib.SMTP | None = None
        while messages := engine.outbox.claim(consumer, batch, lease=lease):
            for message in messages:
                mail, missing = _email_of(engine, message, directory, sender, language)
                if mail is not None:
                    try:
                        if smtp is None:
                            smtp = stack.enter_context(smtplib.SMTP(host, port, timeout=timeout))
                        refused = smtp.send_message(mail)
                    except (smtplib.SMTPException, OSError) as exc:
                        if not permanent(exc):
                            raise DeliveryFailed(
                                f"{message.key}: not sent through {host}:{port}: {exc}",
                                MailReport(sent, skipped, acked, failed),
                            ) from exc
                        log.error("%s: refused for good by %s:%s: %s", message.key, host, port, exc)
                        failed += 1
                    else:
                        if refused:  # some recipients were refused, the others have it
                            log.warning("%s: refused by the server: %s", message.key, refused)
                        sent += 1
                skipped += len(missing)
                acked += engine.outbox.ack(consumer, [message.id])
    return MailReport(sent, skipped, acked, failed)


def permanent(exc: BaseException) -> bool:
    """Whether the server refused this e-mail for good, so that sending it again would be
    refused again: every recipient answered ``5xx``, or the message itself got a ``5xx``,
    none of them a security or policy refusal (``5.7.x``). A refused sender (a wrong
    ``--from``), a refused greeting or connection, a ``5.7.x`` reply (SPF, DMARC, relaying
    denied), any ``4xx`` and a server that cannot be reached are not: they would refuse
    every e-mail, so the notice is tried again after its lease instead of being dropped."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        return bool(replies) and all(_for_this_email(code, text) for code, text in replies)
    if isinstance(exc, smtplib.SMTPDataError):
        return _for_this_email(exc.smtp_code, exc.smtp_error)
    return False


def _for_this_email(code: int, text: bytes | str) -> bool:
    """A ``5xx`` reply that refuses this e-mail, not every e-mail from this sender: not a
    security or policy refusal (enhanced status ``5.7.x``: relaying denied, a sender that
    fails SPF or DMARC, a blocklisted address), which a wrong ``--from`` or a server set up
    wrongly gives to every e-mail alike."""
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return 500 <= code < 600 and not said.lstrip().startswith("5.7.")


def _email_of(
    engine: Engine, message: Message, directory: Mapping[str, str], sender: str, language: str
) -> tuple[EmailMessage | None, list[str]]:
    """The e-mail of ``message`` (None: it needs none) and the people without an address."""
    if message.topic not in MAILED_TOPICS:
        return None, []
    people = recipients(message)
    missing = [p for p in people if p not in directory]
    if missing:
        log.warning("%s: no e-mail address for %s", message.key, ", ".join(missing))
    addresses = list(dict.fromkeys(directory[p] for p in people if p in directory))
    if not addresses:
        return None, missing
    payload = message.payload
    activity = str(payload.get("activity", ""))
    title = activity_title(engine, str(payload.get("definition_id", "")), activity, language)
    mail = notice_email(message, addresses, sender=sender, title=title, language=language)
    return mail, missing


class CommandError(Exception):
    """What the command prints in one line before it exits (``status``: 2 for what was
    given, 3 for the store)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def load_directory(path: str) -> dict[str, str]:
    """A JSON file of one object: person id -> e-mail address (:class:`CommandError`
    says in one line why it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise CommandError(f"--directory {path}: {exc.strerror or exc}", 2) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"--directory {path}: not JSON: {exc}", 2) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise CommandError(f"--directory {path}: expected a JSON object of person id -> address", 2)
    return data


def _seconds(text: str) -> float:
    """``--interval``: a number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a number of seconds, 0 or more, not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python examples/webapp/mail.py``: send the notices, once or every ``--interval``."""
    parser = argparse.ArgumentParser(prog="mail.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--directory", required=True, help="JSON file: person id -> address")
    parser.add_argument(
        "--db",
        default=os.environ.get("COACHFLOW_DB_URL", DEFAULT_DB_URL),
        help="the database (default: $COACHFLOW_DB_URL, else %(default)s)",
    )
    parser.add_argument("--smtp-host", default="localhost")
    parser.add_argument("--smtp-port", type=int, default=25)
    parser.add_argument("--from", dest="sender", default="coachflow@localhost")
    parser.add_argument("--language", choices=sorted(TEXTS), default=DEFAULT_LANGUAGE)
    parser.add_argument("--consumer", default=CONSUMER)
    parser.add_argument("--interval", type=_seconds, default=60.0, help="seconds between passes")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return _run(args)
    except CommandError as exc:
        print(f"mail.py: error: {exc}", file=sys.stderr)
        return exc.status


def _run(args: argparse.Namespace) -> int:
    from coachflow.store import SqlStore

    directory = load_directory(args.directory)
    try:
        engine = Engine(store=SqlStore(args.db))
    except CoachflowError as exc:  # a bad URL, a database that cannot be opened
        raise CommandError(f"--db: {exc}", 3) from None
    return _loop(engine, directory, args)


def _loop(engine: Engine, directory: Mapping[str, str], args: argparse.Namespace) -> int:
    """One pass, or a pass every ``--interval`` seconds. A database that goes away in the
    middle is said in one line: ``--once`` exits 3, the long-running loop tries again at
    the next pass (nothing was acknowledged that was not sent)."""
    while True:
        try:
            report = send_notices(
                engine,
                directory,
                host=args.smtp_host,
                port=args.smtp_port,
                sender=args.sender,
                consumer=args.consumer,
                language=args.language,
            )
        except DeliveryFailed as exc:
            log.error("%s (tried again after the lease)", exc)
            if args.once:
                return 1
        except StoreError as exc:
            if args.once:
                raise CommandError(f"--db: {exc}", 3) from None
            log.error("--db: %s (tried again at the next pass)", exc)
        else:
            log.info(
                "sent %d, skipped %d, refused %d, acknowledged %d",
                report.sent,
                report.skipped,
                report.failed,
                report.acked,
            )
            if args.once:
                return 0
        time.sleep(args.interval)


if __name__ == "__main__":  # pragma: no cover - a command
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
