"""Helpers for the tests of the built-in definitions' versions (``test_versions_*.py``).

How today's checks see the files shipped before (``data/*.yaml``), and what a version
declares for the AVG.

Those files are kept byte for byte as they were shipped, so a database that holds their
trajectories can be tested as it is. Versions shipped before definitions declared
``retention`` keep their confidential input fields by omission, which today's check
``no-retention`` warns about; nothing else may be said about them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coachflow import Definition, Diagnostic


def kept_by_omission_only(diagnostics: Sequence[Diagnostic]) -> bool:
    """True when the diagnostics of a file shipped before are at most ``no-retention``
    warnings: no error, no other warning."""
    return all(d.code == "no-retention" and not d.is_error for d in diagnostics)


def clean_but_retention(results: Mapping[str, Sequence[Diagnostic]]) -> bool:
    """True when every file of a :func:`validate_files` result is
    :func:`kept_by_omission_only`."""
    return all(kept_by_omission_only(found) for found in results.values())


def input_names(definition: Definition, *, personal: bool) -> set[str]:
    """The names of the input fields (of transitions and activities) that are, or are not,
    ``personal``."""
    fields = [f for t in definition.transitions for f in t.input.items()]
    fields += [f for a in definition.activities.values() for f in a.input.items()]
    return {name for name, spec in fields if spec.personal == personal}


def fact_names(definition: Definition, *, personal: bool) -> set[str]:
    """The names of the facts that are, or are not, ``personal``."""
    return {name for name, fact in definition.facts.items() if fact.personal == personal}


def subject_roles(definition: Definition) -> list[str]:
    """The roles marked ``subject``."""
    return [name for name, role in definition.roles.items() if role.subject]


POLICY_DEFAULTS = {
    "confidential": {"after_end": "P1Y", "after_start": None},
    "personal": {"after_end": "P2Y", "after_start": None},
    "default": "keep",
}
"""The retention every built-in definition declares: coachflow's policy defaults (no source
text says anything about keeping or deleting data), not a rule of a source."""


def retention_of(definition: Definition) -> object:
    """A definition's ``retention`` as plain data (None when it declares none)."""
    if definition.retention is None:
        return None
    return definition.retention.model_dump(mode="json")
