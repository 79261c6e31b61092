"""How fast the pages a judge works on answer with 10,000 graded sheets in the store (target: ≤ 100 ms).

    .venv/bin/python -m bench.web_bench [--sheets 10000] [--backends sqlite,postgresql] [--repeat 20] [--rounds 3]

The store: ``--real`` (40) generated scanner sheets (samples/generator.py, seed 41, with the extra pages that are not
sheets) are graded by ``omr grade`` — real readings, flags, rejections and scores, cached in bench/data/ — and their
rows are then cloned, sheet k from real sheet k mod 40, to ``--sheets`` submissions: each clone gets its own content
hash and participant id (``k`` as 6 digits, unless the real sheet's id was unreadable), the unit of one of 30 units
(80 % recorded with the file as ``omr grade --unit`` would, 20 % only through the roster), and keeps the real file
as its source, so a crop is drawn from a real image. The contest folder gets a roster of every participant.
PostgreSQL runs in a throwaway cluster (initdb + pg_ctl on a free loopback port, like the tests' fixture).

Essays: ``--essays`` (2,000) more participants (ids 100000 …) each hand in a two-page file — an answer page
(recorded as read, all answers A) and a typed essay page rendered from ``bench/ocr_corpus`` prose (Liberation Serif
14 pt, 300 dpi, one real PDF shared by every file as its source) — with OCR text stored, so there are 2,000 judging
tasks against the demo rubric. An essay judge takes the next essay, opens it, its page image and scores it.

Then a live ``omr review`` is timed with httpx, one request at a time, as a judge's browser would ask: the queue
(first and a middle page), a flag's page, its crop PNG, a decision (POST resolve: lock, re-score, audit; the 303
only, not the next page it points to) and /admin; and the crop of the flag a judge lands on after a decision
("crop.png, next flag": open a flag, look for LOOK seconds, decide, open the next flag, time its crop — drawn
ahead while the judge looked). Each page is asked ``--repeat`` times per round (a different flag
each time where there is one) after two warm-up requests; ``--rounds`` rounds. Prints median / p95 / max per page
over all requests, and each round's median (the spread on a noisy machine).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import pwd
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.read_bench import ROOT, commit, machine

UNITS = ("Quận Ba Đình", "Quận Hoàn Kiếm", "Quận Tây Hồ", "Quận Long Biên", "Quận Cầu Giấy", "Quận Đống Đa",
         "Quận Hai Bà Trưng", "Quận Hoàng Mai", "Quận Thanh Xuân", "Quận Nam Từ Liêm", "Quận Bắc Từ Liêm",
         "Quận Hà Đông", "Thị xã Sơn Tây", "Huyện Ba Vì", "Huyện Chương Mỹ", "Huyện Đan Phượng", "Huyện Đông Anh",
         "Huyện Gia Lâm", "Huyện Hoài Đức", "Huyện Mê Linh", "Huyện Mỹ Đức", "Huyện Phú Xuyên", "Huyện Phúc Thọ",
         "Huyện Quốc Oai", "Huyện Sóc Sơn", "Huyện Thạch Thất", "Sở Tư pháp", "Sở Thông tin và Truyền thông",
         "Sở Nội vụ", "Sở Giáo dục và Đào tạo")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Phan", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thu", "Quang", "Thanh", "Hữu", "Thị Thu", "Bảo")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Khánh", "Lan", "Linh", "Long",
         "Mai", "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến")
PASSWORD = "bench-mat-khau-2026"
PAGES = ("/flags", "/flags?page=MID", "/flags/{id}", "/flags/{id}/crop.png", "crop.png, next flag", "POST resolve",
         "/admin", "/essays", "POST /essays/next", "/essays/{id}", "/essays/{id}/pages/1.png", "POST score",
         "/admin/essays")
ESSAY_JUDGES = 6     # essay judges (none of the participants' units); the timed one is "gk0"
SCORE = {"noi_dung": "4", "bo_cuc": "1,5", "dien_dat": "1", "sang_tao": "1"}     # the demo rubric's criteria
LOOK = 1.0          # seconds a judge looks at a flag before deciding (the next pictures are drawn meanwhile)


# -- the data --------------------------------------------------------------------------------------------------
def real_store(data: Path, n: int, seed: int) -> tuple[Path, Path]:
    """Generated scanner sheets graded by ``omr grade``: (contest folder, SQLite store), cached under ``data``."""
    from omr.layout import load_layout
    from samples.generator import generate_set

    demo = ROOT / "answer_keys" / "demo"
    base = data / f"web-real-{n}-s{seed}"
    contest, db = base / "contest", base / "contest" / "out" / "results.sqlite"
    if db.is_file():
        return contest, db
    shutil.rmtree(base, ignore_errors=True)
    contest.mkdir(parents=True)
    for name in ("layout.json", "keys.json"):
        shutil.copy(demo / name, contest / name)
    print(f"generating {n} scanner sheets into {base} …", file=sys.stderr)
    generate_set(load_layout(demo / "layout.json"), base / "set", profile="scanner", n=n, seed=seed, workers=None,
                 fmt="jpg", extras=True)
    p = subprocess.run([sys.executable, "-m", "grading.cli", "grade", str(base / "set" / "sheets"), "--contest",
                        str(contest), "--workers", str(os.cpu_count() or 1)], capture_output=True, text=True,
                       cwd=ROOT, timeout=1800)
    if p.returncode not in (0, 3, 4):
        raise SystemExit(f"omr grade failed ({p.returncode}): {p.stderr[-2000:]}")
    return contest, db


def name_of(k: int) -> str:
    return f"{FAMILY[k % len(FAMILY)]} {MIDDLE[(k // 7) % len(MIDDLE)]} {GIVEN[(k // 3) % len(GIVEN)]}"


def write_contest(real_contest: Path, out: Path, n: int) -> Path:
    """The contest folder for the big store: layout, keys and a roster of participants 000000 … n-1."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("layout.json", "keys.json"):
        shutil.copy(real_contest / name, out / name)
    shutil.copy(ROOT / "answer_keys" / "demo" / "rubric.json", out / "rubric.json")
    lines = ["participant_id,name,unit", *(f"{k:06d},{name_of(k)},{UNITS[k % len(UNITS)]}" for k in range(n))]
    (out / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return out


def essay_pdf(out: Path) -> Path:
    """A two-page PDF like a scanner writes: a blank answer page, then one typed Vietnamese essay page."""
    from PIL import Image

    from bench.ocr_bench import corpus_paragraphs, render_pages

    page, _truth = render_pages(corpus_paragraphs()[:4])[0]
    blank = Image.new("L", (2480, 3508), 255)
    blank.save(out, "PDF", save_all=True, append_images=[Image.fromarray(page)], resolution=300.0)
    return out


def add_essays(url: str, n_essays: int, pdf: Path) -> int:
    """``n_essays`` participants (100000 …) with an answer page and an essay page each, OCR text stored."""
    from grading.essays import assign_essay_pages
    from grading.store import Store
    from omr.ocr import OcrResult
    from omr.records import Reject, SheetFailure, SheetReading, Status

    from bench.ocr_bench import corpus_paragraphs

    paras = corpus_paragraphs()
    size = pdf.stat().st_size
    with Store.open(url) as store:
        for k in range(n_essays):
            pid = f"{100000 + k:06d}"
            sheet = SheetReading(source=str(pdf), page=1, layout="demo-a4-100", status=Status.OK, participant=pid,
                                 version="101", answers={str(q): "A" for q in range(1, 101)}, flags=())
            essay = SheetFailure(source=str(pdf), page=2, reason_code=Reject.NOT_A_SHEET, reason="no fiducials")
            store.record_submission(str(pdf), hashlib.sha256(f"essay {k}".encode()).hexdigest(), size,
                                    assign_essay_pages([sheet, essay]), None, unit=UNITS[k % len(UNITS)])
        for i, e in enumerate(store.essays_to_ocr()):
            text = "\n\n".join(paras[(i + j) % len(paras)] for j in range(3))
            store.save_ocr(e.id, OcrResult(text=text, mean_conf=91.0, words=len(text.split()), reliable=True,
                                           engine="bench (corpus text)", source="ocr", seconds=0.0))
    return n_essays


def clone_store(real_db: Path, url: str, n: int) -> dict[str, int]:
    """Fill the (new, empty) store at ``url`` with ``n`` submissions cloned from the real graded ones."""
    from grading.store import Store, flags, keysets, pages, scores, submissions

    with Store.open(f"sqlite:///{real_db}") as real, real.read_tx("read the real store") as conn:
        ks = [dict(r._mapping) for r in conn.execute(sa.select(keysets))]
        subs = [dict(r._mapping) for r in conn.execute(sa.select(submissions).order_by(submissions.c.id))]
        pgs = [dict(r._mapping) for r in conn.execute(sa.select(pages).order_by(pages.c.id))]
        fls = [dict(r._mapping) for r in conn.execute(sa.select(flags).order_by(flags.c.id))]
        scs = [dict(r._mapping) for r in conn.execute(sa.select(scores).order_by(scores.c.id))]
    pages_of = {s["id"]: [p for p in pgs if p["submission_id"] == s["id"]] for s in subs}
    flags_of = {p["id"]: [f for f in fls if f["page_id"] == p["id"]] for p in pgs}
    score_of = {s["page_id"]: s for s in scs}
    out: dict[str, list[dict]] = {"submissions": [], "pages": [], "flags": [], "scores": []}
    ids = {"page": 0, "flag": 0, "score": 0}
    for k in range(n):
        t = subs[k % len(subs)]
        sid = k + 1
        pid_text = f"{k:06d}"
        out["submissions"].append({**t, "id": sid, "content_hash": hashlib.sha256(f"clone {k}".encode()).hexdigest(),
                                   "unit": UNITS[k % len(UNITS)] if k % 5 else None, "last_run": None})
        for p in pages_of[t["id"]]:
            ids["page"] += 1
            participant = pid_text if p["participant"] is not None else None
            reading = dict(p["reading"])
            if reading.get("participant") is not None:
                reading["participant"] = pid_text
            out["pages"].append({**p, "id": ids["page"], "submission_id": sid, "participant": participant,
                                 "reading": reading})
            for f in flags_of[p["id"]]:
                ids["flag"] += 1
                out["flags"].append({**f, "id": ids["flag"], "page_id": ids["page"]})
            if p["id"] in score_of:
                ids["score"] += 1
                out["scores"].append({**score_of[p["id"]], "id": ids["score"], "page_id": ids["page"],
                                      "participant": participant})
    with Store.open(url) as store, store.write_tx("clone the sheets") as conn:
        conn.execute(sa.insert(keysets), ks)
        for table in (submissions, pages, flags, scores):
            rows = out[table.name]
            for i in range(0, len(rows), 1000):
                conn.execute(sa.insert(table), rows[i:i + 1000])
        if conn.dialect.name == "postgresql":
            for table in ("submissions", "pages", "flags", "scores"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    if url.startswith("sqlite"):
        with Store.open(url) as store, store.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
    return {k: len(v) for k, v in out.items()}


# -- a throwaway PostgreSQL cluster ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def pg_cluster(bin_dir: Path) -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="omr-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port, data = free_port(), root / "data"
    run = lambda cmd: subprocess.run(prefix + cmd, check=True, capture_output=True, timeout=180)   # noqa: E731
    try:
        run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--locale=C", "--no-sync"])
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", opts, "-w", "start"])
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


# -- the server and the timing --------------------------------------------------------------------------------
@contextlib.contextmanager
def review(contest: Path, url: str, log: Path) -> Iterator[str]:
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "grading.cli", "review", "--contest", str(contest), "--db",
                                   url, "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if server.poll() is not None:
                raise SystemExit(f"omr review stopped: {log.read_text(errors='replace')[-2000:]}")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def logged_in(base: str, name: str, one_time: str) -> httpx.Client:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    token = lambda html: re.search(r'name="csrf" value="([^"]+)"', html).group(1)   # noqa: E731
    r = c.post("/login", data={"username": name, "password": one_time, "csrf": token(c.get("/login").text)})
    assert r.status_code == 303, r.text[:300]
    r = c.post("/password", data={"csrf": token(c.get("/password").text), "current_password": one_time,
                                  "new_password": PASSWORD, "again": PASSWORD})
    assert r.status_code == 303, r.text[:300]
    c.csrf = token(c.get("/flags").text)          # type: ignore[attr-defined]
    return c


def timed(fn: Callable[[], httpx.Response], want: int) -> float:
    t = time.perf_counter()
    r = fn()
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != want:
        raise SystemExit(f"{r.request.method} {r.request.url}: {r.status_code} (wanted {want}): {r.text[:300]}")
    return ms


def bench_backend(name: str, url: str, contest: Path, real_db: Path, n: int, repeat: int, rounds: int,
                  tmp: Path, n_essays: int = 2000) -> dict[str, list[list[float]]]:
    from grading.judges import Role, add_judge
    from grading.store import Store

    t = time.perf_counter()
    made = clone_store(real_db, url, n)
    made["essay participants"] = add_essays(url, n_essays, essay_pdf(tmp / "essay.pdf")) if n_essays else 0
    with Store.open(url) as store:
        pw = add_judge(store, "bench", unit="Sở Thông tin và Truyền thông", role=Role.ADMIN)
        essay_pw = {f"gk{i}": add_judge(store, f"gk{i}", unit=f"Ban giám khảo {i}") for i in range(ESSAY_JUDGES)}
        counts = store.counts()
        with store.read_tx("bench flags") as conn:
            queue = conn.execute(sa.text("SELECT f.id, f.target = 'question' AND p.status <> 'essay' FROM flags f "
                                         "JOIN pages p ON p.id = f.page_id WHERE f.state = 'open' ORDER BY f.id")).all()
    qflags = [fid for fid, question in queue if question]
    # flags whose next one in the queue is a question too (the decision flow lands there and asks for its crop)
    before_question = [a for (a, qa), (_, qb) in zip(queue, queue[1:]) if qa and qb]
    print(f"[{name}] store built in {time.perf_counter() - t:.1f} s: {made}; counts {counts}", file=sys.stderr)
    need = (2 + repeat * rounds) * 4
    if len(qflags) < need:
        raise SystemExit(f"only {len(qflags)} open question flags, {need} needed: lower --repeat or --rounds")
    # spread the flags over the whole queue; separate ones for viewing, cropping and deciding
    # the decision flow works in the second half of the queue, every other page in the first: no flag is asked twice
    half = queue[len(queue) // 2][0]
    first = [f for f in qflags if f < half]
    second = [f for f in before_question if f >= half]
    pick = iter(first[::max(1, len(first) // need)])
    flow = iter(second[::max(1, len(second) // need)])
    times: dict[str, list[list[float]]] = {p: [] for p in PAGES}
    with review(contest, url, tmp / f"review-{name}.log") as base:
        c = logged_in(base, "bench", pw)
        gk = logged_in(base, "gk0", essay_pw["gk0"])
        mid = max(1, counts["flags_open"] // 50 // 2)
        held: list[int] = []          # the essay gk0 holds (taken, not yet scored)

        def take() -> float:
            if held:                  # one unscored essay at a time: score the one held first
                gk.post(f"/essays/{held.pop()}/score", data={"csrf": gk.csrf, **SCORE})
            t0 = time.perf_counter()
            r = gk.post("/essays/next", data={"csrf": gk.csrf})
            ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 303 and re.fullmatch(r"/essays/\d+", r.headers["location"]), r.headers
            held.append(int(r.headers["location"].rsplit("/", 1)[1]))
            return ms

        def current() -> int:
            if not held:
                take()
            return held[-1]

        def score() -> float:
            aid = current()
            ms = timed(lambda: gk.post(f"/essays/{aid}/score", data={"csrf": gk.csrf, **SCORE}), 303)
            held.remove(aid)
            return ms
        pages: dict[str, Callable[[], float]] = {
            "/flags": lambda: timed(lambda: c.get("/flags"), 200),
            "/flags?page=MID": lambda: timed(lambda: c.get(f"/flags?page={mid}"), 200),
            "/flags/{id}": lambda: timed(lambda fid=next(pick): c.get(f"/flags/{fid}"), 200),
            "/flags/{id}/crop.png": lambda: timed(lambda fid=next(pick): c.get(f"/flags/{fid}/crop.png"), 200),
            "crop.png, next flag": lambda: judge_flow(c, next(flow)),
            "POST resolve": lambda: timed(lambda fid=next(pick): c.post(
                f"/flags/{fid}/resolve", data={"csrf": c.csrf, "value": "A"}), 303),
            "/admin": lambda: timed(lambda: c.get("/admin"), 200),
        }
        if n_essays:
            pages.update({
                "/essays": lambda: timed(lambda: gk.get("/essays"), 200),
                "POST /essays/next": take,
                "/essays/{id}": lambda: timed(lambda: gk.get(f"/essays/{current()}"), 200),
                "/essays/{id}/pages/1.png": lambda: timed(lambda: gk.get(f"/essays/{current()}/pages/1.png"), 200),
                "POST score": score,
                "/admin/essays": lambda: timed(lambda: c.get("/admin/essays"), 200),
            })
        for fn in pages.values():
            fn(), fn()                                      # warm-up: imports, caches, connections
        for _ in range(rounds):
            for page, fn in pages.items():
                times[page].append([fn() for _ in range(repeat)])
        c.close()
        gk.close()
    return {page: ts for page, ts in times.items() if ts}


def judge_flow(c: httpx.Client, fid: int) -> float:
    """A decision the way the browser makes it: open the flag, look, decide, land on the next flag; the time of
    the next flag's crop (drawn ahead while the judge looked at this one)."""
    c.get(f"/flags/{fid}")
    time.sleep(LOOK)
    r = c.post(f"/flags/{fid}/resolve", data={"csrf": c.csrf, "value": "A"})        # type: ignore[attr-defined]
    nxt = re.fullmatch(r"/flags/(\d+)\?done=\d+", r.headers["location"])
    assert r.status_code == 303 and nxt, (r.status_code, r.headers.get("location"))
    c.get(r.headers["location"])
    return timed(lambda: c.get(f"/flags/{nxt.group(1)}/crop.png"), 200)


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sheets", type=int, default=10_000)
    ap.add_argument("--real", type=int, default=40, help="real generated sheets graded and cloned")
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=20, help="requests per page per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--essays", type=int, default=2000, help="participants with an essay (judging tasks)")
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    newest = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"),
                 key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    ap.add_argument("--pg-bin", default=os.environ.get("OMR_PG_BIN", str(newest)))
    args = ap.parse_args(argv)

    real_contest, real_db = real_store(Path(args.data), args.real, args.seed)
    print(f"$ python -m bench.web_bench {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {machine()}; commit {commit()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"store: {args.sheets} sheets cloned from {args.real} graded scanner sheets (seed {args.seed})")
    with tempfile.TemporaryDirectory(prefix="omr-web-bench-") as tmp_s:
        tmp = Path(tmp_s)
        contest = write_contest(real_contest, tmp / "contest", args.sheets)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{tmp / 'results.sqlite'}"
                times = bench_backend(backend, url, contest, real_db, args.sheets, args.repeat, args.rounds, tmp,
                                      args.essays)
            elif backend == "postgresql":
                with pg_cluster(Path(args.pg_bin)) as server:
                    times = bench_backend(backend, server, contest, real_db, args.sheets, args.repeat, args.rounds,
                                          tmp, args.essays)
            else:
                raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgresql")
            print(f"\n{backend}: ms per request, {args.rounds} rounds × {args.repeat} (one client, one at a time)")
            print(f"  {'page':24} {'median':>7} {'p95':>7} {'max':>7}   median per round")
            for page, per_round in times.items():
                xs = [x for r in per_round for x in r]
                rounds = " / ".join(f"{statistics.median(r):.1f}" for r in per_round)
                print(f"  {page:24} {statistics.median(xs):7.1f} {p95(xs):7.1f} {max(xs):7.1f}   {rounds}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
