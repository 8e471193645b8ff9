"""docs/async.md is executed: its Python blocks, in order, as one program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "async.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_async_doc_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, "the async guide lost its examples"
    namespace: dict[str, object] = {"__name__": "async_doc"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{DOC.name} block {number}", "exec")
        exec(code, namespace)
    printed = capsys.readouterr().out
    assert "guard 'sessions >= 3' is false (sessions=0)" in printed
    assert namespace["sent"]  # the outbox consumer ran
