"""The web side of a judge's "Báo bài có vấn đề" on a blind essay and of discarding a page: the judge is taken to
his next essay, the organisers (never the judges) see the report in their flag queue and send the essay back or
discard the page; discarding and undoing from /admin are for admins only and carry the CSRF token."""
from __future__ import annotations

import re
import shutil

import pytest

from grading import essays as S
from grading.db import reports as R
from grading.db.reports import ReportKind
from grading.essays import assign_essay_pages
from grading.judges import Role, add_judge
from grading.store import Store
from grading.webapp.app import create_app
from grading_support import DEMO, db_rows, failure, qflag, reading, sha
from omr.layout import load_layout
from web_support import TestClient, csrf, login_and_change_password


@pytest.fixture
def site(tmp_path):
    contest = tmp_path / "contest"
    contest.mkdir()
    for name in ("layout.json", "keys.json", "rubric.json"):
        shutil.copy(DEMO / name, contest / name)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        for pid, n, flags in (("000301", 2, (qflag("2"),)), ("000302", 1, ())):
            src = f"/scans/{pid}.pdf"           # never drawn here: no picture is asked for
            recs = [reading(src, 1, pid, "101", "AAAAAA", flags=flags)] + [failure(src, k) for k in range(2, 2 + n)]
            store.record_submission(src, sha(pid), 10, assign_essay_pages(recs), None)
        pw = {"gk1": add_judge(store, "gk1", unit="Quận Tây Hồ"), "gk2": add_judge(store, "gk2", unit="Quận Cầu Giấy"),
              "quantri": add_judge(store, "quantri", unit="Sở Tư pháp", role=Role.ADMIN)}
    store = Store.open(url)
    app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
    clients: list[TestClient] = []

    def ready(name: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        login_and_change_password(c, name, pw[name])
        return c

    yield {"url": url, "ready": ready}
    for c in clients:
        c.close()
    store.close()


def take(c: TestClient) -> int:
    r = c.post("/essays/next", data={"csrf": csrf(c.get("/essays").text)})
    assert r.status_code == 303 and re.fullmatch(r"/essays/\d+", r.headers["location"]), r.headers.get("location")
    return int(r.headers["location"].rsplit("/", 1)[1])


def task_of(url: str, aid: int) -> int:
    return db_rows(url, f"SELECT task_id FROM essay_assignments WHERE id = {aid}")[0][0]


def test_a_judge_reports_a_problem_and_the_organisers_send_the_essay_back(site):
    url, gk1, admin = site["url"], site["ready"]("gk1"), site["ready"]("quantri")
    aid = take(gk1)
    tid = task_of(url, aid)
    page = gk1.get(f"/essays/{aid}")
    assert f'action="/essays/{aid}/report"' in page.text
    assert set(re.findall(r'name="kind" value="([a-z_]+)"', page.text)) == {k.value for k in ReportKind}
    token = csrf(page.text)
    assert gk1.post(f"/essays/{aid}/report", data={"kind": "wrong_page"}).status_code == 403          # no CSRF
    gk2 = site["ready"]("gk2")
    assert gk2.post(f"/essays/{aid}/report", data={"csrf": csrf(gk2.get("/essays").text),
                                                   "kind": "wrong_page"}).status_code == 403       # not his
    r = gk1.post(f"/essays/{aid}/report", data={"csrf": token, "kind": "other", "text": "  "})
    assert r.status_code == 400 and "Khác" in r.text
    assert gk1.post(f"/essays/{aid}/report", data={"csrf": token, "kind": "??"}).status_code == 400
    assert db_rows(url, "SELECT count(*) FROM flags WHERE reason = 'judge_report'") == [(0,)]

    r = gk1.post(f"/essays/{aid}/report", data={"csrf": token, "kind": "wrong_page",
                                                "text": "Trang 2 là bài của thí sinh khác"})
    assert r.status_code == 303
    nxt = re.fullmatch(r"/essays/(\d+)\?reported=1", r.headers["location"])
    assert nxt and task_of(url, int(nxt.group(1))) != tid                          # the next essay, another task
    assert "Đã gửi báo cáo cho ban tổ chức" in gk1.get(r.headers["location"]).text
    reports = db_rows(url, "SELECT id, page_id, origin, target, state, message FROM flags "
                           "WHERE reason = 'judge_report' ORDER BY id")
    assert len(reports) == 2 and {f[2:5] for f in reports} == {("judge", "page", "open")}
    assert all("Trang 2 là bài của thí sinh khác" in f[5] for f in reports)
    assert db_rows(url, f"SELECT count(*) FROM essay_assignments WHERE task_id = {tid}") == [(0,)]  # released
    assert db_rows(url, f"SELECT state FROM essay_tasks WHERE id = {tid}") == [("held",)]
    assert db_rows(url, "SELECT who, action FROM audit WHERE action = 'judge_report'") == [("gk1", "judge_report")]

    fid = reports[0][0]
    for judge in (gk1, gk2):                                                      # judges never see a report
        assert f"/flags/{fid}" not in judge.get("/flags").text
        assert judge.get(f"/flags/{fid}").status_code == 403
        assert judge.get(f"/pages/{reports[0][1]}/image").status_code == 403
        assert judge.post(f"/flags/{fid}/resolve", data={"csrf": csrf(judge.get("/essays").text),
                                                         "value": "ok"}).status_code == 403
    assert f"/flags/{fid}" in admin.get("/flags").text
    flag_page = admin.get(f"/flags/{fid}")
    assert flag_page.status_code == 200 and "Trang 2 là bài của thí sinh khác" in flag_page.text
    assert "Trả bài về chấm" in flag_page.text and "Loại bỏ trang này" in flag_page.text
    r = admin.post(f"/flags/{fid}/resolve", data={"csrf": csrf(flag_page.text), "value": "Đã xem: đúng bài"})
    assert r.status_code == 303
    assert db_rows(url, "SELECT DISTINCT state FROM flags WHERE reason = 'judge_report'") == [("resolved",)]
    assert db_rows(url, f"SELECT state FROM essay_tasks WHERE id = {tid}") == [("open",)]
    assert task_of(url, take(gk2)) == tid                                        # judged again


def test_an_admin_discards_a_page_from_the_web_and_undoes_it(site):
    url, gk1, admin = site["url"], site["ready"]("gk1"), site["ready"]("quantri")
    essay_page = db_rows(url, "SELECT p.id FROM pages p JOIN submissions s ON s.id = p.submission_id "
                              "WHERE s.source = '/scans/000302.pdf' AND p.page_no = 2")[0][0]
    sheet_flag = db_rows(url, "SELECT id FROM flags WHERE reason = 'ambiguous_mark'")[0][0]
    assert "Loại bỏ trang này" not in gk1.get(f"/flags/{sheet_flag}").text          # a judge's flag page
    assert "Loại bỏ trang này" in admin.get(f"/flags/{sheet_flag}").text
    view = admin.get(f"/admin/pages/{essay_page}")
    assert view.status_code == 200 and f'action="/admin/pages/{essay_page}/discard"' in view.text
    token = csrf(view.text)
    judge_token = csrf(gk1.get("/essays").text)
    for c, data in ((gk1, {"csrf": judge_token, "reason": "trang trắng"}), (admin, {"reason": "trang trắng"})):
        assert c.post(f"/admin/pages/{essay_page}/discard", data=data).status_code == 403
    assert gk1.get("/admin/discarded").status_code == 403 and gk1.get(f"/admin/pages/{essay_page}").status_code == 403
    r = admin.post(f"/admin/pages/{essay_page}/discard", data={"csrf": token, "reason": "   "})
    assert r.status_code == 400 and "Hãy ghi lý do" in r.text
    assert admin.post("/admin/pages/99999/discard", data={"csrf": token, "reason": "x"}).status_code == 404
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {essay_page}") == [("essay",)]

    r = admin.post(f"/admin/pages/{essay_page}/discard", data={"csrf": token, "reason": "Trang trắng"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/discarded?done=discard&page={essay_page}"
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {essay_page}") == [("discarded",)]
    assert db_rows(url, "SELECT who FROM audit WHERE action = 'discard_page'") == [("quantri",)]
    listed = admin.get(r.headers["location"]).text
    assert f'id="discarded-{essay_page}"' in listed and "Trang trắng" in listed and "Đã loại bỏ trang" in listed
    assert re.search(r"<th>Trang đã loại bỏ</th><td>1</td>", admin.get("/admin").text)
    r = admin.post(f"/admin/pages/{essay_page}/discard", data={"csrf": token, "reason": "lần nữa"})
    assert r.status_code == 409
    assert gk1.post(f"/admin/pages/{essay_page}/restore", data={"csrf": judge_token}).status_code == 403
    r = admin.post(f"/admin/pages/{essay_page}/restore", data={"csrf": token})
    assert r.status_code == 303
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {essay_page}") == [("essay",)]
    assert db_rows(url, "SELECT action FROM audit WHERE action LIKE '%_page' ORDER BY id") == [
        ("discard_page",), ("restore_page",)]
    assert f'id="discarded-{essay_page}"' not in admin.get("/admin/discarded").text


def test_a_report_on_an_essay_box_of_an_answer_sheet_stays_hidden_from_judges(site):
    """An essay box is cut from the participant's answer sheet: a report on it flags that sheet page, whose flags
    judges otherwise work on — the report itself is still the organisers' only."""
    url, gk1, admin = site["url"], site["ready"]("gk1"), site["ready"]("quantri")
    rubric = S.rubric_from_dict({"tolerance": "1", "final_rule": "third", "questions": [
        {"id": "tu_luan", "title": "Câu tự luận trên phiếu", "criteria": [{"id": "y", "title": "Ý chính", "max": 5}]}]})
    gk2 = db_rows(url, "SELECT id FROM judges WHERE name = 'gk2'")[0][0]
    with Store.open(url) as store:
        src = "/scans/000303.pdf"
        store.record_submission(src, sha("000303"), 10, [reading(src, 1, "000303", "101", "AAAAAA")], None,
                                essay_regions=("tu_luan",))
        taken = S.take_next(store, gk2, rubric)
        (fid,) = R.report_problem(store, taken.assignment_id, gk2, R.ReportKind.UNREADABLE).flag_ids
    sheet = db_rows(url, f"SELECT page_id FROM flags WHERE id = {fid}")[0][0]
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {sheet}") == [("flagged",)]
    assert f"/flags/{fid}" not in gk1.get("/flags").text and gk1.get(f"/flags/{fid}").status_code == 403
    assert gk1.get(f"/pages/{sheet}/image").status_code == 403
    assert f"/flags/{fid}" in admin.get("/flags").text and admin.get(f"/flags/{fid}").status_code == 200
