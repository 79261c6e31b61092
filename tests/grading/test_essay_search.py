"""Searching the essays as people type it: a "phrase in quotes" must appear word after word, OR finds either
part, without diacritics on request — on SQLite's FTS5 and PostgreSQL's full-text search alike — and every word
or phrase found is marked in the snippet."""
from __future__ import annotations

import pytest

from grading.essays import assign_essay_pages, snippet
from grading.essays.query import Query, fts5, hits, parse_query, tsquery
from grading.store import Store
from grading_support import failure, omr, sha
from omr.errors import BadArguments, ExitCode
from test_essays import ocr

TEXTS = {"a": "Ông nội em là nông dân, ông nội rất hiền.",
         "b": "Ông bà nội em sống ở quê.",
         "c": "Bà ngoại em dạy học ở trường làng."}


def test_the_query_language():
    q = parse_query('"ông nội" hiền OR ngoại')
    assert q == Query(((("ông", "nội"), ("hiền",)), (("ngoại",),)))
    assert fts5(q, "text") == '{text} : (("ông nội" AND "hiền") OR ("ngoại"))'
    assert tsquery(q, "A") == "(('ông':A <-> 'nội':A) & 'hiền':A) | ('ngoại':A)"
    assert parse_query('"ong noi', plain=True).groups == ((("ong",), ("noi",)),)        # an unclosed quote: words
    assert parse_query("học", plain=True).groups == ((("hoc",),),)
    with pytest.raises(BadArguments, match="no word"):
        parse_query(' "" OR ')


def test_every_hit_is_marked_in_the_snippet():
    text = TEXTS["a"]
    assert hits(text, parse_query('"ông nội"')) == [(0, 7), (24, 31)]
    assert snippet(text, '"ông nội"') == "«Ông nội» em là nông dân, «ông nội» rất…"      # 8 words on
    assert snippet(text, "hiền OR dân") == "Ông nội em là nông «dân», ông nội rất «hiền»."
    assert snippet(TEXTS["b"], '"ong noi"', plain=True) == "Ông bà nội em sống ở quê."   # no phrase: no mark


@pytest.fixture
def searched(store_url):
    with Store.open(store_url) as store:
        for key in TEXTS:
            src = f"{key}.pdf"
            store.record_submission(src, sha(key), 1, assign_essay_pages([failure(src, 1)]), None)
        ids = {}
        for e in store.essays_to_ocr():
            key = e.source[0]
            store.save_ocr(e.id, ocr(TEXTS[key]))
            ids[key] = e.id
        yield store, ids


def test_phrases_and_or_in_the_store(searched):
    store, ids = searched

    def found(q: str, plain: bool = False) -> list[str]:
        by_id = {v: k for k, v in ids.items()}
        return sorted(by_id[r["id"]] for r in store.search_essays(q, plain=plain))

    assert found("ông nội") == ["a", "b"]                  # both words, anywhere
    assert found('"ông nội"') == ["a"]                     # the phrase, word after word
    assert found('"ông nội" OR ngoại') == ["a", "c"]
    assert found('"ong noi"', plain=True) == ["a"] and found('"ong noi"') == []
    assert found('"bà nội" OR "dạy học"') == ["b", "c"]
    assert found('"nội ông"') == []


def test_omr_search_with_a_phrase_marks_every_hit(tmp_path):
    from web_support import demo_contest

    contest = demo_contest(tmp_path / "contest")
    with Store.open(f"sqlite:///{contest / 'out' / 'results.sqlite'}") as store:
        store.record_submission("a.pdf", sha("a"), 1, assign_essay_pages([failure("a.pdf", 1)]), None)
        (e,) = store.essays_to_ocr()
        store.save_ocr(e.id, ocr(TEXTS["a"]))
    r = omr("search", '"ông nội"', "--contest", str(contest), "--blind")
    assert r.returncode == ExitCode.OK, r.stderr
    assert r.stdout.splitlines()[1].endswith("«Ông nội» em là nông dân, «ông nội» rất…")
    assert "1 essay(s) match" in r.stderr
