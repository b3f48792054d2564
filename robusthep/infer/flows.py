"""Conditional normalising flows p(x | θ) through zuko, used directly as likelihoods."""

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from robusthep.errors import ConfigError, DataError
from robusthep.infer.ratio import _check_inside, _check_ranges

__all__ = ["ConditionalFlow", "flow_loss"]

Batch = tuple[torch.Tensor, ...]


class ConditionalFlow(nn.Module):
    r"""A neural spline flow for the density p(x | θ), with θ as its context.

    x is standardised with ``x_mean``/``x_std`` (the Jacobian is included, so
    :meth:`log_prob` is the density of the unstandardised x) and θ with the centre and
    half-width of ``theta_range``. Summed over the events of a data set, log p(xᵢ|θ) is the
    (shape) log-likelihood of θ. θ outside the training range raises
    :class:`OutsideTrainingRangeError` unless ``extrapolate=True``.

    Arguments:
        features: the size of x.
        parameters: the size of θ (≥ 1).
        theta_range: one (low, high) pair per parameter.
        transforms: the number of spline transforms (autoregressive).
        hidden: the hidden widths of each transform's network.
        bins: the bins of each rational-quadratic spline.
        x_mean, x_std: the standardisation of x.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> flow = ConditionalFlow(2, 1, theta_range=[(-1.0, 1.0)], transforms=1, hidden=(8,))
        >>> flow.log_prob(torch.zeros(5, 2), torch.zeros(5, 1)).shape
        torch.Size([5])

    References:
        Durkan et al., "Neural Spline Flows", arXiv:1906.04032; Papamakarios, Sterratt,
        Murray, "Sequential Neural Likelihood", arXiv:1805.07226; zuko (Rozet et al.).
    """

    def __init__(
        self,
        features: int,
        parameters: int,
        *,
        theta_range: Sequence[tuple[float, float]],
        transforms: int = 3,
        hidden: Sequence[int] = (64, 64),
        bins: int = 8,
        x_mean: ArrayLike | None = None,
        x_std: ArrayLike | None = None,
    ) -> None:
        super().__init__()
        import zuko

        for name, value in (("features", features), ("parameters", parameters)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer ≥ 1, got {value!r}")
        self.theta_range = _check_ranges(theta_range, parameters)
        self.features, self.theta_features = features, parameters
        self.flow = zuko.flows.NSF(
            features,
            context=parameters,
            transforms=transforms,
            hidden_features=tuple(hidden),
            bins=bins,
        )
        mean = np.zeros(features) if x_mean is None else np.asarray(x_mean, dtype=float)
        std = np.ones(features) if x_std is None else np.asarray(x_std, dtype=float)
        if mean.shape != (features,) or std.shape != (features,) or not np.all(std > 0):
            raise ConfigError(f"x_mean and x_std need {features} values each, x_std > 0")
        self.register_buffer("x_mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(std, dtype=torch.float32))
        centre = [(low + high) / 2 for low, high in self.theta_range]
        half = [(high - low) / 2 for low, high in self.theta_range]
        self.register_buffer("theta_centre", torch.tensor(centre, dtype=torch.float32))
        self.register_buffer("theta_half", torch.tensor(half, dtype=torch.float32))

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """log p(x | θ) per row, shape (N,), without range checks (training calls this)."""
        context = (theta.reshape(len(x), self.theta_features) - self.theta_centre) / self.theta_half
        z = (x - self.x_mean) / self.x_std
        return self.flow(context).log_prob(z) - torch.log(self.x_std).sum()

    def log_prob(
        self, x: torch.Tensor, theta: torch.Tensor, *, extrapolate: bool = False
    ) -> torch.Tensor:
        """log p(x | θ) per event.

        Arguments:
            x: events, (N, features).
            theta: (N, parameters), or (parameters,) for every row.
            extrapolate: evaluate θ outside the training range instead of raising.
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 2 or x.shape[1] != self.features:
            raise DataError(f"x must have shape (N, {self.features}), got {tuple(x.shape)}")
        theta = torch.as_tensor(theta, dtype=torch.float32)
        theta = theta.reshape(-1, self.theta_features).expand(len(x), self.theta_features)
        if not extrapolate:
            _check_inside(theta, self.theta_range, "flow")
        return self(x, theta)


def flow_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """The weighted negative log-likelihood of a batch (x, θ, w), a ``loss_fn`` for ``fit``.

    Example:
        >>> flow = ConditionalFlow(1, 1, theta_range=[(0.0, 1.0)], transforms=1, hidden=(8,))
        >>> bool(torch.isfinite(flow_loss(flow, (torch.zeros(4, 1), torch.zeros(4, 1),
        ...                                      torch.ones(4)))))
        True
    """
    x, theta, w = batch[0], batch[1], batch[2].reshape(-1)
    return -(w * model(x, theta)).sum() / w.sum()
