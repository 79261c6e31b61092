"""The login throttle: keyed on the account's name (case kept) and the client's address, bounded in memory
(hashed keys, a cap on the pairs kept), ``X-Forwarded-For`` trusted only from ``omr review --trusted-proxy``,
and over-long user names answered like any wrong login."""
from __future__ import annotations

import ipaddress
import tracemalloc

import httpx
import pytest
from starlette.requests import Request

from grading.judges import MAX_NAME, add_judge, authenticate, normalise_name
from grading.store import Store
from grading.webapp.app import create_app
from grading.webapp.auth import LoginThrottle, client_address
from grading_support import omr
from omr.errors import BadArguments, ExitCode
from omr.layout import load_layout
from web_support import TestClient, csrf, demo_contest, live_server, login

IP = "10.0.0.1"
WRONG = "sai-mat-khau-1"
MB = 1 << 20


def _clock(start: float = 1000.0) -> list[float]:
    return [start]


# -- the throttle ---------------------------------------------------------------------------------------
def test_failures_count_under_the_name_the_account_lookup_uses_case_kept():
    now = _clock()
    t = LoginThrottle(limit=5, window=60, clock=lambda: now[0])
    for _ in range(5):
        t.failed("J1", IP)
    assert t.retry_after("j1", IP) == 0                   # another account
    assert t.retry_after("J1", IP) == 60
    assert t.retry_after(" J1 ", IP) == 60 and t.retry_after("J1\n", IP) == 60
    assert normalise_name(" J1\t") == "J1"
    t.succeeded(" J1", IP)
    assert t.retry_after("J1", IP) == 0


def test_looking_up_a_pair_stores_nothing():
    t = LoginThrottle()
    for i in range(100):
        assert t.retry_after(f"gk{i}", IP) == 0
    assert t.kept() == 0


@pytest.mark.slow
def test_ten_thousand_failures_with_one_mb_names_keep_the_throttle_small_and_the_lock_on():
    now = _clock()
    t = LoginThrottle(limit=5, window=60, clock=lambda: now[0])
    for _ in range(5):
        t.failed("gk1", IP)
    body = "x" * MB
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(10_000):
            name = f"{i:05d}{body}"                        # a fresh 1 MB string each time
            t.failed(name, IP)
            del name
            assert tracemalloc.get_traced_memory()[0] - before < 20 * MB, i
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20 * MB
    assert t.kept() <= t.max_keys == 10_000
    assert t.retry_after("gk1", IP) == 60                 # the locked pair outlived the flood


def test_the_number_of_pairs_kept_is_capped():
    now = _clock()
    t = LoginThrottle(limit=5, window=60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        t.failed(f"gk{i}", IP)
        now[0] += 0.001
    assert t.kept() == 100


def test_a_full_throttle_drops_unlocked_pairs_before_a_locked_one():
    now = _clock(0.0)
    t = LoginThrottle(limit=2, window=60, clock=lambda: now[0], max_keys=3)
    t.failed("a", IP)
    t.failed("a", IP)                                      # locked, and the oldest pair
    for n, name in enumerate(("b", "c", "d"), start=1):
        now[0] = float(n)
        t.failed(name, IP)
    assert t.kept() == 3
    assert t.retry_after("a", IP) == 57                    # still locked: "b" made room for "d"
    now[0] = 4.0
    t.failed("b", IP)                                      # "b" starts again from one failure
    assert t.retry_after("b", IP) == 0


def test_a_full_throttle_drops_expired_pairs_first_even_locked_ones():
    now = _clock(0.0)
    t = LoginThrottle(limit=2, window=60, clock=lambda: now[0], max_keys=2)
    t.failed("a", IP)
    t.failed("a", IP)                                      # locked until 60
    now[0] = 50.0
    t.failed("b", IP)
    now[0] = 70.0
    t.failed("c", IP)                                      # "a" has expired: it goes, "b" stays
    now[0] = 71.0
    t.failed("b", IP)
    assert t.retry_after("b", IP) == 39


# -- the client's address ---------------------------------------------------------------------------------
def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded]
    return Request({"type": "http", "method": "POST", "path": "/login", "headers": headers,
                    "client": (peer, 50000)})


NETS = (ipaddress.ip_network("10.0.0.9"), ipaddress.ip_network("172.16.0.0/12"))


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("203.0.113.5", ("198.51.100.7",), (), "203.0.113.5"),                    # no trusted proxy: ignored
    ("203.0.113.5", ("198.51.100.7",), NETS, "203.0.113.5"),                  # peer not a proxy: ignored
    ("10.0.0.9", ("198.51.100.7",), NETS, "198.51.100.7"),
    ("10.0.0.9", ("1.2.3.4, 198.51.100.7",), NETS, "198.51.100.7"),           # what the client wrote is left
    ("10.0.0.9", ("1.2.3.4, 198.51.100.7, 172.16.3.4",), NETS, "198.51.100.7"),   # two proxies
    ("10.0.0.9", ("1.2.3.4", "198.51.100.7"), NETS, "198.51.100.7"),          # two header lines
    ("10.0.0.9", (), NETS, "10.0.0.9"),                                       # no header: the proxy itself
    ("10.0.0.9", ("1.2.3.4, nonsense",), NETS, "10.0.0.9"),                   # a hop that is no address
    ("::ffff:10.0.0.9", ("198.51.100.7",), NETS, "198.51.100.7"),             # IPv4 seen by an IPv6 socket
])
def test_client_address_trusts_forwarded_for_only_from_trusted_proxies(peer, forwarded, trusted, expected):
    assert client_address(_request(peer, *forwarded), trusted) == expected


# -- over the web (in-process) ----------------------------------------------------------------------------
@pytest.fixture
def contest(tmp_path):
    contest = demo_contest(tmp_path / "contest")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        pw = add_judge(store, "gk1", unit="THPT Chu Văn An")
    return {"dir": contest, "url": url, "pw": pw}


@pytest.fixture
def web(contest):
    """A client factory over the app in-process: ``web(peer, trusted_proxies)``."""
    opened = []
    store = Store.open(contest["url"])

    def make(peer: str = "203.0.113.5", trusted: tuple[str, ...] = ()) -> TestClient:
        app = create_app(store, load_layout(contest["dir"] / "layout.json"), contest_dir=contest["dir"],
                         trusted_proxies=trusted)
        c = TestClient(app, follow_redirects=False, client=(peer, 50000))
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()
    store.close()


def _login(c, name: str, password: str, forwarded: str | None = None) -> httpx.Response:
    token = csrf(c.get("/login").text)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return c.post("/login", data={"username": name, "password": password, "csrf": token}, headers=headers)


def test_failures_on_another_case_do_not_lock_the_account_out(web, contest):
    c = web()
    for _ in range(5):
        assert _login(c, "GK1", contest["pw"]).status_code == 401       # no account "GK1"
    r = _login(c, " gk1 ", contest["pw"])
    assert r.status_code == 303 and r.headers["location"] == "/password"


def test_forwarded_for_from_an_untrusted_peer_does_not_escape_the_throttle(web, contest):
    c = web()
    for i in range(5):
        assert _login(c, "gk1", WRONG, forwarded=f"198.51.100.{i}").status_code == 401
    r = _login(c, "gk1", contest["pw"], forwarded="198.51.100.99")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 50


def test_forwarded_for_from_a_trusted_proxy_throttles_each_client(web, contest):
    c = web("10.0.0.9", ("10.0.0.9",))
    for _ in range(5):
        assert _login(c, "gk1", WRONG, forwarded="198.51.100.1").status_code == 401
    assert _login(c, "gk1", contest["pw"], forwarded="198.51.100.1").status_code == 429
    # the client cannot get out by writing its own header in front of the proxy's
    assert _login(c, "gk1", contest["pw"], forwarded="192.0.2.1, 198.51.100.1").status_code == 429
    r = _login(c, "gk1", contest["pw"], forwarded="198.51.100.2")
    assert r.status_code == 303 and r.headers["location"] == "/password"


def test_a_one_mb_user_name_is_a_wrong_login_then_a_locked_one(web):
    c = web()
    name = "g" * 1_000_000              # 1 MB: the most a form field may hold is 1 MiB with its name
    for _ in range(5):
        r = _login(c, name, WRONG)
        assert r.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in r.text
    assert _login(c, name, WRONG).status_code == 429


def test_names_longer_than_a_login_can_be_are_refused_and_never_created(contest):
    with Store.open(contest["url"]) as store:
        assert authenticate(store, "g" * (MAX_NAME + 1), "x") is None
        with pytest.raises(BadArguments, match="at most 64 characters"):
            add_judge(store, "g" * (MAX_NAME + 1), unit="x")
        assert add_judge(store, " " + "g" * MAX_NAME + " ", unit="x")


def test_create_app_refuses_a_bad_trusted_proxy(contest):
    with Store.open(contest["url"]) as store, pytest.raises(BadArguments, match="not an IP address"):
        create_app(store, load_layout(contest["dir"] / "layout.json"), trusted_proxies=["proxy.local"])


# -- omr review --trusted-proxy ---------------------------------------------------------------------------
def test_review_help_lists_trusted_proxy_and_a_bad_address_is_a_usage_error(contest):
    p = omr("review", "--help")
    assert p.returncode == ExitCode.OK and "--trusted-proxy" in p.stdout
    p = omr("review", "--contest", str(contest["dir"]), "--trusted-proxy", "not-an-address")
    assert p.returncode == ExitCode.BAD_ARGS == 2
    assert "--trusted-proxy" in p.stderr and "'not-an-address' is not an IP address" in p.stderr


def test_review_with_a_trusted_proxy_throttles_forwarded_clients_apart(contest, tmp_path):
    with live_server(contest["dir"], tmp_path / "server.log", "--trusted-proxy", "127.0.0.1",
                     "--trusted-proxy", "::1") as base:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=10,
                          headers={"X-Forwarded-For": "198.51.100.1"}) as c:
            for _ in range(5):
                assert login(c, "gk1", WRONG).status_code == 401
            assert login(c, "gk1", contest["pw"]).status_code == 429
        with httpx.Client(base_url=base, follow_redirects=False, timeout=10,
                          headers={"X-Forwarded-For": "198.51.100.2"}) as c:
            r = login(c, "gk1", contest["pw"])
            assert r.status_code == 303 and r.headers["location"] == "/password"
