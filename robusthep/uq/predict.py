"""Infinite-width predictions of an ensemble trained by gradient descent on the squared error."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.uq.kernels import fc_kernels

__all__ = ["EnsemblePrediction", "infinite_width_ensemble", "kernel_ensemble"]


@dataclass(frozen=True)
class EnsemblePrediction:
    """The Gaussian that the outputs of an infinitely wide ensemble follow on test inputs.

    Attributes:
        mean: the ensemble mean, shape (m, k).
        covariance: the covariance over initialisations between test inputs, shape (m, m),
            the same for every output unit (units are independent).
    """

    mean: torch.Tensor
    covariance: torch.Tensor

    @property
    def variance(self) -> torch.Tensor:
        """The variance of every test output, shape (m,)."""
        return torch.diagonal(self.covariance).clamp_min(0.0)

    def loss_moments(self, y_test: torch.Tensor | np.ndarray) -> tuple[float, float]:
        r"""Mean μ_L and standard deviation σ_L of the test loss over the ensemble.

        For the test loss L = mean over examples and outputs of (f − y)², with
        f ~ N(mean, covariance) per output unit, exactly:
        μ_L = (‖μ − y‖² + k·tr Σ)/(mk) and Var L = Σ_c (2 tr Σ² + 4 r_cᵀ Σ r_c)/(mk)²,
        r_c = μ_c − y_c.

        Arguments:
            y_test: targets, shape (m, k) or (m,).

        Returns:
            ``(μ_L, σ_L)``.
        """
        y = _as_targets(y_test, "y_test").to(self.mean.dtype)
        if y.shape != self.mean.shape:
            raise DataError(
                f"y_test has shape {tuple(y.shape)}, predictions {tuple(self.mean.shape)}"
            )
        m, k = y.shape
        residual = self.mean - y
        sigma = self.covariance
        mean_loss = (residual.pow(2).sum() + k * torch.trace(sigma)) / (m * k)
        quadratic = torch.einsum("ic,ij,jc->", residual, sigma, residual)
        variance = (2 * k * (sigma * sigma).sum() + 4 * quadratic) / (m * k) ** 2
        return float(mean_loss), float(variance.clamp_min(0).sqrt())


def kernel_ensemble(
    ntk_train_train: torch.Tensor,
    ntk_test_train: torch.Tensor,
    nngp_train_train: torch.Tensor,
    nngp_test_train: torch.Tensor,
    nngp_test_test: torch.Tensor,
    y_train: torch.Tensor | np.ndarray,
    *,
    time: float | None = None,
    learning_rate: float = 1.0,
) -> EnsemblePrediction:
    r"""Mean and covariance of infinitely wide networks trained by gradient descent on MSE.

    Over random initialisations f₀ ~ GP(0, K) (the NNGP), and in the infinite-width limit
    gradient flow on L = ½·mean((f − y)²) (the mean over all n·k entries of y) changes f
    along the constant NTK Θ: with A_t = Θ⁻¹(I − e^{−ηΘt/(nk)}) on the training inputs,

        μ_t(x) = Θ(x, X)·A_t·Y,
        Σ_t(x, x') = K(x, x') + Θ(x, X)A_t K(X, X) A_t Θ(X, x')
                     − Θ(x, X)A_t K(X, x') − K(x, X)A_t Θ(X, x').

    ``time=None`` is the end of training (t → ∞, A = Θ⁻¹). A_t is computed from the
    eigendecomposition of Θ, with (1 − e^{−ηλt/(nk)})/λ → ηt/(nk) for λ → 0 and null
    directions dropped at t = ∞ (a pseudo-inverse). Time is in units of steps: a discrete
    gradient descent of ``steps`` steps with learning rate η approaches ``time=steps``
    when η·λ_max/(nk) ≪ 1.

    Arguments:
        ntk_train_train: Θ(X, X), (n, n).
        ntk_test_train: Θ(x, X), (m, n).
        nngp_train_train: K(X, X), (n, n).
        nngp_test_train: K(x, X), (m, n).
        nngp_test_test: K(x, x), (m, m).
        y_train: targets, (n, k) or (n,).
        time: training steps t, or None for t → ∞.
        learning_rate: η.

    Returns:
        An :class:`EnsemblePrediction`.

    Raises:
        DataError: kernels or targets with inconsistent shapes or non-finite values.
        ConfigError: a negative time or a non-positive learning rate.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> k = fc_kernels(x, depth=1)
        >>> pred = kernel_ensemble(k.ntk, k.ntk, k.nngp, k.nngp, k.nngp, torch.tensor([1.0, -1.0]))
        >>> pred.mean.squeeze(-1).round(decimals=6)  # at t = ∞ the training data is fitted
        tensor([ 1., -1.], dtype=torch.float64)

    References:
        Lee et al., "Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient
        Descent", arXiv:1902.06720 (eq. 16); Jacot, Gabriel, Hongler, arXiv:1806.07572.
    """
    if time is not None and not (math.isfinite(time) and time >= 0):
        raise ConfigError(f"time must be ≥ 0 (steps) or None for t → ∞, got {time!r}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate!r}")
    theta = _as_matrix(ntk_train_train, "ntk_train_train")
    theta_x = _as_matrix(ntk_test_train, "ntk_test_train")
    k_train = _as_matrix(nngp_train_train, "nngp_train_train")
    k_x = _as_matrix(nngp_test_train, "nngp_test_train")
    k_xx = _as_matrix(nngp_test_test, "nngp_test_test")
    y = _as_targets(y_train, "y_train")
    n, m = theta.shape[0], theta_x.shape[0]
    expected = {
        "ntk_train_train": (theta, (n, n)),
        "ntk_test_train": (theta_x, (m, n)),
        "nngp_train_train": (k_train, (n, n)),
        "nngp_test_train": (k_x, (m, n)),
        "nngp_test_test": (k_xx, (m, m)),
        "y_train": (y, (n, y.shape[1])),
    }
    for name, (value, shape) in expected.items():
        if tuple(value.shape) != shape:
            raise DataError(f"{name} has shape {tuple(value.shape)}, expected {shape}")
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (theta + theta.T))
    factors = _transfer_factors(eigenvalues, y.numel(), time, learning_rate)
    transfer = (vectors * factors) @ vectors.T
    gain = theta_x @ transfer
    mean = gain @ y
    covariance = k_xx + gain @ k_train @ gain.T - gain @ k_x.T - k_x @ gain.T
    return EnsemblePrediction(mean=mean, covariance=0.5 * (covariance + covariance.T))


def infinite_width_ensemble(
    x_train: torch.Tensor | np.ndarray,
    y_train: torch.Tensor | np.ndarray,
    x_test: torch.Tensor | np.ndarray,
    *,
    depth: int = 1,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    time: float | None = None,
    learning_rate: float = 1.0,
) -> EnsemblePrediction:
    """The ensemble prediction of :func:`kernel_ensemble` with the kernels of :func:`fc_kernels`.

    Arguments:
        x_train: training inputs, (n, d).
        y_train: training targets, (n, k) or (n,).
        x_test: test inputs, (m, d).
        depth: hidden layers.
        activation: "relu" or "erf".
        w_std: σ_w.
        b_std: σ_b.
        time: gradient-descent steps, or None for the end of training.
        learning_rate: η of the steps.

    Returns:
        An :class:`EnsemblePrediction` for ``x_test``.

    Example:
        >>> x = torch.linspace(-1, 1, 5)[:, None]
        >>> pred = infinite_width_ensemble(x, x.squeeze(1) ** 2, torch.tensor([[0.5]]), depth=2)
        >>> pred.mean.shape, pred.covariance.shape
        (torch.Size([1, 1]), torch.Size([1, 1]))

    References:
        Lee et al., arXiv:1902.06720; Novak et al., "Neural Tangents", arXiv:1912.02803.
    """
    options = {"depth": depth, "activation": activation, "w_std": w_std, "b_std": b_std}
    train = fc_kernels(x_train, **options)
    cross = fc_kernels(x_test, x_train, **options)
    test = fc_kernels(x_test, **options)
    return kernel_ensemble(
        train.ntk,
        cross.ntk,
        train.nngp,
        cross.nngp,
        test.nngp,
        y_train,
        time=time,
        learning_rate=learning_rate,
    )


def _transfer_factors(
    eigenvalues: torch.Tensor, size: int, time: float | None, learning_rate: float
) -> torch.Tensor:
    """(1 − e^{−ηλt/N})/λ per eigenvalue λ of Θ; 1/λ (0 in null directions) at t = ∞."""
    tolerance = eigenvalues.abs().max() * eigenvalues.numel() * torch.finfo(eigenvalues.dtype).eps
    positive = eigenvalues > tolerance
    safe = torch.where(positive, eigenvalues, torch.ones_like(eigenvalues))
    if time is None:
        return torch.where(positive, 1.0 / safe, torch.zeros_like(eigenvalues))
    rate = learning_rate * time / size
    finite = -torch.expm1(-safe * rate) / safe
    return torch.where(positive, finite, torch.full_like(eigenvalues, rate))


def _as_matrix(value: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    value = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
    value = value.detach().to(torch.float64)
    if value.ndim != 2:
        raise DataError(f"{name} must be a matrix, got shape {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return value


def _as_targets(value: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    value = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
    value = value.detach().to(torch.float64)
    if value.ndim == 1:
        value = value[:, None]
    if value.ndim != 2 or value.shape[0] == 0:
        raise DataError(f"{name} must have shape (examples,) or (examples, outputs)")
    if not torch.isfinite(value).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return value
