"""Certified robustness of Lipschitz taggers to a physics budget: radii and certified fraction."""

from dataclasses import dataclass

import torch
from torch import nn

from robusthep.audit.attacks import model_output
from robusthep.audit.budget import Budget
from robusthep.errors import ConstraintError, DataError
from robusthep.nn import Standardize, lipschitz_bound
from robusthep.nn.pfn import ParticleFlowNetwork

__all__ = ["Certificate", "budget_lipschitz", "certify"]


def budget_lipschitz(
    model: nn.Module,
    budget: Budget,
    mask: torch.Tensor | None = None,
    x: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Each event's bound L with |Δlogit| ≤ L·‖Δx / w‖∞: the Lipschitz constant in the budget
    norm, so L is the largest logit change the whole budget can cause.

    - :class:`~robusthep.nn.pfn.ParticleFlowNetwork`: λ_F · s · n · λ_Φ · maxₖ(wₖ/σₖ) per
      jet (n real constituents), local to the jets ``x`` with ``exp_features`` (see its
      ``lipschitz_bound``).
    - ``nn.Sequential(Standardize, rest)``: maxₖ(wₖ/σₖ) · L∞(rest), the standardisation's
      scales σ folded with the widths w (fixed features, w = 0, drop out).
    - any other module: maxₖ wₖ · L∞(model), from :func:`robusthep.nn.lipschitz_bound`.

    Arguments:
        model: the tagger (one logit per event).
        budget: the per-feature half-widths w.
        mask: for set models, (events, constituents) True for real constituents.
        x: the events, for bounds that are local to them (a PFN with ``exp_features``).

    Returns:
        A tensor (events,) of bounds (one value repeated for per-event models, which then
        needs ``mask`` or is returned with one entry).

    Raises:
        ConstraintError: the model has no certified Lipschitz bound (e.g. plain ReLU layers).

    Example:
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = nn.Sequential(Standardize(torch.zeros(2), torch.tensor([0.5, 2.0])),
        ...                     lipschitz_mlp(2, hidden=(8,), lipschitz=3.0, input_norm="inf"))
        >>> [round(v, 9) for v in budget_lipschitz(net, Budget((0.1, 0.4), ("a", "b"))).tolist()]
        [0.6]
    """
    widths = torch.tensor(budget.widths, dtype=torch.float64)
    if isinstance(model, ParticleFlowNetwork):
        if mask is None:
            raise DataError("a ParticleFlowNetwork's bound depends on each jet's mask; pass mask=")
        return model.lipschitz_bound(mask, widths, x)
    if isinstance(model, nn.Sequential) and len(model) > 1 and isinstance(model[0], Standardize):
        factor = float((widths / model[0].scale.detach().double()).max())
        rest = nn.Sequential(*list(model)[1:])
        bound = factor * _bound(rest, len(widths))
    else:
        bound = float(widths.max()) * _bound(model, len(widths))
    count = 1 if mask is None else len(mask)
    return torch.full((count,), bound, dtype=torch.float64)


def _bound(model: nn.Module, in_features: int) -> float:
    try:
        return lipschitz_bound(model, input_norm="inf", output_norm="inf", in_features=in_features)
    except ConstraintError as error:
        raise ConstraintError(
            f"{type(model).__name__} has no certified Lipschitz bound, so no certificate can "
            f"be given: {error}"
        ) from error


@dataclass(frozen=True)
class Certificate:
    """What :func:`certify` finds, per event and in summary.

    Attributes:
        logits: the clean outputs.
        bounds: the largest logit change the whole budget can cause (per event).
        radii: |logit − threshold| / bound, in budget units (1 = the whole budget).
        certified: radius ≥ 1: no perturbation within the budget flips the decision.
        fraction: the fraction of events certified.
    """

    logits: torch.Tensor
    bounds: torch.Tensor
    radii: torch.Tensor
    certified: torch.Tensor
    fraction: float


def certify(
    model: nn.Module,
    x: torch.Tensor,
    budget: Budget,
    *,
    threshold: float = 0.0,
    mask: torch.Tensor | None = None,
) -> Certificate:
    r"""Certified radii of the decision logit > ``threshold`` in the budget norm ‖Δx / w‖∞.

    radius = |logit − t| / L (L from :func:`budget_lipschitz`): a perturbation with
    ‖Δx / w‖∞ < radius cannot flip the decision, so radius ≥ 1 certifies the event against
    the whole budget.

    Example:
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = lipschitz_mlp(2, hidden=(8,), lipschitz=1.0, input_norm="inf")
        >>> result = certify(net, torch.randn(100, 2), Budget((0.1, 0.1), ("a", "b")))
        >>> bool((result.bounds <= 0.1 + 1e-9).all()), 0 <= result.fraction <= 1
        (True, True)

    References:
        Tsuzuku, Sato, Sugiyama, "Lipschitz-Margin Training", arXiv:1802.04034;
        Kitouni, Nolte, Williams, arXiv:2112.00038.
    """
    budget.check_input(x)
    bounds = budget_lipschitz(model, budget, mask, x)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model_output(model, x, mask).reshape(len(x), -1)[:, 0].double()
    finally:
        model.train(was_training)
    bounds = bounds.expand_as(logits) if bounds.numel() == 1 else bounds
    radii = (logits - threshold).abs() / bounds
    certified = radii >= 1
    return Certificate(
        logits=logits,
        bounds=bounds,
        radii=radii,
        certified=certified,
        fraction=float(certified.double().mean()),
    )
