"""Combined totals, ranks, cuts and prize bands (grading.ranking): exact, and never an arbitrary pick."""
from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction as F

from grading.numbers import show_points
from grading.ranking import Decision, Entry, Tie, allocate, cut, groups, rank_entries, score
from grading.rules import Advance, Band, Rules, TieBreak

AT = datetime(2026, 9, 6, 8, 0, tzinfo=timezone.utc)


def e(pid: str, mc, essay, unit: str = "Q1", minute: int | None = None) -> Entry:
    return Entry(pid, unit, F(mc), F(essay), AT.replace(minute=minute) if minute is not None else None)


def test_the_total_weighs_exactly_and_shows_with_a_decimal_comma():
    rules = Rules(mc_weight=F(3, 5), essay_weight=F(2, 5))
    assert score(e("1", "25/2", 5), rules) == F(19, 2)
    assert show_points(score(e("1", "25/2", 5), rules)) == "9,5"
    assert score(e("1", F(1, 3), 0), Rules()) == F(1, 3)


def test_ranks_use_the_tie_breaks_in_order_and_equals_share_a_rank():
    rules = Rules(tie_breaks=(TieBreak.ESSAY_SCORE, TieBreak.EARLIER_RECEIPT))
    placed = rank_entries([e("a", 5, 5, minute=3), e("b", 6, 4, minute=1), e("c", 4, 6, minute=9),
                           e("d", 4, 6, minute=9), e("e", 3, 6, minute=1), e("f", 1, 1)], rules)
    assert [(p.entry.participant, p.score, p.rank) for p in placed] == [
        ("c", 10, 1), ("d", 10, 1), ("a", 10, 3), ("b", 10, 4), ("e", 9, 5), ("f", 2, 6)]
    # without tie-breaks, the four 10s share rank 1
    assert [p.rank for p in rank_entries([e("a", 5, 5), e("b", 6, 4), e("c", 10, 0)], Rules())] == [1, 1, 1]
    # an entry whose receipt time is unknown comes after the known ones
    assert [p.entry.participant for p in rank_entries([e("x", 1, 1), e("y", 1, 1, minute=5)],
                                                      Rules(tie_breaks=(TieBreak.EARLIER_RECEIPT,)))] == ["y", "x"]


BANDS = (Band("nhat", "Giải Nhất", 1), Band("nhi", "Giải Nhì", 2), Band("ba", "Giải Ba", 2))


def test_a_tie_across_a_band_boundary_waits_for_the_committee():
    ranked = [["a"], ["b", "c", "d"], ["e"], ["f"]]
    a = allocate(ranked, BANDS, {}, prefix="individual")
    assert a.given == (("nhat", "a"), ) and a.tie == Tie("individual:nhi", ("b", "c", "d"), 2)
    assert a.waiting == ("b", "c", "d", "e", "f") and a.rest == ()
    # the committee picks two for Nhì: the third goes on to Ba, with e
    picked = allocate(ranked, BANDS, {"individual:nhi": Decision(("b", "c", "d"), ("b", "d"))}, prefix="individual")
    assert picked.given == (("nhat", "a"), ("nhi", "b"), ("nhi", "d"), ("ba", "c"), ("ba", "e")) and picked.tie is None
    assert picked.rest == ("f",)
    # all three get Nhì: the band is widened and Ba narrows by one
    widened = allocate(ranked, BANDS, {"individual:nhi": Decision(("b", "c", "d"), ("b", "c", "d"))},
                       prefix="individual")
    assert widened.given == (("nhat", "a"), ("nhi", "b"), ("nhi", "c"), ("nhi", "d"), ("ba", "e"))
    assert widened.rest == ("f",)
    # a decision taken on another tie does not count
    stale = allocate(ranked, BANDS, {"individual:nhi": Decision(("b", "c"), ("b", "c"))}, prefix="individual")
    assert stale.tie == a.tie


def test_groups_that_fit_fill_the_bands_and_the_rest_get_nothing():
    a = allocate([["a"], ["b", "c"], ["d", "e"], ["f", "g"]], BANDS, {}, prefix="p")
    assert [m for _, m in a.given] == ["a", "b", "c", "d", "e"] and a.rest == ("f", "g") and a.tie is None
    assert allocate([["a", "b"]], (), {}, prefix="p").rest == ("a", "b")


def test_the_cut_top_n_per_unit_min_score_and_a_tie_at_the_cut():
    rules = Rules(tie_breaks=(TieBreak.ESSAY_SCORE,))
    entries = [e("a", 6, 4, "Q1"), e("b", 5, 4, "Q1"), e("c", 5, 4, "Q1"), e("d", 1, 0, "Q1"),
               e("x", 9, 0, "Q2"), e("y", 2, 0, "Q2")]
    placed = rank_entries(entries, rules)
    on, off, ties = cut(placed, Advance(top=2, per_unit=True), {})
    assert on == {"a", "x", "y"} and off == {"d"} and ties == [Tie("cut:Q1:on", ("b", "c"), 1)]
    on, off, ties = cut(placed, Advance(top=2, per_unit=True), {"cut:Q1:on": Decision(("b", "c"), ("c",))})
    assert on == {"a", "c", "x", "y"} and off == {"b", "d"} and ties == []
    on, off, ties = cut(placed, Advance(top=2), {})
    assert on == {"a"} and off == {"x", "y", "d"} and ties == [Tie("cut:on", ("b", "c"), 1)]
    on, off, ties = cut(placed, Advance(min_score=F(9)), {})
    assert on == {"a", "b", "c", "x"} and off == {"d", "y"} and ties == []
    assert [[p.entry.participant for p in g] for g in groups(placed)] == [["a"], ["b", "c"], ["x"], ["y"], ["d"]]
