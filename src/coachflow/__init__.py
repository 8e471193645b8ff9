"""coachflow: coaching trajectories for teachers as validated state machines.

The public API is what ``__all__`` lists. Only the errors, diagnostics, the clock and
``id_problem`` (the standard library layer) are imported with the package; every other
name loads its module on first use (the engine, and with it pydantic and ``transitions``;
the YAML reader; the stores; networkx only for ``Definition.graph``), so that
``import coachflow`` and the ``coachflow`` command stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from coachflow._bounds import id_problem
from coachflow.clock import Clock, FixedClock, SystemClock
from coachflow.diagnostics import Diagnostic, Severity
from coachflow.errors import (
    CalendarWarning,
    CoachflowError,
    ConsentError,
    DefinitionChanged,
    DefinitionError,
    ErasureError,
    GuardFailed,
    InvalidId,
    InvalidInput,
    MigrationError,
    NotAllowedInState,
    NotPermitted,
    PredicateError,
    Reason,
    StoredDefinitionWarning,
    StoreError,
    TrajectoryExists,
    TransitionRejected,
    UnknownDefinition,
    UnknownEvent,
    UnknownTrajectory,
    VersionConflict,
)

if TYPE_CHECKING:
    from coachflow.aio import AsyncEngine, AsyncOutbox
    from coachflow.calendar import Holiday, SchoolCalendar
    from coachflow.definition.input_schema import input_json_schema
    from coachflow.definition.model import (
        Consent,
        Definition,
        Role,
        State,
        Transition,
        definition_json_schema,
    )
    from coachflow.engine import DueReport, Engine, Explanation, Outbox
    from coachflow.files.calendars import builtin_calendar, builtin_calendars, load_calendar
    from coachflow.files.definitions import dump_definition
    from coachflow.files.ical import to_ical as agenda_to_ical
    from coachflow.files.loading import (
        check_definition,
        load_definition,
        load_definition_versions,
        load_definitions,
        loads_definition,
        validate_file,
        validate_text,
    )
    from coachflow.runtime.access import REDACTED
    from coachflow.runtime.access_log import AccessEntry
    from coachflow.runtime.agenda import AgendaItem
    from coachflow.runtime.export import plain as jsonable
    from coachflow.runtime.outbox import Message
    from coachflow.runtime.privacy import ERASED
    from coachflow.runtime.trajectory import HistoryRecord, Trajectory, TrajectoryView, replay
    from coachflow.store.aio import AsyncMemoryStore, AsyncSqlStore
    from coachflow.store.memory import MemoryStore
    from coachflow.store.port import Store

__version__ = "0.1.0"

_LAZY = {
    "AccessEntry": "coachflow.runtime.access_log",
    "AgendaItem": "coachflow.runtime.agenda",
    "AsyncEngine": "coachflow.aio",
    "AsyncMemoryStore": "coachflow.store.aio",
    "AsyncOutbox": "coachflow.aio",
    "AsyncSqlStore": "coachflow.store.aio",
    "Holiday": "coachflow.calendar",
    "REDACTED": "coachflow.runtime.access",
    "ERASED": "coachflow.runtime.privacy",
    "SchoolCalendar": "coachflow.calendar",
    "agenda_to_ical": "coachflow.files.ical:to_ical",
    "builtin_calendar": "coachflow.files.calendars",
    "builtin_calendars": "coachflow.files.calendars",
    "load_calendar": "coachflow.files.calendars",
    "Engine": "coachflow.engine",
    "Explanation": "coachflow.engine",
    "Outbox": "coachflow.engine",
    "DueReport": "coachflow.engine",
    "Message": "coachflow.runtime.outbox",
    "check_definition": "coachflow.files.loading",
    "load_definition": "coachflow.files.loading",
    "load_definition_versions": "coachflow.files.loading",
    "load_definitions": "coachflow.files.loading",
    "loads_definition": "coachflow.files.loading",
    "validate_file": "coachflow.files.loading",
    "validate_text": "coachflow.files.loading",
    "dump_definition": "coachflow.files.definitions",
    "Consent": "coachflow.definition.model",
    "Definition": "coachflow.definition.model",
    "Role": "coachflow.definition.model",
    "State": "coachflow.definition.model",
    "Transition": "coachflow.definition.model",
    "definition_json_schema": "coachflow.definition.model",
    "input_json_schema": "coachflow.definition.input_schema",
    "HistoryRecord": "coachflow.runtime.trajectory",
    "Trajectory": "coachflow.runtime.trajectory",
    "TrajectoryView": "coachflow.runtime.trajectory",
    "replay": "coachflow.runtime.trajectory",
    "jsonable": "coachflow.runtime.export:plain",
    "MemoryStore": "coachflow.store.memory",
    "Store": "coachflow.store.port",
}


def __getattr__(name: str) -> object:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'coachflow' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AccessEntry",
    "AgendaItem",
    "AsyncEngine",
    "AsyncMemoryStore",
    "AsyncOutbox",
    "AsyncSqlStore",
    "CalendarWarning",
    "Clock",
    "CoachflowError",
    "Consent",
    "ConsentError",
    "Definition",
    "DefinitionChanged",
    "DefinitionError",
    "Diagnostic",
    "DueReport",
    "ERASED",
    "Engine",
    "ErasureError",
    "Explanation",
    "FixedClock",
    "GuardFailed",
    "HistoryRecord",
    "Holiday",
    "InvalidId",
    "InvalidInput",
    "MemoryStore",
    "Message",
    "MigrationError",
    "NotAllowedInState",
    "NotPermitted",
    "Outbox",
    "PredicateError",
    "REDACTED",
    "Reason",
    "Role",
    "SchoolCalendar",
    "Severity",
    "State",
    "Store",
    "StoreError",
    "StoredDefinitionWarning",
    "SystemClock",
    "Trajectory",
    "TrajectoryExists",
    "TrajectoryView",
    "Transition",
    "TransitionRejected",
    "UnknownDefinition",
    "UnknownEvent",
    "UnknownTrajectory",
    "VersionConflict",
    "__version__",
    "agenda_to_ical",
    "builtin_calendar",
    "builtin_calendars",
    "check_definition",
    "definition_json_schema",
    "dump_definition",
    "id_problem",
    "input_json_schema",
    "jsonable",
    "load_calendar",
    "load_definition",
    "load_definition_versions",
    "load_definitions",
    "loads_definition",
    "replay",
    "validate_file",
    "validate_text",
]
