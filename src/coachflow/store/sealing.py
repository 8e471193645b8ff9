"""Values encrypted at rest, and erased by deleting their key (crypto-shredding).

A SQL store writes every value of a confidential or personal field or fact
(:mod:`coachflow.runtime.privacy`) as ``{"$sealed": "<class>:<base64>"}``: AES-GCM
(the ``cryptography`` package) with a 256-bit key per (trajectory, class), a fresh 96-bit
nonce per value, and the trajectory's id and the class as associated data, so that a
sealed value cannot be moved to another trajectory or class unnoticed. The keys are rows
of ``cf_keys``, in the trajectories' database or in one of its own (``keys_url``), so that
a backup of the history alone holds no readable value of either class.

Erasing a class sets its key to NULL (the row stays, so no new key is ever made for it):
from then on each of its values opens as :data:`~coachflow.runtime.privacy.ERASED`, and a
value of that class written later is stored as erased. On SQLite the key database runs
with ``secure_delete`` and is checkpointed after an erasure, so the key's bytes do not
stay in the file or its write-ahead log (when a reader holds the log, they stay in it
until a later checkpoint; a warning says so). On PostgreSQL the old row version keeps the
key until ``VACUUM`` reclaims it.

Keys are read at every load of a trajectory (never cached across loads, so an erasure by
another process holds at its next read): with the trajectory's row, in the same statement,
when they are in its database, else when a sealed value is met; and kept for the commit
that follows the load. A sealed value whose class has no key row at all (not one erased) is an
error, never read as erased: the key database is not the one it was written with.
"""

from __future__ import annotations

import logging
import os
import threading
from binascii import a2b_base64, b2a_base64
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from coachflow.runtime.privacy import ERASED, PERSONAL, SealPlan, classified
from coachflow.runtime.trajectory import HistoryRecord, LabeledInput, with_values
from coachflow.store.codec import Sealed, decode, encode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.schema import Table

_NONCE = 12
_CACHED = 10_000
"""Trajectories whose keys a store keeps between a load and the commit after it."""

Keys = dict[str, bytes | None]
"""class -> key (None: erased)."""

_MEMO_TYPES = frozenset({str, int, float, bool, date})
"""The types of values one commit encrypts once however often it writes them."""
_UNKNOWN = object()

log = logging.getLogger("coachflow.store")


class MissingKey(ValueError):
    """A sealed value whose class has no key row at all (not one erased): the wrong key
    database."""


class Sealer:
    """Seals and opens the values of one store's trajectories with the keys of
    ``table`` in the database of ``engine``."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        *,
        sqlite: bool,
        read: Callable[[str], list[tuple[str, bytes | None]]] | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.sqlite = sqlite
        self._read = read
        """How the key rows of a trajectory are read, when not through ``engine``: the
        store's own hot path, when the keys are in its database."""
        self._keys: OrderedDict[str, Keys] = OrderedDict()
        """Per trajectory: its keys as last read, for the commit that follows the load."""
        self._lock = threading.Lock()
        self._ciphers: dict[bytes, AESGCM] = {}
        self._texts: dict[tuple[str, str], object] = {}
        self._facts: OrderedDict[tuple[str, str], tuple[object, Sealed, bytes]] = OrderedDict()
        """Per (trajectory, fact): the value this store last sealed, its text and key."""
        """Sealed texts this store wrote or opened lately -> their plaintext."""

    # -- keys --

    def keys_of(self, trajectory_id: str) -> Keys:
        """The keys of a trajectory as the key table holds them now (read at every
        load, so an erasure by another process holds at its next read), and kept for the
        commit that follows."""
        if self._read is not None:
            found: Keys = dict(self._read(trajectory_id))
        else:
            k = self.table.c
            query = select(k["class"], k.key).where(k.trajectory_id == trajectory_id)
            with self.engine.connect() as conn:
                found = {
                    str(c): (bytes(v) if v is not None else None) for c, v in conn.execute(query)
                }
        self.keep(trajectory_id, found)
        return found

    def keep(self, trajectory_id: str, found: Keys) -> None:
        """Keep the keys of a trajectory as just read, for the commit that follows."""
        if self._keys.get(trajectory_id) is found:  # the same rows read again
            return
        with self._lock:
            self._keys[trajectory_id] = found
            self._keys.move_to_end(trajectory_id)
            while len(self._keys) > _CACHED:
                self._keys.popitem(last=False)

    def _key(self, trajectory_id: str, value_class: str) -> bytes | None:
        """The key to seal a new value with: the one kept, else the one in the table,
        else a new one (a concurrent writer's, when it made one first). None: erased."""
        kept = self._keys.get(trajectory_id)  # one read of a dict: atomic
        if kept is not None and value_class in kept:
            return kept[value_class]
        found = self.keys_of(trajectory_id)
        if value_class in found:
            return found[value_class]
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        new = AESGCM.generate_key(bit_length=256)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(self.table).values(
                        trajectory_id=trajectory_id,
                        **{"class": value_class},
                        key=new,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:  # another writer made it first: take theirs
            pass
        return self.keys_of(trajectory_id).get(value_class)

    def erase(self, trajectory_id: str, classes: Sequence[str]) -> int:
        """Delete the keys of ``classes`` of a trajectory (leaving a row without a key,
        so none is made again); how many of the classes were erased now (a class that
        never had a key gets its row without one)."""
        for attempt in range(3):  # a concurrent erasure may add the same row first
            try:
                deleted = self._erase(trajectory_id, classes)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        with self._lock:
            self._keys.pop(trajectory_id, None)
        self._facts.clear()  # caches only: what was sealed or opened with the keys
        self._texts.clear()
        if self.sqlite and deleted:
            self._scrub()
        return deleted

    def _erase(self, trajectory_id: str, classes: Sequence[str]) -> int:
        k = self.table.c
        now = datetime.now(UTC)
        deleted = 0
        with self.engine.begin() as conn:
            for value_class in classes:
                done = conn.execute(
                    update(self.table)
                    .where(k.trajectory_id == trajectory_id, k["class"] == value_class)
                    .where(k.key.is_not(None))
                    .values(key=None, erased_at=now)
                ).rowcount
                deleted += done
                if not done:  # no key yet: a row that says so, so none is made later
                    exists = conn.execute(
                        select(k.trajectory_id).where(
                            k.trajectory_id == trajectory_id, k["class"] == value_class
                        )
                    ).first()
                    if exists is None:
                        deleted += 1
                        conn.execute(
                            insert(self.table).values(
                                trajectory_id=trajectory_id,
                                **{"class": value_class},
                                key=None,
                                created_at=now,
                                erased_at=now,
                            )
                        )
        return deleted

    def forget_all(self) -> None:
        """Forget every key kept, and what was sealed with them (the key table was
        emptied)."""
        with self._lock:
            self._keys.clear()
        self._facts.clear()
        self._texts.clear()

    def _scrub(self) -> None:
        """SQLite: move the key table's pages out of the write-ahead log (secure_delete
        has zeroed the deleted bytes in the pages)."""
        with self.engine.connect() as conn:  # the driver's connection: no BEGIN before it
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                cursor.execute("PRAGMA busy_timeout=2000")  # a reader may hold it: not long
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = cursor.fetchone()  # DB-API: execute's result is not the cursor in all
                busy = row is None or row[0]
            finally:
                cursor.execute("PRAGMA busy_timeout=60000")
                cursor.close()
        if busy:
            log.warning(
                "the key database's write-ahead log could not be checkpointed now (a reader "
                "holds it): the deleted key's bytes stay in it until a later checkpoint"
            )

    # -- values --

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            if len(self._ciphers) > _CACHED:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def seal(
        self,
        trajectory_id: str,
        value_class: str,
        value: object,
        memo: dict[object, object] | None = None,
    ) -> object:
        """The stored form of a value of ``value_class``: :class:`Sealed`, or
        :data:`ERASED` when the class was erased (``None`` and erased values stay).
        ``memo``: the values sealed in the same commit, so that one value written twice
        (an input copied into a fact, the fact's column) is encrypted once."""
        kind = value.__class__
        if value is None or value is ERASED or kind is Sealed:
            return value
        mark: object = None
        if memo is not None and kind in _MEMO_TYPES:
            mark = (value_class, kind, value)
            found = memo.get(mark)
            if found is not None:
                return found
        kept = self._keys.get(trajectory_id)  # one read of a dict: atomic
        key = (
            kept[value_class]
            if kept is not None and value_class in kept
            else self._key(trajectory_id, value_class)
        )
        if key is None:
            return ERASED
        nonce = os.urandom(_NONCE)
        if value.__class__ is str:  # the usual case: its UTF-8, marked so, no JSON
            data = b"s" + value.encode()
        else:
            data = b"j" + encode({"v": value}).encode()
        aad = f"{trajectory_id}\x00{value_class}".encode()
        box = self._cipher(key).encrypt(nonce, data, aad)
        sealed = Sealed(f"{value_class}:{b2a_base64(nonce + box, newline=False).decode()}")
        if mark is not None and memo is not None:
            memo[mark] = sealed
        return sealed

    def _remember(self, trajectory_id: str, text: str, value: object) -> None:
        """Keep the plaintext of a sealed text this store opened, or wrote in a fact, so
        that reading it back (the next load of the trajectory) decrypts nothing; only
        while the key of its class is there (:meth:`open` asks the keys first). A
        record's values are decrypted when its history is read."""
        texts = self._texts
        if len(texts) >= _CACHED:  # no LRU bookkeeping on the hot path: start again
            texts.clear()
        texts[(trajectory_id, text)] = value

    def open(self, trajectory_id: str, sealed: Sealed, keys: Keys) -> object:
        """The value of ``sealed``, or :data:`ERASED` when its key is gone."""
        value_class, _, text = sealed.text.partition(":")
        if value_class not in keys:
            raise MissingKey(
                f"no key for its {value_class} values in the key database (is it the one "
                "the values were written with? keys kept apart need --keys-db or keys_url)"
            )
        key = keys[value_class]
        if key is None:
            return ERASED
        known = self._texts.get((trajectory_id, sealed.text), _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        raw = a2b_base64(text)
        aad = f"{trajectory_id}\x00{value_class}".encode()
        from cryptography.exceptions import InvalidTag

        try:
            data = self._cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except InvalidTag:
            raise ValueError(f"a sealed {value_class} value does not open with its key") from None
        value = data[1:].decode() if data[:1] == b"s" else decode(data[1:].decode())["v"]
        self._remember(trajectory_id, sealed.text, value)
        return value

    # -- records and facts --

    def sealed_record(
        self,
        trajectory_id: str,
        record: HistoryRecord,
        plan: SealPlan,
        memo: dict[object, object] | None = None,
    ) -> HistoryRecord:
        """``record`` as it is stored: each value of a class sealed."""
        sealed_input: dict[str, object] | None = None
        sealed_changes: dict[str, object] | None = None
        for part, name, value_class in classified(record, plan):
            if part == "input":
                if sealed_input is None:
                    sealed_input = dict(record.input)
                sealed_input[name] = self.seal(trajectory_id, value_class, sealed_input[name], memo)
            else:
                if sealed_changes is None:
                    sealed_changes = dict(record.changes)
                sealed_changes[name] = self.seal(
                    trajectory_id, value_class, sealed_changes[name], memo
                )
        if sealed_input is None and sealed_changes is None:
            return record
        given = record.input
        if sealed_input is not None:
            given = (
                LabeledInput(sealed_input, given.labels)
                if isinstance(given, LabeledInput)
                else MappingProxyType(sealed_input)
            )
        changes: Mapping[str, Any] = record.changes
        if sealed_changes is not None:
            changes = MappingProxyType(sealed_changes)
        return with_values(record, given, changes)

    def sealed_facts(
        self,
        trajectory_id: str,
        facts: Mapping[str, Any],
        plan: SealPlan,
        memo: dict[object, object] | None = None,
    ) -> Mapping[str, Any]:
        """``facts`` as they are stored: each personal one sealed (a value unchanged
        since it was read keeps its sealed text: see :meth:`opened`)."""
        if not plan.facts:
            return facts
        out = dict(facts)
        last = self._facts
        for name in plan.facts:
            value = out.get(name)
            if value is None or value is ERASED:
                continue
            kept = last.get((trajectory_id, name))
            key = self._key(trajectory_id, PERSONAL)
            if (
                kept is not None
                and kept[0].__class__ is value.__class__
                and kept[0] == value
                and kept[2] == key
            ):
                out[name] = kept[1]  # unchanged, under the same key: the text it has
                continue
            sealed = self.seal(trajectory_id, PERSONAL, value, memo)
            out[name] = sealed
            if sealed.__class__ is Sealed and key is not None:
                self._remember(trajectory_id, sealed.text, value)
                last[(trajectory_id, name)] = (value, sealed, key)
                if len(last) > _CACHED:
                    last.popitem(last=False)
        return out

    def opened(
        self,
        trajectory_id: str,
        values: Mapping[str, Any],
        keys: list[Keys],
        *,
        owned: bool = False,
    ) -> Any:
        """``values`` with each sealed value opened (``keys``: a list holding the
        trajectory's keys once read, empty before, so they are read at most once);
        ``owned``: ``values`` is a dict no one else holds, opened in place."""
        found = None
        for name, value in values.items():
            if value.__class__ is Sealed:
                if found is None:
                    found = values if owned and isinstance(values, dict) else dict(values)
                if not keys:
                    keys.append(self.keys_of(trajectory_id))
                found[name] = self.open(trajectory_id, value, keys[0])
        return values if found is None else found

    def opened_record(
        self, trajectory_id: str, record: HistoryRecord, keys: list[Keys]
    ) -> HistoryRecord:
        """``record`` with each sealed value opened."""
        given = self.opened(trajectory_id, record.input, keys)
        changes = self.opened(trajectory_id, record.changes, keys)
        if given is record.input and changes is record.changes:
            return record
        if given is not record.input:
            labels = record.labels
            given = LabeledInput(given, labels) if labels else MappingProxyType(given)
        if changes is not record.changes:
            changes = MappingProxyType(changes)
        return with_values(record, given, changes)


__all__ = ["Keys", "MissingKey", "Sealer"]
