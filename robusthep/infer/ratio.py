"""The likelihood-ratio trick: a classifier s(x; θ) read as the density ratio r = s/(1 − s)."""

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import nn

from robusthep.errors import ConfigError, DataError
from robusthep.infer.errors import OutsideTrainingRangeError

__all__ = ["RatioEstimator", "log_ratio_from_probability", "ratio_loss"]

Batch = tuple[torch.Tensor, ...]


def log_ratio_from_probability(probability: ArrayLike) -> np.ndarray:
    """log r = log s − log(1 − s) of classifier probabilities, never NaN.

    s = 1 gives +inf and s = 0 gives −inf (the ratio is infinite or zero there, which is
    what the classifier claims); anything outside [0, 1] or NaN is an error. Prefer the
    logit of the network itself (:meth:`RatioEstimator.log_ratio`): it is finite wherever
    the network is.

    Example:
        >>> log_ratio_from_probability([0.5, 0.8, 1.0, 0.0]).round(4).tolist()
        [0.0, 1.3863, inf, -inf]
    """
    s = np.asarray(probability, dtype=float)
    if np.any(~np.isfinite(s)) or np.any((s < 0) | (s > 1)):
        bad = s[~(np.isfinite(s) & (s >= 0) & (s <= 1))].reshape(-1)[0]
        raise DataError(f"classifier probabilities must lie in [0, 1], got {bad!r}")
    with np.errstate(divide="ignore"):
        return np.log(s) - np.log1p(-s)


class RatioEstimator(nn.Module):
    """A classifier of x (and optionally θ) whose logit is the log density ratio.

    Trained with :func:`ratio_loss` on events of the numerator hypothesis (label 1) and of
    the reference (label 0), with equal total weight, the optimal output is
    s = p₁/(p₁ + p₀), so its logit is log r(x; θ) = log p(x|θ)/p(x|θ_ref): the
    likelihood-ratio trick. The ratio is computed from the logit, so s = 0 or 1 never makes
    it NaN. With ``parameters`` > 0 it is the parametrised classifier of Cranmer et al.:
    θ is an input, one network serves a whole scan, and asking it about θ outside
    ``theta_range`` raises :class:`OutsideTrainingRangeError` unless ``extrapolate=True``.

    Inputs are standardised with ``x_mean``/``x_std`` (give the training data's) and θ
    with the centre and half-width of its range.

    Arguments:
        features: the size of x.
        parameters: the size of θ; 0 for a plain (unparametrised) classifier.
        hidden: the widths of the hidden layers (SiLU activations: smooth in θ).
        theta_range: one (low, high) pair per parameter, the range it is trained on.
        x_mean, x_std: the standardisation of x (default 0 and 1).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = RatioEstimator(2, parameters=1, theta_range=[(0.9, 1.1)])
        >>> model.log_ratio(torch.zeros(3, 2), torch.full((3, 1), 1.0)).shape
        torch.Size([3])
        >>> model.log_ratio(torch.zeros(1, 2), torch.tensor([[1.2]]))
        Traceback (most recent call last):
        ...
        robusthep.infer.errors.OutsideTrainingRangeError: θ[0] = 1.2 is outside the \
training range [0.9, 1.1] of this model; train on a wider range, or pass extrapolate=True

    References:
        Cranmer, Pavez, Louppe, "Approximating Likelihood Ratios with Calibrated
        Discriminative Classifiers", arXiv:1506.02169; Baldi et al., "Parameterized neural
        networks for high-energy physics", arXiv:1601.07913.
    """

    def __init__(
        self,
        features: int,
        *,
        parameters: int = 0,
        hidden: Sequence[int] = (64, 64),
        theta_range: Sequence[tuple[float, float]] | None = None,
        x_mean: ArrayLike | None = None,
        x_std: ArrayLike | None = None,
    ) -> None:
        super().__init__()
        for name, value, least in (("features", features, 1), ("parameters", parameters, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} must be an integer ≥ {least}, got {value!r}")
        ranges = _check_ranges(theta_range, parameters)
        widths = [features + parameters, *hidden]
        layers: list[nn.Module] = []
        for size_in, size_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(size_in, size_out), nn.SiLU()]
        layers.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*layers)
        self.features, self.theta_features = features, parameters
        self.theta_range = ranges
        mean = np.zeros(features) if x_mean is None else np.asarray(x_mean, dtype=float)
        std = np.ones(features) if x_std is None else np.asarray(x_std, dtype=float)
        if mean.shape != (features,) or std.shape != (features,) or not np.all(std > 0):
            raise ConfigError(
                f"x_mean and x_std need {features} values each, x_std > 0; got shapes "
                f"{mean.shape} and {std.shape}"
            )
        self.register_buffer("x_mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(std, dtype=torch.float32))
        centre = [(low + high) / 2 for low, high in ranges]
        half = [(high - low) / 2 for low, high in ranges]
        self.register_buffer("theta_centre", torch.tensor(centre, dtype=torch.float32))
        self.register_buffer("theta_half", torch.tensor(half, dtype=torch.float32))

    def forward(self, x: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """The logit, shape (N,), with no range check (training calls this)."""
        inputs = (x - self.x_mean) / self.x_std
        if self.theta_features:
            if theta is None:
                raise DataError("this parametrised model needs θ as its second input")
            theta = theta.reshape(len(x), self.theta_features)
            inputs = torch.cat([inputs, (theta - self.theta_centre) / self.theta_half], dim=1)
        return self.net(inputs).reshape(-1)

    def check_theta(self, theta: torch.Tensor) -> None:
        """Raise :class:`OutsideTrainingRangeError` for any θ outside the training range."""
        _check_inside(theta, self.theta_range, "model")

    def log_ratio(
        self, x: torch.Tensor, theta: torch.Tensor | None = None, *, extrapolate: bool = False
    ) -> torch.Tensor:
        """log r(x; θ) = log p(x|θ)/p(x|θ_ref), the network's logit, shape (N,).

        Arguments:
            x: events, (N, features).
            theta: parameters, (N, parameters) or (parameters,) for all rows; None when
                the model is not parametrised.
            extrapolate: evaluate θ outside the training range instead of raising.
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 2 or x.shape[1] != self.features:
            raise DataError(f"x must have shape (N, {self.features}), got {tuple(x.shape)}")
        if self.theta_features:
            if theta is None:
                raise DataError("this parametrised model needs θ: log_ratio(x, theta)")
            theta = torch.as_tensor(theta, dtype=torch.float32)
            theta = theta.reshape(-1, self.theta_features).expand(len(x), self.theta_features)
            if not extrapolate:
                self.check_theta(theta)
        return self(x, theta)


def _check_inside(theta: torch.Tensor, ranges: Sequence[tuple[float, float]], what: str) -> None:
    theta = torch.as_tensor(theta).reshape(-1, len(ranges))
    for index, (low, high) in enumerate(ranges):
        column = theta[:, index]
        outside = (column < low) | (column > high) | ~torch.isfinite(column)
        if bool(outside.any()):
            value = float(column[outside][0])
            raise OutsideTrainingRangeError(
                f"θ[{index}] = {value:g} is outside the training range [{low:g}, {high:g}] "
                f"of this {what}; train on a wider range, or pass extrapolate=True"
            )


def _check_ranges(
    theta_range: Sequence[tuple[float, float]] | None, parameters: int
) -> list[tuple[float, float]]:
    if parameters == 0:
        if theta_range:
            raise ConfigError("theta_range was given but parameters = 0")
        return []
    if theta_range is None or len(theta_range) != parameters:
        raise ConfigError(
            f"theta_range needs one (low, high) pair per parameter ({parameters}), got "
            f"{theta_range!r}"
        )
    ranges = []
    for low, high in theta_range:
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"a θ range must be finite with low < high, got ({low}, {high})")
        ranges.append((float(low), float(high)))
    return ranges


def ratio_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Weighted binary cross-entropy of the logit, a ``loss_fn`` for :func:`robusthep.train.fit`.

    ``batch`` is (x, y, w) for a plain estimator or (x, θ, y, w) for a parametrised one; y is
    1 for events of the numerator hypothesis, 0 for the reference; w are per-event weights
    (normalise each class to the same total so that the logit is the log ratio).

    Example:
        >>> model = RatioEstimator(1)
        >>> x, y, w = torch.zeros(4, 1), torch.tensor([0.0, 1, 0, 1]), torch.ones(4)
        >>> round(ratio_loss(model, (x, y, w)).item(), 4) >= 0
        True
    """
    if len(batch) == 3:
        x, y, w = batch
        logits = model(x)
    else:
        x, theta, y, w = batch
        logits = model(x, theta)
    losses = F.binary_cross_entropy_with_logits(logits, y.reshape(-1), reduction="none")
    w = w.reshape(-1)
    return (w * losses).sum() / w.sum()
