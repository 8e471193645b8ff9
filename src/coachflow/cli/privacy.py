"""``coachflow export-person``, ``erase`` and ``purge``: what the AVG (GDPR) asks of the
database of ``--db`` (docs/privacy.md).

``export-person PERSON`` prints everything the database holds about one person, as they
may read it (JSON with ``--format json``, the schema ``coachflow.person-export/1``).
``erase ID`` erases the values of a trajectory's confidential and personal fields (by
deleting their keys) and records who did it and why; ``purge`` does so for every
trajectory whose declared retention period has ended, safe to run from cron and by
several processes at once. An erasure refused (a trajectory still running without
``--force``) is exit status 1, and nothing is erased.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from coachflow.cli._common import (
    add_database_command,
    database_options,
    day,
    not_back_in_time,
    open_engine,
    out,
    stored,
)

if TYPE_CHECKING:
    from coachflow.cli._common import SubParsers

CLASSES = ("confidential", "personal")


def register(sub: SubParsers) -> None:
    """Add ``export-person``, ``erase`` and ``purge`` to ``sub``."""
    options = database_options()
    export = add_database_command(
        sub,
        "export-person",
        _export,
        "print everything the database holds about one person (AVG art. 15)",
        options,
    )
    export.add_argument("person", help="the person's id")
    erase = add_database_command(
        sub,
        "erase",
        _erase,
        "erase the confidential and personal values of a trajectory (AVG art. 17)",
        options,
    )
    erase.add_argument("trajectory_id", metavar="ID", help="the trajectory")
    erase.add_argument(
        "--class",
        dest="classes",
        action="append",
        choices=CLASSES,
        help="erase only this class of values (repeatable; default: both)",
    )
    erase.add_argument("--reason", required=True, help="why (kept in the erased record)")
    erase.add_argument(
        "--as", dest="actor", required=True, metavar="PERSON", help="who erases (recorded)"
    )
    erase.add_argument(
        "--force", action="store_true", help="erase a trajectory that has not ended too"
    )
    purge = add_database_command(
        sub,
        "purge",
        _purge,
        "erase what the declared retention periods no longer allow to keep",
        options,
    )
    purge.add_argument("--dry-run", action="store_true", help="only list what would be erased")
    purge.add_argument(
        "--as-of",
        type=day,
        metavar="DATE",
        help="apply the periods as on this day (YYYY-MM-DD; default: today)",
    )


def _export(args: argparse.Namespace) -> int:
    engine, store = open_engine(args)
    try:
        export = engine.export_person(args.person)
    finally:
        store.dispose()

    def text() -> None:
        parts = export["trajectories"]
        assert isinstance(parts, list)
        for part in parts:
            roles = ", ".join(part["roles"]) or "none now"
            held = ", ".join(part["roles_held"]) or "-"
            subject = "  (about them)" if part["subject"] else ""
            print(
                f"{part['trajectory']}  {part['definition']['id']} v"
                f"{part['definition']['version']}  {part['state']}  roles: {roles} "
                f"(held: {held}){subject}"
            )
            print(
                f"  {len(part['records'])} records, {part['withheld']} values withheld, "
                f"{len(part['consents'])} consent changes, {len(part['access_log'])} reads logged"
            )
        shown = "trajectory holds" if len(parts) == 1 else "trajectories hold"
        print(f"{len(parts)} {shown} data of {export['person']}")

    return out(args, export, text)


def _erase(args: argparse.Namespace) -> int:
    engine, store = open_engine(args)
    try:
        not_back_in_time(args, stored(engine, args.trajectory_id))
        before = engine.get(args.trajectory_id).version
        t = engine.erase(
            args.trajectory_id,
            classes=args.classes,
            reason=args.reason,
            actor=args.actor,
            force=args.force,
        )
    finally:
        store.dispose()
    proof = t.history[-1] if t.version > before else None
    data = {
        "trajectory_id": t.id,
        "erased": None if proof is None else dict(proof.input),
    }

    def text() -> None:
        if proof is None:
            print(f"{t.id}: nothing left to erase")
            return
        classes = " and ".join(proof.input["classes"])
        fields = ", ".join(proof.input["fields"]) or "no field"
        print(f"{t.id}: erased {classes}: {proof.input['values']} values ({fields})")

    return out(args, data, text)


def _purge(args: argparse.Namespace) -> int:
    as_of = args.as_of
    engine, store = open_engine(args)
    try:
        found = engine.purge(as_of=as_of, dry_run=args.dry_run)
    finally:
        store.dispose()
    data = {
        "dry_run": args.dry_run,
        "erased": [
            {
                "trajectory_id": p.trajectory_id,
                "classes": list(p.classes),
                "due": p.due,
                "values": p.values,
                "fields": list(p.fields),
            }
            for p in found
        ],
    }

    def text() -> None:
        verb = "would erase" if args.dry_run else "erased"
        for p in found:
            print(f"{p.trajectory_id}  {' and '.join(p.classes)}  due {p.due}  {p.values} values")
        values = sum(p.values for p in found)
        shown = "trajectory" if len(found) == 1 else "trajectories"
        print(f"{verb} {values} values of {len(found)} {shown}")

    return out(args, data, text)


__all__ = ["register"]
