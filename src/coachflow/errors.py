"""Exceptions raised by coachflow.

Every exception derives from :class:`CoachflowError`::

    CoachflowError
    ├── DefinitionError            a definition file has error diagnostics (.diagnostics)
    │   └── DefinitionChanged      same id and version, other content (also an UnknownDefinition)
    ├── UnknownDefinition          no definition with that id (and version) is loaded
    ├── UnknownTrajectory          no trajectory with that id is stored
    ├── TrajectoryExists           start() with the id of a stored trajectory
    ├── PredicateError             a guard's predicate is not registered, or raised
    ├── MigrationError             a trajectory cannot move to another definition version
    ├── ErasureError               an erasure refused (nothing erased) or without proof (.code)
    ├── StoreError                 the database cannot be used (unreachable, damaged, full, ...)
    └── TransitionRejected         a change to a trajectory was refused; nothing changed
        ├── UnknownEvent           the event is not in the definition
        ├── NotAllowedInState      no transition for the event leaves the current state
        ├── NotPermitted           the actor holds no role that may do this
        ├── GuardFailed            every candidate transition's guard is false (.guard, .values)
        ├── InvalidInput           missing, unknown or mistyped input fields (.fields)
        │   └── InvalidId          a person or trajectory id breaks the id rule (.fields)
        ├── ConsentError           not the granting role, or the consent is already so
        └── VersionConflict        the trajectory changed since the caller read it

A :class:`TransitionRejected` carries the ``trajectory_id``, ``event``, ``actor`` and a
list of :class:`Reason` (``code``, ``message``); the reason codes are the ones
``Engine.explain`` returns.

Two warnings are issued (with :func:`warnings.warn`, never raised): :class:`CalendarWarning`,
when a trajectory's weeks run past its school calendar, and :class:`StoredDefinitionWarning`,
when a definition version read back from a store fails a check added since it was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, Unpack

if TYPE_CHECKING:
    from coachflow.diagnostics import Diagnostic


class CoachflowError(Exception):
    """Base class of every coachflow exception."""


class DefinitionError(CoachflowError):
    """A definition has one or more error-severity diagnostics."""

    def __init__(self, diagnostics: Sequence[Diagnostic], path: str | None = None) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        self.path = path
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0].format() if errors else "invalid definition"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


def definition_changed(
    definition_id: str, version: int, *, earlier: str = "was stored earlier"
) -> DefinitionChanged:
    """The one error of a definition version whose content differs from the content
    known under that version (recorded in a store, or loaded in the engine)."""
    from coachflow.diagnostics import ERROR, Diagnostic

    return DefinitionChanged(
        [
            Diagnostic(
                "definition-changed",
                ERROR,
                f"{definition_id!r} version {version} {earlier} with a different "
                "content; a changed definition needs a new version",
                f"<{definition_id}@{version}>",
                1,
                1,
            )
        ]
    )


class CalendarWarning(UserWarning):
    """A trajectory's dates run past its school calendar (``Engine.start`` warns with it;
    the agenda's items carry the same notice): weeks past the calendar's end are counted
    as school weeks, since its holidays are not known there."""


class StoredDefinitionWarning(UserWarning):
    """A definition version read back from a store fails a check added to coachflow after
    it was stored (``self-escalation``, ``confidential-flow``): the engine runs its
    trajectories as before, and they should be migrated to a version that passes."""


def stored_only(definition_id: str, version: int) -> DefinitionError:
    """The error of a start on (or a migration to) a stored version that fails a check
    added since it was stored (code ``stored-only``): its running trajectories go on; no
    trajectory starts on it or moves to it."""
    from coachflow.diagnostics import ERROR, Diagnostic

    where = f"<{definition_id}@{version}>"
    message = (
        f"{definition_id!r} version {version} fails checks added since it was stored: its "
        "trajectories keep running, but none starts on it or moves to it: use a version "
        "that passes"
    )
    return DefinitionError([Diagnostic("stored-only", ERROR, message, where, 1, 1)], where)


class UnknownDefinition(CoachflowError, LookupError):
    """No definition with this id (and version) is known."""


class DefinitionChanged(DefinitionError, UnknownDefinition):
    """The same definition id and version with a different content (code
    ``definition-changed``): a changed definition needs a new version. Raised wherever it
    is found - by a store that recorded the version earlier, or by an engine that loaded
    it already - and caught as a :class:`DefinitionError` or an
    :class:`UnknownDefinition`."""


class UnknownTrajectory(CoachflowError, LookupError):
    """No trajectory with this id exists."""


class TrajectoryExists(CoachflowError):
    """A trajectory with this id already exists."""


class MigrationError(CoachflowError):
    """A trajectory cannot move to that definition version; nothing was changed."""


class ErasureError(CoachflowError):
    """An erasure was refused, and nothing was erased, or it could not append its proof:
    ``code`` says why
    (``still-running``: the trajectory has not ended and ``force`` was not given;
    ``unknown-class``: a class other than ``confidential`` and ``personal``; ``no-reason``:
    the reason is empty; ``no-proof``: the values were erased but the ``erased`` record could
    not be appended, as the trajectory kept changing: erasing again records it)."""

    def __init__(
        self, message: str, *, code: str = "refused", trajectory_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.trajectory_id = trajectory_id


class StoreError(CoachflowError):
    """The database cannot be used: it cannot be reached or opened, its file is damaged,
    full or read-only, its schema is missing, older or of a newer coachflow, or the
    connection was lost in the middle of an operation.

    The message is one line: what was done, the database (its URL with the password
    masked) and the driver's reason, never a row's data. The driver's exception is the
    ``__cause__``. A change that raised it was written whole or not at all; when the
    connection was lost during a commit, reload the trajectory before retrying (a repeated
    commit of the same change is refused as a :class:`VersionConflict`, never doubled).
    """


class PredicateError(CoachflowError):
    """A predicate the definition names is not registered with the engine, or it raised.

    This is a mistake of the embedding application, not of the person acting.
    ``registered`` is False when this process has no such predicate (another process,
    the application, may have it).
    """

    def __init__(self, message: str, *, registered: bool = True) -> None:
        super().__init__(message)
        self.registered = registered


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something is not allowed: a stable ``code`` and a readable ``message``."""

    code: str
    message: str


class Where(TypedDict, total=False):
    """Where a change was refused (keyword arguments of every :class:`TransitionRejected`)."""

    trajectory_id: str | None
    event: str | None
    actor: object


class _Refusal(Where, total=False):
    reasons: Iterable[Reason] | Callable[[], Sequence[Reason]]


class TransitionRejected(CoachflowError):
    """A change was refused; the trajectory is exactly as it was.

    ``actor`` is the person id given, or None when none was or it was not a string (a
    bad id is shown, escaped, in the message). ``reasons`` may also be given as a
    function that makes them: they, and the message (``None``: the reasons' messages
    joined), are then made when first read, so a refusal nobody reads costs little."""

    code = "rejected"
    __slots__ = ("_explain", "_message", "_reasons", "actor", "event", "trajectory_id")
    # slots, not an instance dict: a refusal is made on every refused command

    def __init__(
        self,
        message: str | None = None,
        *,
        trajectory_id: str | None = None,
        event: str | None = None,
        actor: object = None,
        reasons: Iterable[Reason] | Callable[[], Sequence[Reason]] = (),
    ) -> None:
        # no Exception.__init__: BaseException.__new__ has set args from the positional
        # arguments already; a message given by keyword is set here
        self.trajectory_id = trajectory_id
        self.event = event
        self.actor: str | None = actor if isinstance(actor, str) else None
        self._message = message
        if message is not None and not self.args:
            self.args = (message,)
        if callable(reasons):
            self._reasons: list[Reason] | None = None
            self._explain: Callable[[], Sequence[Reason]] | None = reasons
        else:
            self._reasons = list(reasons) or [Reason(self.code, message or self.code)]
            self._explain = None

    @property
    def reasons(self) -> list[Reason]:
        """Why, one :class:`Reason` per refusal (a transition may have several)."""
        if self._reasons is None:
            assert self._explain is not None
            self._reasons = list(self._explain()) or [Reason(self.code, self.code)]
            self._explain = None
        return self._reasons

    def __str__(self) -> str:
        if self._message is None:
            self._message = "; ".join(r.message for r in self.reasons)
        return self._message

    def __reduce__(self) -> tuple[type[TransitionRejected], tuple[str], dict[str, object]]:
        state = {
            name: getattr(self, name)
            for cls in type(self).__mro__
            for name in cls.__dict__.get("__slots__", ())
            if hasattr(self, name)
        }
        state.update(getattr(self, "__dict__", {}))
        state["_reasons"], state["_explain"] = self.reasons, None
        return (type(self), (str(self),), state)


class UnknownEvent(TransitionRejected):
    code = "unknown-event"


class NotAllowedInState(TransitionRejected):
    code = "not-allowed-in-state"


class NotPermitted(TransitionRejected):
    code = "not-permitted"


class GuardFailed(TransitionRejected):
    code = "guard-failed"
    __slots__ = ("_values", "guard")

    def __init__(
        self,
        message: str | None = None,
        *,
        guard: str | None = None,
        values: Mapping[str, object] | Callable[[], Mapping[str, object]] | None = None,
        **kwargs: Unpack[_Refusal],
    ) -> None:
        self.guard = guard
        self._values = values
        super().__init__(message, **kwargs)

    @property
    def values(self) -> dict[str, object]:
        """The values the refusing guard read (made when first read, when given as a
        function)."""
        values = self._values
        if not isinstance(values, dict):
            values = self._values = dict((values() if callable(values) else values) or {})
        return values

    def __reduce__(self) -> tuple[type[TransitionRejected], tuple[str], dict[str, object]]:
        self.values  # noqa: B018 - made now, so that the copy holds them
        return super().__reduce__()


class InvalidInput(TransitionRejected):
    code = "invalid-input"
    __slots__ = ("fields",)

    def __init__(
        self, message: str | None = None, *, fields: Iterable[str] = (), **kwargs: Unpack[_Refusal]
    ) -> None:
        self.fields: list[str] = list(fields)
        super().__init__(message, **kwargs)


class InvalidId(InvalidInput):
    """A person or trajectory id given to the engine breaks the id rule (see
    :func:`coachflow.id_problem`): an actor, a person bound or assigned, a viewer, a new
    trajectory's id. ``fields`` names the argument (``actor``, ``participants``,
    ``person``, ``viewer``, ``trajectory_id``). Reads raise it too, for a viewer."""

    code = "bad-id"


class ConsentError(TransitionRejected):
    code = "consent"


class VersionConflict(TransitionRejected):
    code = "version-conflict"
    __slots__ = ("actual", "expected")

    def __init__(
        self,
        message: str,
        *,
        expected: int | None = None,
        actual: int | None = None,
        **kw: Unpack[_Refusal],
    ) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message, **kw)


def version_conflict(
    trajectory_id: str,
    *,
    expected: int,
    actual: int,
    raced: bool = False,
    event: str | None = None,
    actor: str | None = None,
) -> VersionConflict:
    """The one :class:`VersionConflict`: the trajectory is at ``actual``, not at the
    ``expected`` version. ``raced``: the caller read it at ``expected`` and someone else
    changed it before the commit (the message then says to read it again)."""
    if raced:
        message = (
            f"trajectory {trajectory_id!r} was changed by someone else since it was read at "
            f"version {expected}; read it again and retry"
        )
    else:
        message = f"trajectory {trajectory_id!r} is at version {actual}, not {expected}"
    return VersionConflict(
        message,
        trajectory_id=trajectory_id,
        event=event,
        actor=actor,
        expected=expected,
        actual=actual,
    )
