"""A fully connected network in the NTK parametrisation, the finite-width twin of the kernels."""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError
from robusthep.uq.kernels import ACTIVATIONS

__all__ = ["NTKLinear", "NTKMLP"]


class NTKLinear(nn.Module):
    r"""A dense layer in the NTK parametrisation: y = (σ_w/√n_in)·W x + σ_b·b, W, b ~ N(0, 1).

    The parameters are standard normal and the scales sit in the forward pass, so a
    gradient step moves every layer at the same rate whatever its width; this is the
    parametrisation in which the NTK of a wide network stays constant during training.

    Arguments:
        in_features: n_in.
        out_features: n_out.
        w_std: σ_w (> 0).
        b_std: σ_b (≥ 0; 0 keeps the bias parameter but it has no effect).
        generator: the random source of the initial weights.

    Example:
        >>> layer = NTKLinear(3, 2, w_std=1.5, b_std=0.1)
        >>> layer(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        w_std: float = 1.0,
        b_std: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ConfigError(f"layer sizes must be ≥ 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.w_std, self.b_std = float(w_std), float(b_std)
        self.weight = nn.Parameter(torch.randn(out_features, in_features, generator=generator))
        self.bias = nn.Parameter(torch.randn(out_features, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight * (self.w_std / math.sqrt(self.in_features))
        return F.linear(x, weight, self.bias * self.b_std)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"w_std={self.w_std:g}, b_std={self.b_std:g}"
        )


class NTKMLP(nn.Sequential):
    r"""A fully connected network in the NTK parametrisation, matching :func:`fc_kernels`.

    As every hidden width goes to infinity, its outputs at initialisation are the NNGP
    and its empirical NTK is the analytic NTK of :func:`~robusthep.uq.fc_kernels` with the
    same ``depth=len(hidden)``, ``activation``, ``w_std`` and ``b_std``.

    Arguments:
        in_features: inputs.
        out_features: outputs.
        hidden: hidden widths.
        activation: "relu" or "erf".
        w_std: σ_w of every layer.
        b_std: σ_b of every layer.
        seed: seeds the initial weights.

    Example:
        >>> net = NTKMLP(2, 1, hidden=(64, 64), activation="erf", w_std=1.5, b_std=0.05)
        >>> net(torch.zeros(5, 2)).shape
        torch.Size([5, 1])

    References:
        Jacot, Gabriel, Hongler, "Neural Tangent Kernel", arXiv:1806.07572.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int = 1,
        *,
        hidden: Sequence[int] = (512,),
        activation: str = "relu",
        w_std: float = 1.0,
        b_std: float = 0.0,
        seed: int = 0,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {activation!r}; supported: {', '.join(ACTIVATIONS)}"
            )
        generator = torch.Generator().manual_seed(seed)
        widths = [in_features, *hidden, out_features]
        layers: list[nn.Module] = []
        for index in range(len(widths) - 1):
            layers.append(
                NTKLinear(
                    widths[index],
                    widths[index + 1],
                    w_std=w_std,
                    b_std=b_std,
                    generator=generator,
                )
            )
            if index < len(widths) - 2:
                layers.append(nn.ReLU() if activation == "relu" else _Erf())
        super().__init__(*layers)
        self.activation = activation


class _Erf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erf(x)
