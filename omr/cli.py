"""The ``omr`` command. The only place that reads ``sys.argv`` and maps exceptions to exit codes.

Results go to stdout (or files); progress and logs go to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import Callable, Iterator

from .errors import HEADLINES_VI, ExitCode, OmrError, Terminated
from .paths import display_text


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="omr", description="Print, read and grade answer-sheet scans (Vietnamese contests and school exams).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("sheet", help="render a layout as a print-ready PDF answer sheet")
    s.add_argument("layout", nargs="?", help="layout.json, or a contest folder holding one")
    s.add_argument("--layout", dest="layout_option", metavar="LAYOUT", help="the same, as an option")
    s.add_argument("--out", "-o", required=True, help="PDF file to write")
    s.add_argument("--roster", help="CSV (participant_id,name[,unit]): one personalised sheet per participant")
    s.add_argument("--copies", type=positive_int, default=1, help="blank sheets to print without a roster")

    s = sub.add_parser("layout", help="validate a layout and print its geometry")
    s.add_argument("layout")
    s.add_argument("--json", action="store_true", help="print every bubble, fiducial, QR and essay box as JSON")

    s = sub.add_parser("read", help="read scans: marked options, participant and version per page (JSON Lines)")
    s.add_argument("inputs", nargs="+", help="files or folders (recursive): JPEG, PNG, TIFF, PDF")
    s.add_argument("--layout", required=True, help="layout.json, or a contest folder holding one")
    s.add_argument("--json-out", required=True, help="JSON Lines file to write ('-' for stdout)")
    s.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--detail", action="store_true", help="add measured fills and per-stage timings")
    s.add_argument("--csv", metavar="FILE", help="also write a CSV in OMRChecker's column layout (outputColumns, "
                                                 "customLabels joined, emptyValue for blanks)")

    s = sub.add_parser("import", help="translate another reader's sheet description into a contest folder")
    isub = s.add_subparsers(dest="format", metavar="FORMAT", required=True)
    o = isub.add_parser("omrchecker", help="an OMRChecker (v1) folder: template.json, config.json, evaluation.json")
    o.add_argument("folder", help="the folder holding template.json")
    o.add_argument("--contest", required=True, help="contest folder to write layout.json and keys.json into")
    o.add_argument("--paper", choices=("A4", "A3", "letter"), default="A4",
                   help="the paper the sheets are printed on (pageDimensions are pixels)")
    o.add_argument("--participant", help="the custom label (or digit block) that is the participant id "
                                         "(default: the one named like Roll/SBD/ID)")

    s = sub.add_parser("entry", help="what a typed entry (DOCX, ODT, PDF with text, .txt) says: identity, answers "
                                     "with evidence, flags, essay part; stores nothing")
    s.add_argument("files", nargs="+", metavar="FILE", help="documents to read")
    s.add_argument("--contest", required=True, help="contest folder: layout.json, questions.json (keys.json and "
                                                    "contest.json for the test codes)")
    s.add_argument("--json", action="store_true", help="one JSON object per document (JSON Lines)")

    return p


Handler = Callable[[argparse.Namespace], int]


def main(argv: list[str] | None = None, *,
         extend: Callable[[argparse._SubParsersAction], dict[str, Handler]] | None = None,
         language: Callable[[argparse.Namespace], str] | None = None) -> int:
    """Parse, dispatch, and map exceptions to exit codes. ``extend`` adds subcommands from another package
    (``grading.cli`` adds grade/status/resolve/… this way, so that ``omr`` never imports ``grading``);
    ``language`` tells the language of the people a command serves (a contest's ``vi``): an error then starts
    with what it means and what to do in that language (``HEADLINES_VI``), above its own detail."""
    parser = build_parser()
    handlers: dict[str, Handler] = {}
    if extend is not None:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        handlers = extend(sub)
    args = parser.parse_args(argv)
    try:
        with _sigterm_stops():
            handler = handlers.get(args.command)
            return int(handler(args) if handler else _dispatch(args))
    except OmrError as exc:
        if language is not None and exc.exit_code in HEADLINES_VI and _language(language, args) == "vi":
            print(f"omr {args.command}: lỗi: {HEADLINES_VI[exc.exit_code]}", file=sys.stderr)
        print(f"omr {args.command}: error: {display_text(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt as exc:
        return _stopped(args, exc)
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)


def _language(language: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> str:
    try:
        return language(args)
    except Exception:                  # noqa: BLE001 — the settings themselves are broken: the error says so
        return "en"


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """Inside: SIGTERM raises ``Terminated``, so the command stops the way Ctrl-C stops it. A second SIGTERM
    ends the process at once (workers and external programs die with it, see ``omr.workers``)."""
    if threading.current_thread() is not threading.main_thread():     # only the main thread can set handlers
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(args: argparse.Namespace, exc: KeyboardInterrupt) -> int:
    """Ctrl-C (130) or SIGTERM (143): say so, and for a batch (a command with ``--workers``) that running the
    same command again goes on from there (a store keeps what was written; a re-run skips it)."""
    code = exc.exit_code if isinstance(exc, Terminated) else ExitCode.INTERRUPTED
    how = "stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted"
    if not hasattr(args, "workers"):
        print(f"omr {args.command}: {how}", file=sys.stderr)
    elif getattr(args, "contest", None):
        print(f"omr {args.command}: {how}; what is stored stays: run the same command again to finish\n"
              f"omr {args.command}: đã dừng giữa chừng; kết quả đã lưu được giữ nguyên: chạy lại đúng lệnh này "
              "để làm tiếp phần còn lại", file=sys.stderr)
    else:
        print(f"omr {args.command}: {how}: run the same command again", file=sys.stderr)
    return int(code)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sheet":
        return _cmd_sheet(args)
    if args.command == "layout":
        return _cmd_layout(args)
    if args.command == "read":
        return _cmd_read(args)
    if args.command == "entry":
        return _cmd_entry(args)
    if args.command == "import":
        return _cmd_import(args)
    raise AssertionError(args.command)


def _cmd_sheet(args: argparse.Namespace) -> int:
    from .layout import load_layout
    from .sheet import read_roster, render_sheets

    if bool(args.layout) == bool(args.layout_option):
        from .errors import BadArguments

        raise BadArguments("omr sheet: give the layout once, as LAYOUT or --layout LAYOUT")
    layout = load_layout(args.layout or args.layout_option)
    if layout.printing:
        from .errors import NotYet
        from .national_sheet import render_national

        if args.roster:
            raise NotYet(f"layout {layout.id}: printing names from a roster on this sheet is not built yet; "
                         "print blank sheets (--copies N) and let candidates write their names")
        n = render_national(layout, args.out, copies=args.copies)
        print(f"wrote {n} page(s) to {args.out}", file=sys.stderr)
        return ExitCode.OK
    participants = read_roster(args.roster) if args.roster else None
    n = render_sheets(layout, args.out, participants=participants, copies=args.copies)
    print(f"wrote {n} page(s) to {args.out}", file=sys.stderr)
    return ExitCode.OK


def _cmd_layout(args: argparse.Namespace) -> int:
    from .layout import GroupKind, load_layout

    layout = load_layout(args.layout)
    if args.json:
        json.dump(layout.geometry_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        n_q = len(layout.question_groups)
        numeric = f" and {len(layout.numeric_ids)} numeric answers" if layout.numeric_ids else ""
        print(f"{layout.id} ({layout.contest}): {layout.width_mm:g}×{layout.height_mm:g} mm, {n_q} questions{numeric}, "
              f"{len(layout.digit_groups(GroupKind.PARTICIPANT))}-digit participant id, "
              f"{len(layout.digit_groups(GroupKind.VERSION))}-digit version, {len(layout.essays)} essay box(es), "
              f"{len(layout.centres_mm)} bubbles — valid")
    return ExitCode.OK


def _cmd_read(args: argparse.Namespace) -> int:
    from .layout import load_layout
    from .read import ReadOptions, read_inputs

    layout = load_layout(args.layout)
    opts = ReadOptions(workers=args.workers or os.cpu_count() or 1, detail=args.detail)
    summary = read_inputs(args.inputs, layout, json_out=args.json_out, options=opts, csv_out=args.csv)
    return summary.exit_code


def _cmd_entry(args: argparse.Namespace) -> int:
    from .documents import DocumentOptions, load_entry_contest, read_entry
    from .documents.summary import entry_json, entry_text
    from .records import Status

    contest = load_entry_contest(args.contest)
    worst = ExitCode.OK
    for path in args.files:
        rec = read_entry(path, contest, DocumentOptions(ocr=True))
        if args.json:
            sys.stdout.write(json.dumps(entry_json(rec), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(entry_text(rec) + "\n")
        if rec.status is Status.REJECTED:
            worst = ExitCode.FINISHED_WITH_REJECTS
        elif rec.status is Status.FLAGGED and worst is ExitCode.OK:
            worst = ExitCode.FINISHED_WITH_FLAGS
    return worst


def _cmd_import(args: argparse.Namespace) -> int:
    from .omrchecker import import_folder

    res = import_folder(args.folder, args.contest, paper=args.paper, participant=args.participant)
    for note in res.notes:
        print(f"  - {note}", file=sys.stderr)
    wrote = [str(res.layout_path)] + ([str(res.keys_path)] if res.keys_path else [])
    print(f"wrote {', '.join(wrote)} ({len(res.notes)} note(s), also in import-report.txt)", file=sys.stderr)
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
