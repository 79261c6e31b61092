"""``omr keys new --unit U`` (a unit's Ed25519 pair), ``omr forward`` (a unit's closed round as a signed bundle)
and ``omr receive`` (the city verifies and imports one)."""
from __future__ import annotations

import argparse

from omr.cli import Handler
from omr.errors import ExitCode

from .common import contest_args, db_url


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("keys", help="a unit's signing keys for bundles sent to the city")
    ksub = s.add_subparsers(dest="keys_action", required=True)
    k = ksub.add_parser("new", help="make the unit's Ed25519 key pair in DIR/keys (the .pub goes to the city)")
    k.add_argument("--contest", required=True, metavar="DIR", help="the contest folder")
    k.add_argument("--unit", required=True, help="the unit (code or name in units.csv)")

    s = sub.add_parser("forward", help="write a unit's closed round (its selected entries) as a signed bundle")
    contest_args(s)
    s.add_argument("--unit", required=True, help="the unit (code or name in units.csv)")
    s.add_argument("--round", required=True, dest="round_name", help="the round's name in rules.json")
    s.add_argument("--out", "-o", required=True, help="the bundle file to write (e.g. Q1-so-khao.zip)")

    s = sub.add_parser("receive", help="verify a unit's signed bundle and import it (once)")
    s.add_argument("bundle", help="the bundle file")
    contest_args(s)
    return {"keys": _cmd_keys, "forward": _cmd_forward, "receive": _cmd_receive}


def _cmd_keys(args: argparse.Namespace) -> int:
    from grading.bundles import new_keys
    from grading.units import load_units

    private, public = new_keys(args.contest, load_units(args.contest), args.unit)
    print(f"khoá bí mật: {private} (giữ tại đơn vị)\nkhoá công khai: {public} (gửi cho thành phố để đăng ký)")
    return ExitCode.OK


def _cmd_forward(args: argparse.Namespace) -> int:
    from grading.bundles import forward
    from grading.rules import need_rules
    from grading.store import Store
    from grading.units import load_units

    rules, units = need_rules(args.contest), load_units(args.contest)
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        path, n = forward(store, args.contest, rules, units, args.unit, args.round_name, args.out)
    print(f"{path}: {n} bài dự thi đi tiếp, đã ký")
    return ExitCode.OK


def _cmd_receive(args: argparse.Namespace) -> int:
    from grading.bundles import receive
    from grading.rules import need_rules
    from grading.store import Store
    from grading.units import load_units

    rules, units = need_rules(args.contest), load_units(args.contest)
    with Store.open(db_url(args, must_exist=False)) as store:
        r = receive(store, args.bundle, args.contest, rules, units)
    if not r.added:
        print(f"gói của {r.unit}, vòng {r.round} đã nhận trước đó: không thêm gì")
    else:
        print(f"đã nhận gói của {r.unit}, vòng {r.round}: {r.counts['entries']} bài dự thi, "
              f"{r.counts['submissions']} tệp, {r.counts['pages']} trang")
    return ExitCode.OK
