"""The example applications of ``examples/`` as modules the tests import."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(relative: str, name: str) -> ModuleType:
    """``examples/<relative>`` imported as the module ``name`` (registered in
    ``sys.modules``, where pydantic and dataclasses resolve its annotations)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
