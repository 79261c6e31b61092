"""The reader's fast paths give exactly what the plain code gave: Python's rounding in the JSON, the digit
groups of the right layout."""
import math

import numpy as np

from omr.layout import GroupKind, load_layout
from omr.read import _digit_groups
from omr.records import GroupRead, MarkState, SheetReading, Status, rounded
from tests.conftest import DEMO_LAYOUT, ROOT


def _tricky() -> list[float]:
    halves = [k / 1000 + 0.0005 for k in range(-600, 1600)]          # as near a half as floats get
    vals = halves + [math.nextafter(v, 9.0) for v in halves] + [math.nextafter(v, -9.0) for v in halves]
    vals += [k / 10000 for k in range(-6000, 16000)]
    vals += list(np.random.default_rng(5).uniform(-0.5, 1.5, 20000))
    return [float(v) for v in vals] + [0.0, -0.0, -0.0004, -0.0005, 2.675, 1e-300, -1e-300, 1e300,
                                       math.nan, math.inf, -math.inf]


def test_rounded_is_pythons_round_to_the_last_bit():
    vals = _tricky()
    for ndigits in (2, 3, 4):
        got = rounded(vals, ndigits)
        assert [repr(v) for v in got] == [repr(round(v, ndigits)) for v in vals]
    assert rounded([], 3) == []


def test_detail_json_fills_are_each_bubbles_fill_rounded():
    vals = _tricky()[:4000:7]
    groups, k = [], 0
    for n, size in enumerate([4, 4, 10, 2, 5] * 40):
        chunk = tuple(vals[k:k + size])
        k += size
        groups.append(GroupRead(str(n), "", (MarkState.BLANK,) * size, chunk, 1.0))
    rec = SheetReading(source="x.jpg", page=1, layout="l", status=Status.OK, participant=None, version=None,
                       answers={}, flags=(), groups=tuple(groups))
    fills = rec.to_json(detail=True)["fills"]
    assert list(fills) == [g.key for g in groups]
    assert {key: [repr(v) for v in f] for key, f in fills.items()} == {
        g.key: [repr(round(v, 3)) for v in g.fills] for g in groups}


def test_digit_groups_are_those_of_the_layout_asked_and_one_object_per_layout():
    demo = load_layout(DEMO_LAYOUT)
    national = load_layout(ROOT / "answer_keys" / "national2025" / "layout.json")
    for layout in (demo, national):
        expected = tuple(g for kind in (GroupKind.PARTICIPANT, GroupKind.VERSION, GroupKind.NUMERIC)
                         for g in layout.digit_groups(kind))
        assert _digit_groups(layout) == expected
        assert _digit_groups(layout) is _digit_groups(layout)
    assert _digit_groups(demo) != _digit_groups(national)
    assert _digit_groups(load_layout(DEMO_LAYOUT)) == _digit_groups(demo)     # an equal layout loaded again


def test_decoded_group_states_are_keyed_by_labels_and_codes():
    from omr.read import _decoded
    assert _decoded(("A", "B", "C", "D"), (0, 1, 0, 1)) == ((MarkState.BLANK, MarkState.MARKED) * 2, "BD")
    assert _decoded(("1", "2", "3", "4"), (0, 1, 0, 1))[1] == "24"
    assert _decoded(("A", "B", "C", "D"), (2, 0, 3, 4)) == (
        (MarkState.AMBIGUOUS, MarkState.BLANK, MarkState.ERASED, MarkState.CANCELLED), "")
    assert _decoded(("A", "B", "C", "D"), (0, 1, 0, 1))[1] == "BD"                # the first answer kept


def test_rounded_keeps_what_round_gives_for_other_numbers():
    vals = [1, 0.12345, np.float64(0.5555), True]
    assert [(type(v), repr(v)) for v in rounded(vals, 3)] == [(type(round(v, 3)), repr(round(v, 3))) for v in vals]
