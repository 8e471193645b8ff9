"""coachflow: coaching trajectories for teachers as validated state machines.

The public API is what ``__all__`` lists. Heavy parts (pydantic models, the YAML
reader, networkx) load on first use, so ``import coachflow`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coachflow._bounds import id_problem
from coachflow.clock import Clock, FixedClock, SystemClock
from coachflow.diagnostics import Diagnostic, Severity
from coachflow.errors import (
    CoachflowError,
    ConsentError,
    DefinitionError,
    GuardFailed,
    InvalidId,
    InvalidInput,
    MigrationError,
    NotAllowedInState,
    NotPermitted,
    PredicateError,
    Reason,
    StoreError,
    TrajectoryExists,
    TransitionRejected,
    UnknownDefinition,
    UnknownEvent,
    UnknownTrajectory,
    VersionConflict,
)
from coachflow.trajectory import (
    HistoryRecord,
    MemoryStore,
    Store,
    Trajectory,
    TrajectoryView,
    replay,
)

if TYPE_CHECKING:
    from coachflow._load import (
        check_definition,
        load_definition,
        load_definition_versions,
        load_definitions,
        loads_definition,
        validate_file,
        validate_text,
    )
    from coachflow.confidentiality import REDACTED
    from coachflow.engine import Engine, Explanation
    from coachflow.io import dump_definition, load_calendar
    from coachflow.model import (
        Consent,
        Definition,
        Role,
        State,
        Transition,
        definition_json_schema,
    )
    from coachflow.schedule import AgendaItem, Holiday, SchoolCalendar, builtin_calendar
    from coachflow.schedule import to_ical as agenda_to_ical

__version__ = "0.1.0"

_LAZY = {
    "AgendaItem": "coachflow.schedule",
    "Holiday": "coachflow.schedule",
    "REDACTED": "coachflow.confidentiality",
    "SchoolCalendar": "coachflow.schedule",
    "agenda_to_ical": "coachflow.schedule:to_ical",
    "builtin_calendar": "coachflow.schedule",
    "load_calendar": "coachflow.io",
    "Engine": "coachflow.engine",
    "Explanation": "coachflow.engine",
    "check_definition": "coachflow._load",
    "load_definition": "coachflow._load",
    "load_definition_versions": "coachflow._load",
    "load_definitions": "coachflow._load",
    "loads_definition": "coachflow._load",
    "validate_file": "coachflow._load",
    "validate_text": "coachflow._load",
    "dump_definition": "coachflow.io",
    "Consent": "coachflow.model",
    "Definition": "coachflow.model",
    "Role": "coachflow.model",
    "State": "coachflow.model",
    "Transition": "coachflow.model",
    "definition_json_schema": "coachflow.model",
}


def __getattr__(name: str) -> Any:
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
    "AgendaItem",
    "Clock",
    "CoachflowError",
    "Consent",
    "ConsentError",
    "Definition",
    "DefinitionError",
    "Diagnostic",
    "Engine",
    "Explanation",
    "FixedClock",
    "GuardFailed",
    "HistoryRecord",
    "Holiday",
    "InvalidId",
    "InvalidInput",
    "MemoryStore",
    "MigrationError",
    "NotAllowedInState",
    "NotPermitted",
    "PredicateError",
    "REDACTED",
    "Reason",
    "Role",
    "SchoolCalendar",
    "Severity",
    "State",
    "Store",
    "StoreError",
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
    "check_definition",
    "definition_json_schema",
    "dump_definition",
    "id_problem",
    "load_calendar",
    "load_definition",
    "load_definition_versions",
    "load_definitions",
    "loads_definition",
    "replay",
    "validate_file",
    "validate_text",
]
