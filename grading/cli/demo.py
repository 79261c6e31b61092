"""``omr samples`` (filled, degraded scans with ground truth, from the sample generator) and ``omr demo`` (what
``make run`` runs). Both default to the demo contest shipped with the engine (``answer_keys.demo_contest``)."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Callable

from answer_keys import demo_contest
from omr.cli import Handler, positive_int
from omr.errors import BadArguments, ExitCode
from omr.layout import Layout

RunCommand = Callable[[list[str]], int]


def register(sub: argparse._SubParsersAction, *, run: RunCommand) -> dict[str, Handler]:
    """``run``: the whole ``omr`` command (``grading.cli.main``), which the demo drives as a user would."""
    s = sub.add_parser("samples", help="generate filled, degraded scans with ground truth")
    what = s.add_mutually_exclusive_group()
    what.add_argument("--layout", default=None, help="layout.json (default: the demo contest's)")
    what.add_argument("--contest", default=None, metavar="DIR",
                      help="a contest folder: its layout, and sheets filled with its own test versions (keys.json)")
    s.add_argument("--profile", choices=("clean", "scanner", "phone"), default="scanner")
    s.add_argument("-n", type=positive_int, default=20, help="number of sheets")
    s.add_argument("--out", "-o", required=True, help="folder to write (sheets/ and truth.jsonl)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--format", choices=("jpg", "png", "pdf"), default="jpg",
                   help="jpg/png: one image per sheet; pdf: all sheets as embedded JPEG pages of one PDF")
    s.add_argument("--extras", action="store_true",
                   help="also write pages that are not sheets (blank, essay, half sheet, a photo of something else) "
                        "that a reader must reject")

    s = sub.add_parser("demo", help="generate a small sample contest, read it, compare with the truth, grade "
                                    "it into SQLite and export (what `make run` runs)")
    s.add_argument("--out", default="out/demo")
    s.add_argument("-n", type=positive_int, default=24)
    s.add_argument("--workers", type=positive_int, default=None)

    return {"samples": _cmd_samples, "demo": lambda args: _cmd_demo(args, run)}


def _cmd_samples(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from omr.layout import load_layout
    from samples.generator import generate_set

    versions: tuple[str, ...] = ()
    if args.contest:
        contest = load_contest(args.contest)        # exit 5
        layout, versions = contest.layout, contest.keys.versions
    else:
        layout = load_layout(args.layout or demo_contest() / "layout.json")
    if not layout.has_fiducials:
        return _foreign_samples(layout, args)
    summary = generate_set(layout, Path(args.out), profile=args.profile, n=args.n, seed=args.seed,
                           workers=args.workers, fmt=args.format, extras=args.extras, versions=versions)
    print(json.dumps(summary, ensure_ascii=False))
    return ExitCode.OK


def _foreign_samples(layout: Layout, args: argparse.Namespace) -> int:
    """A layout imported from another reader (no ArUco, no QR of ours): drawn as that reader's sheet, filled
    and degraded by ``samples.foreign`` (JPEG, one process; every 5th sheet left blank)."""
    from samples.foreign import generate_set as foreign_set

    if args.format != "jpg" or args.extras:
        raise BadArguments(f"layout {layout.id} is imported from another reader: its samples are JPEG sheets only "
                           "(no --format pdf/png, no --extras yet)")
    truths = foreign_set(layout, Path(args.out), profile=args.profile, n=args.n, seed=args.seed, dpi=None,
                         blank_every=5)
    print(json.dumps({"sheets": len(truths), "blank": sum(t["blank"] for t in truths), "profile": args.profile,
                      "out": str(args.out), "layout": layout.id}, ensure_ascii=False))
    return ExitCode.OK


def _cmd_demo(args: argparse.Namespace, run: RunCommand) -> int:
    from grading.demo import run_demo

    return run_demo(Path(args.out), n=args.n, workers=args.workers or os.cpu_count() or 1, run=run)
