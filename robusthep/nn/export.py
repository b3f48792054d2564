"""Export: bake normalised weights into plain ``nn.Linear`` layers, guarantee intact."""

import copy

import torch
from torch import nn

from robusthep.nn.lipschitz_linear import LipschitzLinear
from robusthep.nn.monotonic import MonotonicWrapper
from robusthep.nn.norms import operator_norm

__all__ = ["to_plain"]


def _bake(layer: LipschitzLinear) -> nn.Linear:
    plain = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    with torch.no_grad():
        weight = layer._normalize(layer.weight.detach().to(torch.float64))
        baked = weight.to(layer.weight.dtype)
        # Rounding to float32 may push a norm one ulp above λ: shrink until it holds exactly.
        source, target = layer.norms
        for _ in range(8):
            norm = float(operator_norm(baked, source, target))
            if norm <= layer.lipschitz:
                break
            baked = (baked.double() * (layer.lipschitz / norm) * (1 - 2e-7)).to(baked.dtype)
        plain.weight.copy_(baked)
        if layer.bias is not None:
            plain.bias.copy_(layer.bias.detach())
    return plain


def to_plain(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``LipschitzLinear`` baked into a plain ``nn.Linear``.

    The copy needs no weight normalisation at inference, is frozen (no parameter requires a
    gradient) and in eval mode. Baked weights are checked in float64 against each layer's
    bound and shrunk by the rounding excess if needed, so
    :func:`~robusthep.nn.lipschitz_bound` of the copy, computed from its actual weights, is
    never above the original's. A monotonic wrapper stays a wrapper around the plain copy and
    re-checks its λ against the copy's bound.

    Arguments:
        model: a network built from robusthep's layers (other modules are copied as they are).

    Returns:
        The exported module.

    Example:
        >>> from robusthep.nn import lipschitz_mlp, lipschitz_bound
        >>> net = lipschitz_mlp(3, hidden=(8,), lipschitz=1.0).eval()
        >>> plain = to_plain(net)
        >>> x = torch.randn(5, 3)
        >>> bool(torch.allclose(plain(x), net(x), atol=1e-6)), lipschitz_bound(plain) <= 1.0
        (True, True)
    """
    exported = _export(model)
    exported.requires_grad_(False)
    return exported.eval()


def _export(module: nn.Module) -> nn.Module:
    if isinstance(module, LipschitzLinear):
        return _bake(module)
    if isinstance(module, MonotonicWrapper):
        inner = _export(module.model)
        inner.requires_grad_(False)
        return MonotonicWrapper(
            inner,
            increasing=module.increasing,
            decreasing=module.decreasing,
            feature_names=module.feature_names,
            lipschitz=module.lipschitz,
            in_features=module.in_features,
        )
    if isinstance(module, nn.Sequential):
        return nn.Sequential(*(_export(child) for child in module))
    return copy.deepcopy(module)
