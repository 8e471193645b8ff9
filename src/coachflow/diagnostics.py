"""Located problems found in a definition file.

A :class:`Diagnostic` names one problem with a stable kebab-case ``code``, a
``severity`` and the 1-based ``line`` and ``column`` of the YAML node it is about.
The validator always collects every problem of a file; it never stops at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
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
