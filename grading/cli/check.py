"""``omr check``: the one validator of a contest folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omr.cli import Handler
from omr.errors import ExitCode


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("check", help="validate the whole contest folder at once: layout, keys against the layout, "
                                     "rubric, roster against the layout, contest.json (exit 5 on any problem)")
    s.add_argument("--contest", required=True, metavar="DIR", help="the contest folder (e.g. answer_keys/demo)")

    return {"check": _cmd_check}


_CHECK_TEXT = {
    "vi": {"ok": "Thư mục cuộc thi {dir} hợp lệ: {files}.", "bad": "Thư mục cuộc thi {dir} có {n} lỗi cần sửa:",
           "error": "LỖI", "warning": "CẢNH BÁO", "fix": "Sửa các lỗi trên rồi chạy lại `omr check --contest {dir}`."},
    "en": {"ok": "contest folder {dir} is valid: {files}.", "bad": "contest folder {dir} has {n} problem(s) to fix:",
           "error": "ERROR", "warning": "WARNING", "fix": "fix them and run `omr check --contest {dir}` again."},
}

def _cmd_check(args: argparse.Namespace) -> int:
    from grading.contest import CONTEST_FILES, Severity, check_contest, load_settings
    from omr.errors import OmrError

    try:
        language = load_settings(args.contest).language
    except OmrError:
        language = "vi"
    text = _CHECK_TEXT.get(language, _CHECK_TEXT["vi"])
    findings = check_contest(args.contest)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    for f in findings:
        print(f"{text[f.severity.value]} {f.file}: {f.message}")
        for d in f.details:
            print(f"  - {d}")
    if errors:
        print(text["bad"].format(dir=args.contest, n=len(errors)), text["fix"].format(dir=args.contest),
              file=sys.stderr)
        return ExitCode.BAD_LAYOUT
    present = sorted(p.name for p in Path(args.contest).iterdir() if p.name in CONTEST_FILES)
    print(text["ok"].format(dir=args.contest, files=", ".join(present)))
    return ExitCode.OK
