"""Near-duplicate essays: text folding, planted copies with OCR noise, passages, boilerplate, edge cases."""
from __future__ import annotations

import random
import unicodedata

import pytest

from grading.essays.duplicates import (
    DuplicateOptions, DuplicatePair, Passage, find_near_duplicates, normalise, strip_diacritics,
)
from omr.errors import BadArguments

QUESTION = ("Câu hỏi: Em hãy trình bày hiểu biết của mình về dịch vụ công trực tuyến. Theo em, dịch vụ công "
            "trực tuyến mang lại những lợi ích gì cho người dân và doanh nghiệp ở địa phương em?")

SYLLABLES = (
    "người dân cán bộ hồ sơ nộp tra cứu thanh toán điện thoại mạng internet thủ tục hành chính giấy tờ "
    "nhanh chóng thuận tiện tổ chức quốc gia cổng dịch vụ xã phường huyện tỉnh học sinh giáo viên bệnh viện "
    "ngân hàng bưu điện thời gian chi phí công sức kết quả thông báo tin nhắn biểu mẫu quy trình chính sách "
    "pháp luật trách nhiệm niềm tin minh bạch rủi ro lừa đảo khó khăn hạn chế giải pháp kỹ năng kiến thức "
    "thói quen nông thôn thành phố miền núi hải đảo trụ sở buổi tối cuối tuần tương lai cuộc sống hiện đại "
    "an toàn hiệu quả chính xác kịp thời tốn kém chậm trễ rõ ràng thân thiện tận tình chu đáo bận rộn "
    "cần thiết quan trọng hữu ích mới mẻ đầy đủ ổn định vất vả yên tâm tích cực lâu dài bền vững tự động"
).split()


def sentences(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(SYLLABLES) for _ in range(rng.randint(9, 15))]
        out.append(words[0].capitalize() + " " + " ".join(words[1:]) + ".")
    return out


def essay(sents: list[str]) -> str:
    return QUESTION + "\n\n" + " ".join(sents)


TONES = "\u0300\u0301\u0303\u0309\u0323"


def swap_tone(word: str) -> str:
    """ổ→ố, ả→á …: the next tone mark in TONES; a word without one is left alone."""
    d = unicodedata.normalize("NFD", word)
    for i, c in enumerate(d):
        if c in TONES:
            return unicodedata.normalize("NFC", d[:i] + TONES[(TONES.index(c) + 1) % 5] + d[i + 1:])
    return word


def ocr(sentence: str, every: int = 15) -> str:
    """Tone marks swapped on one word in ``every`` (about 3 % of syllables with every=30)."""
    words = sentence.split(" ")
    return " ".join(swap_tone(w) if i % every == every - 1 else w for i, w in enumerate(words))


OPTS = DuplicateOptions(ignore=(QUESTION,))


# ------------------------------------------------------------------------------------------------ text
def test_normalise_folds_case_punctuation_and_space_but_keeps_diacritics():
    assert normalise("  Dịch vụ công — TRỰC TUYẾN!\n(mức 4)…  Đà_Nẵng ") == "dịch vụ công trực tuyến mức 4 đà nẵng"
    assert normalise(unicodedata.normalize("NFD", "Tổ QUỐC")) == "tổ quốc"       # decomposed input → NFC
    assert normalise("") == "" and normalise(" ,.;!? ") == ""


def test_strip_diacritics():
    assert strip_diacritics("Tổ quốc Đà Nẵng, đường") == "To quoc Da Nang, duong"
    assert strip_diacritics("tổ") == strip_diacritics("tố") == strip_diacritics("to") == "to"
    assert strip_diacritics(unicodedata.normalize("NFD", "Người")) == "Nguoi"


# ------------------------------------------------------------------------------------------------ copies
def test_planted_copy_with_tone_mark_noise_is_found():
    src = sentences(1, 40)
    # the copier takes 32 of 40 sentences (two blocks swapped), misreads tone marks, adds 6 of his own
    taken = src[:12] + src[20:32] + src[12:20]
    copy = [ocr(s) for s in taken] + sentences(2, 6)
    essays = [("src", essay(src)), ("cpy", essay(copy)), ("other", essay(sentences(3, 40)))]
    pairs = find_near_duplicates(essays, OPTS)
    assert [(p.a, p.b) for p in pairs] == [("cpy", "src")]
    p = pairs[0]
    # 32/38 of the copy's sentences are the source's; broken block edges and swapped tones lose a little
    assert 0.70 <= p.containment <= 0.86
    assert 0.55 <= p.similarity <= 0.75
    assert p.similarity <= p.containment
    # every passage is the same text on both sides, up to tone marks (no word was dropped here)
    texts = dict(essays)
    assert len(p.passages) >= 3                       # the three copied blocks (the swap breaks them apart)
    for g in p.passages:
        in_a, in_b = texts[p.a][g.a_start:g.a_end], texts[p.b][g.b_start:g.b_end]
        assert g.text == in_a
        assert strip_diacritics(normalise(in_a)) == strip_diacritics(normalise(in_b))
    covered = sum(len(normalise(g.text).split()) for g in p.passages)
    assert covered >= 0.9 * sum(len(s.split()) for s in taken)


def test_dense_tone_mark_noise_still_gives_full_containment():
    # one word in six misread: compared on exact spelling nearly every 5-word shingle would differ
    src = sentences(4, 30)
    copy = [ocr(s, every=6) for s in src[:24]]
    swapped = sum(x != y for s, c in zip(src, copy) for x, y in zip(s.split(), c.split()))
    assert swapped >= 20           # ~10 % of the words: on exact spelling about half the shingles would differ
    folded = find_near_duplicates([("a", essay(src)), ("b", essay(copy))], OPTS)
    assert len(folded) == 1 and folded[0].containment == 1.0


def test_spacing_punctuation_case_and_unicode_form_do_not_hide_a_copy():
    src = sentences(6, 30)
    words = unicodedata.normalize("NFD", " ".join(src)).upper().split(" ")
    seps = ["\n" if i % 3 == 0 else ",  " if i % 5 == 0 else "_" if i % 7 == 0 else " " for i in range(len(words))]
    retyped_body = "".join(w + sep for w, sep in zip(words, seps))
    text, retyped = essay(src), QUESTION + "\n" + retyped_body
    pairs = find_near_duplicates([("a", text), ("b", retyped)], OPTS)
    assert len(pairs) == 1
    assert pairs[0].containment == 1.0 and pairs[0].similarity == 1.0
    (g,) = pairs[0].passages                           # one passage: the whole essay after the question
    assert g.text == " ".join(src)[:-1]                # up to the last word (the final "." is not a word)
    assert (g.b_start, g.b_end) == (len(QUESTION) + 1, len(retyped.rstrip(" ,_\n.")))
    assert normalise(retyped[g.b_start:g.b_end]) == normalise(unicodedata.normalize("NFD", g.text))


def test_passage_offsets_point_at_the_shared_sentence():
    shared = ("Nhờ có cổng dịch vụ công quốc gia mà bà ngoại em đã nộp hồ sơ xin cấp lại sổ đỏ ngay tại nhà "
              "vào một buổi tối mưa tầm tã cuối tháng mười")
    noisy = ocr(shared, every=7)
    a_text = essay(sentences(10, 3) + [shared + "."] + sentences(11, 2))
    b_text = essay(sentences(12, 4) + [noisy + "!"] + sentences(13, 1))
    pairs = find_near_duplicates([("a", a_text), ("b", b_text)], DuplicateOptions(threshold=0.2, ignore=(QUESTION,)))
    assert len(pairs) == 1
    (g,) = pairs[0].passages
    assert isinstance(g, Passage)
    assert all(type(x) is int for x in (g.a_start, g.a_end, g.b_start, g.b_end))     # plain ints: JSON/SQL-ready
    assert a_text[g.a_start:g.a_end] == shared == g.text
    assert b_text[g.b_start:g.b_end] == noisy
    assert noisy != shared


def test_a_short_essay_lifted_whole_from_a_long_one_has_containment_one():
    long_sents = sentences(20, 60)
    pairs = find_near_duplicates([("long", essay(long_sents)), ("short", essay(long_sents[30:38]))], OPTS)
    assert len(pairs) == 1
    assert pairs[0].containment == 1.0
    assert pairs[0].similarity < 0.2


# ------------------------------------------------------------------------------------------------ not pairs
def test_the_question_text_alone_never_makes_a_pair():
    variants = [QUESTION, QUESTION.upper(), QUESTION.replace(",", " ").replace("?", "."),
                strip_diacritics(QUESTION), QUESTION + " Em xin trả lời như sau.", QUESTION + "\n\n" + QUESTION]
    essays = [(f"q{i}", v) for i, v in enumerate(variants)]
    essays += [(f"e{i}", essay(sentences(30 + i, 25))) for i in range(4)]
    assert find_near_duplicates(essays, OPTS) == []
    # the check can fail: without the ignored question the question-only entries are copies of each other
    assert len(find_near_duplicates(essays, DuplicateOptions())) >= 10


def test_two_unrelated_essays_are_not_paired():
    assert find_near_duplicates([("x", essay(sentences(40, 40))), ("y", essay(sentences(41, 40)))], OPTS) == []
    # even asked for any overlap at all, chance 5-word shingles are too few to make a pair
    loose = DuplicateOptions(threshold=0.01, ignore=(QUESTION,))
    assert find_near_duplicates([("x", essay(sentences(40, 40))), ("y", essay(sentences(41, 40)))], loose) == []


def test_a_set_phrase_in_many_essays_is_boilerplate():
    phrase = sentences(50, 6)                            # ~70 words every entry writes
    essays = [(f"e{i:02d}", essay(phrase + sentences(100 + i, 4))) for i in range(30)]
    assert find_near_duplicates(essays, OPTS) == []      # in 30 of 30 essays: boilerplate
    everything = DuplicateOptions(boilerplate_df=1.0, ignore=(QUESTION,))
    assert len(find_near_duplicates(essays, everything)) == 30 * 29 // 2


# ------------------------------------------------------------------------------------------------ contract
def test_ids_are_ordered_and_passages_follow_them():
    src = sentences(60, 30)
    texts = {"zz-source": essay(src), "aa-copy": essay(sentences(61, 5) + src[5:28])}
    pairs = find_near_duplicates(list(texts.items()), OPTS)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.a, p.b) == ("aa-copy", "zz-source")
    for g in p.passages:
        assert texts[p.a][g.a_start:g.a_end] == g.text
        assert normalise(texts[p.b][g.b_start:g.b_end]) == normalise(g.text)


def test_several_pairs_are_sorted_by_containment_then_ids():
    base = sentences(70, 40)
    essays = [("m", essay(base)), ("k", essay(base[:30] + sentences(71, 10))),
              ("c", essay(base[:24] + sentences(72, 16))),
              ("x", essay(sentences(73, 40)))]
    pairs = find_near_duplicates(essays, OPTS)
    assert all(p.a < p.b for p in pairs)
    assert [p.containment for p in pairs] == sorted((p.containment for p in pairs), reverse=True)
    assert {(p.a, p.b) for p in pairs} == {("k", "m"), ("c", "m"), ("c", "k")}


def test_empty_and_very_short_essays_do_not_crash():
    assert find_near_duplicates([], OPTS) == []
    assert find_near_duplicates([("only", essay(sentences(80, 10)))], OPTS) == []
    short = [("e", ""), ("s", "   \n"), ("p", "!!! ... ???"), ("w", "một"), ("ww", "một hai ba"), ("q", QUESTION),
             ("e2", ""), ("w2", "một")]
    assert find_near_duplicates(short, OPTS) == []
    assert find_near_duplicates(short, DuplicateOptions()) == []
    # short essays next to a real pair do not disturb it
    src = sentences(81, 30)
    assert len(find_near_duplicates(short + [("a", essay(src)), ("b", essay(src[2:]))], OPTS)) == 1


def test_deterministic_and_independent_of_input_order():
    base = sentences(90, 35)
    essays = [(f"e{i}", essay(sentences(91 + i, 30))) for i in range(12)]
    essays += [("c1", essay(base)), ("c2", essay([ocr(s) for s in base[3:]])),
               ("c3", essay(base[:20] + sentences(5, 5)))]
    first = find_near_duplicates(essays, OPTS)
    assert first and all(isinstance(p, DuplicatePair) for p in first)
    assert find_near_duplicates(iter(essays), OPTS) == first
    assert find_near_duplicates(list(reversed(essays)), OPTS) == first


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(BadArguments, match="threshold"):
        DuplicateOptions(threshold=0.0)
    with pytest.raises(BadArguments, match="shingle_words"):
        DuplicateOptions(shingle_words=0)
    with pytest.raises(BadArguments, match="ignore"):
        DuplicateOptions(ignore=["a question"])          # a list, not a tuple
    with pytest.raises(BadArguments, match="occurs twice"):
        find_near_duplicates([("a", "x"), ("a", "y")])
    with pytest.raises(BadArguments, match="must both be str"):
        find_near_duplicates([("a", None)])


def test_a_corpus_larger_than_one_storage_chunk():
    # > 1M shingles: the sets are stored in several chunks and the set phrase is removed from each of them
    phrase = " ".join(sentences(200, 3))
    essays = [(f"e{i:04d}", QUESTION + " " + " ".join(sentences(1000 + i, 22)) + " " + phrase + " "
               + " ".join(sentences(5000 + i, 22))) for i in range(2200)]
    essays.append(("e9999", essays[1][1].replace(". ", ".\n")))        # a re-typed copy of an essay in chunk 0
    essays.append(("e0000x", essays[2150][1]))                          # a copy of one in the last chunk
    pairs = find_near_duplicates(essays, OPTS)
    assert [(p.a, p.b, p.containment, p.similarity) for p in pairs] == [
        ("e0000x", "e2150", 1.0, 1.0), ("e0001", "e9999", 1.0, 1.0)]
    texts = dict(essays)
    for p in pairs:
        assert len(p.passages) == 2                                       # cut by the removed set phrase
        for g in p.passages:
            assert phrase not in g.text and g.text in texts[p.a] and len(g.text) > 300
