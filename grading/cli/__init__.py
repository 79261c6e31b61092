"""The full ``omr`` command: the reader's subcommands (``omr.cli``) plus grading's own, one module per group.

- ``check``   — ``omr check``: the contest folder, every problem at once
- ``grade``   — ``omr grade``, ``omr status``, ``omr rescore``
- ``ingest``  — ``omr ingest`` (a unit's mailbox), ``omr entries accept``
- ``flags``   — ``omr flags``, ``omr resolve``
- ``essays``  — ``omr ocr``, ``omr duplicates``, ``omr search``, ``omr essays status``
- ``reports`` — ``omr export``, ``omr annotate``
- ``rounds``  — ``omr round open|close``, ``omr decide``, ``omr prizes``
- ``bundles`` — ``omr keys new``, ``omr forward``, ``omr receive``
- ``web``     — ``omr review``, ``omr judges``
- ``transcribe`` — ``omr transcribe queue|status`` (handwritten entries, typed in by judges)
- ``demo``    — ``omr samples``, ``omr demo``

Grading's subcommands register here so that ``omr`` (pixels → readings) never imports ``grading``. Results go to
stdout; progress and logs to stderr; ``omr.cli.main`` maps exceptions to exit codes.
"""
from __future__ import annotations

import argparse

from omr.cli import Handler
from omr.cli import main as omr_main

from . import bundles, check, demo, essays, flags, grade, ingest, reports, rounds, transcribe, web

GROUPS = (check, grade, ingest, flags, essays, reports, rounds, bundles, web, transcribe)


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add grading's subcommands to the parser; return their handlers by name."""
    handlers: dict[str, Handler] = {}
    for group in GROUPS:
        handlers.update(group.register(sub))
    handlers.update(demo.register(sub, run=main))
    return handlers


def contest_language(args: argparse.Namespace) -> str:
    """The language of the contest a command works on (``--contest``; ``contest.json``), else English."""
    from grading.contest import load_settings

    folder = getattr(args, "contest", None)
    return load_settings(folder).language if folder else "en"


def main(argv: list[str] | None = None) -> int:
    return omr_main(argv, extend=register, language=contest_language)
