"""docs/embedding.md is executed: its Python blocks, in order, as one program."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_embedding_doc_runs(capsys):
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the embedding guide lost its examples"
    namespace: dict[str, object] = {"__name__": "embedding_doc"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{DOC.name} block {number}", "exec")
        exec(code, namespace)
    printed = capsys.readouterr().out
    assert "guard 'sessions >= 3' is false (sessions=1)" in printed
