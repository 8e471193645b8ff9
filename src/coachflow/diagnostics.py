"""Located problems found in a definition file.

A :class:`Diagnostic` names one problem with a stable kebab-case ``code``, a
``severity`` and the 1-based ``line`` and ``column`` of the YAML node it is about.
The validator always collects every problem of a file; it never stops at the first.

:data:`CODES` is the registry of every code coachflow can emit (the tests check it
against the source and against ``docs/definition-format.md``, which gives each code's
severity); :data:`NOT_FROM_A_SINGLE_FILE` names the codes no single file can produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Severity = Literal["error", "warning"]

ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a definition file."""

    code: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def format(self) -> str:
        """``PATH:LINE:COL: SEVERITY CODE: MESSAGE`` (the CLI's text form)."""
        return f"{self.path}:{self.line}:{self.column}: {self.severity} {self.code}: {self.message}"

    def to_json(self) -> dict[str, str | int]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.path, d.line, d.column, d.code)


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column."""

    line: int
    column: int


UNKNOWN = Mark(0, 0)


CODES: tuple[str, ...] = (
    # reading the file (the YAML reader) and its structure
    "yaml-syntax",
    "duplicate-key",
    "yaml-too-large",
    "yaml-tag",
    "not-a-file",
    "schema",
    "control-character",
    # references between the parts of a definition
    "unknown-initial",
    "unknown-state",
    "unknown-role",
    "unknown-fact",
    "unknown-consent",
    "unknown-input",
    "unknown-predicate",
    "unknown-activity",
    # due dates, recurring activities, hooks and effects
    "bad-due",
    "bad-recurring",
    "bad-timeout",
    "bad-reminder",
    "reserved-role",
    "hook-never-runs",
    "during-final",
    "due-outside-during",
    "ungrantable-consent",
    "confidential-effect",
    "confidential-flow",
    # separation of duties
    "self-escalation",
    # privacy (AVG/GDPR)
    "no-retention",
    # versions of a definition
    "migration-map",
    "migration-widens-access",
    "definition-changed",
    "stored-only",
    # school calendars
    "unknown-holiday",
    # guards
    "guard-syntax",
    "guard-forbidden",
    "guard-type",
    # the state graph
    "unreachable-state",
    "dead-end",
    "no-final-path",
    "final-has-exit",
    "ambiguous-transition",
    # declarations nothing uses
    "unused-role",
    "unused-fact",
    "unused-consent",
    # sets of definition files
    "duplicate-definition",
)
"""Every diagnostic code, in the order of the groups above. A new code in the source must
be added here and documented in ``docs/definition-format.md`` (a row in its code table with
the severity, a section, and a ``yaml invalid`` example unless no single file can produce
it)."""

NOT_FROM_A_SINGLE_FILE: Mapping[str, str] = MappingProxyType(
    {
        "duplicate-definition": "needs two files loaded together (load_definitions)",
        "migration-map": "needs the older version loaded together with the newer one",
        "migration-widens-access": "needs the older version loaded together with the newer one",
        "definition-changed": "needs a store that saw the version before",
        "stored-only": "needs a store that holds a version failing checks added since",
        "not-a-file": "is about the path (a FIFO, a device, a socket), not a file's content",
    }
)
"""Codes that no single definition file can produce (code -> why), so no ``yaml invalid``
example in the docs shows them."""
