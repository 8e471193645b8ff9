"""The outbox: what an accepted change tells the applications around the engine.

Every accepted change of a trajectory (one history record) is one message of the topic
``trajectory.changed``, written by the store in the same transaction as the record (so
a message exists exactly when its change does). Its payload says which trajectory changed,
to which version, by which kind of change, event and actor - never an input value or a
fact, which the message's readers (server code, e-mail, a job queue) have no business with
(the kind does say that a consent was granted or withdrawn).

The worker's ``timer`` records (:mod:`coachflow.runtime.timers`) each write a second
message: ``activity.reminder``, ``activity.overdue`` or ``state.timeout``, keyed
``<topic>:<trajectory id>:<timer>`` (one per timer occurrence, unique in the store), with
who it is for (roles and their people's ids), the dates and the definition's message text.

Delivery is at least once per named consumer: :meth:`Store.claim` hands a consumer the
messages it has not acknowledged, each claimed for a lease; a message not acknowledged
(:meth:`Store.ack`) before its lease ends is handed out again. Every message has a
``key`` unique in the store, for the consumer's idempotency (``trajectory.changed`` keys
are ``trajectory.changed:<trajectory id>:<version>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from coachflow._bounds import INT64_MAX
from coachflow._frozen import FrozenDict
from coachflow.runtime.trajectory import HistoryRecord

CHANGED = "trajectory.changed"
"""The topic of the message every accepted change writes."""

REMINDER = "activity.reminder"
"""A reminder: an activity's due date comes (``remind: [{before: ..., to: [...]}]``)."""
OVERDUE = "activity.overdue"
"""An escalation: an activity is still not done after its due date (``escalate``)."""
TIMEOUT = "state.timeout"
"""A state's ``timeout`` came: the worker fired its event (or says why not)."""
TIMER_TOPICS = (REMINDER, OVERDUE, TIMEOUT)

TOPICS = (CHANGED, *TIMER_TOPICS)
"""Every topic a store writes."""

MAX_CONSUMER = 200
"""The longest consumer name (characters)."""

MAX_CLAIM = 10_000
"""The most messages one claim hands out."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the outbox, as a consumer receives it.

    ``id`` orders the messages (and names them to :meth:`Store.ack`); ``key`` is unique in
    the store (a consumer that has seen a key has seen the message); ``attempts`` how often
    this consumer has been handed it, this time included (1 the first time)."""

    id: int
    key: str
    topic: str
    trajectory_id: str
    payload: Mapping[str, object]
    created_at: datetime
    attempts: int = 1


def change_key(trajectory_id: str, seq: int) -> str:
    """The key of the ``trajectory.changed`` message of a trajectory's record ``seq``."""
    return f"{CHANGED}:{trajectory_id}:{seq}"


def change_payload(
    trajectory_id: str,
    definition_id: str,
    seq: int,
    kind: str,
    event: str | None,
    actor: str,
    role: str | None,
) -> Mapping[str, object]:
    """The payload of the ``trajectory.changed`` message of a trajectory's record ``seq``:
    no input value or fact, only what happened."""
    return FrozenDict(
        {
            "trajectory_id": trajectory_id,
            "definition_id": definition_id,
            "version": seq,
            "kind": kind,
            "event": event,
            "actor": actor,
            "role": role,
        }
    )


def change_message(
    message_id: int,
    trajectory_id: str,
    definition_id: str,
    record: HistoryRecord,
    attempts: int = 1,
) -> Message:
    """The ``trajectory.changed`` message of ``record`` (created when the record was)."""
    r = record
    return Message(
        message_id,
        change_key(trajectory_id, r.seq),
        CHANGED,
        trajectory_id,
        change_payload(trajectory_id, definition_id, r.seq, r.kind, r.event, r.actor, r.role),
        r.at.astimezone(UTC),  # as every store gives it
        attempts,
    )


def record_topics(record: HistoryRecord) -> tuple[str, ...]:
    """The topics of the messages a record writes: ``trajectory.changed``, and for a
    ``timer`` record its notice's topic too."""
    if record.kind == "timer":
        return (CHANGED, str(record.input["topic"]))
    return (CHANGED,)


def timer_key(trajectory_id: str, record: HistoryRecord) -> str:
    """The key of the message of a ``timer`` record: one per timer occurrence."""
    return f"{record.input['topic']}:{trajectory_id}:{record.input['item']}"


def timer_payload(
    trajectory_id: str, definition_id: str, record: HistoryRecord
) -> Mapping[str, object]:
    """The payload of the message of a ``timer`` record: what it is about, who it is for
    (roles and their people's ids), its dates and the definition's message text; never an
    input value or a fact."""
    given = record.input
    topic = given["topic"]
    payload: dict[str, object] = {
        "trajectory_id": trajectory_id,
        "definition_id": definition_id,
        "version": record.seq,
        "item": given["item"],
        "state" if topic == TIMEOUT else "activity": given["subject"],
        "day": _iso(given["day"]),
        "to": FrozenDict({role: tuple(people) for role, people in given.get("to", {}).items()}),
    }
    if "due" in given:
        payload["due"] = _iso(given["due"])
    for key in ("message", "event", "fired", "refused"):
        if key in given:
            value = given[key]
            payload[key] = tuple(value) if isinstance(value, list) else value
    return FrozenDict(payload)


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def timer_message(
    message_id: int,
    trajectory_id: str,
    definition_id: str,
    record: HistoryRecord,
    attempts: int = 1,
) -> Message:
    """The notice message of a ``timer`` record (created when the record was)."""
    return Message(
        message_id,
        timer_key(trajectory_id, record),
        str(record.input["topic"]),
        trajectory_id,
        timer_payload(trajectory_id, definition_id, record),
        record.at.astimezone(UTC),
        attempts,
    )


def check_consumer(consumer: object) -> str:
    """``consumer`` if it names a consumer (1-200 characters, no control character);
    else ValueError."""
    if (
        not isinstance(consumer, str)
        or not 0 < len(consumer) <= MAX_CONSUMER
        or not consumer.isprintable()
        or consumer.strip() != consumer
    ):
        raise ValueError(
            f"a consumer is named by 1 to {MAX_CONSUMER} printable characters, not starting "
            f"or ending with a space, not {consumer!r:.60}"
        )
    return consumer


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_ids(message_ids: object) -> list[int]:
    """The message ids of ``message_ids`` (any iterable of ints, read once), or ValueError:
    not ints, or an id no message can have ("no outbox message N")."""
    if isinstance(message_ids, (str, bytes)) or not isinstance(message_ids, Iterable):
        raise ValueError(f"message_ids: the ids (int) of outbox messages, not {message_ids!r:.40}")
    ids = list(message_ids)
    if not all(_is_int(i) for i in ids):
        raise ValueError("message_ids: the ids (int) of outbox messages")
    out_of_range = sorted(i for i in ids if not 0 < i <= INT64_MAX)
    if out_of_range:
        raise ValueError(f"no outbox message {', '.join(map(str, out_of_range[:10]))}")
    return ids


def check_after(after: object) -> int:
    """``after`` if it is a message id to list after (0 to 2**63 - 1); else ValueError."""
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= INT64_MAX:
        raise ValueError(f"after: a message id (0 or more), not {after!r:.40}")
    return after


def check_limit(limit: object, what: str = "messages") -> int:
    """``limit`` if it is a number of ``what`` to take at once (1 to 10,000); else
    ValueError."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_CLAIM:
        raise ValueError(f"limit: 1 to {MAX_CLAIM:,} {what}, not {limit!r:.40}")
    return limit


__all__ = [
    "CHANGED",
    "MAX_CLAIM",
    "MAX_CONSUMER",
    "OVERDUE",
    "REMINDER",
    "TIMEOUT",
    "TIMER_TOPICS",
    "TOPICS",
    "Message",
    "change_key",
    "change_message",
    "change_payload",
    "check_after",
    "check_consumer",
    "check_ids",
    "check_limit",
    "record_topics",
    "timer_key",
    "timer_message",
    "timer_payload",
]
