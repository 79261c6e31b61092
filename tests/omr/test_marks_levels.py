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
