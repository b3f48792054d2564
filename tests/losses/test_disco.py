import itertools

import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses import disco_loss, distance_correlation


def _authors_distance_corr(var_1, var_2, normedweight):
    """gkasieczka/DisCo's distance_corr (power=1), transcribed: the reference convention."""
    n = len(var_1)
    amat = (var_1.view(-1, 1).repeat(1, n) - var_1.repeat(n, 1)).abs()
    bmat = (var_2.view(-1, 1).repeat(1, n) - var_2.repeat(n, 1)).abs()
    amatavg = torch.mean(amat * normedweight, dim=1)
    a = amat - amatavg.repeat(n, 1) - amatavg.view(-1, 1).repeat(1, n)
    a = a + torch.mean(amatavg * normedweight)
    bmatavg = torch.mean(bmat * normedweight, dim=1)
    b = bmat - bmatavg.repeat(n, 1) - bmatavg.view(-1, 1).repeat(1, n)
    b = b + torch.mean(bmatavg * normedweight)
    ab = torch.mean(torch.mean(a * b * normedweight, dim=1) * normedweight)
    aa = torch.mean(torch.mean(a * a * normedweight, dim=1) * normedweight)
    bb = torch.mean(torch.mean(b * b * normedweight, dim=1) * normedweight)
    return ab / torch.sqrt(aa * bb)


def _u_centred_dcor(x, y):
    """Székely–Rizzo 1310.2926, eq. (2.3): the U-centred matrices, unweighted."""
    n = len(x)

    def centred(z):
        d = (z[:, None] - z[None, :]).abs()
        u = d - d.sum(1, keepdim=True) / (n - 2) - d.sum(0, keepdim=True) / (n - 2)
        u = u + d.sum() / ((n - 1) * (n - 2))
        return u.fill_diagonal_(0)

    a, b = centred(x), centred(y)
    inner = lambda p, q: (p * q).sum() / (n * (n - 3))  # noqa: E731
    return inner(a, b) / torch.sqrt(inner(a, a) * inner(b, b))


def _brute_force_weighted_u(x, y, w):
    """The weighted U-statistic by enumeration of distinct tuples (tiny n only)."""
    a = (x[:, None] - x[None, :]).abs()
    b = (y[:, None] - y[None, :]).abs()

    def mean(kernel, arity):
        total = weight = 0.0
        for t in itertools.permutations(range(len(x)), arity):
            product = torch.prod(w[list(t)])
            total += product * kernel(*t)
            weight += product
        return total / weight

    def dcov(p, q):
        return (
            mean(lambda i, j: p[i, j] * q[i, j], 2)
            + mean(lambda i, j, k, m: p[i, j] * q[k, m], 4)
            - 2 * mean(lambda i, j, k: p[i, j] * q[i, k], 3)
        )

    return dcov(a, b) / torch.sqrt(dcov(a, a) * dcov(b, b))


def _sample(n, dependence, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=generator, dtype=dtype)
    y = dependence * x**2 + torch.rand(n, generator=generator, dtype=dtype)
    w = torch.rand(n, generator=generator, dtype=dtype) + 0.1
    return x, y, w


@pytest.mark.parametrize("weighted", [False, True])
def test_v_statistic_is_the_authors_formula(weighted):
    x, y, w = _sample(200, 1.0)
    w = w if weighted else torch.ones_like(w)
    expected = _authors_distance_corr(x, y, w * len(w) / w.sum())
    for method in ("naive", "blocked"):
        got = distance_correlation(x, y, w if weighted else None, method=method)
        assert got.item() == pytest.approx(expected.item(), rel=1e-10)


def test_unbiased_is_the_u_centred_estimator_without_weights():
    x, y, _ = _sample(50, 0.5)
    expected = _u_centred_dcor(x, y).item()
    for method in ("naive", "blocked"):
        got = distance_correlation(x, y, unbiased=True, method=method).item()
        assert got == pytest.approx(expected, rel=1e-10)


def test_weighted_unbiased_is_the_u_statistic_over_distinct_events():
    x, y, w = _sample(7, 1.0, seed=3)
    expected = _brute_force_weighted_u(x, y, w).item()
    got = distance_correlation(x, y, w, unbiased=True, block_size=3).item()
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_blocked_equals_naive_in_value_and_gradient(unbiased, weighted):
    x, y, w = _sample(257, 1.0, seed=1, dtype=torch.float32)
    x.requires_grad_()
    y.requires_grad_()
    weights = w if weighted else None
    naive = distance_correlation(x, y, weights, unbiased=unbiased, method="naive")
    blocked = distance_correlation(x, y, weights, unbiased=unbiased, block_size=50)
    assert blocked.item() == pytest.approx(naive.item(), rel=1e-4, abs=1e-6)
    for expected, got in zip(
        torch.autograd.grad(naive, (x, y)), torch.autograd.grad(blocked, (x, y)), strict=True
    ):
        torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-6)


def test_blocked_gradient_is_exact():
    x, y, w = _sample(12, 1.0, seed=2)
    x.requires_grad_()
    y.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda p, q: distance_correlation(p, q, w, unbiased=True, block_size=5), (x, y)
    )


def test_known_answers():
    x = torch.linspace(0, 1, 400, dtype=torch.float64)
    assert distance_correlation(x, -2 * x + 3).item() == pytest.approx(1.0)
    assert distance_correlation(x, torch.zeros_like(x)).item() == 0.0
    # independent: the V-statistic sits ≈ 1/N-ish above zero, the U-statistic at zero
    v, u = [], []
    for seed in range(30):
        generator = torch.Generator().manual_seed(seed)
        a, b = torch.rand(2, 40, generator=generator, dtype=torch.float64)
        v.append(distance_correlation(a, b).item())
        u.append(distance_correlation(a, b, unbiased=True).item())
    assert sum(v) / 30 > 0.05
    assert abs(sum(u) / 30) < 0.01
    # a deterministic, non-monotonic dependence
    assert distance_correlation(x, (x - 0.5) ** 2).item() > 0.2


def test_disco_loss_uses_background_only_and_normalised_weights():
    x, y, w = _sample(300, 1.0)
    labels = torch.arange(300) % 3 == 0
    scores = torch.where(labels, torch.ones_like(x), x)  # signal is far from the mass curve
    expected = distance_correlation(x[~labels], y[~labels], 7 * w[~labels])
    got = disco_loss(scores, y, labels.long(), w)
    assert got.item() == pytest.approx(expected.item())


def test_bad_input():
    x, y, w = _sample(20, 1.0)
    labels = torch.zeros(20)
    with pytest.raises(DataError, match="NaN"):
        disco_loss(x, torch.where(y > 0.5, float("nan"), y), labels)
    with pytest.raises(DataError, match="19 entries"):
        disco_loss(x, y[:19], labels)
    with pytest.raises(DataError, match="weights"):
        disco_loss(x, y, labels, w[:5])
    with pytest.raises(DataError, match="all 20 weights are zero"):
        disco_loss(x, y, labels, torch.zeros(20))
    with pytest.raises(DataError, match="no background"):
        disco_loss(x, y, torch.ones(20))
    with pytest.raises(DataError, match="background weights are zero"):
        disco_loss(x, y, torch.arange(20) % 2, (torch.arange(20) % 2).double())
    with pytest.raises(ConfigError, match="'blocked', 'naive'"):
        distance_correlation(x, y, method="fast")
    with pytest.raises(DataError, match="at least 4"):
        distance_correlation(x[:3], y[:3], unbiased=True)
