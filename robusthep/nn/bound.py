"""The Lipschitz bound a network guarantees, composed from its layers."""

import math

import torch
from torch import nn

from robusthep.errors import ConstraintError
from robusthep.nn.groupsort import GroupSort
from robusthep.nn.lipschitz_linear import LipschitzLinear
from robusthep.nn.norms import NORMS, conversion_factor, operator_norm

__all__ = ["lipschitz_bound"]

# Elementwise activations and their Lipschitz constants (the same in every ℓp norm).
_ELEMENTWISE = {
    nn.Identity: lambda m: 1.0,
    nn.ReLU: lambda m: 1.0,
    nn.Tanh: lambda m: 1.0,
    nn.Hardtanh: lambda m: 1.0,
    nn.Sigmoid: lambda m: 0.25,
    nn.LeakyReLU: lambda m: max(1.0, abs(m.negative_slope)),
    nn.ELU: lambda m: max(1.0, m.alpha),
    nn.Softplus: lambda m: 1.0,
    nn.Dropout: lambda m: 1.0 / (1.0 - m.p) if m.training else 1.0,
    GroupSort: lambda m: 1.0,
}

_Table = dict[tuple[str, str], float]


def _close(table: _Table, in_dim: int, out_dim: int) -> _Table:
    """Tighten a table of constants by converting norms on either side."""
    closed = {}
    for source in NORMS:
        for target in NORMS:
            closed[(source, target)] = min(
                conversion_factor(source, p, in_dim)
                * table.get((p, q), math.inf)
                * conversion_factor(q, target, out_dim)
                for p in NORMS
                for q in NORMS
            )
    return closed


def _compose(first: _Table, second: _Table) -> _Table:
    return {
        (p, r): min(first[(p, q)] * second[(q, r)] for q in NORMS) for p in NORMS for r in NORMS
    }


def _unsupported(module: nn.Module, why: str) -> ConstraintError:
    return ConstraintError(
        f"cannot derive a Lipschitz bound for {type(module).__name__}: {why}. Supported: "
        "LipschitzLinear, nn.Linear, GroupSort, MonotonicWrapper, nn.Sequential and the "
        f"elementwise activations {', '.join(sorted(t.__name__ for t in _ELEMENTWISE))}"
    )


def _transfer(module: nn.Module, in_dim: int, guaranteed: bool) -> tuple[int, _Table]:
    """(output dimension, table of sound Lipschitz constants for every norm pair)."""
    from robusthep.nn.monotonic import MonotonicWrapper
    from robusthep.nn.standardize import Standardize

    if isinstance(module, LipschitzLinear):
        return module.out_features, _close(
            {module.norms: module.lipschitz}, in_dim, module.out_features
        )
    if isinstance(module, nn.Linear):
        if guaranteed and module.weight.requires_grad:
            raise _unsupported(
                module,
                "a trainable plain nn.Linear has no bound that survives training; use "
                "LipschitzLinear, or freeze it (requires_grad_(False)) to bound its current "
                "weights",
            )
        table = {(p, q): float(operator_norm(module.weight, p, q)) for p in NORMS for q in NORMS}
        return module.out_features, table
    if isinstance(module, Standardize):
        inverse = (1.0 / module.scale.detach().double()).abs().max().item()
        return in_dim, _close({(p, p): inverse for p in NORMS}, in_dim, in_dim)
    if isinstance(module, MonotonicWrapper):
        _, inner = _transfer(module.model, in_dim, guaranteed)
        out_dim = module.out_features
        table = {}
        for p in NORMS:
            slope = module.linear_term.detach().double()
            term = float(torch.linalg.vector_norm(slope, ord=_dual_order(p)))
            table[(p, "inf")] = inner[(p, "inf")] + term
        return out_dim, _close(table, in_dim, out_dim)
    if isinstance(module, nn.Sequential):
        dim = in_dim
        total = _close({(p, p): 1.0 for p in NORMS}, in_dim, in_dim)
        for child in module:
            dim, table = _transfer(child, dim, guaranteed)
            total = _compose(total, table)
        return dim, total
    for kind, constant in _ELEMENTWISE.items():
        if type(module) is kind:
            c = constant(module)
            return in_dim, _close({(p, p): c for p in NORMS}, in_dim, in_dim)
    raise _unsupported(module, "its type is not one robusthep knows how to bound")


def _dual_order(norm: str) -> float:
    return {"one": math.inf, "two": 2.0, "inf": 1.0}[norm]


def lipschitz_bound(
    module: nn.Module,
    *,
    input_norm: str = "one",
    output_norm: str = "inf",
    in_features: int | None = None,
    guaranteed: bool = True,
) -> float:
    r"""A certified Lipschitz constant of ``module``: |f(x) − f(y)|_out ≤ L·‖x − y‖_in.

    The bound is composed layer by layer, tracking every (input norm, output norm) pair at
    once and taking the best route, so a network whose first layer is ℓ1→ℓ∞ and whose other
    layers are ℓ∞→ℓ∞ gets the product of its per-layer constants, as the paper's recipe
    intends. With ``input_norm="one"`` and ``output_norm="inf"``, L bounds every partial
    derivative: |∂fₖ/∂xᵢ| ≤ L, the bound the monotonic wrapper needs.

    For ``LipschitzLinear`` the layer's constant λ is used (it holds for any weights); for a
    plain ``nn.Linear`` (an exported model) the operator norm of its current weights.

    Arguments:
        module: a network built from supported layers (see the error for the list).
        input_norm: "one", "two" or "inf".
        output_norm: "one", "two" or "inf".
        in_features: the input dimension, if the first layer does not tell it.
        guaranteed: refuse trainable plain ``nn.Linear`` layers, whose bound would not
            survive training (set False to bound a model's current weights anyway).

    Returns:
        The bound L (``inf`` never: an unbounded module raises).

    Raises:
        ConstraintError: a layer whose Lipschitz constant cannot be derived.

    Example:
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = lipschitz_mlp(3, hidden=(8, 8), lipschitz=2.0)
        >>> round(lipschitz_bound(net), 6)
        2.0
    """
    from robusthep.nn.norms import _check_norm

    _check_norm(input_norm)
    _check_norm(output_norm)
    if in_features is None:
        in_features = _first_in_features(module)
    _, table = _transfer(module, in_features, guaranteed)
    return float(table[(input_norm, output_norm)])


def _first_in_features(module: nn.Module) -> int:
    from robusthep.nn.monotonic import MonotonicWrapper

    if isinstance(module, nn.Linear):
        return module.in_features
    if isinstance(module, MonotonicWrapper):
        return module.in_features
    for child in module.children():
        try:
            return _first_in_features(child)
        except ConstraintError:
            continue
    raise ConstraintError(
        f"cannot tell the input dimension of {type(module).__name__}: pass in_features="
    )
