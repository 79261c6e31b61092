"""Handwritten entries typed in twice (``grading.transcribe``, ``grading.db.transcriptions``): which submissions
are queued, what agrees, the third judge's decision, who may type what, and the rows a taken entry leaves: its
answers page scored, its participant (entrant or roster), its essay task re-keyed, the audit."""
from __future__ import annotations

import json

import pytest

from grading import essays as E
from grading import transcribe as T
from grading.db.tables import TranscriptionState
from grading.judges import add_judge, list_judges
from grading.store import Store
from grading_support import db_rows, omr, reading, sha
from transcribe_support import QUESTIONS, hw_contest, key_answers, record_handwritten, record_typed_essay

IDENTITY = {"name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "05/09/2007", "address": "số 12 phố Đội Cấn",
            "unit": "Trường THCS Giảng Võ", "class": "9A1", "phone": "0912345678", "email": "nhung@example.vn"}


@pytest.fixture
def contest(tmp_path):
    return hw_contest(tmp_path / "contest")


@pytest.fixture
def rules(contest):
    return T.rules_for(contest)


def js(value):
    """A JSON column as read back: text on SQLite, already parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def form(answers: str, **identity: str) -> dict[str, str]:
    return {**IDENTITY, **identity, "version": "101", "answers": answers}


def judges(store: Store, *units: str) -> list[int]:
    for i, unit in enumerate(units, start=1):
        add_judge(store, f"gk{i}", unit=unit)
    by_name = {j.name: j.id for j in list_judges(store)}
    return [by_name[f"gk{i}"] for i in range(1, len(units) + 1)]


def type_in(store: Store, rules: T.Rules, judge_id: int, values: dict[str, str]) -> T.Settlement:
    eid = T.take_next(store, judge_id)
    assert eid is not None
    entered, problems = rules.read_form(values)
    assert problems == {}
    return T.submit_entry(store, eid, judge_id, entered, rules)


# -- the rules, without a store ---------------------------------------------------------------------------------
def test_one_key_per_answer_with_blank_keys_and_lower_case(rules):
    typed = "b" + "-0. " + "A" * 35
    answers, why = rules.parse_answers(typed)
    assert why is None
    assert [answers[f"q:{q}"] for q in ("1", "2", "3", "4", "5", "6")] == ["B", "", "", "", "", "A"]
    assert rules.parse_answers("AB")[1] == ("Cần đúng 40 câu (một ký tự mỗi câu, «-» cho câu bỏ trống, [AB] cho câu "
                                            "chọn nhiều phương án); đã nhập 2.")
    assert rules.parse_answers("E" + "A" * 39)[1] == "Câu 1: «E» không phải phương án (A, B, C, D) hay «-»."


def test_several_letters_for_one_question_go_in_brackets(rules):
    answers, why = rules.parse_answers("[AB]" + "(dc)" + "[ b a ]" + "B" * 37)
    assert why is None
    assert [answers[f"q:{q}"] for q in ("1", "2", "3", "4")] == ["AB", "CD", "AB", "B"]
    assert rules.parse_answers("[AB" + "B" * 39)[1] == "Câu 1: nhóm «[ABBBB…» chưa đóng bằng «]»."
    assert rules.parse_answers("B]" + "B" * 39)[1] == "Câu 2: «]» đóng nhóm mà chưa mở."
    assert rules.parse_answers("[AE]" + "B" * 39)[1] == "Câu 1: «[AE]» không phải phương án (A, B, C, D) hay «-»."
    assert rules.parse_answers("[]" + "B" * 39)[1] == "Câu 1: «[]» không phải phương án (A, B, C, D) hay «-»."
    assert rules.parse_answers("[A(B]" + "B" * 39)[1].startswith("Câu 1: nhóm «[A(B]")
    decided, problems = rules.read_decision({"f:q:3": "[ca]", "f:q:4": "(B)"}, ("q:3", "q:4"))
    assert decided == {"q:3": "AC", "q:4": "B"} and problems == {}
    entered, _ = rules.read_form(form("[AB]" + "A" * 39))
    final = rules.settle({1: entered, 2: dict(entered)}).final
    page = rules.answers_page(final, "/scans/hw.pdf", 3)
    assert page.reading.answers["1"] == "AB"


def test_identity_agrees_up_to_spaces_and_case_answers_and_code_exactly(rules):
    first, _ = rules.read_form(form("A" * 40))
    second, _ = rules.read_form(form("A" * 39 + "B", name="  nguyễn thị   HỒNG nhung ", email="NHUNG@example.vn"))
    got = rules.settle({1: first, 2: second})
    assert got.state is TranscriptionState.DISPUTED and got.differences == ("q:40",)
    third = rules.settle({1: first, 2: second, 3: {"q:40": "B"}})
    assert third.state is TranscriptionState.TAKEN and third.final is not None
    assert third.final["q:40"] == "B" and third.final["name"] == IDENTITY["name"]    # the first entry's text
    other_code, _ = rules.read_form({**form("A" * 40), "version": "102"})
    assert rules.settle({1: first, 2: other_code}).differences == ("version",)
    assert rules.settle({1: first}).state is TranscriptionState.OPEN
    agreed = rules.settle({1: first, 2: dict(first)})
    assert agreed.state is TranscriptionState.TAKEN and agreed.differences == ()


def test_a_test_code_not_in_the_contest_and_a_bad_decision_are_refused(rules):
    _, problems = rules.read_form({**form("A" * 40), "version": "999"})
    assert set(problems) == {"version"} and "101, 102" in problems["version"]
    decided, problems = rules.read_decision({"f:q:3": "c", "f:name": "  Lê  Văn An "}, ("q:3", "name"))
    assert decided == {"q:3": "C", "name": "Lê Văn An"} and problems == {}
    _, problems = rules.read_decision({"f:q:3": "CD"}, ("q:3",))
    assert set(problems) == {"q:3"}


# -- the queue ----------------------------------------------------------------------------------------------------
def test_only_handwritten_submissions_are_queued_once_and_a_rerun_adds_nothing(contest, store_url):
    with Store.open(store_url) as store:
        hw = record_handwritten(store, "/scans/hw-1.pdf")
        record_typed_essay(store, "/docs/essay.docx")
        store.record_submission("/scans/sheet.jpg", sha("/scans/sheet.jpg"), 1000,
                                [reading("/scans/sheet.jpg", 1, "000001", "101", "ABCD")], None)
        assert T.queue(store, contest.parent / "no-such-contest") == 0      # no questions.json: bubble sheets only
        assert T.queue(store, contest) == 1
        assert T.queue(store, contest) == 0
        hw2 = record_handwritten(store, "/scans/hw-2.pdf", unit="Phường Kim Mã")
        assert T.queue(store, contest) == 1
    assert db_rows(store_url, "SELECT submission_id, state, unit_key FROM transcriptions ORDER BY id") == [
        (hw, "open", None), (hw2, "open", "phường kim mã")]
    assert [r[0] for r in db_rows(store_url, "SELECT action FROM audit ORDER BY id")
            if r[0].startswith("transcription")] == ["transcription_queue", "transcription_queue"]


def test_the_cli_queues_a_store_graded_before_and_refuses_a_contest_without_questions(contest, sqlite_url):
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
    r = omr("transcribe", "queue", "--contest", str(contest), "--db", sqlite_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1 transcription(s) added; 1 of 1 not taken yet"
    r = omr("transcribe", "queue", "--contest", str(contest), "--db", sqlite_url)
    assert r.stdout.strip() == "0 transcription(s) added; 1 of 1 not taken yet"
    (contest / "questions.json").unlink()
    r = omr("transcribe", "queue", "--contest", str(contest), "--db", sqlite_url)
    assert r.returncode == 5 and "questions.json" in r.stderr
    r = omr("transcribe", "status", "--contest", str(contest), "--db", sqlite_url, "--json")
    assert r.returncode == 0 and [x["state"] for x in json.loads(r.stdout)] == ["open"]


# -- typing, deciding, taking -------------------------------------------------------------------------------------
def test_two_agreeing_entries_become_the_scored_answers_page_and_the_entrant(contest, rules, store_url):
    right = key_answers(contest)
    with Store.open(store_url) as store:
        sid = record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2 = judges(store, "Ban 1", "Ban 2")
        assert type_in(store, rules, gk1, form(right)).state is TranscriptionState.OPEN
        got = type_in(store, rules, gk2, form(right.lower(), name="nguyễn  thị hồng nhung"))
        assert got.state is TranscriptionState.TAKEN
    (page_id, page_no, status, participant, version, answers), = [
        (r[0], r[1], r[2], r[3], r[4], js(r[5])["answers"]) for r in db_rows(
            store_url, f"SELECT id, page_no, status, participant, version, reading FROM pages WHERE submission_id = "
                       f"{sid} AND status != 'essay'")]
    assert (page_no, status, version) == (3, "ok", "101") and answers == dict(zip(QUESTIONS, right))
    assert participant.startswith("TS-")
    assert db_rows(store_url, f"SELECT status, total FROM scores WHERE page_id = {page_id}") == [("scored", "10")]
    assert db_rows(store_url, f"SELECT name, date_of_birth, class_name FROM entrants WHERE id = '{participant}'") == [
        (IDENTITY["name"], "2007-09-05", "9A1")]
    assert db_rows(store_url, f"SELECT DISTINCT participant FROM pages WHERE submission_id = {sid}") == [
        (participant,)]
    assert db_rows(store_url, "SELECT state, participant FROM essay_tasks") == [("open", participant)]
    assert db_rows(store_url, "SELECT state FROM flags WHERE reason = 'unmatched_essay'") == [("resolved",)]
    assert db_rows(store_url, "SELECT state, page_id, participant FROM transcriptions") == [
        ("taken", page_id, participant)]
    actions = [r[0] for r in db_rows(store_url, "SELECT action FROM audit WHERE action LIKE 'transcription%' "
                                                "ORDER BY id")]
    assert actions == ["transcription_queue", "transcription_assign", "transcription_entry", "transcription_assign",
                       "transcription_entry", "transcription_taken"]


def test_a_difference_goes_to_a_third_judge_who_sees_both_values_and_decides_it(contest, rules, sqlite_url):
    right = key_answers(contest)
    wrong = right[:6] + ("A" if right[6] != "A" else "B") + right[7:]
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf", unit="Phường Kim Mã")
        T.queue(store, contest)
        gk1, gk2, gk3, own_unit = judges(store, "Ban 1", "Ban 2", "Ban 3", "phường  KIM MÃ")
        assert T.take_next(store, own_unit) is None                   # the collecting unit's judge: never
        type_in(store, rules, gk1, form(right))
        got = type_in(store, rules, gk2, form(wrong, phone="0912 345 678"))
        assert got.state is TranscriptionState.DISPUTED and got.differences == ("phone", "q:7")
        assert T.take_next(store, gk1) is None and T.take_next(store, gk2) is None   # not one of the two
        eid = T.take_next(store, gk3)
        view = T.entry_view(store, eid)
        assert view.slot == 3 and view.both == {"phone": ("0912345678", "0912 345 678"), "q:7": (right[6], wrong[6])}
        decided, problems = rules.read_decision({"f:phone": "0912345678", "f:q:7": right[6].lower()}, view.differences)
        assert problems == {}
        assert T.submit_entry(store, eid, gk3, decided, rules).state is TranscriptionState.TAKEN
        with pytest.raises(T.TranscriptionError, match="đã gửi"):
            T.submit_entry(store, eid, gk3, decided, rules)
    (final,) = [js(r[0]) for r in db_rows(sqlite_url, "SELECT final FROM transcriptions")]
    assert final["q:7"] == right[6] and final["phone"] == "0912345678"
    assert db_rows(sqlite_url, "SELECT slot, state FROM transcription_entries ORDER BY slot") == [
        (1, "submitted"), (2, "submitted"), (3, "submitted")]
    assert db_rows(sqlite_url, "SELECT total FROM scores") == [("10",)]
    (after,) = [js(r[0]) for r in db_rows(sqlite_url, "SELECT after FROM audit WHERE action = "
                                                              "'transcription_disputed'")]
    assert after == {"state": "disputed", "differences": ["phone", "q:7"]}


def test_the_roster_wins_over_an_entrant_made_from_the_identity(tmp_path, sqlite_url):
    contest = hw_contest(tmp_path / "contest", roster=[("000123", "Nguyễn Thị Hồng Nhung", "Ba Đình")])
    rules = T.rules_for(contest)
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2 = judges(store, "Ban 1", "Ban 2")
        for j in (gk1, gk2):
            type_in(store, rules, j, form("-" * 40, name="NGUYEN thi hong nhung"))
    assert db_rows(sqlite_url, "SELECT participant FROM transcriptions") == [("000123",)]
    assert db_rows(sqlite_url, "SELECT count(*) FROM entrants") == [(0,)]


def test_nobody_identified_leaves_the_page_flagged_for_the_organisers(contest, rules, sqlite_url):
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2 = judges(store, "Ban 1", "Ban 2")
        blank = {k: "" for k in IDENTITY}
        for j in (gk1, gk2):
            type_in(store, rules, j, {**blank, "version": "", "answers": "A" * 40})
    assert db_rows(sqlite_url, "SELECT p.status, p.version, f.reason FROM pages p JOIN flags f ON f.page_id = p.id "
                               "WHERE f.state = 'open'") == [("flagged", "101", "participant_unmatched")]


def test_a_judge_who_typed_an_entry_is_never_given_its_essay(contest, rules, sqlite_url):
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2, gk3 = judges(store, "Ban 1", "Ban 2", "Ban 3")
        rubric = E.load_rubric(contest)
        assert E.take_next(store, gk3, rubric) is None           # no participant yet: the essay waits
        for j in (gk1, gk2):
            type_in(store, rules, j, form(key_answers(contest)))
        assert E.take_next(store, gk1, rubric) is None
        assert E.take_next(store, gk2, rubric) is None
        assert E.take_next(store, gk3, rubric) is not None


# -- where entries come from: omr ingest queues them too --------------------------------------------------------------
def test_an_emailed_handwritten_scan_is_queued_by_ingest(tmp_path, sqlite_url):
    from datetime import datetime, timezone

    from grading.cli import main
    from samples.handwriting import handwritten_entry
    from samples.mail import CONTEST_SETTINGS, UNITS_CSV, message

    contest = hw_contest(tmp_path / "contest")
    (contest / "contest.json").write_text(json.dumps({**CONTEST_SETTINGS, "default_version": "101"}),
                                          encoding="utf-8")
    (contest / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    paths, _ = handwritten_entry(tmp_path / "scan", seed=2, questions=QUESTIONS)
    box = tmp_path / "box"
    box.mkdir()
    (box / "1.eml").write_bytes(message(
        sender="hoa@example.vn", subject="Bài dự thi", body="Em gửi bài viết tay ạ.",
        received=datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc),
        attachments=[("bai viet tay.pdf", paths[-1].read_bytes(), "application/pdf")]))
    args = ["ingest", str(box), "--contest", str(contest), "--db", sqlite_url, "--unit", "Q.HK",
            "--files", str(tmp_path / "files")]
    assert main(args) in (0, 3)
    assert db_rows(sqlite_url, "SELECT state, unit FROM transcriptions") == [("open", "Q.HK")]
    assert main(args) in (0, 3)                               # a second run adds nothing
    assert db_rows(sqlite_url, "SELECT count(*) FROM transcriptions") == [(1,)]
    (flags,) = [js(r[0]) for r in db_rows(sqlite_url, "SELECT flags FROM entries")]
    assert [f["code"] for f in flags] == ["identity_pending"]       # the body and file name name nobody
    # once typed in, the entry names its entrant and can be ranked (the export's issues no longer hold it back)
    from grading.db.mail import unranked_pages

    rules = T.rules_for(contest)
    with Store.open(sqlite_url) as store:
        gk1, gk2 = judges(store, "Ban 1", "Ban 2")
        for j in (gk1, gk2):
            type_in(store, rules, j, form(key_answers(contest), date_of_birth="05/09/2010"))
        (participant,) = [r[0] for r in db_rows(sqlite_url, "SELECT participant FROM transcriptions")]
        assert unranked_pages(store) == {}
    (entrant, flags), = [(r[0], js(r[1])) for r in db_rows(sqlite_url, "SELECT entrant_id, flags FROM entries")]
    assert entrant == participant and flags == []
    assert db_rows(sqlite_url, "SELECT who FROM audit WHERE action = 'entry_identity'") == [("gk2",)]


# -- the page's answers to a bad form ---------------------------------------------------------------------------------
def test_the_page_refuses_a_short_answers_string_and_keeps_the_entry_open(contest, sqlite_url):
    from grading.contest import load_contest
    from grading.webapp.app import create_app
    from web_support import NEW_PASSWORD, TestClient, csrf

    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        one_time = add_judge(store, "gk1", unit="Ban 1")
        client = TestClient(create_app(store, load_contest(contest).layout, contest_dir=contest),
                            follow_redirects=False)
        page = client.get("/login")
        client.post("/login", data={"username": "gk1", "password": one_time, "csrf": csrf(page.text)})
        page = client.get("/password")
        client.post("/password", data={"csrf": csrf(page.text), "current_password": one_time,
                                       "new_password": NEW_PASSWORD, "again": NEW_PASSWORD})
        page = client.get("/transcribe")
        r = client.post("/transcribe/next", data={"csrf": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"].startswith("/transcribe/")
        entry = client.get(r.headers["location"])
        assert entry.status_code == 200 and 'id="answers"' in entry.text and 'id="version"' in entry.text
        assert "<kbd>[AB]</kbd> hoặc <kbd>(AB)</kbd> là một câu chọn A và B" in entry.text
        r = client.post(r.headers["location"], data={**form("ABC"), "csrf": csrf(entry.text)})
        assert r.status_code == 400 and "Cần đúng 40 câu" in r.text and 'value="ABC"' in r.text
    assert db_rows(sqlite_url, "SELECT state, entered FROM transcription_entries") == [("assigned", None)]


def test_a_disputed_essay_goes_to_a_third_judge_who_did_not_transcribe_it(contest, rules, sqlite_url):
    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2, gk3, gk4, gk5 = judges(store, "Ban 1", "Ban 2", "Ban 3", "Ban 4", "Ban 5")
        for j in (gk1, gk2):
            type_in(store, rules, j, form(key_answers(contest)))
        rubric = E.load_rubric(contest)
        full = {"noi_dung": "5", "bo_cuc": "2", "dien_dat": "1,5", "sang_tao": "1,5"}
        E.submit_score(store, E.take_next(store, gk3, rubric).assignment_id, gk3, full, rubric)
        outcome = E.submit_score(store, E.take_next(store, gk4, rubric).assignment_id, gk4,
                                 dict.fromkeys(full, "0"), rubric)
    assert outcome.third_judge == "gk5"


def test_an_entry_whose_pages_were_discarded_is_given_to_nobody(contest, sqlite_url):
    from grading.db.discards import discard_page

    with Store.open(sqlite_url) as store:
        sid = record_handwritten(store, "/scans/hw-1.pdf", pages=1)
        T.queue(store, contest)
        (gk1,) = judges(store, "Ban 1")
        (page_id,) = [r[0] for r in db_rows(sqlite_url, f"SELECT id FROM pages WHERE submission_id = {sid}")]
        discard_page(store, page_id, "trang trắng", "quantri")
        assert T.take_next(store, gk1) is None



# -- "not a handwritten entry" -----------------------------------------------------------------------------------------
def test_a_judge_sends_the_pages_to_the_organisers_who_send_them_back_to_be_typed(contest, rules, store_url):
    with Store.open(store_url) as store:
        sid = record_handwritten(store, "/scans/hw-1.pdf")
        T.queue(store, contest)
        gk1, gk2, gk3, gk4 = judges(store, "Ban 1", "Ban 2", "Ban 3", "Ban 4")
        type_in(store, rules, gk1, form(key_answers(contest)))
        eid = T.take_next(store, gk2)
        with pytest.raises(T.DeclineRefused, match="Khác"):
            T.decline_entry(store, eid, gk2, T.DeclineKind.OTHER, "  ")
        with pytest.raises(T.DeclineRefused, match="không được giao cho bạn"):
            T.decline_entry(store, eid, gk3, T.DeclineKind.BLANK)
        flag_ids = T.decline_entry(store, eid, gk2, T.DeclineKind.SHEET_ESSAY, "trang  của phiếu 0123")
        assert len(flag_ids) == 2
        assert T.take_next(store, gk3) is None                   # with the organisers: nobody is given it
        assert db_rows(store_url, "SELECT state FROM transcriptions") == [("referred",)]
        assert db_rows(store_url, "SELECT slot, state FROM transcription_entries") == [(1, "submitted")]
        got = db_rows(store_url, "SELECT f.page_id, f.target, f.reason, f.origin, f.state, f.message FROM flags f "
                                 f"JOIN pages p ON p.id = f.page_id WHERE p.submission_id = {sid} "
                                 "AND f.reason = 'not_handwritten' ORDER BY f.id")
        assert [r[1:5] for r in got] == [("page", "not_handwritten", "judge", "open")] * 2
        assert "Trang tự luận của một phiếu trả lời — «trang của phiếu 0123»" in got[0][5] and "gk2" in got[0][5]
        store.resolve_flag(flag_ids[0], "đúng là bài viết tay", who="quantri")
        assert db_rows(store_url, "SELECT state FROM transcriptions") == [("open",)]
        assert db_rows(store_url, f"SELECT state, resolved_by FROM flags WHERE id = {flag_ids[1]}") == [
            ("resolved", "quantri")]
        assert T.take_next(store, gk2) is None                   # he said it was none: not his to type now
        assert type_in(store, rules, gk3, form(key_answers(contest))).state is TranscriptionState.TAKEN
        rubric = E.load_rubric(contest)
        assert E.take_next(store, gk2, rubric) is None            # he saw who wrote it: never its essay
        assert E.take_next(store, gk4, rubric) is not None
    assert [(j, k, t, js(f)) for j, k, t, f in db_rows(
        store_url, "SELECT judge_id, kind, text, flags FROM transcription_notes")] == [
        (gk2, "sheet_essay", "trang của phiếu 0123", list(flag_ids))]
    assert db_rows(store_url, "SELECT slot, judge_id FROM transcription_entries ORDER BY slot") == [(1, gk1), (2, gk3)]
    audit = [(a, w, js(x)) for a, w, x in db_rows(store_url, "SELECT action, who, after FROM audit WHERE action IN "
                                                             "('transcription_declined', 'transcription_referred', "
                                                             "'transcription_resumed') ORDER BY id")]
    assert [(a, w) for a, w, _ in audit] == [("transcription_declined", "gk2"), ("transcription_referred", "gk2"),
                                             ("transcription_resumed", "quantri")]
    assert audit[0][2]["kind"] == "sheet_essay" and audit[0][2]["text"] == "trang của phiếu 0123"


def test_a_declined_third_decision_goes_back_to_a_third_judge_and_discarded_pages_to_nobody(contest, rules,
                                                                                          sqlite_url):
    from grading.db.discards import discard_page, restore_page

    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf", pages=1)
        T.queue(store, contest)
        gk1, gk2, gk3, gk4 = judges(store, "Ban 1", "Ban 2", "Ban 3", "Ban 4")
        type_in(store, rules, gk1, form(key_answers(contest)))
        type_in(store, rules, gk2, form(key_answers(contest), name="Lê Văn An"))
        (flag_id,) = T.decline_entry(store, T.take_next(store, gk3), gk3, T.DeclineKind.UNREADABLE)
        (page_id,) = [r[0] for r in db_rows(sqlite_url, f"SELECT page_id FROM flags WHERE id = {flag_id}")]
        discard_page(store, page_id, "trang trắng", "quantri")
        assert db_rows(sqlite_url, "SELECT state FROM transcriptions") == [("disputed",)]
        assert T.take_next(store, gk4) is None                   # no page left to type from
        restore_page(store, page_id, "quantri")
        assert db_rows(sqlite_url, "SELECT state FROM transcriptions") == [("referred",)]
        store.resolve_flag(flag_id, "đọc được", who="quantri")
        assert db_rows(sqlite_url, "SELECT state FROM transcriptions") == [("disputed",)]
        eid = T.take_next(store, gk4)
        assert T.entry_view(store, eid).slot == 3


def test_the_page_sends_the_pages_to_the_organisers_and_an_admin_sends_them_back(contest, sqlite_url):
    from grading.contest import load_contest
    from grading.judges import Role
    from grading.webapp.app import create_app
    from web_support import TestClient, csrf, login_and_change_password

    with Store.open(sqlite_url) as store:
        record_handwritten(store, "/scans/hw-1.pdf", pages=1)
        T.queue(store, contest)
        pw = {"gk1": add_judge(store, "gk1", unit="Ban 1"), "quantri": add_judge(store, "quantri", unit="city",
                                                                                 role=Role.ADMIN)}
        app = create_app(store, load_contest(contest).layout, contest_dir=contest)
        judge, boss = (TestClient(app, follow_redirects=False) for _ in range(2))
        login_and_change_password(judge, "gk1", pw["gk1"])
        login_and_change_password(boss, "quantri", pw["quantri"])
        home = judge.get("/transcribe")
        where = judge.post("/transcribe/next", data={"csrf": csrf(home.text)}).headers["location"]
        entry = judge.get(where)
        assert 'id="decline-form"' in entry.text and "<summary" in entry.text and 'value="sheet_essay"' in entry.text
        r = judge.post(where + "/decline", data={"csrf": csrf(entry.text), "kind": "other", "text": ""})
        assert r.status_code == 400 and 'id="decline-error"' in r.text and " open>" in r.text
        r = judge.post(where + "/decline", data={"csrf": csrf(entry.text), "kind": "blank", "text": "chỉ có tên"})
        assert r.status_code == 303 and r.headers["location"] == "/transcribe?done=referred"
        assert "ban tổ chức" in judge.get(r.headers["location"]).text
        (flag_id,) = [r[0] for r in db_rows(sqlite_url, "SELECT id FROM flags WHERE reason = 'not_handwritten'")]
        assert f"/flags/{flag_id}" not in judge.get("/flags").text                  # the organisers' work only
        assert judge.get(f"/flags/{flag_id}").status_code == 403
        assert f"/flags/{flag_id}" in boss.get("/flags").text
        page = boss.get(f"/flags/{flag_id}")
        assert 'id="send-back"' in page.text and "Trả bài về nhập" in page.text and "Trang trắng" in page.text
        assert 'id="page-actions"' in page.text                                    # the discard form is there too
        r = boss.post(f"/flags/{flag_id}/resolve", data={"csrf": csrf(page.text), "value": "nhập bình thường"})
        assert r.status_code == 303
    assert db_rows(sqlite_url, "SELECT state FROM transcriptions") == [("open",)]
    assert db_rows(sqlite_url, "SELECT count(*) FROM transcription_entries") == [(0,)]


# -- the admin's view --------------------------------------------------------------------------------------------------
def counts_table(html: str) -> dict[str, list[int]]:
    """The /admin table of transcriptions: {unit: counts in ``T.PROGRESS_LABELS``' order}."""
    import re

    table = html.split('id="transcription-counts"', 1)[1].split("</table>", 1)[0]
    return {unit: [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]
            for unit, cells in re.findall(r'<tr data-unit="([^"]*)">(.*?)</tr>', table, re.S)}


def test_the_admin_sees_the_transcriptions_by_state_and_a_unit_admin_only_his_units(contest, rules, sqlite_url):
    from grading.contest import load_contest
    from grading.db.discards import discard_page
    from grading.judges import Role
    from grading.webapp.app import create_app
    from web_support import TestClient, login_and_change_password

    (contest / "units.csv").write_text("code,name,kind,parent\nBD,Quận Ba Đình,district,\n"
                                       "BD-PX,Phường Phúc Xá,ward,BD\nHK,Quận Hoàn Kiếm,district,\n", encoding="utf-8")
    with Store.open(sqlite_url) as store:
        for i, unit in enumerate(("Quận Ba Đình", "Phường Phúc Xá", "Quận Ba Đình", "Quận Hoàn Kiếm", None)):
            record_handwritten(store, f"/scans/hw-{i}.pdf", pages=1, unit=unit)
        T.queue(store, contest)
        gk1, gk2 = judges(store, "Ban 1", "Ban 2")
        type_in(store, rules, gk1, form(key_answers(contest)))                     # 1: taken
        type_in(store, rules, gk2, form(key_answers(contest)))
        type_in(store, rules, gk1, form(key_answers(contest)))                     # 2: waits for its second entry
        T.decline_entry(store, T.take_next(store, gk1), gk1, T.DeclineKind.BLANK)   # 3: with the organisers
        (last_page,) = db_rows(sqlite_url, "SELECT p.id FROM pages p JOIN submissions s ON s.id = p.submission_id "
                                           "WHERE s.unit IS NULL")[0]
        discard_page(store, last_page, "trang trắng", "quantri")                   # 5: no page left
        assert T.progress(store).row() == [1, 1, 0, 1, 1, 1]
        assert T.progress(store, frozenset({"Quận Hoàn Kiếm"})).counts == {("Quận Hoàn Kiếm", "first"): 1}
        pw = {name: add_judge(store, name, unit=unit, role=Role.ADMIN) for name, unit in (("thanhpho", "city"),
                                                                                        ("badinh", "BD"))}
        app = create_app(store, load_contest(contest).layout, contest_dir=contest)
        city, bd = (TestClient(app, follow_redirects=False) for _ in range(2))
        login_and_change_password(city, "thanhpho", pw["thanhpho"])
        login_and_change_password(bd, "badinh", pw["badinh"])
        page = city.get("/admin")
        assert page.status_code == 200 and "Bài viết tay chờ nhập" in page.text
        assert counts_table(page.text) == {"Phường Phúc Xá": [0, 1, 0, 0, 0, 0], "Quận Ba Đình": [0, 0, 0, 1, 1, 0],
                                           "Quận Hoàn Kiếm": [1, 0, 0, 0, 0, 0], "": [0, 0, 0, 0, 0, 1],
                                           "*": [1, 1, 0, 1, 1, 1]}
        assert counts_table(bd.get("/admin").text) == {"Phường Phúc Xá": [0, 1, 0, 0, 0, 0],
                                                       "Quận Ba Đình": [0, 0, 0, 1, 1, 0], "*": [0, 1, 0, 1, 1, 0]}
        assert 'href="/flags?reason=not_handwritten"' in page.text
        (flag_id,) = [r[0] for r in db_rows(sqlite_url, "SELECT id FROM flags WHERE reason = 'not_handwritten'")]
        for client in (city, bd):                                  # Ba Đình's referral: in both admins' queues
            assert f'href="/flags/{flag_id}' in client.get("/flags?reason=not_handwritten").text


# -- pages nobody wrote on ------------------------------------------------------------------------------------------
def test_blank_pages_and_pictures_are_not_queued_written_pages_are(contest, tmp_path, sqlite_url):
    import numpy as np
    from PIL import Image

    from grading.essays.ink import holds_writing, measure_ink
    from samples.handwriting import handwritten_entry

    rng = np.random.default_rng(3)
    blank = np.clip(rng.normal(235, 12, (1754, 1240)), 0, 255).astype(np.uint8)       # a scanned blank sheet
    picture = np.kron(rng.integers(40, 180, (14, 10)), np.ones((126, 124))).astype(np.uint8)  # a photo
    Image.fromarray(blank).save(tmp_path / "blank.png")
    Image.fromarray(picture).save(tmp_path / "picture.png")
    paths, _ = handwritten_entry(tmp_path / "hw", seed=5, questions=QUESTIONS)
    assert not holds_writing(measure_ink(blank)) and not holds_writing(measure_ink(picture))
    written = [measure_ink(np.asarray(Image.open(p).convert("L"))) for p in paths[:2]]
    assert all(map(holds_writing, written)) and min(w.ink for w in written) > 0.005
    with Store.open(sqlite_url) as store:
        for name in ("blank.png", "picture.png"):
            record_handwritten(store, str(tmp_path / name), pages=1)
        hw = record_handwritten(store, str(paths[-1]), pages=2)
        gone = record_handwritten(store, str(tmp_path / "moved-away.pdf"), pages=1)    # cannot be opened: queued
        assert T.queue(store, contest) == 2
        assert T.queue(store, contest) == 0
    assert db_rows(sqlite_url, "SELECT submission_id FROM transcriptions ORDER BY id") == [(hw,), (gone,)]


@pytest.mark.slow
def test_the_demo_queues_its_handwritten_entries_for_the_judges(tmp_path):
    r = omr("demo", "--out", str(tmp_path / "demo"), "-n", "2", "--workers", "1", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    db = f"sqlite:///{tmp_path / 'demo' / 'results.sqlite'}"
    sources = [s for s, in db_rows(db, "SELECT s.source FROM transcriptions t JOIN submissions s "
                                       "ON s.id = t.submission_id ORDER BY t.id")]
    # the two handwritten entries, and the loose typed essay page of the sample set (no machine tells it from a
    # one-page handwritten entry before it is read: a judge sends it to the organisers); never the blank page
    assert [s.rsplit("/", 2)[-2] for s in sources if "/handwritten/" in s] == ["entry-1", "entry-2"]
    truth = [json.loads(line) for line in (tmp_path / "demo" / "scans" / "truth.jsonl").read_text().splitlines()]
    kinds = {t["file"].rsplit("/", 1)[-1]: t["kind"] for t in truth}
    assert sorted(kinds[s.rsplit("/", 1)[-1]] for s in sources if "/handwritten/" not in s) == ["essay"]
    assert "blank" in kinds.values()
    assert f"handwritten entries: 2 scanned PDF — {len(sources)} entries waiting to be typed in" in r.stdout
