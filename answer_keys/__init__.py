"""Contest folders shipped with the engine (``answer_keys/<contest>/``: layout, keys, rubric, settings). The demo
contest is package data, so ``omr demo`` and ``omr samples`` work from an installed package too."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def demo_contest() -> Path:
    """The folder of the demo contest."""
    return Path(str(files(__name__) / "demo"))
