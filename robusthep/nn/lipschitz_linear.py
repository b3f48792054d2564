"""A linear layer whose weight is normalised to a guaranteed operator-norm bound."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError
from robusthep.nn.norms import spectral_norm_bound

__all__ = ["KINDS", "LipschitzLinear"]

#: Norm kinds and the (input norm, output norm) pair each one bounds.
KINDS = {
    "one": ("one", "one"),
    "inf": ("inf", "inf"),
    "one-inf": ("one", "inf"),
    "two-inf": ("two", "inf"),
    "two": ("two", "two"),
}


class LipschitzLinear(nn.Linear):
    r"""A linear layer with ‖W‖ ≤ ``lipschitz`` in the operator norm that ``kind`` names.

    The stored weight is free; the layer multiplies by a normalised copy
    W → W / max(1, ‖W‖/λ), so gradients flow through the normalisation and the bound holds
    for any value of the stored weight. Kinds (input norm → output norm):

    - ``"one"``: ℓ1→ℓ1, the largest column abs-sum;
    - ``"inf"``: ℓ∞→ℓ∞, the largest row abs-sum;
    - ``"one-inf"``: ℓ1→ℓ∞, the largest |Wᵢⱼ|;
    - ``"two-inf"``: ℓ2→ℓ∞, the largest row 2-norm;
    - ``"two"``: ℓ2→ℓ2, the spectral norm, normalised by a *certified* upper bound (Gram
      iteration), never by a power-iteration estimate alone, which is a lower bound.

    With ``per_vector=True`` (the default for the first four kinds) each column, row or entry
    is rescaled on its own, w → w·diag(1/max(1, Σ_r|w_rc|/λ)) for ``"one"``: the same
    bound, but weights far from it are left untouched, which trains better.

    In eval mode, when no gradient is needed for the weight, the normalised weight is cached
    (refreshed whenever the weight changes), so inference costs what ``nn.Linear`` costs.

    Arguments:
        in_features: size of each input.
        out_features: size of each output.
        bias: learn an additive bias (it does not change the Lipschitz constant).
        kind: the norm to bound, one of ``KINDS``.
        lipschitz: the bound λ > 0 on the layer's operator norm.
        per_vector: normalise columns/rows/entries separately (not for ``"two"``).

    Example:
        >>> layer = LipschitzLinear(3, 4, kind="inf", lipschitz=2.0)
        >>> w = layer.normalized_weight()
        >>> bool(w.abs().sum(dim=1).max() <= 2.0 + 1e-6)
        True

    References:
        Kitouni, Nolte, Williams, "Robust and Provably Monotonic Networks",
        arXiv:2112.00038; "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        kind: str = "inf",
        lipschitz: float = 1.0,
        per_vector: bool | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ConfigError(f"unknown norm kind {kind!r}; valid kinds are {', '.join(KINDS)}")
        if not (isinstance(lipschitz, int | float) and math.isfinite(lipschitz) and lipschitz > 0):
            raise ConfigError(
                f"lipschitz must be a finite number > 0, got {lipschitz!r}; it is the bound λ "
                "on the layer's operator norm"
            )
        if per_vector is None:
            per_vector = kind != "two"
        if per_vector and kind == "two":
            raise ConfigError(
                "kind='two' (spectral norm) is a whole-matrix norm: use per_vector=False, or "
                "kind='two-inf' to normalise each row in 2-norm"
            )
        if in_features < 1 or out_features < 1:
            raise ConfigError(
                f"in_features and out_features must be ≥ 1, got {in_features}, {out_features}"
            )
        super().__init__(in_features, out_features, bias=bias)
        self.kind = kind
        self.lipschitz = float(lipschitz)
        self.per_vector = bool(per_vector)
        self._cache: tuple[tuple[int, int], torch.Tensor] | None = None
        if kind == "two":
            # Power-iteration vectors give the normalisation its gradient direction; the value
            # divided by is always the certified bound.
            generator = torch.Generator().manual_seed(in_features * 7919 + out_features)
            self.register_buffer(
                "_u",
                F.normalize(torch.randn(out_features, generator=generator), dim=0),
                persistent=False,
            )

    @property
    def norms(self) -> tuple[str, str]:
        """The (input norm, output norm) this layer is bounded in."""
        return KINDS[self.kind]

    def _norm_values(self, weight: torch.Tensor) -> torch.Tensor:
        kind = self.kind
        if kind == "one":
            values = weight.abs().sum(dim=0, keepdim=True)
        elif kind == "inf":
            values = weight.abs().sum(dim=1, keepdim=True)
        elif kind == "one-inf":
            values = weight.abs()
        elif kind == "two-inf":
            values = torch.linalg.vector_norm(weight, dim=1, keepdim=True)
        else:
            return self._spectral_value(weight)
        return values if self.per_vector else values.max()

    def _spectral_value(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            certified = spectral_norm_bound(weight).to(weight.dtype)
            if self.training:
                v = F.normalize(weight.T @ self._u, dim=0)
                self._u.copy_(F.normalize(weight @ v, dim=0))
            else:
                v = F.normalize(weight.T @ self._u, dim=0)
        estimate = self._u @ weight @ v
        if estimate.abs() <= 1e-12 * certified.clamp_min(1e-30):
            return certified
        # The value is the certified bound; its gradient is that of σ ≈ uᵀWv.
        return estimate * (certified / estimate).detach()

    def _normalize(self, weight: torch.Tensor) -> torch.Tensor:
        scale = torch.clamp(self._norm_values(weight) / self.lipschitz, min=1.0)
        return weight / scale

    def normalized_weight(self) -> torch.Tensor:
        """The weight actually used: the stored one rescaled to satisfy the bound."""
        weight = self.weight
        if self.training or (weight.requires_grad and torch.is_grad_enabled()):
            return self._normalize(weight)
        key = (weight._version, weight.data_ptr())
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, self._normalize(weight))
        return self._cache[1]

    def train(self, mode: bool = True) -> "LipschitzLinear":
        self._cache = None
        return super().train(mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalized_weight(), self.bias)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, kind={self.kind!r}, lipschitz={self.lipschitz:g}, "
            f"per_vector={self.per_vector}"
        )
