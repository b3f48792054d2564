"""Inference-aware losses (INFERNO): the profiled variance of a parameter of interest.

A network whose outputs are softmax bin memberships defines a histogram summary of the
data; its expected counts and their derivatives with respect to the parameter of interest
and the nuisances give the Fisher information of a binned Poisson likelihood with
Gaussian-constrained nuisances, whose inverse bounds the variance of the estimate after
profiling. Minimising that variance trains the summary for the measurement itself, the
nuisances included, rather than for classification.

Reference: P. de Castro and T. Dorigo, "INFERNO: Inference-Aware Neural Optimisation",
Comput. Phys. Commun. 244 (2019) 170, arXiv:1806.04743.
"""

import torch

from robusthep.errors import DataError

__all__ = ["fisher_information", "profiled_variance", "soft_counts"]


def soft_counts(
    logits: torch.Tensor, weights: torch.Tensor, *, temperature: float = 1.0
) -> torch.Tensor:
    """Weighted soft histogram: ``Σ_e w_e softmax(logits_e / temperature)`` over the events.

    The events are the second-to-last dimension of ``logits``; leading dimensions
    (variants of the events, …) are kept, and broadcast against those of ``weights``:
    logits of shape (…, 1, events, bins) with weights (…, k, events) give k weighted
    histograms of one softmax (e.g. one per process). As ``temperature → 0`` every event
    falls in its most probable bin and this is the hard histogram of the argmax.

    Arguments:
        logits: (…, events, bins) network outputs.
        weights: (…, events) event weights (0 for an event absent from a variant);
            leading dimensions broadcast with the logits'.
        temperature: > 0; lower is closer to the hard histogram, with steeper gradients.

    Returns:
        (…, bins) counts.

    Example:
        >>> logits = torch.tensor([[10.0, 0.0], [0.0, 10.0], [0.0, 10.0]])
        >>> soft_counts(logits, torch.tensor([1.0, 2.0, 0.5]), temperature=0.1).tolist()
        [1.0, 2.5]
    """
    if temperature <= 0:
        raise DataError(f"temperature must be > 0, got {temperature}")
    try:
        torch.broadcast_shapes(weights.shape, logits.shape[:-1])
        matched = weights.shape[-1:] == logits.shape[-2:-1]
    except RuntimeError:
        matched = False
    if not matched:
        raise DataError(
            f"weights of shape {tuple(weights.shape)} do not match the logits' events "
            f"{tuple(logits.shape[:-1])}: pass one weight per event"
        )
    probabilities = torch.softmax(logits / temperature, dim=-1)
    return (weights.unsqueeze(-1) * probabilities).sum(dim=-2)


def fisher_information(
    expected: torch.Tensor, derivatives: torch.Tensor, constraints: torch.Tensor
) -> torch.Tensor:
    """Fisher information of Poisson bins with Gaussian constraints, at the expectation.

    ``I_ij = Σ_b ∂_i ν_b ∂_j ν_b / ν_b + δ_ij c_i``: the Hessian of
    ``Σ_b (ν_b − n_b ln ν_b) + ½ Σ_i c_i θ_i²`` at ``n = ν`` (the Asimov data set), where
    the second derivatives of ν drop out.

    Arguments:
        expected: (bins,) expected counts ν, all > 0.
        derivatives: (parameters, bins) ∂ν_b/∂θ_i at the point of expansion.
        constraints: (parameters,) c_i, the inverse prior variance in the units of θ_i
            (1 for a nuisance measured in prior σ, 0 for the parameter of interest).

    Example:
        >>> fisher_information(torch.tensor([4.0]), torch.tensor([[2.0]]), torch.tensor([0.0]))
        tensor([[1.]])
    """
    if expected.dim() != 1 or derivatives.dim() != 2 or derivatives.shape[1] != expected.shape[0]:
        raise DataError(
            f"expected {tuple(expected.shape)} and derivatives {tuple(derivatives.shape)} "
            "must be (bins,) and (parameters, bins)"
        )
    if constraints.shape != derivatives.shape[:1]:
        raise DataError(
            f"constraints {tuple(constraints.shape)} must hold one value per parameter "
            f"({derivatives.shape[0]})"
        )
    if not bool(torch.all(expected > 0)):
        raise DataError("every expected count must be > 0 (add a floor to empty bins)")
    return (derivatives / expected) @ derivatives.T + torch.diag(constraints)


def profiled_variance(
    expected: torch.Tensor,
    derivatives: torch.Tensor,
    constraints: torch.Tensor,
    *,
    index: int = 0,
) -> torch.Tensor:
    """The variance of parameter ``index`` with every other parameter profiled: ``(I⁻¹)_ii``.

    The INFERNO loss: by the Cramér–Rao bound the variance of an unbiased estimate from
    the binned likelihood, which its profile-likelihood interval approaches
    (half-width ≈ √ of this) when the counts are large. Always ≥ ``1 / I_ii``, the
    variance with the other parameters fixed; equal when no other parameter moves the
    counts in a direction correlated with parameter ``index``.

    Arguments:
        expected, derivatives, constraints: as :func:`fisher_information`.
        index: the parameter of interest.

    Example:
        >>> nu = torch.tensor([10.0, 10.0])
        >>> d = torch.tensor([[5.0, 5.0], [2.0, 2.0]])  # a nuisance moving both bins alike
        >>> round(float(profiled_variance(nu, d[:1], torch.tensor([0.0]))), 4)  # μ alone: 1 / 5
        0.2
        >>> round(float(profiled_variance(nu, d, torch.tensor([0.0, 1.0]))), 4)  # profiled
        0.36
    """
    information = fisher_information(expected, derivatives, constraints)
    if not -information.shape[0] <= index < information.shape[0]:
        raise DataError(f"index {index} is not a parameter (there are {information.shape[0]})")
    unit = torch.zeros(information.shape[0], dtype=information.dtype, device=information.device)
    unit[index] = 1.0
    try:
        return unit @ torch.linalg.solve(information, unit)
    except torch.linalg.LinAlgError as error:
        raise DataError(
            "the Fisher information is singular: an unconstrained parameter moves no expected "
            "count (e.g. a batch without signal events); use larger or shuffled batches"
        ) from error
