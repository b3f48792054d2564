"""The Gaussian Ansatz: a learned log-likelihood ratio whose maximum in z is the calibration."""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError, DataError

__all__ = ["GaussianAnsatz", "donsker_varadhan_loss"]


def _mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for size_in, size_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(size_in, size_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)


class GaussianAnsatz(nn.Module):
    r"""T(x, z) = A(x) − ½ (z − B(x))² · C(x, z), with C > 0: a function of the measurement x
    and the truth z whose maximum over z lies at B(x) for every x.

    Trained with :func:`donsker_varadhan_loss`, T approaches log p(x | z)/p(x) + const, so
    B(x) = argmax_z p(x | z) is the maximum-likelihood calibration: it depends on the
    detector response p(x | z) only, not on the distribution of z in the training sample
    (the prior), which only sets where in z the network has examples. The local resolution
    is σ(x) = 1/√C(x, B(x)), the width of the likelihood at its peak.

    This is the Gaussian Ansatz of Gambhir, Nachman and Thaler without its linear term
    (z − B)·D(x), which the authors regularise towards zero; without it the maximum is
    exactly B(x). x and z are standardised with the given locations and scales.

    Arguments:
        x_features: the size of the measurement x.
        hidden: hidden widths of the three networks A, B, C.
        x_loc, x_scale: standardisation of x (scalars or per-feature sequences).
        z_loc, z_scale: standardisation of z (scalars).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> ansatz = GaussianAnsatz(1, hidden=(8,))
        >>> x, z = torch.randn(5, 1), torch.randn(5)
        >>> ansatz(x, z).shape, ansatz.calibrate(x).shape, ansatz.resolution(x).shape
        (torch.Size([5]), torch.Size([5]), torch.Size([5]))

    References:
        Gambhir, Nachman, Thaler, "Learning Uncertainties the Frequentist Way: Calibration and
        Correlation in High Energy Physics", Phys. Rev. Lett. 129 (2022) 082001,
        arXiv:2205.03413; "Bias and Priors in Machine Learning Calibrations for High Energy
        Physics", Phys. Rev. D 106 (2022) 036011, arXiv:2205.05084.
    """

    def __init__(
        self,
        x_features: int = 1,
        *,
        hidden: Sequence[int] = (32, 32),
        x_loc: float | Sequence[float] = 0.0,
        x_scale: float | Sequence[float] = 1.0,
        z_loc: float = 0.0,
        z_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if isinstance(x_features, bool) or not isinstance(x_features, int) or x_features < 1:
            raise ConfigError(f"x_features must be an integer ≥ 1, got {x_features!r}")
        scales = torch.as_tensor(x_scale, dtype=torch.float32).reshape(-1)
        if not (math.isfinite(z_scale) and z_scale > 0) or not bool((scales > 0).all()):
            raise ConfigError(f"scales must be > 0, got x_scale={x_scale}, z_scale={z_scale}")
        self.x_features = x_features
        self.a = _mlp(x_features, hidden, 1)
        self.b = _mlp(x_features, hidden, 1)
        self.c = _mlp(x_features + 1, hidden, 1)
        self.register_buffer("x_loc", torch.as_tensor(x_loc, dtype=torch.float32).reshape(-1))
        self.register_buffer("x_scale", scales)
        self.register_buffer("z_loc", torch.tensor(float(z_loc)))
        self.register_buffer("z_scale", torch.tensor(float(z_scale)))

    def _standard_x(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.x_features:
            raise DataError(f"x has {x.shape[1]} features, the ansatz expects {self.x_features}")
        return (x - self.x_loc) / self.x_scale

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """T(x, z) for each pair, shape (N,)."""
        x = self._standard_x(x)
        z = ((z.reshape(-1) - self.z_loc) / self.z_scale)[:, None]
        peak = self.b(x)
        curvature = F.softplus(self.c(torch.cat([x, z], dim=1))) + 1e-4
        return (self.a(x) - 0.5 * (z - peak) ** 2 * curvature).reshape(-1)

    def calibrate(self, x: torch.Tensor) -> torch.Tensor:
        """The maximum-likelihood calibration B(x), in the units of z: shape (N,)."""
        return (self.b(self._standard_x(x)).reshape(-1)) * self.z_scale + self.z_loc

    def resolution(self, x: torch.Tensor) -> torch.Tensor:
        """σ(x) = 1/√C(x, B(x)), the likelihood's width at its peak, in units of z."""
        x = self._standard_x(x)
        curvature = F.softplus(self.c(torch.cat([x, self.b(x)], dim=1))) + 1e-4
        return curvature.rsqrt().reshape(-1) * self.z_scale


def donsker_varadhan_loss(
    ansatz: GaussianAnsatz,
    x: torch.Tensor,
    z: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""−(E_{p(x,z)}[T] − E_{p(x)p(z)}[e^{T−1}]): minimised, T → log p(x,z)/(p(x)p(z)).

    The product of the marginals is sampled by pairing each x with the z of another event
    of the batch (a random permutation; torch's global RNG unless ``generator`` is given).

    Arguments:
        ansatz: the model T(x, z).
        x: measurements, shape (N, x_features).
        z: truths, shape (N,).
        generator: the RNG of the permutation.

    Returns:
        A scalar tensor; its negative is a lower bound on the mutual information (nats).

    References:
        Nguyen, Wainwright, Jordan (the f-divergence bound), arXiv:0809.0853; Belghazi et al.,
        "MINE", arXiv:1801.04062; Gambhir, Nachman, Thaler, arXiv:2205.03413.
    """
    shuffled = z.reshape(-1)[torch.randperm(len(z), generator=generator, device=z.device)]
    joint = ansatz(x, z).mean()
    marginal = torch.exp(ansatz(x, shuffled) - 1).mean()
    return -(joint - marginal)
