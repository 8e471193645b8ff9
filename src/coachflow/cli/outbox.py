"""``coachflow outbox list|ack``: the outbox of the database of ``--db``, for operators.

``list`` shows messages (all, or those a consumer has not acknowledged) without claiming
them; ``ack`` acknowledges messages for a consumer by id, so that it is not handed them
again (a message a consumer cannot handle, say). Exit status 2 for an id of no message.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from coachflow.cli._common import (
    Parser,
    add_database_command,
    database_options,
    open_engine,
    out,
    zone,
)

if TYPE_CHECKING:
    from coachflow.cli._common import SubParsers


def register(sub: SubParsers) -> None:
    """Add ``outbox`` and its commands to ``sub``."""
    options = database_options()
    outbox = sub.add_parser("outbox", help="the messages of accepted changes, for consumers")
    outbox_sub = outbox.add_subparsers(
        dest="outbox_command", metavar="COMMAND", parser_class=Parser
    )
    outbox_sub.required = True
    listing = add_database_command(
        outbox_sub, "list", _list, "show messages (without claiming them)", options
    )
    listing.add_argument("--consumer", help="only the messages this consumer has not acknowledged")
    listing.add_argument(
        "--after", type=int, default=0, metavar="ID", help="only messages after this id"
    )
    listing.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N messages (default 100)"
    )
    ack = add_database_command(
        outbox_sub, "ack", _ack, "acknowledge messages for a consumer", options
    )
    ack.add_argument("consumer", help="the consumer the messages are acknowledged for")
    ack.add_argument("ids", nargs="+", type=int, metavar="ID", help="the messages' ids")


def _list(args: argparse.Namespace) -> int:
    engine, store = open_engine(args)
    try:
        messages = engine.outbox.messages(
            consumer=args.consumer, after=args.after, limit=args.limit
        )
    finally:
        store.dispose()
    data = [
        {
            "id": m.id,
            "key": m.key,
            "topic": m.topic,
            "trajectory_id": m.trajectory_id,
            "payload": m.payload,
            "created_at": m.created_at,
            "attempts": m.attempts,
        }
        for m in messages
    ]

    def text() -> None:
        for m in messages:
            p = m.payload
            if m.topic == "trajectory.changed":
                what = f"{p.get('kind')} {p.get('event') or '-'} by {p.get('actor')}"
            else:  # a notice: what about, its day, for whom
                about = p.get("activity") or p.get("state")
                people = p.get("to") or {}
                to = ", ".join(f"{r}: {' '.join(ps) or '-'}" for r, ps in people.items())  # type: ignore[attr-defined]
                what = f"{about} on {p.get('day')}" + (f" to {to}" if to else "")
            tries = f"  attempts {m.attempts}" if args.consumer else ""
            made = m.created_at.astimezone(zone(args)).isoformat()
            print(
                f"{m.id:>8}  {made}  {m.topic}  {m.trajectory_id} "
                f"v{p.get('version')}  {what}{tries}"
            )
        shown = "message" if len(messages) == 1 else "messages"
        print(f"{len(messages)} {shown}")

    return out(args, data, text)


def _ack(args: argparse.Namespace) -> int:
    engine, store = open_engine(args)
    try:
        newly = engine.outbox.ack(args.consumer, args.ids)
    finally:
        store.dispose()
    return out(
        args,
        {"consumer": args.consumer, "acknowledged": newly},
        lambda: print(f"{newly} acknowledged for {args.consumer}"),
    )


__all__ = ["register"]
