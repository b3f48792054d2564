import math

import numpy as np
import pytest

from robusthep.audit import (
    DEFAULT_MASS_BINS,
    abcd_closure,
    auc,
    background_rejection,
    bootstrap,
    inverse_jsd,
    jensen_shannon_divergence,
    roc_curve,
    sculpted_histograms,
    tagger_metrics,
    threshold_at_efficiency,
)
from robusthep.errors import ConfigError, DataError

# Four signal events (weights 1, 1, 1, 1) and four background events (weights 1, 2, 3, 4).
SCORES = np.array([0.9, 0.7, 0.5, 0.2, 0.8, 0.6, 0.3, 0.1])
LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 3, 4], dtype=float)


def test_roc_and_auc_by_hand():
    curve = roc_curve(SCORES, LABELS, WEIGHTS)
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1]
    assert curve.signal_efficiency.tolist() == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    assert curve.background_efficiency.tolist() == pytest.approx(
        [0, 0.1, 0.1, 0.3, 0.3, 0.6, 0.6, 1]
    )
    # P(s_S > s_B), weighted: signal 0.9 beats 10, 0.7 beats 9, 0.5 beats 7, 0.2 beats 4 of 40
    assert auc(SCORES, LABELS, WEIGHTS) == pytest.approx((10 + 9 + 7 + 4) / 40)


def test_auc_counts_ties_as_one_half():
    assert auc([0.5, 0.5], [1, 0]) == 0.5
    assert auc([1, 0], [1, 0]) == 1.0


def test_rejection_at_fifty_percent_by_hand():
    # ε_S = 0.5 is first reached at the cut 0.7, where background 0.8 (weight 1 of 10) passes
    assert threshold_at_efficiency(SCORES, LABELS, WEIGHTS) == 0.7
    assert background_rejection(SCORES, LABELS, WEIGHTS) == pytest.approx(10.0)
    assert background_rejection(SCORES, LABELS, WEIGHTS, efficiency=0.25) == math.inf
    # all signal at the cut 0.2: background 0.8, 0.6, 0.3 (weights 1 + 2 + 3 of 10) pass
    assert background_rejection(SCORES, LABELS, WEIGHTS, efficiency=1.0) == pytest.approx(10 / 6)


def test_jensen_shannon_by_hand():
    assert jensen_shannon_divergence([1, 1], [5, 5]) == 0.0
    assert jensen_shannon_divergence([1, 0], [0, 2]) == 1.0
    # P = (1, 0), Q = (½, ½): M = (¾, ¼); JSD = ½ log₂(4/3) + ½ (½ log₂(2/3) + ½ log₂ 2)
    expected = 0.5 * math.log2(4 / 3) + 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2))
    assert jensen_shannon_divergence([2, 0], [1, 1]) == pytest.approx(expected)


def test_sculpting_by_hand():
    mass = np.array([80, 80, 80, 80, 60, 60, 120, 130])
    # cut 0.7: passing background = 0.8 (m 60, w 1); failing = 0.6 (60, w 2), 0.3 (120, w 3),
    # 0.1 (130, w 4) → in bins [50, 100, 150]: passing (1, 0), failing (2, 7)/9
    passing, failing = sculpted_histograms(SCORES, LABELS, mass, WEIGHTS, bins=[50, 100, 150])
    assert passing.tolist() == [1.0, 0.0]
    assert failing.tolist() == pytest.approx([2 / 9, 7 / 9])
    expected = 1 / jensen_shannon_divergence([1, 0], [2, 7])
    assert inverse_jsd(SCORES, LABELS, mass, WEIGHTS, bins=[50, 100, 150]) == pytest.approx(
        expected
    )
    assert DEFAULT_MASS_BINS.tolist() == [50 + 5 * i for i in range(51)]


def test_independent_tagger_does_not_sculpt_and_a_mass_tagger_does():
    generator = np.random.default_rng(0)
    labels = generator.random(20000) < 0.5
    mass = generator.uniform(50, 300, 20000)
    independent = labels + generator.normal(0, 1, 20000)
    window = -np.abs(mass - 80) + 30 * labels
    flat = inverse_jsd(independent, labels, mass)
    sculpted = inverse_jsd(window, labels, mass)
    assert flat > 50  # limited by the statistics of 50 bins only
    assert sculpted < 2


def test_bootstrap_is_seeded_and_matches_the_binomial_error():
    generator = np.random.default_rng(1)
    passed = (generator.random(2000) < 0.3).astype(float)
    first = bootstrap(np.mean, passed, resamples=300, seed=7)
    again = bootstrap(np.mean, passed, resamples=300, seed=7)
    assert first == again
    binomial = math.sqrt(first.value * (1 - first.value) / 2000)
    assert first.error == pytest.approx(binomial, rel=0.15)
    assert first.low < first.value < first.high


def test_abcd_closure_by_hand():
    f = np.array([0.9, 0.9, 0.1, 0.1, 0.1, 0.9])
    g = np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.9])
    labels = np.array([0, 0, 0, 0, 0, 1])
    weights = np.array([2.0, 3.0, 4.0, 1.0, 2.0, 100.0])
    result = abcd_closure(f, g, labels, weights, cuts=(0.5, 0.5))
    assert result.yields == {"A": 2.0, "B": 3.0, "C": 4.0, "D": 3.0}
    assert result.errors["D"] == pytest.approx(math.sqrt(5))
    assert result.predicted == pytest.approx(4.0)
    assert result.closure == pytest.approx(2.0)
    relative = math.sqrt((2 / 2) ** 2 + (3 / 3) ** 2 + (4 / 4) ** 2 + (math.sqrt(5) / 3) ** 2)
    assert result.closure_error == pytest.approx(2.0 * relative)


def test_abcd_closes_for_independent_variables():
    generator = np.random.default_rng(2)
    f, g = generator.random((2, 40000))
    result = abcd_closure(f, g, np.zeros(40000), cuts=(0.7, 0.6))
    assert abs(result.closure - 1) < 3 * result.closure_error


def test_tagger_metrics_collects_every_working_point():
    generator = np.random.default_rng(3)
    labels = generator.random(3000) < 0.5
    mass = generator.uniform(50, 300, 3000)
    scores = labels + generator.normal(0, 1, 3000)
    metrics = tagger_metrics(scores, labels, mass, efficiencies=(0.5, 0.2), resamples=10)
    assert sorted(metrics) == ["R20", "R50", "auc", "inverse_jsd20", "inverse_jsd50"]
    assert metrics["R50"]["value"] == background_rejection(scores, labels)
    assert metrics["auc"]["error"] > 0


def test_bad_input():
    with pytest.raises(DataError, match="NaN"):
        auc([0.1, float("nan")], [0, 1])
    with pytest.raises(DataError, match="length"):
        inverse_jsd(SCORES, LABELS, np.ones(7))
    with pytest.raises(DataError, match="signal events have no weight"):
        auc([0.1, 0.2], [0, 0])
    with pytest.raises(DataError, match="0 .background. or 1"):
        auc([0.1, 0.2], [0, 2])
    with pytest.raises(DataError, match="weights must be ≥ 0"):
        auc([0.1, 0.2], [0, 1], [1, -1])
    with pytest.raises(ConfigError, match="efficiency"):
        background_rejection(SCORES, LABELS, efficiency=0)
    with pytest.raises(ConfigError, match="bins"):
        inverse_jsd(SCORES, LABELS, np.ones(8) * 80, bins=[100, 50])
    with pytest.raises(DataError, match="region A"):
        abcd_closure([0.1, 0.9], [0.1, 0.1], [0, 0], cuts=(0.5, 0.5))
