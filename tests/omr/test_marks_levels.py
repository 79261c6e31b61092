"""The page-level percentiles the bubble measures use, against numpy's own (same interpolation)."""
import numpy as np

from omr.marks import _percentile_rows, percentile


def test_percentile_matches_numpy():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 32, 101):
        v = rng.normal(size=n)
        for q in (0, 1, 10, 25, 50, 75, 90, 100):
            assert np.isclose(percentile(v, q), np.percentile(v, q), rtol=0, atol=1e-12)


def test_percentile_rows_gives_every_asked_percentile_from_one_sort():
    a = np.random.default_rng(4).uniform(size=(50, 32)).astype(np.float32)
    med, p75 = _percentile_rows(a, (50, 75))
    assert np.allclose(med, np.median(a, axis=1), atol=1e-6)
    assert np.allclose(p75, np.percentile(a, 75, axis=1), atol=1e-6)


def test_percentile_rows_by_sort_or_by_partition_are_the_same_values(monkeypatch):
    import omr.marks as marks
    rng = np.random.default_rng(6)
    for cols in (1, 2, 5, 32, 96, 700):
        a = rng.uniform(size=(40, cols)).astype(np.float32)
        a[:, ::3] = np.round(a[:, ::3], 1)                                  # ties
        qs = (1, 25, 50, 75, 90, 100)
        monkeypatch.setattr(marks, "_SORT_ROWS_UP_TO", 10**9)
        by_sort = _percentile_rows(a, qs)
        monkeypatch.setattr(marks, "_SORT_ROWS_UP_TO", 0)
        by_partition = _percentile_rows(a, qs)
        for s, p in zip(by_sort, by_partition):
            assert s.dtype == p.dtype and np.array_equal(s, p)


def test_darkest_per_sector_and_per_angle_by_the_fast_reductions():
    from omr.marks import _SECTOR_BOUNDS, _SECTORS, _min_of
    a = np.random.default_rng(7).integers(0, 256, size=(30, 32)).astype(np.float32)
    assert np.array_equal(np.minimum.reduceat(a, _SECTOR_BOUNDS, axis=1)[:, ::2], a[:, _SECTORS].min(axis=2))
    loops = np.random.default_rng(8).integers(0, 256, size=(30, 200)).astype(np.float32)[:, 8:].reshape(30, 6, 32)
    for part in (loops[:, :2], loops[:, 2:], loops):
        assert np.array_equal(_min_of(part), part.min(axis=1))
