"""The full ``omr`` command: the reader's subcommands (``omr.cli``) plus grading's own.

Grading subcommands register here so that ``omr`` (pixels → readings) never imports ``grading``.
"""
from __future__ import annotations

import argparse
import sys

from omr.cli import Handler, main as omr_main


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add grading's subcommands to the parser; return their handlers by name."""
    return {}


def main(argv: list[str] | None = None) -> int:
    return omr_main(argv, extend=register)


if __name__ == "__main__":
    sys.exit(main())
