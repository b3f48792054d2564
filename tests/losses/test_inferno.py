import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.errors import DataError
from robusthep.infer import BinnedLikelihood, ShapeSystematic
from robusthep.losses import fisher_information, profiled_variance, soft_counts


def _model(seed, bins, parameters, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    expected = 5 + 100 * torch.rand(bins, generator=generator, dtype=dtype)
    derivatives = torch.randn(parameters, bins, generator=generator, dtype=dtype) * 5
    constraints = torch.cat([torch.zeros(1, dtype=dtype), torch.ones(parameters - 1, dtype=dtype)])
    return expected, derivatives, constraints


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), bins=st.integers(2, 12), parameters=st.integers(1, 6))
def test_fisher_information_is_the_hessian_of_the_nll_at_the_asimov_data(seed, bins, parameters):
    expected, derivatives, constraints = _model(seed, bins, parameters)

    def nll(theta):
        nu = expected + theta @ derivatives  # linear in θ
        return (nu - expected * torch.log(nu)).sum() + 0.5 * (constraints * theta**2).sum()

    hessian = torch.autograd.functional.hessian(nll, torch.zeros(parameters, dtype=torch.float64))
    information = fisher_information(expected, derivatives, constraints)
    torch.testing.assert_close(information, hessian, rtol=1e-10, atol=1e-10)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    bins=st.integers(2, 12),
    parameters=st.integers(2, 6),
    index=st.integers(0, 5),
)
def test_profiling_never_narrows_and_orthogonal_nuisances_cost_nothing(
    seed, bins, parameters, index
):
    expected, derivatives, constraints = _model(seed, bins, parameters)
    index = index % parameters
    information = fisher_information(expected, derivatives, constraints)
    profiled = profiled_variance(expected, derivatives, constraints, index=index)
    assert float(profiled) >= float(1 / information[index, index]) * (1 - 1e-12)
    # Nuisances orthogonal to the parameter of interest in the ν⁻¹ metric cost nothing.
    poi = derivatives[index]
    metric = poi / expected
    orthogonal = derivatives - torch.outer((derivatives @ metric) / (poi @ metric), poi)
    orthogonal[index] = poi
    information = fisher_information(expected, orthogonal, constraints)
    alone = profiled_variance(expected, orthogonal, constraints, index=index)
    assert float(alone) == pytest.approx(float(1 / information[index, index]), rel=1e-9)


def test_profiled_variance_matches_the_likelihoods_asimov_interval():
    """Large counts: the profile interval's half-width is the square root of the variance."""
    rng = np.random.default_rng(0)
    signal = rng.uniform(1e3, 5e3, 6)
    background = rng.uniform(1e4, 3e4, 6)
    shift = rng.normal(0, 300, 6)  # a symmetric shape nuisance on the background
    likelihood = BinnedLikelihood(
        {"s": signal, "b": background},
        signal="s",
        shapes=[
            ShapeSystematic("x", low={"b": background - shift}, high={"b": background + shift})
        ],
    )
    asimov = likelihood.expected([1.0, 0.0])
    interval = likelihood.profile_interval(asimov)
    variance = profiled_variance(
        torch.as_tensor(asimov),
        torch.as_tensor(np.stack([signal, shift])),
        torch.tensor([0.0, 1.0], dtype=torch.float64),
    )
    assert (interval.high - interval.low) / 2 == pytest.approx(float(variance) ** 0.5, rel=0.01)
    stat = profiled_variance(
        torch.as_tensor(asimov), torch.as_tensor(signal[None]), torch.zeros(1, dtype=torch.float64)
    )
    assert float(variance) > 1.2 * float(stat)  # the nuisance matters here


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), events=st.integers(1, 50), bins=st.integers(2, 6))
def test_soft_counts_keep_the_total_weight_and_harden_to_the_argmax_histogram(seed, events, bins):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, events, bins, generator=generator, dtype=torch.float64) * 3
    weights = torch.rand(3, events, generator=generator, dtype=torch.float64)
    counts = soft_counts(logits, weights, temperature=0.7)
    torch.testing.assert_close(counts.sum(-1), weights.sum(-1))
    hard = torch.zeros(3, bins, dtype=torch.float64)
    hard.scatter_add_(1, logits.argmax(-1), weights)
    # Ties are measure-zero; the gap between the two largest logits sets the convergence.
    top = logits.topk(2, dim=-1).values
    if float((top[..., 0] - top[..., 1]).min()) > 1e-2:
        torch.testing.assert_close(soft_counts(logits, weights, temperature=1e-4), hard)


def test_gradients_flow_to_the_logits():
    logits = torch.randn(20, 4, requires_grad=True)
    weights = torch.ones(20)
    counts = soft_counts(logits, weights, temperature=0.5)
    signal = soft_counts(logits[:10], weights[:10], temperature=0.5)
    variance = profiled_variance(counts, signal[None], torch.zeros(1))
    variance.backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: soft_counts(torch.zeros(3, 2), torch.ones(3), temperature=0), "temperature"),
        (lambda: soft_counts(torch.zeros(3, 2), torch.ones(4)), "one weight per event"),
        (
            lambda: fisher_information(torch.ones(3), torch.ones(2, 4), torch.zeros(2)),
            "(parameters, bins)",
        ),
        (
            lambda: fisher_information(torch.ones(3), torch.ones(2, 3), torch.zeros(3)),
            "one value per parameter",
        ),
        (
            lambda: fisher_information(torch.tensor([1.0, 0.0]), torch.ones(1, 2), torch.zeros(1)),
            "> 0",
        ),
        (
            lambda: profiled_variance(torch.ones(2), torch.ones(1, 2), torch.zeros(1), index=3),
            "not a parameter",
        ),
        (
            lambda: profiled_variance(torch.ones(2), torch.zeros(2, 2), torch.tensor([0.0, 1.0])),
            "singular",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_one_softmax_weighted_per_process_equals_one_histogram_each():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 40, 5, generator=generator)  # (variants, events, bins)
    weights = torch.rand(3, 4, 40, generator=generator)  # (variants, processes, events)
    counts = soft_counts(logits[:, None], weights, temperature=0.3)
    assert counts.shape == (3, 4, 5)
    for k in range(4):
        torch.testing.assert_close(
            counts[:, k], soft_counts(logits, weights[:, k], temperature=0.3)
        )
