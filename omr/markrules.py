"""Marks that are not a clean fill: what shape the ink on and around each bubble has, and what the contest's
marking rules (``Layout.marking``) make of a question holding such marks.

``bubble_shapes`` only measures shape (vectorised over every bubble); ``apply_rules`` decides, per question
that holds anything unusual, and returns the decision of every rule it applied so the reading can show it.
The principle: ink on or around a bubble of a question with no clear fill is a mark by rule or a doubt — never a
blank; residue clearly lighter than the page's marks beside a clear mark is an erasure, not a second answer; a
single light fill, clearly darker than the page's blank bubbles and the only ink of its question, is a mark.
Every level is measured against this page's own blank and filled bubbles (``Thresholds``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import numpy as np

from .layout import Group, MarkingRules
from .marks import Fills, Thresholds, crossed_bubbles, group_index, percentile

PRINTED_BLANK = 0.2          # blank bubbles this dark carry print inside (letters): ink is measured over it
MIN_PRINT_SAMPLES = 3        # blank bubbles of a label needed to learn what is printed in it
PRINTED_BLANK_PERCENTILE = 95  # where print varies from bubble to bubble, ink is measured over this blank level
PRINT_LIGHT_FLOOR = 0.35     # ink over print: the light the print leaves is taken as at least this share
# the print on the loops inside the rim: this percentile of the label's blank bubbles (a photo's blur and a tenth
# of a millimetre of misfit vary the rim from bubble to bubble; a loop drawn around the letter is far darker).
# Outside the rim the median: there a blank bubble's loops also cross its marked neighbours
PRINT_INNER_PERCENTILE = 90
_BLANK, _MARKED, _AMBIGUOUS, _ERASED, _CANCELLED = range(5)


class Shape(enum.IntEnum):
    NONE = 0       # paper (the printed letter and rim only)
    FILL = 1       # a solid fill, as dark as the page's marks
    LIGHT = 2      # a solid fill, lighter than the page's marks (pressed lightly)
    STROKE = 3     # strokes across the bubble: a tick, an X, a half-hearted scribble
    CIRCLE = 4     # a loop around the bubble (outside its rim) or around its letter, the centre left empty
    INK = 5        # some ink that is none of the above (a smudge, residue)


# the codes as plain ints for the per-question rules (an Enum member lookup costs more than the comparison)
_S_NONE, _S_FILL, _S_LIGHT, _S_STROKE, _S_CIRCLE, _S_INK = (int(k) for k in Shape)

# Shape constants, measured on generated sheets (samples.marks): fractions of sample points darker than the
# ink level INK_LEVEL × the page's mark level (at least INK_FLOOR); "rel" = (fill - blank) / (mark - blank).
INK_LEVEL, INK_FLOOR = 0.4, 0.12
FILL_REL, FILL_COVER, FILL_CENTRE = 0.6, 0.75, 0.85   # blanks cover ≤ 0.16 of the disc (the letter), fills ≥ 0.78
                                                      # and their centre is dark (1 %: 1.0)
CIRCLE_AROUND, CIRCLE_MAX_COVER = 0.3, 0.3   # a loop darkens ≥ 0.5 of the angles around; blanks ≤ 0.16
LETTER_LOOP, LETTER_LOOP_CV, LETTER_LOOP_CENTRE = 0.9, 0.4, 0.75
LIGHT_REL, LIGHT_COVER, LIGHT_MAX_CV, LIGHT_CENTRE = 0.42, 0.65, 0.5, 0.7
# evenness: the 25th percentile of the disc samples / their 90th. A light fill is even (median 0.65), an eraser's
# smudge patchy (median 0.33, 99 %: 0.63); a fill's median 0.77, a bad erasure's 0.56
LIGHT_EVEN, SECOND_EVEN = 0.45, 0.6
# a light mark both partial and patchy is where a person hesitates too: a lone erasure's smudge (cover 0.68-0.73,
# evenness 0.48-0.50) reads so; of 4,575 light fills alone on their question, 98 (2.1 %)
LIGHT_PARTIAL_COVER, LIGHT_PARTIAL_EVEN = 0.75, 0.55
STROKE_REL, STROKE_MIN_CV = 0.3, 0.7
STROKE_INNER, STROKE_COVER = (0.15, 0.75), (0.18, 0.66)
STROKE_MAX_EVEN = 0.18       # strokes leave most of the disc paper (evenness ≤ 0.16 for ticks), smudges do not
STROKE_MAX_RUN = 0.4          # longest dark arc on the 0.6-radius ring: strokes ≤ 0.39, half fills ≥ 0.33 (1 %: 0.4)
INK_REL, INK_SHARE, INK_COVER = 0.16, 0.2, 0.22    # blanks: rel ≤ 0.12, cover ≤ 0.20 (99.99 %), ink around
                                                    # them ≤ 0.22 (99.9 %): a loop round a bubble ≥ 0.25
RING_DARKER_REL = -0.2       # blanks: rel ≥ -0.09 (99.9 %); a blurred phone loop round a bubble: -0.28 (s28301)
RING_DARKER_REL_PRINTED = -0.3   # … on pages whose bubbles print their letters (blanks vary with the letter:
                                 # -0.2 flagged 0.25 point more of the generator's timing-mark phone photos)
# the loops inside the rim of a blurred photo's blank bubbles darken together (the rim spreads): ink there counts
# from this much above the page's own blank bubbles (their 90th percentile; blanks beyond it: 13 of 58,000)
INNER_OVER_PAGE, INNER_PAGE_PERCENTILE = 0.1, 90
# ink where the printed letter is not: the disc's samples darker than the label's blank bubbles by the ink level.
# Blanks: ≤ 0.054 (99.9 %), 0.108 at most in 116,000; a short tick covering a tenth of the bubble: 0.08
INK_BEYOND_PRINT = 0.07
# and a bubble darker than the page's own blank bubbles (90th percentile) by this much, from INK_FLOOR_REL up:
# blanks of questions without a mark beyond it: 2 in 4,900; a one-pixel tick across the bubble: 0.13
INK_OVER_PAGE, INK_FLOOR_REL = 0.08, 0.1
# a second mark beside a clear one: residue below RESIDUE_REL and RESIDUE_RATIO × the clear one; a second
# answer from SECOND_REL and SECOND_RATIO up; in between the two cannot be told apart
# (doubles' lighter fill: rel ≥ 0.69, ≥ 0.70 of the darker; residue left as "can't tell" reached 0.77 and 0.83)
RESIDUE_REL, RESIDUE_RATIO, RESIDUE_AROUND = 0.66, 0.72, 0.25
RESIDUE_EVEN_FROM, RESIDUE_MAX_EVEN = 0.45, 0.75   # from this rel up, residue must be patchier than this
SECOND_REL, SECOND_RATIO = 0.85, 0.75
SECOND_PAGE_PERCENTILE, SECOND_REL_MAX = 10, 0.95   # and at least this percentile of the page's clear marks
# a question of two options (true/false) has no third bubble to show the page's blank beside a residue: its
# second mark is an answer only when nearly as dark as the first (a residue at 0.8 of a pen fill is common)
TWO_OPTION_SECOND_RATIO = 0.9
MAYBE_CROSSED = 0.05         # X arms far out (Fills.cross): fills ≤ 0.04 (99.9 %), X's struck through ≥ 0.002
# a mark far darker than the page's marks with ink all around it, beside a normal one: struck through, maybe
STRUCK_REL, STRUCK_AROUND = 1.25, 0.4    # fills: rel ≤ 1.25 (99 %); X's over a fill: rel median 1.42
# … and two answers stand only when none of them is at least as dark as the page's marks with ink on three
# quarters of the angles around it (strokes leaving it everywhere: an X whose arms were not recognised). Fills of
# doubles so (harsh sets s23101, s23301, s4301): 6 of 557; struck fills read as answers: s24101 p371 q88 (rel
# 1.18, around 1.0), phone s24301 p100 q11 (1.04, 0.75)
INKED_ALL_ROUND_REL, INKED_ALL_ROUND = 1.0, 0.75
MAYBE_CROSSED_NEAR = 0.10    # X arms on the near ring (Fills.cross_near): fills of a double ≤ 0.11 (99 %),
                             # X's struck through ≥ 0.11 (99 %)
# strokes leaving a marked bubble like an X's four arms at any rotation (``x_arms``), × the page's mark level:
# fills read as two answers ≤ 0.2 (87 %), fills struck through ≥ 0.28 (scanner) and ≥ 0.19 (phone), 1 %: 0.3;
# an X with one faint arm shows ~0.23
X_ANY = 0.2
# a crossed-out fill cancelled on the near ring's evidence (phones blur the X's far arms away): its arms on the near
# ring (Fills.cross_near ≥ 0.4 × mark; doubles' fills: 99 % ≤ 0.47 — hence also) four arms at some rotation
# (x_arms ≥ 0.5), the struck fill darker than the kept one by CANCEL_REL_GAP (the X's ink on a fill; doubles differ
# by ≤ 0.39), and the kept one quiet (near ring < MAYBE_CROSSED_NEAR, x_arms < 0.15)
CANCEL_NEAR, CANCEL_X, CANCEL_REL_GAP, KEPT_QUIET_X = 0.4, 0.5, 0.25, 0.15
# … and the struck fill darker than the page's marks (an X's ink over a fill: ≥ 1.19; a scribbled fill whose
# overflow showed four arms near it read 1.07)
CANCEL_STRUCK_REL = 1.15
# the fill kept when another is cancelled must be an answer in its own right (kept fills: rel ≥ 0.81 (99 %)); a
# residue beside a fill whose overflow looks like an X is not
KEPT_REL = 0.75
# a fill with ink on many angles round it (a scribble overflowing its bubble) shows "arms" wherever the overflow
# juts out: its X is believed, and the fill cancelled, only when the arms stand out clearly (x_arms ≥ OVERFLOW_X);
# else a doubt. Doubles' fills cancelled so (silently): s26101 p71 q17 (around 0.97, x_arms 0.73), s27101 p133
# q65 (0.69, 0.72), s31101 p447 q39 (an elongated fill jutting out both ways along a diagonal: 0.41, 0.64);
# struck fills so: 116 of 2,292 cancels (sets s23101, s23301, s4301), now doubts
OVERFLOW_AROUND, OVERFLOW_X = 0.4, 0.75
# … and a fill cancelled on its far arms is darker than the page's marks too (the X's ink over it: struck fills
# cancelled read ≥ 1.06 (99 %)); s35101 p126 q55, a double's elongated fill with ink on 0.38 of the angles round it
# and far "arms" along its length, read 1.01: cancelled, silently
CANCEL_FAR_REL = 1.05
# a bubble read as residue by its level with ink on this share of the angles round it beside a clear mark: residue
# reads ≤ 0.44 (2,500 on sets s23101, s23301, s4301); a double's scribble overflowing far past its rim read 1.0 and
# 0.43 of the page's marks (its paper level taken on its ink: s30101 p20 q7, one answer lost silently)
OVERFLOWED_RESIDUE = 0.75
RULE_CONFIDENCE = 0.8
# the 8 rotations (11.25° apart) of four 5-sample sectors 90° apart on the 32-sample ring around a bubble
_ARM_SECTORS = np.array([[(k * 8 + j + d) % 32 for k in range(4) for d in range(-2, 3)] for j in range(8)])


def x_arms(ring: np.ndarray, mark: float) -> np.ndarray:
    """Per row of ring samples (n, 32): how clearly four strokes 90° apart leave the bubble, at the rotation that
    shows them best — the 3rd darkest of the four sectors' darkest samples above the ring's median, over the
    page's mark level. An X struck through a fill shows here at any angle; a plain fill's ring stays even."""
    arms = ring[:, _ARM_SECTORS].reshape(len(ring), 8, 4, 5).max(axis=3)
    third = np.sort(arms, axis=2)[:, :, 1].max(axis=1)
    return (third - np.median(ring, axis=1)) / max(mark, 1e-6)


def evenness(ins: np.ndarray) -> np.ndarray:
    """Per row of disc samples: 25th percentile / 90th percentile (1 = even darkness, 0 = patchy or partial);
    the percentiles as ``np.percentile`` interpolates them, from one partial sort."""
    m = ins.shape[1] - 1
    k25, k90 = 0.25 * m, 0.9 * m
    ks = sorted({int(k25), min(int(k25) + 1, m), int(k90), min(int(k90) + 1, m)})
    part = np.partition(ins, ks, axis=1)

    def pct(k: float) -> np.ndarray:
        lo = int(np.floor(k))
        hi = min(lo + 1, m)
        return part[:, lo] + (k - lo) * (part[:, hi] - part[:, lo])

    p25, p90 = pct(k25), pct(k90)
    return np.where(p90 > 1e-3, p25 / np.maximum(p90, 1e-3), 0.0)


_RING06 = slice(19, 37)      # the 18 disc samples on the 0.6-radius ring (marks._disc_pattern)


def _longest_run(dark: np.ndarray) -> np.ndarray:
    """Per row of a (n, k) boolean ring: the longest circular run of True, as a share of k."""
    n, k = dark.shape
    cur = np.zeros(n, np.intp)
    best = np.zeros(n, np.intp)
    for j in range(2 * k):
        cur = (cur + 1) * dark[:, j % k]
        best = np.maximum(best, cur)
    return np.minimum(best, k) / k


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules made of one question: new bubble states, a doubt reason, the rule that decided."""

    states: np.ndarray          # state codes of the question's bubbles (see marks.STATE_ORDER)
    doubt: str | None
    rule: str | None


def _column_percentile(rows: np.ndarray, q: float) -> np.ndarray:
    """Per column of ``rows``, the ``q``-th percentile as ``np.percentile`` interpolates it, from one sort (faster
    than a partition for a few dozen rows; np.percentile's generic path costs more than a page's shape measures)."""
    m = len(rows) - 1
    k = q / 100.0 * m
    lo = int(np.floor(k))
    hi = min(lo + 1, m)
    part = np.sort(rows, axis=0)
    return part[lo] + (k - lo) * (part[hi] - part[lo])


def _print_of_labels(samples: np.ndarray, labels: np.ndarray, n_labels: int, blank: np.ndarray,
                     q: float = 50) -> np.ndarray:
    """(n_labels, samples per bubble): what each printed label shows at each sample position — the ``q``-th
    percentile of its blank bubbles (0 where too few blanks show it)."""
    base = np.zeros((n_labels, samples.shape[1]))
    for lab in range(n_labels):
        rows = samples[(labels == lab) & blank]
        if len(rows) >= MIN_PRINT_SAMPLES:
            base[lab] = np.clip(_column_percentile(rows, q), 0.0, 1.0)
    return base


def _without_print(samples: np.ndarray, labels: np.ndarray, n_labels: int, blank: np.ndarray, *,
                   share: bool = False, q: float = 50) -> np.ndarray:
    """``samples`` (one row per bubble) less what is printed there: per printed label, the median of its blank
    bubbles' samples at each position (a letter printed inside a bubble is ink on every copy of it). With
    ``share`` (the disc, where a fill covers the letter), ink over print is measured as a share of the light the
    print leaves: a fill over a dark letter is as dark as black, and (d - p) / (1 - p) reads it as a full mark
    where d - p would read it as paper. The loops keep d - p (a share would magnify the rim's blur there). ``q``:
    the percentile of the label's blanks taken as its print (the median by default)."""
    print_ = _print_of_labels(samples, labels, n_labels, blank, q)[labels]
    light = np.maximum(1.0 - print_, PRINT_LIGHT_FLOOR) if share else 1.0
    return np.clip((samples - print_) / light, 0.0, None)


def bubble_shapes(fills: Fills, fill: np.ndarray, th: Thresholds, idx: np.ndarray,
                  labels: tuple[np.ndarray, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shape code of each bubble in ``idx`` (an index array into the layout's bubbles), the share of the
    angles around it (outside its rim) that hold ink, and the evenness of the darkness inside it. On a page
    whose blank bubbles are dark with print (``PRINTED_BLANK``: letters printed inside the bubbles), the ink of
    each bubble is measured over what its label's blank bubbles show (``labels``: label class per bubble and
    their number) and its darkness over the page's darkest blank bubbles."""
    tau = max(INK_FLOOR, INK_LEVEL * th.mark)
    span = max(th.mark - th.blank, 1e-6)
    rel = (fill[idx] - th.blank) / span
    # a fill below paper comes from ink all around the rim (it darkens the paper estimate), measured against the
    # page's median blank: on printed pages the darkest blanks' level would make lighter letters look like it
    around_dark = rel < (RING_DARKER_REL_PRINTED if th.blank >= PRINTED_BLANK else RING_DARKER_REL)
    ins, outer, inner_s = fills.inside_samples[idx], fills.outer_samples[idx], fills.inner_samples[idx]
    if labels is not None and th.blank >= PRINTED_BLANK:
        blank = fill[idx] <= th.lo
        ins = _without_print(ins, labels[0], labels[1], blank, share=True)
        outer = _without_print(outer, labels[0], labels[1], blank)
        inner_s = _without_print(inner_s, labels[0], labels[1], blank, q=PRINT_INNER_PERCENTILE)
        if blank.any():                # over the darkest of this page's blank bubbles, not their median
            rel = rel - percentile(rel[blank], PRINTED_BLANK_PERCENTILE)
    around = (outer > tau).mean(axis=1)
    inner = (inner_s > tau).mean(axis=1)
    cover = (ins > tau).mean(axis=1)
    centre = (ins[:, :7] > tau).mean(axis=1)
    cv = ins.std(axis=1) / np.maximum(ins.mean(axis=1), 1e-3)
    cv = np.where(ins.mean(axis=1) > 1e-3, cv, 0.0)
    # evenness matters for strokes, light fills and second marks only: bubbles darker than the page's blank
    # level (``th.lo``) or than the lightest of those shapes; 0 elsewhere
    even = np.zeros(len(idx))
    some = (fill[idx] > th.lo) | (rel >= min(STROKE_REL, LIGHT_REL))
    if some.any():
        even[some] = evenness(ins[some])
    shape = np.full(len(idx), Shape.NONE, dtype=np.int8)
    blanks = fill[idx] <= th.lo
    inner_ink = max(INK_SHARE, percentile(inner[blanks], INNER_PAGE_PERCENTILE) + INNER_OVER_PAGE
                    if blanks.sum() >= MIN_PRINT_SAMPLES else INK_SHARE)
    ink = (rel > INK_REL) | (around > INK_SHARE) | (inner > inner_ink) | (cover > INK_COVER) | around_dark
    if labels is not None and th.blank < PRINTED_BLANK and blanks.sum() >= MIN_PRINT_SAMPLES:
        ink |= rel > max(INK_FLOOR_REL, percentile(rel[blanks], INNER_PAGE_PERCENTILE) + INK_OVER_PAGE)
        quiet = np.flatnonzero(~ink)          # ink where the letter is not, on the bubbles not yet seen as ink
        base = _print_of_labels(ins, labels[0], labels[1], blanks)[labels[0][quiet]]
        ink[quiet] = ((ins[quiet] - base) > tau).mean(axis=1) > INK_BEYOND_PRINT
    stroke = ((rel >= STROKE_REL) & (cv >= STROKE_MIN_CV) & (inner >= STROKE_INNER[0]) & (inner <= STROKE_INNER[1])
              & (cover >= STROKE_COVER[0]) & (cover <= STROKE_COVER[1]) & (even <= STROKE_MAX_EVEN))
    if stroke.any():                   # the longest dark arc, on the few candidates only
        stroke[stroke] = _longest_run(ins[stroke][:, _RING06] > tau) < STROKE_MAX_RUN
    light = ((rel >= LIGHT_REL) & (cover >= LIGHT_COVER) & (cv <= LIGHT_MAX_CV) & (centre >= LIGHT_CENTRE)
             & (even >= LIGHT_EVEN) & ((cover >= LIGHT_PARTIAL_COVER) | (even >= LIGHT_PARTIAL_EVEN)))
    circle = ((((around >= CIRCLE_AROUND) | around_dark) & (cover < CIRCLE_MAX_COVER))
              | ((inner >= LETTER_LOOP) & (cv >= LETTER_LOOP_CV) & (centre < LETTER_LOOP_CENTRE)))
    fill_ = (rel >= FILL_REL) & (cover >= FILL_COVER) & (centre >= FILL_CENTRE)
    # the first that applies wins: assigned in reverse order of precedence
    for mask, code in ((ink, Shape.INK), (stroke, Shape.STROKE), (light, Shape.LIGHT), (circle, Shape.CIRCLE),
                       (fill_, Shape.FILL)):
        shape[mask] = code
    return shape, around, even


def apply_rules(fills: Fills, fill: np.ndarray, groups: tuple[Group, ...], state: np.ndarray, th: Thresholds,
                rules: MarkingRules) -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Decide the questions holding unusual marks. ``state`` comes from ``marks.classify`` (one code per bubble
    of ``groups``, in order). Returns (new states, doubt reason by group number, rule applied by group number)."""
    gi = group_index(groups)
    state = state.copy()
    if not len(gi.idx):
        return state, {}, {}
    shape, around, even = bubble_shapes(fills, fill, th, gi.idx, (gi.label_id, gi.n_labels))
    strong, weak = crossed_bubbles(fills, groups, state, th)
    f = fill[gi.idx]
    marked = state == _MARKED
    span = max(th.mark - th.blank, 1e-6)
    rel_all = (f - th.blank) / span
    clear = np.maximum.reduceat(np.where(marked, rel_all, -np.inf), gi.starts)
    clear = clear[np.isfinite(clear)]
    second_rel = min(SECOND_REL_MAX, max(SECOND_REL, percentile(clear, SECOND_PAGE_PERCENTILE)
                                         if len(clear) else SECOND_REL))
    maybe_x = (fills.cross[gi.idx] >= MAYBE_CROSSED) | (fills.cross_near[gi.idx] >= MAYBE_CROSSED_NEAR)
    near = fills.cross_near[gi.idx] / max(th.mark, 1e-6)
    n_marked = np.add.reduceat(marked.astype(np.intp), gi.starts)
    x_any = np.zeros(len(f))
    # X arms on the marks of questions with two marks (read as two answers?) or one beside a lighter one
    lighter = np.add.reduceat((~marked & (rel_all >= LIGHT_REL)).astype(np.intp), gi.starts)
    if ((n_marked >= 2) | ((n_marked == 1) & (lighter > 0))).any():
        two = np.flatnonzero(marked & ((n_marked >= 2) | (lighter > 0))[gi.gid])
        x_any[two] = x_arms(fills.ring_samples[gi.idx[two]], th.mark)
    odd = (shape != _S_NONE) & ~((shape == _S_FILL) & marked)
    # a question with no mark, no ambiguous bubble and no unusual ink anywhere is plainly blank: nothing to decide
    n_ambiguous = np.add.reduceat((state == _AMBIGUOUS).astype(np.intp), gi.starts)
    unusual = (np.add.reduceat(odd.astype(np.intp), gi.starts) > 0) | (n_marked >= 2) | (
        (n_marked == 0) & (n_ambiguous > 0)) | (np.add.reduceat((strong | weak).astype(np.intp), gi.starts) > 0)
    doubts: dict[int, str] = {}
    ruled: dict[int, str] = {}
    for g in np.flatnonzero(unusual):
        a, b = int(gi.starts[g]), int(gi.starts[g]) + groups[g].size
        crossed = marked[a:b] & (strong[a:b] | (weak[a:b] & (n_marked[g] >= 2)))
        d = _decide(state[a:b], shape[a:b], Evidence(rel_all[a:b], f[a:b], around[a:b], crossed, strong[a:b],
                                                     maybe_x[a:b], even[a:b], second_rel, x_any[a:b], near[a:b]), rules)
        state[a:b] = d.states
        if d.doubt:
            doubts[int(g)] = d.doubt
        if d.rule:
            ruled[int(g)] = d.rule
    return state, doubts, ruled


@dataclass(frozen=True, slots=True)
class Evidence:
    """Measurements of one question's bubbles that the rules look at (arrays of the question's size)."""

    rel: np.ndarray             # (fill - page blank) / (page mark - page blank)
    f: np.ndarray               # fill
    around: np.ndarray          # share of the angles around the bubble holding ink
    crossed: np.ndarray         # marked and struck through (strong, or weak with 2+ marks)
    strong: np.ndarray          # X arms seen far beyond the bubble
    maybe_x: np.ndarray         # some X arms far beyond the bubble
    even: np.ndarray            # evenness of the darkness inside (see ``evenness``)
    second_rel: float           # a second mark is an answer from this rel up (this page's clear marks)
    x_any: np.ndarray           # X arms at any rotation (``x_arms``), on the marks of questions with two marks or
                                # with one beside a lighter mark
    near: np.ndarray            # X arms on the near ring (Fills.cross_near) × the page's mark level


def _decide(st: np.ndarray, shape: np.ndarray, ev: Evidence, rules: MarkingRules) -> Decision:
    st = st.copy()
    marked = st == _MARKED
    if not marked.any():
        return _no_clear_fill(st, shape, rules)
    if ((st == _ERASED) & (ev.around >= OVERFLOWED_RESIDUE)).any():
        # a bubble read as residue with ink all round it: a fill overflowing far past its rim, its paper level
        # taken on its own ink — a second answer that reads light, or residue: a judge decides
        return Decision(st, "uneven_marks", None)
    # a fill with an X's four arms on its near ring, far darker than the one other fill: struck through too
    near_x = (marked & (ev.near >= CANCEL_NEAR) & (ev.x_any >= CANCEL_X) & (ev.rel >= CANCEL_STRUCK_REL)
              if marked.sum() == 2 else ev.crossed)
    if ev.crossed.any() or near_x.any():
        return _crossed(st, shape, replace(ev, crossed=ev.crossed | near_x), rules)
    ambiguous = st == _AMBIGUOUS
    if (marked.sum() == 1 and (marked & (ev.near >= CANCEL_NEAR)
                               & ((ev.x_any >= CANCEL_X) | (ev.rel >= CANCEL_STRUCK_REL))).any()
            and (~marked & (ev.rel >= LIGHT_REL)).any()):
        # the one clear mark shows an X's arms (four of them, or some on a mark darker than the page's: ink over a
        # fill) beside a light fill: a struck fill beside the real answer?
        return Decision(st, "crossed_out", None)
    odd = (shape == _S_STROKE) | (shape == _S_CIRCLE)
    if (odd & ~marked).any():
        return Decision(st, "unusual_mark", None)
    if marked.sum() == 1 and shape[marked][0] == _S_CIRCLE and not ambiguous.any():
        return _by_rule(st, int(np.flatnonzero(marked)[0]), rules.circle_around == "mark", "circle_around",
                        "circled")
    if marked.sum() == 1 and shape[marked][0] == _S_STROKE and not ambiguous.any():
        # a tick or an X that reads as dark as a fill by itself: the rule still says whether it counts
        if rules.tick_or_x_on_empty == "mark":
            return Decision(st, None, "tick_or_x_on_empty")
        return Decision(st, "tick_or_x", "tick_or_x_on_empty")
    if marked.sum() >= 2 and ((ev.maybe_x & marked).any() or (
            (marked & (ev.rel >= STRUCK_REL) & (ev.around >= STRUCK_AROUND)).any()
            and (marked & (ev.rel < STRUCK_REL)).any())):
        return Decision(st, "crossed_out", None)
    rel, f = ev.rel, ev.f
    top = float(f[marked].max())
    # a second mark or a middling one beside the clear mark: residue, a second answer, or can't tell
    residue = ((marked | ambiguous) & (rel < RESIDUE_REL) & (f <= RESIDUE_RATIO * top)
               & (ev.around <= RESIDUE_AROUND) & ((rel < RESIDUE_EVEN_FROM) | (ev.even < RESIDUE_MAX_EVEN)))
    ratio = TWO_OPTION_SECOND_RATIO if len(st) == 2 else SECOND_RATIO
    second = marked & (rel >= ev.second_rel) & (f >= ratio * top) & (ev.even >= SECOND_EVEN)
    top_i = int(np.argmax(np.where(marked, f, -np.inf)))
    second[top_i] = True
    st[residue] = _ERASED
    unclear = (marked | ambiguous) & ~residue & ~second
    if unclear.any():
        if ambiguous[unclear].any() or rules.indistinct_marks == "flag":
            return Decision(st, "uneven_marks" if not ambiguous[unclear].any() else "ambiguous_mark",
                            "indistinct_marks" if not ambiguous[unclear].any() else None)
        st[unclear] = _MARKED
        return _unless_struck(st, ev, "indistinct_marks")
    return _unless_struck(st, ev, None)


def _unless_struck(st: np.ndarray, ev: Evidence, rule: str | None) -> Decision:
    """Two or more answers stand only when none of them shows strokes leaving it like an X's arms (at any
    angle): a struck-through fill whose X was not recognised would otherwise be read as a second answer."""
    marked = st == _MARKED
    if marked.sum() >= 2 and ((ev.x_any[marked] >= X_ANY).any() or (
            marked & (ev.rel >= INKED_ALL_ROUND_REL) & (ev.around >= INKED_ALL_ROUND)).any()):
        return Decision(st, "crossed_out", rule)
    return Decision(st, None, rule)


def _no_clear_fill(st: np.ndarray, shape: np.ndarray, rules: MarkingRules) -> Decision:
    """No bubble of the question is clearly filled: ink on or around one bubble is a mark by rule or a doubt."""
    cand = np.flatnonzero((shape != _S_NONE) | (st == _AMBIGUOUS))
    if len(cand) == 0:
        return Decision(st, None, None)
    if len(cand) > 1:
        return Decision(st, "ambiguous_mark", None)
    k = int(cand[0])
    kind = shape[k]
    if kind == _S_CIRCLE:
        return _by_rule(st, k, rules.circle_around == "mark", "circle_around", "circled")
    if kind == _S_STROKE:
        return _by_rule(st, k, rules.tick_or_x_on_empty == "mark", "tick_or_x_on_empty", "tick_or_x")
    if kind == _S_LIGHT:
        return _by_rule(st, k, True, "light_mark", "ambiguous_mark")
    return Decision(st, "ambiguous_mark" if st[k] == _AMBIGUOUS else "unusual_mark", None)


def _by_rule(st: np.ndarray, k: int, mark: bool, rule: str, doubt: str) -> Decision:
    if not mark:
        return Decision(st, doubt, rule)
    st[:] = np.where(st == _AMBIGUOUS, _BLANK, st)
    st[k] = _MARKED
    return Decision(st, None, rule)


def _crossed(st: np.ndarray, shape: np.ndarray, ev: Evidence, rules: MarkingRules) -> Decision:
    """A marked bubble struck through: cancelled beside one other clear fill (only with the X's arms seen far
    beyond the bubble: strokes near it may be a fill's own overflow), or an X on an empty bubble."""
    crossed, strong = ev.crossed, ev.strong
    marked = st == _MARKED
    rest = marked & ~crossed
    others_quiet = not ((st == _AMBIGUOUS) | ((shape != _S_NONE) & ~marked)).any()
    # cancelled only when the X is plain — its arms far out, the struck fill darker than the one kept (the X's ink
    # on top of a fill), and no X evidence on the fill kept; or its four arms on the near ring, the struck fill far
    # darker and the kept one quiet — and the fill kept is an answer by itself
    plain = bool(rest.sum() == 1 and others_quiet and (shape[crossed] == _S_FILL).all()
                 and ev.rel[rest].min() >= KEPT_REL
                 and not ((ev.around[crossed] >= OVERFLOW_AROUND) & (ev.x_any[crossed] < OVERFLOW_X)).any())
    if plain and ((strong[crossed].all() and not ev.maybe_x[rest].any()
                   and ev.rel[crossed].min() > ev.rel[rest].max() and ev.rel[crossed].min() >= CANCEL_FAR_REL)
                  or ((ev.near[crossed] >= CANCEL_NEAR).all() and (ev.x_any[crossed] >= CANCEL_X).all()
                      and (ev.rel[crossed] >= CANCEL_STRUCK_REL).all()
                      and (ev.near[rest] < MAYBE_CROSSED_NEAR).all() and (ev.x_any[rest] < KEPT_QUIET_X).all()
                      and ev.rel[crossed].min() - ev.rel[rest].max() >= CANCEL_REL_GAP)):
        if rules.crossed_out_fill == "cancel":
            st[crossed] = _CANCELLED
            return Decision(st, None, "crossed_out_fill")
        return Decision(st, "crossed_out", "crossed_out_fill")
    if rest.sum() == 0 and crossed.sum() == 1 and others_quiet and (shape[crossed] == _S_STROKE).all():
        if rules.tick_or_x_on_empty == "mark":
            return Decision(st, None, "tick_or_x_on_empty")
        return Decision(st, "tick_or_x", "tick_or_x_on_empty")
    return Decision(st, "crossed_out", None)
