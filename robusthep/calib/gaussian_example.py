"""The Gaussian example of prior dependence: an MSE calibration is biased when the truth
spectrum changes, the maximum-likelihood calibration is not."""

from collections.abc import Sequence

import torch

from robusthep.calib.calibration import mse_calibration, prior_independent_calibration
from robusthep.errors import ConfigError

__all__ = ["gaussian_prior_example"]


def gaussian_prior_example(
    *,
    train_mean: float = 0.0,
    test_mean: float = 1.0,
    prior_width: float = 1.0,
    noise: float = 1.0,
    events: int = 20000,
    epochs: int = 10,
    hidden: Sequence[int] = (32, 32),
    seed: int = 0,
) -> dict[str, float]:
    r"""Train both calibrations on z ~ N(train_mean, prior_width²), x = z + N(0, noise²), and
    measure their bias on a test sample with z ~ N(test_mean, prior_width²).

    Analytically, E_train[z | x] = (1 − k)x + k·train_mean with k = noise²/(prior_width² +
    noise²): on the test sample its mean bias is k·(train_mean − test_mean), and at fixed
    truth z its bias is k·(train_mean − z) (slope −k). The maximum-likelihood calibration
    is ẑ = x: no bias, slope 0, resolution ``noise``.

    Arguments:
        train_mean: the mean of the training truths.
        test_mean: the mean of the test truths.
        prior_width: the width of both truth spectra.
        noise: the Gaussian resolution of x given z.
        events: events in each of the training and test samples.
        epochs, hidden: the training and the networks of both calibrations.
        seed: seeds the samples and the training.

    Returns:
        ``analytic_mse_bias``; the measured ``mse_bias``, ``prior_independent_bias`` (mean of
        calibrated − true on the test sample) and their statistical ``…_error``;
        ``mse_slope`` and ``prior_independent_slope`` (of calibrated − true against true on
        the test sample; analytic −k and 0); ``resolution`` (mean learned σ(x); analytic
        ``noise``).

    References:
        Gambhir, Nachman, Thaler, "Bias and Priors in Machine Learning Calibrations for High
        Energy Physics", arXiv:2205.05084, section on the Gaussian example.
    """
    if not (prior_width > 0 and noise > 0):
        raise ConfigError(f"prior_width and noise must be > 0, got {prior_width}, {noise}")
    if isinstance(events, bool) or not isinstance(events, int) or events < 100:
        raise ConfigError(f"events must be an integer ≥ 100, got {events!r}")
    generator = torch.Generator().manual_seed(seed)

    def sample(mean: float) -> tuple[torch.Tensor, torch.Tensor]:
        z = mean + prior_width * torch.randn(events, generator=generator)
        return z + noise * torch.randn(events, generator=generator), z

    x_train, z_train = sample(train_mean)
    x_test, z_test = sample(test_mean)
    options = {"hidden": hidden, "epochs": epochs, "seed": seed}
    mse = mse_calibration(x_train, z_train, **options)
    ansatz = prior_independent_calibration(x_train, z_train, **options)
    shrink = noise**2 / (prior_width**2 + noise**2)
    results = {"analytic_mse_bias": shrink * (train_mean - test_mean), "analytic_slope": -shrink}
    with torch.no_grad():
        for name, calibrated in (
            ("mse", mse(x_test[:, None])),
            ("prior_independent", ansatz.calibrate(x_test[:, None])),
        ):
            residual = (calibrated - z_test).double()
            results[f"{name}_bias"] = residual.mean().item()
            results[f"{name}_bias_error"] = (residual.std() / events**0.5).item()
            centred = z_test.double() - z_test.double().mean()
            results[f"{name}_slope"] = ((centred * residual).sum() / (centred**2).sum()).item()
        results["resolution"] = ansatz.resolution(x_test[:, None]).mean().item()
    return results
