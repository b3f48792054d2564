"""Lipschitz networks: an ``nn.Sequential`` that knows its bound, and a builder for MLPs."""

import itertools
import math
from collections.abc import Sequence

from torch import nn

from robusthep.errors import ConfigError
from robusthep.nn.bound import lipschitz_bound
from robusthep.nn.groupsort import GroupSort
from robusthep.nn.lipschitz_linear import KINDS, LipschitzLinear

__all__ = ["LipschitzSequential", "lipschitz_mlp"]

# The paper's recipe per input norm: the first layer converts to ℓ∞, the others keep it.
_RECIPES = {"one": ("one-inf", "inf"), "inf": ("inf", "inf"), "two": ("two-inf", "inf")}


class LipschitzSequential(nn.Sequential):
    """An ``nn.Sequential`` of Lipschitz layers that reports the bound it guarantees.

    Usable anywhere an ``nn.Sequential`` is. ``input_norm`` is the norm its bound refers to.

    Example:
        >>> net = LipschitzSequential(LipschitzLinear(2, 4, kind="one-inf"), GroupSort(2),
        ...                           LipschitzLinear(4, 1, kind="inf"), input_norm="one")
        >>> net.lipschitz_bound()
        1.0
    """

    def __init__(self, *layers: nn.Module, input_norm: str = "one") -> None:
        super().__init__(*layers)
        self.input_norm = input_norm

    def lipschitz_bound(self, output_norm: str = "inf") -> float:
        """The certified bound with respect to ``self.input_norm``; see ``lipschitz_bound``."""
        return lipschitz_bound(self, input_norm=self.input_norm, output_norm=output_norm)


def lipschitz_mlp(
    in_features: int,
    out_features: int = 1,
    *,
    hidden: Sequence[int] = (64, 64),
    lipschitz: float = 1.0,
    input_norm: str = "one",
    group_size: int = 2,
    kinds: Sequence[str] | None = None,
    bias: bool = True,
) -> LipschitzSequential:
    r"""A λ-Lipschitz MLP: Lipschitz linear layers with GroupSort between them.

    The per-layer constants are λ^(1/n_layers), so their product, the certified bound, is
    λ. With ``input_norm="one"`` the first layer is ℓ1→ℓ∞ ("one-inf") and the others ℓ∞→ℓ∞
    ("inf"): then every |∂fₖ/∂xᵢ| ≤ λ, the bound a monotonic wrapper of slope λ needs.

    Arguments:
        in_features: the number of inputs.
        out_features: the number of outputs.
        hidden: the widths of the hidden layers; each divisible by ``group_size``.
        lipschitz: the network's bound λ > 0.
        input_norm: "one" (bounds each partial derivative), "inf" or "two".
        group_size: GroupSort's group size.
        kinds: the norm kind of every linear layer, overriding the recipe for ``input_norm``.
        bias: learn biases.

    Returns:
        A :class:`LipschitzSequential`.

    Example:
        >>> net = lipschitz_mlp(4, hidden=(16, 16), lipschitz=3.0)
        >>> [type(m).__name__ for m in net]
        ['LipschitzLinear', 'GroupSort', 'LipschitzLinear', 'GroupSort', 'LipschitzLinear']
        >>> round(net.lipschitz_bound(), 6)
        3.0

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512.
    """
    if input_norm not in _RECIPES:
        raise ConfigError(f"unknown input_norm {input_norm!r}; valid: {', '.join(_RECIPES)}")
    widths = [in_features, *hidden, out_features]
    if any(not isinstance(w, int) or w < 1 for w in widths):
        raise ConfigError(f"layer widths must be integers ≥ 1, got {widths}")
    bad = [w for w in hidden if w % group_size]
    if bad:
        raise ConfigError(
            f"hidden widths {bad} are not divisible by group_size={group_size}; GroupSort "
            "sorts groups of that many features, so choose widths that are multiples of it"
        )
    n_layers = len(widths) - 1
    if kinds is None:
        first, rest = _RECIPES[input_norm]
        kinds = [first] + [rest] * (n_layers - 1)
    kinds = list(kinds)
    if len(kinds) != n_layers:
        raise ConfigError(f"kinds has {len(kinds)} entries for {n_layers} linear layers")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown norm kinds {unknown}; valid kinds are {', '.join(KINDS)}")
    if not (isinstance(lipschitz, int | float) and math.isfinite(lipschitz) and lipschitz > 0):
        raise ConfigError(f"lipschitz must be a finite number > 0, got {lipschitz!r}")
    per_layer = float(lipschitz) ** (1.0 / n_layers)
    layers: list[nn.Module] = []
    for index, (kind, (n_in, n_out)) in enumerate(
        zip(kinds, itertools.pairwise(widths), strict=True)
    ):
        layers.append(LipschitzLinear(n_in, n_out, bias=bias, kind=kind, lipschitz=per_layer))
        if index < n_layers - 1:
            layers.append(GroupSort(group_size=group_size))
    return LipschitzSequential(*layers, input_norm=input_norm)
