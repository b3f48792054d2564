import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from robusthep.errors import ConfigError, DataError
from robusthep.nn import GroupSort


@given(group_size=st.sampled_from([2, 3, 4, 8]), groups=st.integers(1, 6), batch=st.integers(1, 5))
def test_groupsort_sorts_each_strided_group(group_size, groups, batch):
    width = group_size * groups
    x = torch.randn(batch, width)
    y = GroupSort(group_size=group_size)(x)
    xg = x.unflatten(-1, (group_size, groups))
    yg = y.unflatten(-1, (group_size, groups))
    assert torch.equal(yg, xg.sort(dim=-2, descending=True).values)


def test_maxmin_matches_general_sort():
    x = torch.randn(7, 12)
    pair = GroupSort(group_size=2)(x)
    general = x.unflatten(-1, (2, 6)).sort(dim=-2, descending=True).values.flatten(-2)
    assert torch.equal(pair, general)


@given(group_size=st.sampled_from([2, 4]), groups=st.integers(1, 8), seed=st.integers(0, 999))
def test_groupsort_preserves_gradient_norms(group_size, groups, seed):
    torch.manual_seed(seed)
    x = torch.randn(3, group_size * groups, requires_grad=True)
    upstream = torch.randn(3, group_size * groups)
    (grad,) = torch.autograd.grad(GroupSort(group_size=group_size)(x), x, upstream)
    assert torch.allclose(grad.norm(dim=1), upstream.norm(dim=1))


def test_groupsort_is_one_lipschitz_and_norm_preserving():
    layer = GroupSort(group_size=4)
    x, y = torch.randn(100, 16), torch.randn(100, 16)
    for p in (1, 2, float("inf")):
        out = torch.linalg.vector_norm(layer(x) - layer(y), ord=p, dim=1)
        assert (out <= torch.linalg.vector_norm(x - y, ord=p, dim=1) + 1e-5).all()
        assert torch.allclose(
            torch.linalg.vector_norm(layer(x), ord=p, dim=1),
            torch.linalg.vector_norm(x, ord=p, dim=1),
        )


@pytest.mark.parametrize("group_size", [0, 1, -2, 2.0, True])
def test_bad_group_size(group_size):
    with pytest.raises(ConfigError, match="group_size"):
        GroupSort(group_size=group_size)


def test_width_not_divisible_is_a_data_error():
    with pytest.raises(DataError, match="divisible by 4"):
        GroupSort(group_size=4)(torch.randn(2, 6))
