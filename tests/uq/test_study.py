import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.uq import EnsemblePrediction, infinite_width_ensemble
from robusthep.uq.study import ensemble_study, train_member


def test_loss_moments_match_monte_carlo_of_the_gaussian():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    covariance = a @ a.T / 4
    mean = torch.randn(4, 2, generator=generator, dtype=torch.float64)
    y = torch.randn(4, 2, generator=generator, dtype=torch.float64)
    mu, sigma = EnsemblePrediction(mean, covariance).loss_moments(y)
    chol = torch.linalg.cholesky(covariance)
    draws = mean + torch.einsum(
        "ij,sjk->sik", chol, torch.randn(200_000, 4, 2, dtype=torch.float64)
    )
    losses = (draws - y).pow(2).mean(dim=(1, 2))
    assert mu == pytest.approx(float(losses.mean()), rel=0.01)
    assert sigma == pytest.approx(float(losses.std()), rel=0.02)


def test_wide_ensemble_matches_the_infinite_width_mean_and_variance():
    x = torch.linspace(-1, 1, 6, dtype=torch.float64)[:, None]
    y = torch.sin(2 * x)
    x_test = torch.tensor([[-0.7], [0.1], [0.9]], dtype=torch.float64)
    options = {"activation": "erf", "w_std": 1.5, "b_std": 0.3}
    steps, lr = 200, 1.0
    prediction = infinite_width_ensemble(
        x, y, x_test, depth=1, **options, time=steps, learning_rate=lr
    )
    outputs = torch.stack(
        [
            train_member(x, y, hidden=(512,), **options, learning_rate=lr, steps=steps, seed=s)(
                x_test
            ).detach()
            for s in range(40)
        ]
    ).squeeze(-1)
    standard_error = outputs.std(dim=0) / np.sqrt(len(outputs))
    mean = prediction.mean.squeeze(-1)
    assert bool(((outputs.mean(dim=0) - mean).abs() < 4 * standard_error + 0.02).all())
    # The sample variance of 40 draws has a relative error of about √(2/39) ≈ 23%.
    ratio = outputs.var(dim=0) / prediction.variance
    assert bool(((ratio > 0.4) & (ratio < 1.8)).all())


def test_study_rejects_bad_input():
    x, y = torch.zeros(5, 2), torch.zeros(5)
    with pytest.raises(ConfigError, match="members"):
        ensemble_study(x, y, x, y, sizes=[3], members=1)
    with pytest.raises(DataError, match="exceeds"):
        ensemble_study(x, y, x, y, sizes=[6])
    with pytest.raises(DataError, match="same non-zero length"):
        ensemble_study(x, torch.zeros(4), x, y, sizes=[3])
    with pytest.raises(ConfigError, match="sizes"):
        ensemble_study(x, y, x, y, sizes=[])


def test_digits_study_infinite_width_tracks_the_ensemble(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    from robusthep.uq.figures import plot_ensemble_study

    x, labels = datasets.load_digits(return_X_y=True)
    x, y = x / 16.0, np.eye(10)[labels] - 0.1
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:200], order[200:]
    study = ensemble_study(
        x[train],
        y[train],
        x[test],
        y[test],
        sizes=[25, 100],
        members=5,
        width=512,
        steps=200,
        w_std=1.5,
        b_std=0.1,
    )
    for finite, infinite in zip(study.ensemble_mean, study.infinite_mean, strict=True):
        assert finite == pytest.approx(infinite, rel=0.15)
    assert study.ensemble_mean[1] < study.ensemble_mean[0]
    assert plot_ensemble_study(study, tmp_path / "study.png").stat().st_size > 0
