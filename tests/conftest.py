"""Shared, generic test helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import coachflow

Located = tuple[str, int, int]


def located(text: str | bytes) -> list[Located]:
    """``(code, line, column)`` of every diagnostic of a definition text."""
    return [(d.code, d.line, d.column) for d in coachflow.validate_text(text)]


@pytest.fixture
def diags() -> Callable[[str | bytes], list[Located]]:
    """``diags(text)``: ``(code, line, column)`` of every diagnostic of ``text``."""
    return located
