"""Near-duplicate essays: which entries share most of their text, and where.

A pure function over ``(essay id, text)`` pairs: no database, no I/O, no global state.

How two essays are compared
---------------------------
* **Words.** A word is a maximal run of letters, digits and combining marks in the *original* text (so its
  character offsets are known); punctuation, symbols, ``_`` and whitespace separate words. Each word is
  compared by its key ``strip_diacritics(word.lower())``: OCR often confuses tone marks (tổ/tố, ả/á), and a
  copy must not hide behind them.
* **Shingles.** Every run of ``shingle_words`` consecutive words is one shingle (a 32-bit hash of the words'
  64-bit key hashes). An essay is the *set* of its shingles; fewer words than ``shingle_words`` give none.
* **Boilerplate** shingles are removed from every set before anything else: wherever an essay repeats a
  shingle of a text in ``options.ignore`` (the question statement every entry copies out), every shingle
  touching those words goes, including the ones straddling the question's edges (so "question + the same
  opening words" is no evidence); and shingles that occur in more than
  ``max(boilerplate_df * N, MIN_BOILERPLATE_ESSAYS)`` of the N essays (set phrases everybody writes; the floor
  keeps a small collection, or a ring of a few copiers, from deleting its own evidence).
* **Similarity** = Jaccard ``|A∩B| / |A∪B|``; **containment** = ``|A∩B| / min(|A|, |B|)``.

What is reported
----------------
A pair is reported when ``containment >= options.threshold`` **and** the two essays share at least
``MIN_SHARED_SHINGLES`` shingles (about a dozen consecutive words), measured exactly on the sets above. The
threshold is on *containment*, not Jaccard: a copier who takes 60 % of a source essay and adds sentences of
his own has a Jaccard near 0.4 but a containment of 0.6, and a short essay lifted whole from a long one has
containment 1. Shingle containment understates the share of copied *text*: wherever copied text meets other
text (a moved paragraph, an inserted sentence, a dropped word) ``shingle_words - 1`` shingles are lost. In
``bench/dedup_bench.py`` copies of ≥ 60 % of an essay (blocks moved, own sentences interleaved, tone marks
misread, 1 % of the words dropped) measure 0.52–0.95, essays borrowing 10–30 % measure ≤ 0.28, and
independent essays share almost nothing; the default 0.4 sits midway.

Candidates (never quadratic)
----------------------------
MinHash signatures (``num_perm`` values per essay) and LSH banding: a band is two signature rows; two essays
are candidates when any band agrees (bucketed by sorting, so the work grows with the number of colliding
pairs, not with N²). The bands are the ``num_perm / 2`` disjoint row pairs plus seeded random ones, as many as
make a pair with Jaccard ``J* = threshold / (3 - threshold)`` a candidate with probability ≈ 0.996 (J* is the
Jaccard of containment = threshold when one essay is twice the other's size; 0.154 for the default, 385
bands). Candidates whose signatures agree on fewer rows than a Jaccard of J* would give with probability 1e-6
are dropped, and every remaining candidate is measured exactly on its two sets: a pair is never reported
from the sketch alone. Essays with fewer than ``MIN_SHARED_SHINGLES`` shingles left are never candidates.
Measured by simulation for the defaults (bands and pruning): a pair is missed with probability 0.4 % at
J* = 0.154, 2e-4 at 0.2, 6e-6 at 0.25, < 1e-6 at 0.3 and at 0.43 (a 60 % copy of a same-size essay); 2 % at
J = 0.125 (a 100-word essay inside an 800-word one).
Kept over ``datasketch``: the same pairs in half its time and memory (bench/RESULTS.md, "ours vs datasketch").

Passages
--------
For each reported pair, the maximal runs of consecutive shared shingles that follow each other in *both*
essays, as character offsets into the two original texts; runs that overlap or are at most
``shingle_words`` words apart in both texts are merged (a dropped or misread word does not split a copied
paragraph). ``Passage.text`` is the passage as written in essay ``a``.

Output order: containment descending, then Jaccard descending, then ids; ``a < b`` in every pair. The
result depends on the set of essays only, not on their order, and is the same on every run (seeded hashes).

Scale: one pass over the essays (a generator is fine); per essay its shingle set (4 bytes a shingle) and
MinHash signature (8 bytes a row) are kept, plus its text zlib-compressed for the passages (nothing when
``essays`` is a sequence: it is read back). 50,000 essays of 300–800 words: see ``bench/dedup_bench.py``.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, combinations

import numpy as np

from omr.errors import BadArguments

__all__ = [
    "DuplicateOptions", "DuplicatePair", "MIN_BOILERPLATE_ESSAYS", "MIN_SHARED_SHINGLES", "Passage",
    "find_near_duplicates", "normalise", "strip_diacritics",
]

MIN_SHARED_SHINGLES = 5        # a pair shares at least this many shingles (≈ shingle_words + 4 words in a row)
MIN_BOILERPLATE_ESSAYS = 10    # a shingle is never boilerplate when it occurs in this many essays or fewer

# a word: letters/digits (``[^\W_]``) and combining marks (decomposed Vietnamese keeps its tone marks apart)
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD_RE = re.compile(rf"[\w{_MARKS}]+")          # run on the text with "_" made a space (same offsets)

_U64 = np.uint64
_SHINGLE_MUL = _U64(0x9E3779B97F4A7C15)     # polynomial base for combining word hashes
_MIX1 = _U64(0xBF58476D1CE4E5B9)            # splitmix64 finaliser
_MIX2 = _U64(0x94D049BB133111EB)
_BAND_MUL = _U64(0xD6E8FEB86659FD93)
_SEED = 0x5EED_D0C5                         # fixed: the same input always gives the same pairs
_CANDIDATE_RECALL = 1e-4                    # target P(miss) for a pair at J* (independent-bands estimate)
_SIGNATURE_PRUNE = 1e-6                     # P(a pair at J* is pruned by its signature agreement)
_CHUNK = 1 << 20                            # shingles per chunk of the stored sets (bounds temporaries)
_DF_PART = 1 << 21                          # values sorted at once to count document frequencies


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Passage:
    """A stretch of text shared by the two essays: ``[a_start, a_end)`` in essay a's original text,
    ``[b_start, b_end)`` in essay b's; ``text`` is essay a's original text on that stretch."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    text: str


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two essays that share much of their text (``a < b``); the figures are exact, on boilerplate-free sets."""

    a: str
    b: str
    similarity: float          # Jaccard |A∩B| / |A∪B| of the shingle sets
    containment: float         # |A∩B| / min(|A|, |B|)
    passages: tuple[Passage, ...]


@dataclass(frozen=True, slots=True)
class DuplicateOptions:
    """``threshold`` is on *containment* (see the module docstring); ``ignore`` holds texts (the question
    statements) whose shingles never count; ``boilerplate_df`` is the share of essays above which a shingle
    is a set phrase and never counts."""

    shingle_words: int = 5
    num_perm: int = 128
    threshold: float = 0.4         # copies (≥ 60 % shared) score ≥ 0.52 on the bench, near misses ≤ 0.28
    boilerplate_df: float = 0.05
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.shingle_words, int) and 1 <= self.shingle_words <= 50):
            problems.append(f"shingle_words must be an integer in 1..50, got {self.shingle_words!r}")
        if not (isinstance(self.num_perm, int) and 8 <= self.num_perm <= 4096):
            problems.append(f"num_perm must be an integer in 8..4096, got {self.num_perm!r}")
        if not (isinstance(self.threshold, (int, float)) and 0.0 < self.threshold <= 1.0):
            problems.append(f"threshold (on containment) must be in (0, 1], got {self.threshold!r}")
        if not (isinstance(self.boilerplate_df, (int, float)) and 0.0 < self.boilerplate_df <= 1.0):
            problems.append(f"boilerplate_df must be in (0, 1], got {self.boilerplate_df!r}")
        if not (isinstance(self.ignore, tuple) and all(isinstance(t, str) for t in self.ignore)):
            problems.append("ignore must be a tuple of texts (str)")
        if problems:
            raise BadArguments("invalid duplicate-detection options; fix them and run again", details=problems)


# --------------------------------------------------------------------------------------------- text
def normalise(text: str) -> str:
    """NFC, lower-case, every run of punctuation/symbols/whitespace folded to one space; keeps diacritics.

    >>> normalise("  Dịch vụ công — TRỰC TUYẾN!\\n(mức 4)")
    'dịch vụ công trực tuyến mức 4'
    """
    return " ".join(_words(unicodedata.normalize("NFC", text).lower()))


def strip_diacritics(text: str) -> str:
    """NFD, drop the combining marks, đ→d and Đ→D (case kept); the result is NFC.

    >>> strip_diacritics("Tổ quốc Đà Nẵng")
    'To quoc Da Nang'
    """
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


def _word_key(word: str) -> str:
    return strip_diacritics(word.lower())


def _hash64(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


class _Hasher:
    """The 64-bit hashes of a text's words, in order (the words of ``_words``), with a cache from each
    whitespace-separated token ("chóng.", "(mức", "e-mail") to the hashes of the words in it; the cache
    lives for one call of ``find_near_duplicates`` (no global state)."""

    __slots__ = ("cache", "single")

    def __init__(self) -> None:
        self.cache: dict[str, tuple[int, ...]] = {}
        self.single: dict[str, int | None] = {}      # the same, for the fast path: None unless one word

    def _learn(self, token: str) -> tuple[int, ...]:
        hashes = self.cache[token] = tuple(_hash64(_word_key(w)) for w in _words(token))
        self.single[token] = hashes[0] if len(hashes) == 1 else None
        return hashes

    def text(self, text: str) -> np.ndarray:
        """Equal to hashing ``_words(text)`` one by one: no word contains whitespace, so splitting on it
        first and finding the words inside each token gives the same sequence."""
        tokens = text.split()
        try:                                          # every token known and one word: the common case
            return np.fromiter(map(self.single.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
        except (KeyError, TypeError):
            cache, learn = self.cache, self._learn
            return np.fromiter(chain.from_iterable(cache.get(t) or learn(t) for t in tokens), dtype=np.uint64)


def _shingles(word_hashes: np.ndarray, k: int) -> np.ndarray:
    """32-bit hash of every k consecutive words, in text order (position p covers words p..p+k-1).

    32 bits halve the memory of 50,000 essays' sets; two essays of 600 shingles then share a shingle by
    chance with probability 600² / 2³² ≈ 1e-4, far below anything that could make or break a pair."""
    m = len(word_hashes) - k + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint32)
    s = word_hashes[:m].copy()
    for i in range(1, k):
        s *= _SHINGLE_MUL
        s += word_hashes[i:i + m]
    s ^= s >> _U64(30)
    s *= _MIX1
    s ^= s >> _U64(27)
    s *= _MIX2
    return (s >> _U64(32)).astype(np.uint32)


def _drop_ignored(shingles: np.ndarray, ignored: np.ndarray, k: int) -> np.ndarray:
    """The shingles that touch no word of an ignored passage (an ignored shingle covers its k words): the
    question statement and the shingles straddling its edges go, so "question + the same first words" is
    not evidence of copying."""
    hit = _member(shingles, ignored)
    if not hit.any():
        return shingles
    window = np.ones(k, dtype=np.int32)
    covered = np.convolve(hit.astype(np.int32), window) > 0             # per word: under an ignored shingle
    touches = np.convolve(covered.astype(np.int32), window, mode="valid") > 0
    return shingles[~touches]


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.replace("_", " "))


def _spans(text: str) -> np.ndarray:
    """(start, end) of every word of ``_words(text)``, as rows."""
    spans = chain.from_iterable(m.span() for m in _WORD_RE.finditer(text.replace("_", " ")))
    return np.fromiter(spans, dtype=np.int64).reshape(-1, 2)


def _sorted_set(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    first = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin`` for a small sorted set, without its per-call sorting."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


# --------------------------------------------------------------------------------------------- LSH design
def _lsh_design(threshold: float, num_perm: int) -> tuple[float, int, int]:
    """(J*, bands of two rows, minimum agreeing signature rows) for a containment threshold."""
    j_star = threshold / (3.0 - threshold)
    per_band = j_star * j_star
    if per_band >= 1.0:
        bands = 1
    else:
        bands = math.ceil(math.log(_CANDIDATE_RECALL) / math.log1p(-per_band))
    bands = max(1, min(bands, num_perm * (num_perm - 1) // 2))
    # largest m with P(Binomial(num_perm, J*) < m) <= _SIGNATURE_PRUNE
    cdf, min_agree = 0.0, 0
    for m in range(num_perm + 1):
        cdf += math.comb(num_perm, m) * j_star ** m * (1.0 - j_star) ** (num_perm - m)
        if cdf > _SIGNATURE_PRUNE:
            min_agree = m
            break
    return j_star, bands, max(min_agree, 2)


def _band_rows(num_perm: int, bands: int) -> np.ndarray:
    """``bands`` distinct pairs of signature rows: first the disjoint pairs, then seeded random ones."""
    rng = np.random.default_rng(_SEED + 1)
    rows: list[tuple[int, int]] = [(2 * i, 2 * i + 1) for i in range(num_perm // 2)][:bands]
    seen = set(rows)
    if bands > len(rows) and bands > num_perm * (num_perm - 1) // 4:
        extra = [p for p in combinations(range(num_perm), 2) if p not in seen]
        rng.shuffle(extra)
        rows += extra[:bands - len(rows)]
    while len(rows) < bands:
        i, j = sorted(int(x) for x in rng.choice(num_perm, size=2, replace=False))
        if (i, j) not in seen:
            seen.add((i, j))
            rows.append((i, j))
    return np.array(rows, dtype=np.intp).reshape(-1, 2)


# --------------------------------------------------------------------------------------------- stages
@dataclass(frozen=True, slots=True)
class _Corpus:
    ids: tuple[str, ...]
    source: Sequence[tuple[str, str]] | None   # the caller's sequence, when it is one: texts are read back
    texts: tuple[bytes, ...]        # otherwise each text as zlib'd UTF-8 (only reported pairs are read back)
    chunks: tuple[np.ndarray, ...]  # the sorted, boilerplate-free shingle sets of consecutive essays, concatenated
    first: np.ndarray               # chunk c holds essays first[c] .. first[c + 1] - 1
    starts: np.ndarray              # essay i's set is chunks[chunk][starts[i]:starts[i] + sizes[i]]
    sizes: np.ndarray

    def set_of(self, i: int) -> np.ndarray:
        c = int(np.searchsorted(self.first, i, side="right")) - 1
        return self.chunks[c][self.starts[i]:self.starts[i] + self.sizes[i]]

    def text(self, i: int) -> str:
        return self.source[i][1] if self.source is not None else zlib.decompress(self.texts[i]).decode("utf-8")


def _read(essays: Iterable[tuple[str, str]], options: DuplicateOptions, hasher: _Hasher) -> _Corpus:
    """One pass: validate, keep the text, shingle; then drop the boilerplate shingles."""
    ids: list[str] = []
    texts: list[bytes] = []
    sizes: list[int] = []
    starts: list[int] = []
    chunks: list[np.ndarray] = []
    first = [0]
    pending: list[np.ndarray] = []
    n_pending = 0
    seen: set[str] = set()
    k = options.shingle_words
    source = essays if isinstance(essays, Sequence) else None
    ignored = _sorted_set(np.concatenate(
        [np.empty(0, dtype=np.uint32)] + [_shingles(hasher.text(t), k) for t in options.ignore]))
    for n, item in enumerate(essays):
        try:
            essay_id, text = item
        except (TypeError, ValueError):
            raise BadArguments(f"essay #{n} is not an (id, text) pair: {item!r:.80}") from None
        if not isinstance(essay_id, str) or not isinstance(text, str):
            raise BadArguments(f"essay #{n}: the id and the text must both be str, got "
                               f"{type(essay_id).__name__} and {type(text).__name__}")
        if essay_id in seen:
            raise BadArguments(f"essay id {essay_id!r} occurs twice; give every essay a unique id")
        seen.add(essay_id)
        ids.append(essay_id)
        if source is None:
            texts.append(zlib.compress(text.encode("utf-8"), 1))
        shingles = _shingles(hasher.text(text), k)
        if len(ignored):
            shingles = _drop_ignored(shingles, ignored, k)
        shingle_set = _sorted_set(shingles)
        pending.append(shingle_set)
        starts.append(n_pending)
        sizes.append(len(shingle_set))
        n_pending += len(shingle_set)
        if n_pending >= _CHUNK:
            chunks.append(np.concatenate(pending))
            first.append(len(ids))
            pending, n_pending = [], 0
    if pending or not chunks:
        chunks.append(np.concatenate([np.empty(0, dtype=np.uint32), *pending]))
        first.append(len(ids))
    del pending
    first_at = np.array(first, dtype=np.int64)
    starts_at, sizes_at = np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64)
    del first, starts, sizes
    limit = max(math.floor(options.boilerplate_df * len(ids)), MIN_BOILERPLATE_ESSAYS)
    common = _common(chunks, limit)
    if len(common):
        _remove(chunks, first_at, starts_at, sizes_at, common)
    return _Corpus(tuple(ids), source, tuple(texts), tuple(chunks), first_at, starts_at, sizes_at)


def _common(chunks: list[np.ndarray], limit: int) -> np.ndarray:
    """The shingles in more than ``limit`` essays (each set holds a shingle once), sorted. The values are
    split by their top bits into parts of at most ~_DF_PART, each sorted on its own: in a sorted multiset a
    value occurs more than ``limit`` times iff it equals the value ``limit`` places further on."""
    total = sum(len(c) for c in chunks)
    bits = 0
    while (total >> bits) > _DF_PART and bits < 16:
        bits += 1
    found = []
    for part in range(1 << bits):
        if bits:
            shift = np.uint32(32 - bits)
            sub = np.empty(sum(int(np.count_nonzero((c >> shift) == part)) for c in chunks), dtype=np.uint32)
            at = 0
            for c in chunks:
                values = c[(c >> shift) == part]
                sub[at:at + len(values)] = values
                at += len(values)
        else:
            sub = np.concatenate(chunks)
        if len(sub) > limit:
            sub.sort()
            found.append(_sorted_set(sub[:-limit][sub[limit:] == sub[:-limit]]))
        del sub
    return np.concatenate([np.empty(0, dtype=np.uint32), *found])


def _remove(chunks: list[np.ndarray], first: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
            common: np.ndarray) -> None:
    """Drop the ``common`` shingles from every set, one chunk at a time (in place: only one chunk is
    ever held twice)."""
    for c in range(len(chunks)):
        gone_at = np.flatnonzero(_member(chunks[c], common))
        if not len(gone_at):
            continue
        lo, hi = first[c], first[c + 1]
        ends = starts[lo:hi] + sizes[lo:hi]
        starts[lo:hi] -= np.searchsorted(gone_at, starts[lo:hi])
        sizes[lo:hi] = ends - np.searchsorted(gone_at, ends) - starts[lo:hi]
        keep = np.ones(len(chunks[c]), dtype=bool)
        keep[gone_at] = False
        chunks[c] = chunks[c][keep]


def _signatures(corpus: _Corpus, members: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash signatures (len(members) × num_perm, uint64) of the given essays (sorted, sets not empty)."""
    rng = np.random.default_rng(_SEED)
    mul = rng.integers(0, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64, endpoint=True) | _U64(1)
    add = rng.integers(0, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64, endpoint=True)
    sig = np.empty((len(members), num_perm), dtype=np.uint64)
    wanted = np.zeros(len(corpus.ids), dtype=bool)
    wanted[members] = True
    for c, chunk in enumerate(corpus.chunks):
        lo, hi = int(corpus.first[c]), int(corpus.first[c + 1])
        r0, r1 = np.searchsorted(members, [lo, hi])          # the signature rows of this chunk's members
        if r0 == r1:
            continue
        nonempty = np.flatnonzero(corpus.sizes[lo:hi] > 0) + lo   # reduceat needs non-empty segments
        starts = corpus.starts[nonempty]
        pick = wanted[nonempty]
        block = chunk.astype(np.uint64)
        tmp = np.empty_like(block)
        for p in range(num_perm):
            np.multiply(block, mul[p], out=tmp)
            np.add(tmp, add[p], out=tmp)
            sig[r0:r1, p] = np.minimum.reduceat(tmp, starts)[pick]
    return sig


def _pairs_in_groups(order: np.ndarray, run_starts: np.ndarray,
                     run_lengths: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every pair inside every run ``order[start:start + length]`` (runs of one length at a time)."""
    for length in np.unique(run_lengths):
        starts = run_starts[run_lengths == length]
        members = order[starts[:, None] + np.arange(length)]          # runs × length
        u, v = np.triu_indices(int(length), 1)
        yield members[:, u].ravel(), members[:, v].ravel()


def _candidates(sig: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Distinct candidate pairs (rows of sig) as codes lo * n + hi, lo < hi, from every band bucket."""
    n = len(sig)
    found: list[np.ndarray] = []
    pending = 0
    for i, j in bands:
        key = sig[:, i] * _BAND_MUL
        key ^= sig[:, j]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        same = sk[1:] == sk[:-1]
        if not same.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[False, same, False].astype(np.int8)))
        run_starts, run_ends = edges[0::2], edges[1::2] + 1              # runs of equal keys in sk
        for x, y in _pairs_in_groups(order, run_starts, run_ends - run_starts):
            lo, hi = np.minimum(x, y), np.maximum(x, y)
            found.append(lo.astype(np.int64) * n + hi)
            pending += len(lo)
        if pending > 4_000_000:
            found = [np.unique(np.concatenate(found))]
            pending = len(found[0])
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def _agreeing_rows(sig: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    out = np.empty(len(lo), dtype=np.int64)
    step = max(1, (1 << 20) // sig.shape[1])          # 8 MB of gathered rows per side at a time
    for s in range(0, len(lo), step):
        out[s:s + step] = (sig[lo[s:s + step]] == sig[hi[s:s + step]]).sum(axis=1)
    return out


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) > len(b):
        a, b = b, a
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[at] == a]


# --------------------------------------------------------------------------------------------- passages
@dataclass(frozen=True, slots=True)
class _Tokens:
    text: str
    spans: np.ndarray               # words × (start, end)
    shingles: np.ndarray            # in text order


def _passages(ta: _Tokens, tb: _Tokens, shared: np.ndarray, k: int) -> tuple[Passage, ...]:
    in_a = np.flatnonzero(_member(ta.shingles, shared))
    where_b: dict[int, list[int]] = {}
    for p in np.flatnonzero(_member(tb.shingles, shared)).tolist():
        where_b.setdefault(int(tb.shingles[p]), []).append(p)

    # runs of shingle positions consecutive in both texts: [a_first, a_last, b_first, b_last]
    runs: list[list[int]] = []
    for p in in_a.tolist():
        options_b = where_b.get(int(ta.shingles[p]), ())
        if runs and runs[-1][1] == p - 1 and runs[-1][3] + 1 in options_b:
            runs[-1][1], runs[-1][3] = p, runs[-1][3] + 1
        elif options_b:
            after = [q for q in options_b if runs and q > runs[-1][3]]
            q = after[0] if after else options_b[0]
            runs.append([p, p, q, q])

    # as word ranges (inclusive), merged when they overlap or are at most k words apart in both texts
    words: list[list[int]] = []
    for a0, a1, b0, b1 in runs:
        a1, b1 = a1 + k - 1, b1 + k - 1
        if words:
            last = words[-1]
            if last[0] <= a0 <= last[1] + 1 + k and last[2] <= b0 <= last[3] + 1 + k:
                last[1], last[3] = max(last[1], a1), max(last[3], b1)
                continue
        words.append([a0, a1, b0, b1])
    out = []
    for a0, a1, b0, b1 in words:
        a_start, a_end = int(ta.spans[a0, 0]), int(ta.spans[a1, 1])
        out.append(Passage(a_start, a_end, int(tb.spans[b0, 0]), int(tb.spans[b1, 1]), ta.text[a_start:a_end]))
    return tuple(out)


# --------------------------------------------------------------------------------------------- entry point
def find_near_duplicates(essays: Iterable[tuple[str, str]],
                         options: DuplicateOptions = DuplicateOptions()) -> list[DuplicatePair]:
    """Pairs of essays whose boilerplate-free shingle sets have containment ≥ ``options.threshold``.

    ``essays`` yields ``(id, text)`` once each (ids unique, any order). A sequence (list, tuple) is read
    back for the passages of the reported pairs; any other iterable (a generator, a database cursor) is read
    once and its texts are kept zlib-compressed until then. Raises ``BadArguments`` (exit code BAD_ARGS) on
    a malformed item or a repeated id. Empty and very short essays are accepted and never paired. See the
    module docstring for the method.
    """
    if not isinstance(options, DuplicateOptions):
        raise BadArguments(f"options must be a DuplicateOptions, got {type(options).__name__}")
    hasher = _Hasher()
    corpus = _read(essays, options, hasher)
    members = np.flatnonzero(corpus.sizes >= MIN_SHARED_SHINGLES)          # the others can never be paired
    if len(members) < 2:
        return []
    lo, hi = _candidate_pairs(corpus, members, options)
    return _report(corpus, lo, hi, options, hasher)


def _candidate_pairs(corpus: _Corpus, members: np.ndarray, options: DuplicateOptions) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (essay indices, lo < hi) among ``members``: LSH over MinHash signatures, then the
    pairs whose signatures agree on too few rows dropped."""
    _, band_count, min_agree = _lsh_design(options.threshold, options.num_perm)
    sig = _signatures(corpus, members, options.num_perm)
    codes = _candidates(sig, _band_rows(options.num_perm, band_count))
    lo, hi = np.divmod(codes, len(members))
    keep = _agreeing_rows(sig, lo, hi) >= min_agree
    del sig
    return members[lo[keep]], members[hi[keep]]


def _report(corpus: _Corpus, lo: np.ndarray, hi: np.ndarray, options: DuplicateOptions,
            hasher: _Hasher) -> list[DuplicatePair]:
    """The candidate pairs measured exactly on their sets; those that pass, with their passages, in output order."""
    k = options.shingle_words
    found: list[tuple[int, int, np.ndarray, float, float]] = []
    for i, j in zip(lo.tolist(), hi.tolist()):
        a, b = corpus.set_of(i), corpus.set_of(j)
        shared = _intersection(a, b)
        n_shared = len(shared)
        if n_shared < MIN_SHARED_SHINGLES:
            continue
        containment = n_shared / min(len(a), len(b))
        if containment < options.threshold:
            continue
        found.append((i, j, shared, n_shared / (len(a) + len(b) - n_shared), containment))

    tokens: dict[int, _Tokens] = {}              # the last few essays' words (copy rings reuse them)

    def tokens_of(i: int) -> _Tokens:
        if i not in tokens:
            if len(tokens) >= 64:
                del tokens[next(iter(tokens))]
            text = corpus.text(i)
            tokens[i] = _Tokens(text, _spans(text), _shingles(hasher.text(text), k))
        return tokens[i]

    pairs = []
    for i, j, shared, similarity, containment in found:
        if corpus.ids[j] < corpus.ids[i]:
            i, j = j, i
        pairs.append(DuplicatePair(corpus.ids[i], corpus.ids[j], similarity, containment,
                                   _passages(tokens_of(i), tokens_of(j), shared, k)))
    pairs.sort(key=lambda p: (-p.containment, -p.similarity, p.a, p.b))
    return pairs
