"""``omr flags`` (what waits for a human), ``omr resolve`` (a human's decision; a decided flag only with
``--force``, audited as an override), ``omr discard`` (take a page that is neither a sheet nor an essay out of
everything, or ``--undo`` it; ``grading.db.discards``) and ``omr audit`` (who decided what, when, before → after)."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import timezone
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import ExitCode

from grading.i18n import Say

from .common import contest_args, db_url, table


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("flags", help="list flagged items for the judges")
    contest_args(s)
    s.add_argument("--state", choices=("open", "resolved", "all"), default="open")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    s = sub.add_parser("resolve", help="record a judge's decision for one flag and re-score its page")
    s.add_argument("flag_id", type=positive_int, metavar="FLAG_ID")
    s.add_argument("value", metavar="VALUE",
                   help='question: the marks that count ("B", "AC", "" for blank); participant/version: the '
                        "whole field; page: a note")
    contest_args(s)
    s.add_argument("--who", required=True, help="the judge's name or login (kept in the audit log)")
    s.add_argument("--force", action="store_true",
                   help="change a flag someone has already decided (recorded in the audit log as an override)")
    s.add_argument("--off-roster", action="store_true",
                   help="record a participant id that is not on the contest's roster (recorded in the audit log)")

    s = sub.add_parser("discard", help="take out a page that is neither an answer sheet nor an essay (blank, a photo "
                                       "of something else, scanned twice): it leaves every count, score, essay task "
                                       "and export, stays listed as discarded (audited); --undo brings it back")
    s.add_argument("page_id", type=positive_int, metavar="PAGE_ID",
                   help="the page's id (page_id in `omr flags --json` and in the export's issues list)")
    contest_args(s)
    s.add_argument("--reason", default=None, help='why, kept with the page: "trang trắng", "trang quét trùng"')
    s.add_argument("--who", required=True, help="who decides (kept in the audit log)")
    s.add_argument("--undo", action="store_true", help="bring a discarded page back (its flags reopen)")

    s = sub.add_parser("audit", help="the audit log: who decided what, when, and the value before and after")
    contest_args(s)
    s.add_argument("--who", default=None, help="only this person's entries")
    s.add_argument("--action", default=None, help="only this action (resolve_flag, override, rescore, export, …)")
    s.add_argument("--target", default=None, help='only targets starting with this ("flag:12", "task:")')
    s.add_argument("--limit", type=positive_int, default=None, help="only the newest N entries")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    return {"flags": _cmd_flags, "resolve": _cmd_resolve, "discard": _cmd_discard, "audit": _cmd_audit}


_FLAG_COLUMNS = ("id", "source", "page_no", "participant", "target", "key", "reason", "message")

def _cmd_flags(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        rows = store.list_flags(state=None if args.state == "all" else args.state)
    if args.json:
        out = [{"id": r["id"], "page_id": r["page_id"], "source": r["source"], "page": r["page_no"],
                "participant": r["participant"], "target": r["target"], "key": r["key"], "reason": r["reason"],
                "message": r["message"], "state": r["state"], "origin": r["origin"], "confidence": r["confidence"]}
               for r in rows]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return ExitCode.OK
    print(table([("id", "source", "page", "participant", "target", "key", "reason", "message")]
                 + [tuple("" if r[c] is None else str(r[c]) for c in _FLAG_COLUMNS) for r in rows]))
    print(f"{len(rows)} {args.state if args.state != 'all' else ''} flag(s)".replace("  ", " "), file=sys.stderr)
    return ExitCode.OK

def _cmd_resolve(args: argparse.Namespace) -> int:
    from grading.contest import load_settings
    from grading.db import audit
    from grading.store import AlreadyDecided, Store
    from grading.numbers import local_time
    from omr.errors import BadArguments

    settings = load_settings(args.contest)
    tz, say = settings.tz, Say(settings.language)
    with Store.open(db_url(args, must_exist=True)) as store:
        value = _check_roster(store, args)
        try:
            sc = store.resolve_flag(args.flag_id, value, args.who, only_open=not args.force)
        except AlreadyDecided as exc:
            when = local_time(exc.at, tz) if exc.at else "?"
            raise BadArguments(f"flag {args.flag_id} was already decided by {exc.who or '?'} on {when}; nothing was "
                               "written. To change that decision, run the command again with --force (it is "
                               "recorded in the audit log as an override)") from None
        if args.force:
            audit.record(store, who=args.who, action="override", target=f"flag:{args.flag_id}",
                         after={"value": value, "via": "omr resolve --force"})
        if args.off_roster:
            audit.record(store, who=args.who, action="off_roster", target=f"flag:{args.flag_id}",
                         after={"value": value, "via": "omr resolve --off-roster"})
    print(_resolved_text(args.flag_id, args.who, sc, say))
    return ExitCode.OK


def _resolved_text(flag_id: int, who: str, sc: Any, say: Say) -> str:
    """What ``omr resolve`` says: the page's new total as people write it (``19,8 / 20``), the exact fraction
    beside it for an audit (``99/5``)."""
    if sc is None:
        return say(f"flag {flag_id} resolved by {who} (the page has no score)",
                   f"cờ {flag_id} đã được {who} xử lý (trang này không có điểm)")
    if sc.to_json()["status"] != "scored":
        return say(f"flag {flag_id} resolved by {who}: version {sc.version}, still no score: {sc.message}",
                   f"cờ {flag_id} đã được {who} xử lý: mã đề {sc.version}, vẫn chưa có điểm: {sc.message}")
    total, top = say.points(sc.total), say.points(sc.max_total)
    return say(f"flag {flag_id} resolved by {who}: version {sc.version}, total {total} of {top} (exact {sc.total})",
               f"cờ {flag_id} đã được {who} xử lý: mã đề {sc.version}, tổng điểm {total} / {top} (chính xác "
               f"{sc.total})")


def _cmd_discard(args: argparse.Namespace) -> int:
    from grading.contest import load_settings
    from grading.db import discards
    from grading.store import Store
    from omr.errors import BadArguments

    if not args.undo and not (args.reason or "").strip():
        raise BadArguments(f'say why page {args.page_id} is discarded: --reason "trang trắng" (or --undo to bring '
                           "it back)")
    again = f"--who {shlex.quote(args.who)} --contest {shlex.quote(str(args.contest))}"
    with Store.open(db_url(args, must_exist=True)) as store:
        if args.undo:
            ch = discards.restore_page(store, args.page_id, args.who, args.reason or "")
        else:
            ch = discards.discard_page(store, args.page_id, args.reason, args.who)
    say = Say(load_settings(args.contest).language)
    print(_discard_text(ch, args, say, again))
    return ExitCode.OK


def _discard_text(ch: Any, args: argparse.Namespace, say: Say, again: str) -> str:
    where = say(f"page {ch.page_id} ({ch.source}, page {ch.page_no})",
                f"trang {ch.page_id} ({ch.source}, trang {ch.page_no})")
    if args.undo:
        return say(f"{where} restored by {args.who}: status {ch.status}; {len(ch.flags)} flag(s) reopened, "
                   f"{len(ch.essays)} essay(s) back in judging",
                   f"{where} đã được {args.who} khôi phục: trạng thái {ch.status}; mở lại {len(ch.flags)} cờ, "
                   f"{len(ch.essays)} bài tự luận được chấm lại")
    why = " ".join(args.reason.split())
    return say(f"{where} discarded by {args.who}: {why}; {len(ch.flags)} open flag(s) closed, {len(ch.essays)} "
               "essay(s) no longer judged. It stays listed as discarded (omr status, the export's issues); to bring "
               f"it back: omr discard {ch.page_id} --undo {again}",
               f"{where} đã bị {args.who} loại bỏ: {why}; đóng {len(ch.flags)} cờ đang mở, {len(ch.essays)} bài tự "
               "luận không chấm nữa. Trang vẫn được liệt kê là đã loại bỏ (omr status, danh sách vấn đề trong bản "
               f"xuất); muốn khôi phục: omr discard {ch.page_id} --undo {again}")


def _check_roster(store: Any, args: argparse.Namespace) -> str:
    """The value to record: a participant id given for a participant flag is padded to the sheet's grid and must
    be on the contest's roster (a roster that cannot be read confirms nothing), unless ``--off-roster``."""
    from grading.contest import load_contest, load_roster, off_roster_id, padded_id
    from grading.db.flag_queue import flag_detail
    from omr.errors import BadArguments, InputError

    f = flag_detail(store, args.flag_id)
    if f is None or f["target"] != "participant":
        return args.value
    contest = load_contest(args.contest)
    value = padded_id(contest.layout, args.value)
    if args.off_roster:
        return value
    try:
        roster = load_roster(contest.folder, contest.layout)
    except InputError as exc:
        raise BadArguments(f"the contest's roster cannot be read ({exc.message}), so participant {value} cannot be "
                           "checked; fix the roster (omr check --contest DIR), or run again with --off-roster") \
            from None
    missing = off_roster_id({p.id for p in roster.people} if roster else None, contest.layout, value)
    if missing is not None:
        raise BadArguments(f"participant {missing} is not on the contest's roster; check the id on the sheet, add "
                           "the participant to the roster, or run again with --off-roster (recorded in the audit "
                           "log)")
    return value


def _cmd_audit(args: argparse.Namespace) -> int:
    from grading.contest import load_settings
    from grading.db import audit
    from grading.store import Store
    from grading.numbers import local_time

    tz = load_settings(args.contest).tz
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        rows = audit.entries(store, who=args.who, action=args.action, target=args.target, limit=args.limit)
    if args.json:
        utc = [r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=timezone.utc) for r in rows]
        json.dump([{**r, "at": at.isoformat()} for r, at in zip(rows, utc)], sys.stdout, ensure_ascii=False,
                  indent=1, default=str)
        sys.stdout.write("\n")
        return ExitCode.OK

    def show(v: object) -> str:
        return "" if v is None else json.dumps(v, ensure_ascii=False, default=str)

    if rows:
        print(table([("when", "who", "action", "target", "before", "after")]
                    + [(local_time(r["at"], tz), r["who"], r["action"], r["target"], show(r["before"]),
                        show(r["after"])) for r in rows]))
    print(f"{len(rows)} audit entr{'y' if len(rows) == 1 else 'ies'}", file=sys.stderr)
    return ExitCode.OK
