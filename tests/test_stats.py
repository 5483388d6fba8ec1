"""Wilson interval and exact McNemar against values computed by hand / known references."""

import math

import pytest

from builder.analysis.stats import mcnemar_exact, paired_counts, wilson_interval


def test_wilson_matches_the_closed_form_reference():
    # 82 of 100, by hand: centre 0.839207 / 1.038415, half-width 1.96 * sqrt(0.001572) / 1.038415
    lo, hi = wilson_interval(82, 100)
    assert lo == pytest.approx(0.7333, abs=1e-4)
    assert hi == pytest.approx(0.8830, abs=1e-4)


def test_wilson_stays_inside_zero_one_and_is_not_degenerate_at_the_edges():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.2 < hi < 0.35  # the Wald interval would be (0, 0)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.65 < lo < 0.8
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_mcnemar_exact_binomial_tail():
    # 2 vs 10 discordant: 2 * sum_{i<=2} C(12,i) / 2^12 = 2 * 79 / 4096
    assert mcnemar_exact(2, 10) == pytest.approx(2 * 79 / 4096)
    assert mcnemar_exact(10, 2) == mcnemar_exact(2, 10)
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    # 28 vs 92 (the demo's oracle run): far below 0.05
    assert mcnemar_exact(28, 92) < 1e-8
    assert math.isclose(mcnemar_exact(0, 6), 2 / 64)


def test_paired_counts_only_use_shared_problems():
    a = {"p1": True, "p2": True, "p3": False, "p4": False, "x": True}
    b = {"p1": True, "p2": False, "p3": True, "p4": False, "y": False}
    assert paired_counts(a, b) == {"problems": 4, "only_a": 1, "only_b": 1, "both": 1, "neither": 1}
