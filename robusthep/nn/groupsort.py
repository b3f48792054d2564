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
    ``max(a, b), min(a, b)`` on the two halves, with no general sort. The output is a
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
            a, b = x.split(width // 2, dim=-1)
            return torch.cat((torch.maximum(a, b), torch.minimum(a, b)), dim=-1)
        grouped = x.unflatten(-1, (self.group_size, width // self.group_size))
        return grouped.sort(dim=-2, descending=True).values.flatten(-2)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
