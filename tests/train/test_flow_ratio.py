"""The flow-ratio ensemble: seeded, close to the true log-likelihood ratio, bad input refused."""

import numpy as np
import pytest

from robusthep.errors import ConfigError, DataError
from robusthep.train.flow_ratio import FlowRatioEnsemble


def _gaussians(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n)
    x = rng.normal(0.0, 1.0, (2 * n, 2))
    x[labels == 1, 0] += 1.0  # signal shifted by one σ in the first feature only
    return x, labels


@pytest.mark.slow
def test_log_ratios_recover_the_true_ratio_of_two_gaussians():
    # For N((1, 0), 1) against N((0, 0), 1): log p_s/p_b = x₀ − ½, whatever x₁.
    x, labels = _gaussians(800, 0)
    ensemble = FlowRatioEnsemble(x, labels, np.ones(len(x)), members=2, seed=1, epochs=30)
    probe = np.random.default_rng(2).normal(0.5, 0.8, (400, 2))
    truth = probe[:, 0] - 0.5
    ratios = ensemble.log_ratios(probe)
    assert ratios.shape == (400, 2)
    for member in ratios.T:
        slope = np.polyfit(truth, member, 1)[0]
        assert np.corrcoef(truth, member)[0, 1] > 0.9
        assert 0.6 < slope < 1.4


def test_same_seed_same_ensemble_and_members_differ():
    x, labels = _gaussians(200, 3)
    kwargs = {"members": 2, "seed": 4, "epochs": 3}
    a = FlowRatioEnsemble(x, labels, np.ones(len(x)), **kwargs).log_ratios(x[:20])
    b = FlowRatioEnsemble(x, labels, np.ones(len(x)), **kwargs).log_ratios(x[:20])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[:, 0], a[:, 1])


def test_weights_shape_the_densities():
    # Background weights that favour x₀ > 0 move its density there: the ratio there drops.
    x, labels = _gaussians(400, 5)
    weights = np.where((labels == 0) & (x[:, 0] > 0), 5.0, 1.0)
    plain = FlowRatioEnsemble(x, labels, np.ones(len(x)), members=1, seed=0, epochs=10)
    weighted = FlowRatioEnsemble(x, labels, weights, members=1, seed=0, epochs=10)
    probe = np.array([[1.0, 0.0]])
    assert weighted.log_ratios(probe)[0, 0] < plain.log_ratios(probe)[0, 0]


def test_bad_input_is_refused():
    x, labels = _gaussians(20, 6)
    with pytest.raises(DataError, match="class 1"):
        FlowRatioEnsemble(x[labels == 0], labels[labels == 0], np.ones(20), epochs=1)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="finite"):
        FlowRatioEnsemble(bad, labels, np.ones(40), epochs=1)
    with pytest.raises(ConfigError, match="members"):
        FlowRatioEnsemble(x, labels, np.ones(40), members=0)
    ensemble = FlowRatioEnsemble(x, labels, np.ones(40), members=1, epochs=1)
    with pytest.raises(DataError, match="2 features"):
        ensemble.log_ratios(np.zeros((3, 3)))
