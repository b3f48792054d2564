"""The monotonic wrapper g(x) = f(x) + λ·Σᵢ sᵢ·xᵢ around a λ-Lipschitz network f."""

import math
from collections.abc import Sequence

import torch
from torch import nn

from robusthep.errors import ConfigError, ConstraintError

__all__ = ["MonotonicWrapper", "monotonic_signs"]

# Slack for the product of per-layer constants, e.g. (3^(1/3))^3 = 3 + 4e-16.
_RELATIVE_TOLERANCE = 1e-9


def monotonic_signs(
    in_features: int,
    *,
    increasing: Sequence[int | str] = (),
    decreasing: Sequence[int | str] = (),
    feature_names: Sequence[str] | None = None,
) -> list[int]:
    """Per-feature signs (+1 increasing, −1 decreasing, 0 free) from names or indices.

    Arguments:
        in_features: the number of features.
        increasing: features (names or indices) the output must not decrease in.
        decreasing: features the output must not increase in.
        feature_names: the names of the features, needed to refer to them by name.

    Returns:
        A list of ``in_features`` signs.

    Example:
        >>> names = ["pt", "eta", "chi2"]
        >>> monotonic_signs(3, increasing=["pt"], decreasing=[2], feature_names=names)
        [1, 0, -1]
    """
    if feature_names is not None:
        feature_names = list(feature_names)
        if len(feature_names) != in_features:
            raise ConfigError(
                f"feature_names has {len(feature_names)} names for {in_features} features"
            )
        repeated = sorted({n for n in feature_names if feature_names.count(n) > 1})
        if repeated:
            raise ConfigError(f"feature_names repeats {repeated}; names must be unique")

    def index_of(feature: int | str) -> int:
        if isinstance(feature, str):
            if feature_names is None:
                raise ConfigError(
                    f"feature {feature!r} is given by name but no feature_names were given; "
                    "pass feature_names=[...] or use indices"
                )
            if feature not in feature_names:
                raise ConfigError(f"no feature named {feature!r}; the features are {feature_names}")
            return feature_names.index(feature)
        if isinstance(feature, bool) or not isinstance(feature, int):
            raise ConfigError(f"a feature is a name or an index, got {feature!r}")
        if not -in_features <= feature < in_features:
            raise ConfigError(f"feature index {feature} is out of range for {in_features} features")
        return feature % in_features

    signs = [0] * in_features
    seen: dict[int, str] = {}
    for direction, sign, features in (
        ("increasing", 1, increasing),
        ("decreasing", -1, decreasing),
    ):
        if isinstance(features, str | int):
            features = [features]
        for feature in features:
            index = index_of(feature)
            label = feature_names[index] if feature_names else str(index)
            if index in seen:
                raise ConfigError(
                    f"feature {label!r} is listed twice (as {seen[index]} and {direction}); "
                    "list each monotonic feature once"
                )
            seen[index] = direction
            signs[index] = sign
    return signs


class MonotonicWrapper(nn.Module):
    r"""g(x) = f(x) + λ·Σᵢ sᵢ·xᵢ: monotonic in every feature with sᵢ ≠ 0, by construction.

    If every |∂fₖ/∂xᵢ| ≤ λ (f is λ-Lipschitz from ℓ1 to ℓ∞), then sᵢ·∂gₖ/∂xᵢ ≥ 0 for every
    output k: g is non-decreasing in the features with sᵢ = +1 and non-increasing in those
    with sᵢ = −1, everywhere, including where there was no training data.

    λ is taken from f's certified bound (see :func:`~robusthep.nn.lipschitz_bound`); a λ given
    explicitly is checked against it, and one below it raises ``ConstraintError`` rather than
    silently losing monotonicity.

    Arguments:
        model: the network f; its bound must be derivable (built from robusthep's layers).
        increasing: features (names or indices) g must not decrease in.
        decreasing: features g must not increase in.
        feature_names: names of the input features, to refer to them by name.
        lipschitz: the slope λ of the linear term; by default f's certified bound.
        in_features: the number of inputs, if ``model`` does not tell it.

    Example:
        >>> from robusthep.nn import lipschitz_mlp
        >>> f = lipschitz_mlp(3, hidden=(8, 8), lipschitz=1.0)
        >>> g = MonotonicWrapper(f, increasing=["pt"], feature_names=["pt", "eta", "phi"])
        >>> x = torch.randn(100, 3)
        >>> bool((g(x + torch.tensor([0.1, 0.0, 0.0])) >= g(x)).all())
        True

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        increasing: Sequence[int | str] = (),
        decreasing: Sequence[int | str] = (),
        feature_names: Sequence[str] | None = None,
        lipschitz: float | None = None,
        in_features: int | None = None,
    ) -> None:
        from robusthep.nn.bound import _first_in_features, lipschitz_bound

        super().__init__()
        if in_features is None:
            in_features = (
                len(feature_names) if feature_names is not None else _first_in_features(model)
            )
        signs = monotonic_signs(
            in_features, increasing=increasing, decreasing=decreasing, feature_names=feature_names
        )
        if not any(signs):
            raise ConfigError(
                "no monotonic feature given: pass increasing=[...] and/or decreasing=[...]"
            )
        bound = lipschitz_bound(model, input_norm="one", output_norm="inf", in_features=in_features)
        if lipschitz is None:
            lipschitz = bound
        if not (isinstance(lipschitz, int | float) and math.isfinite(lipschitz) and lipschitz > 0):
            raise ConfigError(f"lipschitz must be a finite number > 0, got {lipschitz!r}")
        if lipschitz < bound * (1.0 - _RELATIVE_TOLERANCE):
            raise ConstraintError(
                f"the wrapper's slope λ={lipschitz:g} is below the certified bound {bound:g} on "
                "|∂f/∂xᵢ| of the wrapped network, so monotonicity would not be guaranteed; use "
                f"lipschitz ≥ {bound:g} (or leave it unset), or lower the network's per-layer "
                "constants"
            )
        self.model = model
        self.in_features = in_features
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.lipschitz = float(lipschitz)
        self.register_buffer("signs", torch.tensor(signs, dtype=torch.float32))
        self.register_buffer("linear_term", self.signs * self.lipschitz)
        self.out_features = _out_features(model)

    @property
    def increasing(self) -> list[int]:
        """Indices of the features the output is non-decreasing in."""
        return (self.signs > 0).nonzero().flatten().tolist()

    @property
    def decreasing(self) -> list[int]:
        """Indices of the features the output is non-increasing in."""
        return (self.signs < 0).nonzero().flatten().tolist()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + (x @ self.linear_term).unsqueeze(-1)

    def extra_repr(self) -> str:
        return f"lipschitz={self.lipschitz:g}, signs={[int(s) for s in self.signs.tolist()]}"


def _out_features(model: nn.Module) -> int:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else 1
