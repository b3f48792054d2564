"""GroupSort: the gradient-norm-preserving activation of Lipschitz networks."""

import torch
from torch import nn

from robusthep.errors import ConfigError, DataError

__all__ = ["GroupSort"]


class GroupSort(nn.Module):
    r"""Sorts the features in groups of ``group_size`` (descending); MaxMin for size 2.

    Features i, i + w/k, i + 2w/k, … form a group (w the width, k the group size), so the
    groups are strided rather than adjacent; any fixed grouping is GroupSort up to a
    permutation of the neurons, and this one needs no copy before sorting. For size 2 it is
    ``max(a, b), min(a, b)`` on the two halves, for sizes 3 and 4 a fixed network of such
    compare-exchanges, with no general sort (several times faster on CPU). The output is a
    permutation of the input, so the map is 1-Lipschitz in every ℓp norm and its Jacobian
    is a permutation matrix: gradient norms are preserved.

    Arguments:
        group_size: the number of features sorted together (2 = MaxMin; the width of the
            layer = FullSort). Named so it cannot be mistaken for a number of groups.

    Example:
        >>> GroupSort(group_size=2)(torch.tensor([[1.0, 4.0, 3.0, 2.0]]))
        tensor([[3., 4., 1., 2.]])

    References:
        Anil, Lucas, Grosse, "Sorting out Lipschitz function approximation", ICML 2019,
        arXiv:1811.05381.
    """

    def __init__(self, group_size: int = 2) -> None:
        super().__init__()
        if not isinstance(group_size, int) or isinstance(group_size, bool) or group_size < 2:
            raise ConfigError(f"group_size must be an integer ≥ 2, got {group_size!r}")
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        width = x.shape[-1]
        if width % self.group_size:
            raise DataError(
                f"GroupSort(group_size={self.group_size}) needs a width divisible by "
                f"{self.group_size}, got {width} features"
            )
        if self.group_size == 2:
            if torch.jit.is_tracing():
                # The ONNX exporter traces: plain ops become Max, Min and Concat nodes.
                a, b = x.split(width // 2, dim=-1)
                return torch.cat((torch.maximum(a, b), torch.minimum(a, b)), dim=-1)
            if x.requires_grad and torch.is_grad_enabled():
                return _MaxMin.apply(x)
            return _max_min(x)
        grouped = x.unflatten(-1, (self.group_size, width // self.group_size))
        if self.group_size in _NETWORKS:
            return _sort_by_network(grouped.unbind(-2), _NETWORKS[self.group_size])
        return grouped.sort(dim=-2, descending=True).values.flatten(-2)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def _max_min(x: torch.Tensor) -> torch.Tensor:
    # Writing both halves into one buffer saves the copy that cat would make.
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    torch.maximum(a, b, out=out[..., :half])
    torch.minimum(a, b, out=out[..., half:])
    return out


class _MaxMin(torch.autograd.Function):
    """MaxMin whose backward routes each gradient through the same permutation as the forward.

    Autograd's maximum/minimum backward costs about twenty elementwise passes (it splits the
    gradient in half at ties and masks four tensors); here the backward is two passes over
    the gradient, driven by one saved 0/1 mask. At exact ties (a = b) the gradient follows the
    identity permutation rather than being halved, so the Jacobian is a permutation
    everywhere and gradient norms are preserved there too, as for group sizes above 2. (A
    non-finite upstream gradient in one slot also reaches its partner, as 0·inf is NaN.)
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        # A float mask, because lerp by a 0/1 weight is an exact select that runs several
        # times faster on CPU than torch.where with a boolean mask.
        keep = torch.ge(x[..., :half], x[..., half:], out=x.new_empty(x.shape[:-1] + (half,)))
        ctx.save_for_backward(keep)
        return _max_min(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        (keep,) = ctx.saved_tensors
        half = grad.shape[-1] // 2
        upper, lower = grad[..., :half], grad[..., half:]
        if torch.is_grad_enabled():
            # create_graph=True: out= is not differentiable, so build the same from plain ops.
            return torch.cat((torch.lerp(lower, upper, keep), torch.lerp(upper, lower, keep)), -1)
        grad_x = torch.empty_like(grad, memory_format=torch.contiguous_format)
        # keep = 1 where a ≥ b: a went to the max slot, b to the min slot; else swapped.
        torch.lerp(lower, upper, keep, out=grad_x[..., :half])
        torch.lerp(upper, lower, keep, out=grad_x[..., half:])
        return grad_x


# Sorting networks (Knuth, TAOCP vol. 3, §5.3.4): after the compare-exchanges (i, j), in this
# order, each putting the larger value at i, any input is sorted in descending order.
_NETWORKS = {
    3: ((0, 1), (1, 2), (0, 1)),
    4: ((0, 1), (2, 3), (0, 2), (1, 3), (1, 2)),
}


def _sort_by_network(
    blocks: tuple[torch.Tensor, ...], network: tuple[tuple[int, int], ...]
) -> torch.Tensor:
    sorted_blocks = list(blocks)
    track = blocks[0].requires_grad and torch.is_grad_enabled() and not torch.jit.is_tracing()
    for i, j in network:
        a, b = sorted_blocks[i], sorted_blocks[j]
        if track:
            sorted_blocks[i], sorted_blocks[j] = _CompareExchange.apply(a, b)
        else:
            sorted_blocks[i], sorted_blocks[j] = torch.maximum(a, b), torch.minimum(a, b)
    return torch.cat(sorted_blocks, dim=-1)


class _CompareExchange(torch.autograd.Function):
    """(a, b) ↦ (max(a, b), min(a, b)) with the one-mask backward of :class:`_MaxMin`."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, b: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keep = torch.ge(a, b, out=torch.empty_like(a, memory_format=torch.contiguous_format))
        ctx.save_for_backward(keep)
        return torch.maximum(a, b), torch.minimum(a, b)

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad_max: torch.Tensor, grad_min: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        (keep,) = ctx.saved_tensors
        return torch.lerp(grad_min, grad_max, keep), torch.lerp(grad_max, grad_min, keep)
