"""``omr review`` (the judges' web app) and ``omr judges`` (their accounts: add, list, reset, disable, enable;
every change audited)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import ExitCode

from .common import contest_args, db_url, table


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("judges", help="accounts of the judges' web app")
    jsub = s.add_subparsers(dest="judges_cmd", required=True, metavar="ACTION")
    a = jsub.add_parser("add", help="create a judge's account and print its one-time password (shown once)")
    a.add_argument("name", metavar="NAME", help="login (one word)")
    a.add_argument("--unit", required=True,
                   help="the judge's unit (a code or a name from units.csv; `city` for the city's own judges and "
                        "admins: an admin of a unit sees only that unit's data, see grading/scope.py)")
    a.add_argument("--role", choices=("judge", "admin"), default="judge", help="admin also sees /admin")
    a.add_argument("--full-name", default=None, metavar="TEXT",
                   help='the judge\'s full name ("Nguyễn Văn An"), shown in the web app instead of the login')
    a.add_argument("--who", default=None, help="who creates it (kept in the audit log; default: system)")
    contest_args(a)
    a = jsub.add_parser("list", help="every account: login, full name, unit, role, state, last login and decision")
    contest_args(a)
    a.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    for action, what in (("reset", "print a new one-time password (shown once; to be changed at the next login) "
                                   "and end every session of the account"),
                         ("disable", "stop an account: no login, its sessions end at once, its unscored essays "
                                     "go back to the pool"),
                         ("enable", "let a disabled account log in again (its password unchanged)")):
        a = jsub.add_parser(action, help=what)
        a.add_argument("name", metavar="NAME", help="login (see `omr judges list`)")
        a.add_argument("--who", required=True, help="who does it (kept in the audit log)")
        contest_args(a)

    s = sub.add_parser("review", help="serve the judges' web app (flag queue, keyboard decisions) with uvicorn")
    contest_args(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    s.add_argument("--secure-cookies", action="store_true",
                   help="mark the session and login cookies Secure (sent over HTTPS only): use it when the app is "
                        "served behind an HTTPS reverse proxy")
    s.add_argument("--trusted-proxy", action="append", default=[], type=proxy_arg, metavar="ADDR",
                   help="a reverse proxy (address or network, repeatable) whose X-Forwarded-For names the client "
                        "for the login throttle; from anyone else that header is ignored")

    return {"judges": _cmd_judges, "review": _cmd_review}


def _cmd_judges(args: argparse.Namespace) -> int:
    from grading.store import Store

    if args.judges_cmd == "list":
        return _list_judges(args)
    if args.judges_cmd == "add":                 # a unit not in units.csv: exit 9, before a store is made
        from grading.units import recorded_unit

        args.unit = recorded_unit(args.contest, args.unit, city=True)
    with Store.open(db_url(args, must_exist=args.judges_cmd != "add")) as store:
        return {"add": _add, "reset": _reset, "disable": _disable, "enable": _enable}[args.judges_cmd](store, args)


def _add(store: Any, args: argparse.Namespace) -> int:
    from grading.judges import Role, add_judge
    from grading.store import SYSTEM

    unit = args.unit
    password = add_judge(store, args.name, unit=unit, role=Role(args.role), full_name=args.full_name,
                         who=args.who or SYSTEM)
    full = f"{' '.join(args.full_name.split())}; " if args.full_name and args.full_name.strip() else ""
    print(f"judge {args.name} ({full}{args.role}, {unit}) created; one-time password (shown only now, to be "
          f"changed at the first login):", file=sys.stderr)
    print(password)
    return ExitCode.OK


def _reset(store: Any, args: argparse.Namespace) -> int:
    from grading.judges import judge_named, reset_password

    password = reset_password(store, args.name, who=args.who)
    judge = judge_named(store, args.name)
    print(f"judge {judge.name}: every session has ended; new one-time password (shown only now, to be changed at "
          "the next login):", file=sys.stderr)
    if judge.disabled:
        print(f"the account is still disabled: `omr judges enable {judge.name} --who NAME --contest "
              f"{args.contest}` lets it log in", file=sys.stderr)
    print(password)
    return ExitCode.OK


def _disable(store: Any, args: argparse.Namespace) -> int:
    from grading.judges import disable_judge, normalise_name

    done = disable_judge(store, args.name, who=args.who)
    name = normalise_name(args.name)
    print(f"judge {name} {'was already' if done.was_disabled else 'is now'} disabled: {done.sessions_ended} "
          f"session(s) ended, {done.essays_released} unscored essay(s) back in the pool. "
          f"`omr judges enable {name} --who NAME` undoes it.")
    return ExitCode.OK


def _enable(store: Any, args: argparse.Namespace) -> int:
    from grading.judges import enable_judge, normalise_name

    name = normalise_name(args.name)
    if enable_judge(store, args.name, who=args.who):
        print(f"judge {name} can log in again with the same password "
              f"(`omr judges reset {name} --who NAME` gives a new one).")
    else:
        print(f"judge {name} was not disabled; nothing changed.")
    return ExitCode.OK


def _list_judges(args: argparse.Namespace) -> int:
    from grading.contest import load_settings
    from grading.judges import list_judges
    from grading.numbers import local_time
    from grading.reports.progress import judge_activity
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        judges, activity = list_judges(store), judge_activity(store)
    rows = [{"login": j.name, "full_name": j.full_name, "unit": j.unit, "role": j.role.value,
             "state": j.state.value, "disabled_at": j.disabled_at, "last_login": j.last_login_at,
             "decisions": activity[j.name].decisions if j.name in activity else 0,
             "last_decision": activity[j.name].last if j.name in activity else None} for j in judges]
    if args.json:
        json.dump([{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows],
                  sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return ExitCode.OK
    tz = load_settings(args.contest).tz
    if rows:
        print(table([("login", "full name", "unit", "role", "state", "last login", "decisions", "last decision")]
                    + [(r["login"], r["full_name"] or "", r["unit"], r["role"], r["state"],
                        local_time(r["last_login"], tz) if r["last_login"] else "", str(r["decisions"]),
                        local_time(r["last_decision"], tz) if r["last_decision"] else "") for r in rows]))
    print(f"{len(rows)} account(s)" + ("" if rows else "; create one with `omr judges add NAME --unit UNIT "
                                                       f"--contest {args.contest}`"), file=sys.stderr)
    return ExitCode.OK

def proxy_arg(text: str) -> Any:
    from grading.webapp.auth import parse_proxy

    try:
        return parse_proxy(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None

def _cmd_review(args: argparse.Namespace) -> int:
    import uvicorn

    from grading.contest import load_contest
    from grading.store import Store
    from grading.webapp.app import create_app

    contest = load_contest(args.contest)
    with Store.open(db_url(args, must_exist=True)) as store:
        app = create_app(store, contest.layout, contest_dir=contest.folder, secure_cookies=args.secure_cookies,
                         trusted_proxies=args.trusted_proxy)
        print(f"omr review: serving {store.url} on http://{args.host}:{args.port}/ (Ctrl-C stops)"
              + ("; cookies are Secure: open it through HTTPS" if args.secure_cookies else ""), file=sys.stderr)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return ExitCode.OK
