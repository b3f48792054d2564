"""Gradient attacks within a physics budget: FGSM and PGD on boxes of per-feature widths."""

from collections.abc import Callable

import torch
from torch import nn

from robusthep.audit.budget import Budget
from robusthep.errors import ConfigError, DataError

__all__ = ["fgsm", "model_output", "pgd"]

Objective = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _push_output(output: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Per event: the logit itself without labels (make every jet look like signal), or the
    logit pushed towards the wrong class, (1 − 2y)·logit, with labels."""
    output = output.reshape(len(output), -1)[:, 0]
    if labels is None:
        return output
    return (1 - 2 * labels.reshape(-1).to(output.dtype)) * output


def model_output(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``model(x)``, or ``model(x, mask)`` for set models such as the PFN."""
    return model(x) if mask is None else model(x, mask)


def _check(x: torch.Tensor, budget: Budget, mask: torch.Tensor | None) -> None:
    if not isinstance(budget, Budget):
        raise ConfigError(f"budget must be a robusthep.audit.Budget, got {type(budget).__name__}")
    budget.check_input(x)
    real = x if mask is None else x[mask.to(torch.bool)]
    bad = ~torch.isfinite(real)
    if bool(bad.any()):
        raise DataError(
            f"the attacked input holds {int(bad.sum())} NaN or infinite values; drop or "
            "impute those jets first"
        )


def _gradient(
    model: nn.Module,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    objective: Objective,
    labels: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-event objective, its gradient with respect to x)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        values = objective(model_output(model, x, mask), labels)
        if not values.requires_grad:
            raise ConfigError(
                f"{type(model).__name__}'s output does not depend differentiably on its input "
                "(no autograd graph: a model run under no_grad, detached, or not written in "
                "torch); FGSM and PGD need its gradient"
            )
        (gradient,) = torch.autograd.grad(values.sum(), x, allow_unused=True)
    if gradient is None or not bool(torch.isfinite(gradient).all()):
        raise ConfigError(
            f"{type(model).__name__}'s output has no finite gradient with respect to its input; "
            "FGSM and PGD need one"
        )
    return values.detach(), gradient


def _step(budget: Budget, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The half-widths broadcast to x, zero in padded slots."""
    widths = budget.tensor(x).expand_as(x)
    if mask is not None:
        widths = widths * mask.to(x.dtype).unsqueeze(-1)
    return widths


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    budget: Budget,
    *,
    labels: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    objective: Objective = _push_output,
) -> torch.Tensor:
    r"""The fast gradient sign method in the budget's box: x + w ⊙ sign(∇ₓ objective).

    One step to a corner of the box |Δxₖ| ≤ wₖ (wₖ of feature k, in every constituent); for
    equal widths it is Goodfellow's L∞ FGSM. Padded slots (``mask`` False) do not move.

    Arguments:
        model: the tagger, returning a logit per event (``model(x)`` or ``model(x, mask)``).
        x: its input, features in the last dimension.
        budget: the half-widths per feature.
        labels: 1 signal, 0 background; None attacks every event towards signal.
        mask: for set inputs (jets, constituents), True for real constituents.
        objective: ``objective(output, labels) -> per-event values`` to increase; the default
            pushes the logit towards the wrong class (up without labels).

    Returns:
        The perturbed input, detached.

    Raises:
        ConfigError: the model has no gradient with respect to its input, or the budget does
            not match the input's features.
        DataError: NaN or infinite inputs.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> _ = model.weight.data.copy_(torch.tensor([[-1.0, 2.0]]))
        >>> budget = Budget((0.1, 0.0), ("a", "b"))
        >>> fgsm(model, torch.zeros(1, 2), budget)
        tensor([[-0.1000,  0.0000]])

    References:
        Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples",
        arXiv:1412.6572; physics budgets after Nachman, Shimmin, arXiv:1910.08606.
    """
    _check(x, budget, mask)
    _, gradient = _gradient(model, x, mask, objective, labels)
    return (x + _step(budget, x, mask) * gradient.sign()).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    budget: Budget,
    *,
    labels: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = False,
    seed: int = 0,
    objective: Objective = _push_output,
) -> torch.Tensor:
    r"""Projected gradient ascent in the budget's box; each event keeps its best iterate.

    In budget units u = Δx / w (the box is ‖u‖∞ ≤ 1): u ← clip(u + α·sign(∇ᵤ objective), −1, 1)
    for ``steps`` steps, starting at 0 or uniformly in the box. The returned input is, per
    event, the iterate with the largest objective (without a random start the clean input is
    the first iterate, so PGD never does worse than no attack); with ``steps=1`` and α ≥ 1
    its step is FGSM's.

    Arguments:
        model, x, budget, labels, mask, objective: as for :func:`fgsm`.
        steps: gradient steps ≥ 1.
        step_size: α in budget units (default 2.5 / steps, Madry et al.'s choice).
        random_start: start from a uniform point in the box (seeded by ``seed``).
        seed: the seed of the random start.

    Returns:
        The perturbed input, detached.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        >>> x = torch.randn(16, 2)
        >>> budget = Budget((0.1, 0.1), ("a", "b"))
        >>> moved = pgd(model, x, budget, steps=5)
        >>> bool(((moved - x).abs() <= 0.1 + 1e-6).all())
        True
        >>> bool((model(moved) >= model(x) - 1e-6).all())
        True

    References:
        Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to
        Adversarial Attacks", arXiv:1706.06083.
    """
    _check(x, budget, mask)
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be an integer ≥ 1, got {steps!r}")
    alpha = 2.5 / steps if step_size is None else step_size
    if not (isinstance(alpha, int | float) and 0 < alpha < float("inf")):
        raise ConfigError(f"step_size must be a finite number > 0, got {step_size!r}")
    widths = _step(budget, x, mask)
    x = x.detach()
    if random_start:
        generator = torch.Generator().manual_seed(seed)
        units = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device) * 2 - 1
    else:
        units = torch.zeros_like(x)
    best, best_value = x, None
    for _ in range(steps + 1):
        candidate = x + widths * units
        value, gradient = _gradient(model, candidate, mask, objective, labels)
        if best_value is None:
            best, best_value = candidate, value
        else:
            better = value > best_value
            shape = (-1,) + (1,) * (x.ndim - 1)
            best = torch.where(better.reshape(shape), candidate, best)
            best_value = torch.where(better, value, best_value)
        units = torch.clamp(units + alpha * (gradient * widths).sign(), -1.0, 1.0)
    return best.detach()
