"""The empirical neural tangent kernel of any torch model, by ``torch.func``."""

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from robusthep.errors import ConfigError, DataError

__all__ = ["empirical_ntk"]


def empirical_ntk(
    model: nn.Module,
    x1: torch.Tensor | np.ndarray,
    x2: torch.Tensor | np.ndarray | None = None,
    *,
    outputs: str = "mean",
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""Θ(x, x') = Σ_p ∂f(x)/∂θ_p · ∂f(x')/∂θ_p over the model's trainable parameters.

    Jacobians come from ``torch.func.jacrev`` vectorised over examples with ``vmap``, so any
    model whose forward works on a batch of one is supported (no batch-norm statistics are
    updated: buffers are read, not written).

    Arguments:
        model: the network f; its trainable parameters define the kernel.
        x1: inputs, shape (n1, ...).
        x2: inputs, shape (n2, ...); None for ``x1``.
        outputs: "mean" averages Θ_{aa} over the output units a (the per-output kernel an
            infinitely wide network has on every unit; what neural-tangents returns with
            its default ``trace_axes=(-1,)``); "full" keeps Θ_{ab}, shape (n1, n2, k, k).
        chunk_size: examples per ``vmap`` chunk (bounds memory); None for all at once.

    Returns:
        The kernel, shape (n1, n2) or (n1, n2, k, k), in the model's dtype.

    Raises:
        ConfigError: an unknown ``outputs``, or a model with no trainable parameters.
        DataError: empty inputs.

    Example:
        >>> net = torch.nn.Linear(2, 1, bias=False)
        >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> empirical_ntk(net, x)  # a linear model's NTK is x·x'
        tensor([[ 5., 11.],
                [11., 25.]])

    References:
        Jacot, Gabriel, Hongler, "Neural Tangent Kernel", arXiv:1806.07572; Novak et al.,
        "Neural Tangents", arXiv:1912.02803.
    """
    if outputs not in ("mean", "full"):
        raise ConfigError(f"outputs must be 'mean' or 'full', got {outputs!r}")
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ConfigError(f"{type(model).__name__} has no trainable parameters: its NTK is 0")
    buffers = dict(model.named_buffers())
    dtype = next(iter(params.values())).dtype
    a = _as_batch(x1, "x1", dtype)
    b = a if x2 is None else _as_batch(x2, "x2", dtype)

    def single(parameters: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (parameters, buffers), (x.unsqueeze(0),))
        return out.reshape(-1)

    jacobian = vmap(jacrev(single), in_dims=(None, 0), chunk_size=chunk_size)
    j1 = jacobian(params, a)
    j2 = j1 if x2 is None else jacobian(params, b)
    kernel = None
    for name in params:
        left = j1[name].flatten(2)
        right = j2[name].flatten(2)
        term = torch.einsum("iap,jbp->ijab", left, right)
        kernel = term if kernel is None else kernel + term
    if outputs == "full":
        return kernel
    return torch.diagonal(kernel, dim1=2, dim2=3).mean(dim=-1)


def _as_batch(x: torch.Tensor | np.ndarray, name: str, dtype: torch.dtype) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).detach().to(dtype)
    if x.ndim < 1 or x.shape[0] == 0:
        raise DataError(f"{name} must hold at least one example, got shape {tuple(x.shape)}")
    return x
