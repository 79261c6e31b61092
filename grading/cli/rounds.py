"""``omr round open|close NAME`` (contest rounds), ``omr decide FLAG`` (the committee's decision on a tie) and
``omr prizes`` (the awards, stored once; the prize list as XLSX or CSV)."""
from __future__ import annotations

import argparse
import getpass
from typing import Any

from omr.cli import Handler
from omr.errors import ExitCode

from .common import contest_args, db_url

REPORTS = ("items", "prizes", "unit", "city", "education")


def _who(s: argparse.ArgumentParser, what: str) -> None:
    s.add_argument("--who", default=None, help=f"who {what} (kept in the audit log; default: the system user)")


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("round", help="contest rounds (rules.json): open one (its entries and essay tasks) or close "
                                     "it (rank, select who goes on; a tie at the cut is a flag for the committee)")
    s.add_argument("action", choices=("open", "close"))
    s.add_argument("name", help="the round's name in rules.json")
    contest_args(s)
    s.add_argument("--unit", default=None, help="the unit (code or name in units.csv) of a unit round")
    _who(s, "opens or closes the round")

    s = sub.add_parser("decide", help="the committee's decision on a tie (at a round's cut or a prize band)")
    s.add_argument("flag", nargs="?", type=int, help="the committee flag's number (omr decide --list)")
    contest_args(s)
    s.add_argument("--who", default=None, help="who decides (kept in the audit log)")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--pick", default=None, help="the participants (or units) chosen, comma-separated: exactly as "
                                                  "many as there are places")
    how.add_argument("--all", action="store_true", help="all the tied entries go on (the band is widened)")
    how.add_argument("--list", action="store_true", help="list the open committee flags")

    s = sub.add_parser("prizes", help="award the prizes (individual and collective bands of rules.json) once, and "
                                      "write the prize list")
    contest_args(s)
    s.add_argument("--out", "-o", default=None, help="prizes.xlsx or prizes.csv")
    _who(s, "awards")

    s = sub.add_parser("report", help="reports for people, XLSX or PDF (with charts): items (item analysis and "
                                      "key-error alerts; also CSV), prizes (the stored awards), unit, city, "
                                      "education (students aged 12+)")
    s.add_argument("kind", choices=REPORTS)
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="the file to write: .xlsx or .pdf (.csv for items and prizes)")
    s.add_argument("--on", default=None, metavar="YYYY-MM-DD", help="education: the date ages are counted on "
                                                                    "(default: today)")
    return {"round": _cmd_round, "decide": _cmd_decide, "prizes": _cmd_prizes, "report": _cmd_report}


def _rules_and_units(args: argparse.Namespace) -> tuple:
    from grading.rules import need_rules
    from grading.units import load_units

    return need_rules(args.contest), load_units(args.contest)


def _cmd_round(args: argparse.Namespace) -> int:
    from grading.rounds import close_round, open_round
    from grading.store import Store

    rules, units = _rules_and_units(args)
    who = args.who or getpass.getuser()
    with Store.open(db_url(args, must_exist=False)) as store:
        if args.action == "open":
            o = open_round(store, rules, units, args.name, args.unit, who=who)
            where = f" ({o.unit})" if o.unit else ""
            print(f"vòng {o.round}{where} mở: thêm {o.entries_added} bài dự thi, {o.tasks_added} nhiệm vụ chấm tự luận")
            if o.waiting:
                print(f"  {o.waiting} thí sinh chưa vào vòng: phần trắc nghiệm còn cờ, trùng trang hoặc chưa chấm")
            if o.units_not_closed:
                print(f"  vòng trước chưa đóng ở: {', '.join(o.units_not_closed)} (mở lại sau khi họ đóng để thêm)")
            return ExitCode.OK
        c = close_round(store, rules, units, args.name, args.unit, who=who)
    where = f" ({c.unit})" if c.unit else ""
    if c.already:
        print(f"vòng {c.round}{where} đã đóng trước đó: {c.entries} bài, {c.advanced} đi tiếp; không có gì thay đổi")
        return ExitCode.OK
    print(f"vòng {c.round}{where} đóng: {c.entries} bài, {c.advanced} đi tiếp")
    for fid in c.ties:
        print(f"  cờ hội đồng {fid}: bằng điểm tại ngưỡng đi tiếp — omr decide {fid} --who TÊN --pick … | --all")
    return ExitCode.FINISHED_WITH_FLAGS if c.ties else ExitCode.OK


def _cmd_decide(args: argparse.Namespace) -> int:
    from omr.errors import BadArguments

    from grading.db.rounds import open_committee_flags
    from grading.rounds import decide
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True)) as store:
        if args.list:
            for f in open_committee_flags(store):
                print(f"{f.id}\t{f.kind}\t{f.places} chỗ\t{', '.join(f.members)}\t{f.message}")
            return ExitCode.OK
        if args.flag is None or not (args.pick or args.all):
            raise BadArguments("omr decide FLAG --who NAME --pick ID,ID… (or --all); omr decide --list shows the flags")
        if not args.who:
            raise BadArguments("--who: say who decides (a name; kept in the audit log)")
        pick = None if args.all else [p.strip() for p in args.pick.split(",") if p.strip()]
        d = decide(store, args.flag, who=args.who, pick=pick)
    print(f"cờ {d.flag_id}: chọn {', '.join(d.chosen)}" + (f"; không chọn {', '.join(d.others)}" if d.others else ""))
    return ExitCode.OK


def _cmd_prizes(args: argparse.Namespace) -> int:
    from grading.prizes import award_prizes, prize_rows, write_prizes
    from grading.store import Store

    rules, units = _rules_and_units(args)
    with Store.open(db_url(args, must_exist=True)) as store:
        run = award_prizes(store, rules, units, who=args.who or getpass.getuser())
        rows = prize_rows(store, rules, units)
    print(f"giải: {run.added} giải mới, {run.kept} đã trao trước đó")
    for fid in run.flags:
        print(f"  cờ hội đồng {fid}: bằng điểm ở ranh giới giải — omr decide {fid} --who TÊN --pick … | --all")
    if args.out:
        print(write_prizes(rows, args.out))
    return ExitCode.FINISHED_WITH_FLAGS if run.flags else ExitCode.OK


def _cmd_report(args: argparse.Namespace) -> int:
    from omr.errors import BadArguments

    from grading.store import Store

    pdf = args.out.lower().endswith(".pdf")
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        if args.kind == "items":
            return _report_items(args, store)
        rules, units = _rules_and_units(args)
        if args.kind == "prizes" and not pdf:
            from grading.prizes import prize_rows, write_prizes

            rows = prize_rows(store, rules, units)
            if not rows:
                raise BadArguments("no prizes are stored yet: run omr prizes first")
            print(write_prizes(rows, args.out))
            return ExitCode.OK
        from datetime import date

        from grading.reports.contest_reports import write_report

        on = date.fromisoformat(args.on) if args.on else date.today()
        print(write_report(args.kind, store, args.contest, rules, units, args.out, on=on))
    return ExitCode.OK


def _report_items(args: argparse.Namespace, store: Any) -> int:
    from grading.contest import load_contest
    from grading.db.exports import scored_sheets
    from grading.items import analyse
    from grading.reports.items import write_items

    stats = analyse(scored_sheets(store), load_contest(args.contest).keys)
    for path in write_items(stats, args.out):
        print(path)
    for v in stats:
        for it in v.items:
            if it.alert:
                print(f"  đề {v.version}, câu {it.question} (đáp án {it.key}): {it.alert}")
    return ExitCode.OK
