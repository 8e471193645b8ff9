"""The outbox: what an accepted change tells the applications around the engine.

Every accepted change of a trajectory (one history record) is one message of the topic
``trajectory.changed``, written by the store in the same transaction as the record (so
a message exists exactly when its change does). Its payload says which trajectory changed,
to which version, by which kind of change, event and actor - never an input value, a
fact or a consent's state, which the message's readers (server code, e-mail, a job queue)
have no business with.

Delivery is at least once per named consumer: :meth:`Store.claim` hands a consumer the
messages it has not acknowledged, each claimed for a lease; a message not acknowledged
(:meth:`Store.ack`) before its lease ends is handed out again. Every message has a
``key`` unique in the store, for the consumer's idempotency (``trajectory.changed`` keys
are ``trajectory.changed:<trajectory id>:<version>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from coachflow._frozen import FrozenDict
from coachflow.runtime.trajectory import HistoryRecord

CHANGED = "trajectory.changed"
"""The topic of the message every accepted change writes."""

TOPICS = (CHANGED,)
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
    no input value, fact or consent state, only what happened."""
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
        r.at,
        attempts,
    )


def check_consumer(consumer: object) -> str:
    """``consumer`` if it names a consumer (1-200 characters, no control character);
    else ValueError."""
    if (
        not isinstance(consumer, str)
        or not 0 < len(consumer) <= MAX_CONSUMER
        or not consumer.isprintable()
    ):
        raise ValueError(
            f"a consumer is named by 1 to {MAX_CONSUMER} printable characters, not {consumer!r:.60}"
        )
    return consumer


def check_limit(limit: object) -> int:
    """``limit`` if it is a number of messages to claim (1 to 10,000); else ValueError."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_CLAIM:
        raise ValueError(f"limit: 1 to {MAX_CLAIM:,} messages, not {limit!r:.40}")
    return limit


__all__ = [
    "CHANGED",
    "MAX_CLAIM",
    "MAX_CONSUMER",
    "TOPICS",
    "Message",
    "change_key",
    "change_message",
    "change_payload",
    "check_consumer",
    "check_limit",
]
