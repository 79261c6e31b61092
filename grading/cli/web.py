"""``omr review`` (the judges' web app) and ``omr judges`` (their accounts)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import ExitCode

from .common import contest_args, db_url


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("judges", help="accounts of the judges' web app")
    jsub = s.add_subparsers(dest="judges_cmd", required=True, metavar="ACTION")
    a = jsub.add_parser("add", help="create a judge's account and print its one-time password (shown once)")
    a.add_argument("name", metavar="NAME", help="login (one word)")
    a.add_argument("--unit", required=True, help="the judge's unit (school, board …)")
    a.add_argument("--role", choices=("judge", "admin"), default="judge", help="admin also sees /admin")
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
    from grading.judges import Role, add_judge
    from grading.store import Store

    with Store.open(db_url(args, must_exist=False)) as store:
        password = add_judge(store, args.name, unit=args.unit, role=Role(args.role))
    print(f"judge {args.name} ({args.role}, {args.unit}) created; one-time password (shown only now, to be "
          f"changed at the first login):", file=sys.stderr)
    print(password)
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
