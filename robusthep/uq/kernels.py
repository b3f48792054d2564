"""The analytic NNGP and NTK kernels of infinitely wide fully connected networks."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from robusthep.errors import ConfigError, DataError

__all__ = ["ACTIVATIONS", "Kernels", "fc_kernels"]

#: Activations whose infinite-width kernels are known in closed form here.
ACTIVATIONS = ("erf", "relu")


@dataclass(frozen=True)
class Kernels:
    """The two kernels of an infinitely wide network between two sets of inputs.

    Attributes:
        nngp: K(x, x'), the covariance of the outputs over random initialisations
            (the neural-network Gaussian process), shape (n1, n2).
        ntk: Θ(x, x'), the neural tangent kernel, shape (n1, n2).
    """

    nngp: torch.Tensor
    ntk: torch.Tensor


def fc_kernels(
    x1: torch.Tensor | np.ndarray,
    x2: torch.Tensor | np.ndarray | None = None,
    *,
    depth: int = 1,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
) -> Kernels:
    r"""NNGP and NTK of a fully connected network of infinite width, NTK parametrisation.

    The network has ``depth`` hidden layers and one output layer, each
    z^{l+1} = (σ_w/√n_l)·W^{l+1}φ(z^l) + σ_b·b^{l+1} with all W, b ~ N(0, 1) (the NTK
    parametrisation of Jacot et al., ``stax.Dense(..., parameterization="ntk")`` in
    neural-tangents, and :class:`~robusthep.uq.NTKMLP` here). With the input layer
    K¹ = σ_w²·x·x'/d + σ_b² and Θ¹ = K¹, each hidden layer maps

        K^{l+1} = σ_w²·E[φ(u)φ(v)] + σ_b²,   Θ^{l+1} = K^{l+1} + σ_w²·E[φ'(u)φ'(v)]·Θ^l,

    with (u, v) Gaussian of covariance K^l. In closed form, with cos θ = K₁₂/√(K₁₁K₂₂):
    ReLU E[φφ] = √(K₁₁K₂₂)(sin θ + (π − θ)cos θ)/(2π), E[φ'φ'] = (π − θ)/(2π); erf
    E[φφ] = (2/π)·arcsin(2K₁₂/√((1 + 2K₁₁)(1 + 2K₂₂))),
    E[φ'φ'] = (4/π)/√((1 + 2K₁₁)(1 + 2K₂₂) − 4K₁₂²). Every output unit has these kernels
    and units are independent. Computed in float64.

    Arguments:
        x1: inputs, shape (n1, d).
        x2: inputs, shape (n2, d); None for ``x1`` itself.
        depth: the number of hidden layers (≥ 0; 0 is a linear model).
        activation: "relu" or "erf" (φ(x) = erf(x)).
        w_std: σ_w, the weight standard deviation (> 0).
        b_std: σ_b, the bias standard deviation (≥ 0).

    Returns:
        :class:`Kernels` with the NNGP and the NTK, each (n1, n2), float64.

    Raises:
        ConfigError: an unsupported activation, a negative depth or standard deviation.
        DataError: inputs that are not 2-d, differ in features, or are not finite.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> k = fc_kernels(x, depth=1, activation="relu", w_std=1.0, b_std=0.0)
        >>> k.nngp
        tensor([[0.2500, 0.0796],
                [0.0796, 0.2500]], dtype=torch.float64)

    References:
        Jacot, Gabriel, Hongler, "Neural Tangent Kernel", arXiv:1806.07572; Lee et al.,
        "Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent",
        arXiv:1902.06720; Novak et al., "Neural Tangents", arXiv:1912.02803.
    """
    _check_architecture(depth=depth, activation=activation, w_std=w_std, b_std=b_std)
    a = _as_inputs(x1, "x1")
    b = a if x2 is None else _as_inputs(x2, "x2")
    if a.shape[1] != b.shape[1]:
        raise DataError(f"x1 has {a.shape[1]} features and x2 has {b.shape[1]}")
    d = a.shape[1]
    w2, b2 = float(w_std) ** 2, float(b_std) ** 2
    cross = w2 * (a @ b.T) / d + b2
    diag1 = w2 * (a * a).sum(dim=1) / d + b2
    diag2 = w2 * (b * b).sum(dim=1) / d + b2
    ntk = cross.clone()
    for _ in range(depth):
        moment, derivative = _moments(activation, cross, diag1[:, None], diag2[None, :])
        diag1_moment, _ = _moments(activation, diag1, diag1, diag1)
        diag2_moment, _ = _moments(activation, diag2, diag2, diag2)
        cross = w2 * moment + b2
        ntk = cross + w2 * derivative * ntk
        diag1 = w2 * diag1_moment + b2
        diag2 = w2 * diag2_moment + b2
    return Kernels(nngp=cross, ntk=ntk)


def _moments(
    activation: str, k12: torch.Tensor, k11: torch.Tensor, k22: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]])."""
    if activation == "relu":
        norms = torch.sqrt(k11 * k22)
        safe = torch.where(norms > 0, norms, torch.ones_like(norms))
        cosine = torch.clamp(k12 / safe, -1.0, 1.0)
        theta = torch.arccos(cosine)
        moment = norms * (torch.sin(theta) + (math.pi - theta) * cosine) / (2 * math.pi)
        derivative = (math.pi - theta) / (2 * math.pi)
        return moment, derivative
    scale = (1 + 2 * k11) * (1 + 2 * k22)
    moment = (2 / math.pi) * torch.arcsin(torch.clamp(2 * k12 / torch.sqrt(scale), -1.0, 1.0))
    derivative = (4 / math.pi) / torch.sqrt(scale - 4 * k12**2)
    return moment, derivative


def _check_architecture(*, depth: int, activation: str, w_std: float, b_std: float) -> None:
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"no analytic kernel for activation {activation!r}; supported: "
            f"{', '.join(ACTIVATIONS)}. For another activation use the empirical NTK of a "
            "wide network (robusthep.uq.empirical_ntk)"
        )
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise ConfigError(f"depth (hidden layers) must be an integer ≥ 0, got {depth!r}")
    if not (math.isfinite(w_std) and w_std > 0):
        raise ConfigError(f"w_std must be finite and > 0, got {w_std!r}")
    if not (math.isfinite(b_std) and b_std >= 0):
        raise ConfigError(f"b_std must be finite and ≥ 0, got {b_std!r}")


def _as_inputs(x: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).detach()
    x = x.to(torch.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{name} must have shape (examples, features), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return x
