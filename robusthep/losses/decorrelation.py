"""One entry point to the decorrelation penalties: a method name, a strength λ, options."""

import inspect
from collections.abc import Callable
from typing import Any

import torch

from robusthep.errors import ConfigError
from robusthep.losses._inputs import check_strength
from robusthep.losses.disco import disco_loss
from robusthep.losses.mode import mode_loss

__all__ = ["DECORRELATION_METHODS", "decorrelation_loss"]

DECORRELATION_METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "disco": disco_loss,
    "mode": mode_loss,
}

Penalty = Callable[..., torch.Tensor]


def decorrelation_loss(method: str, *, strength: float, **options: Any) -> Penalty:
    r"""λ × a decorrelation penalty, as ``penalty(scores, protected, labels, weights)``.

    Arguments:
        method: ``"disco"`` (:func:`disco_loss`) or ``"mode"`` (:func:`mode_loss`). The
            adversary is not a penalty but a second network trained alongside: use
            :class:`AdversarialPivot`.
        strength: λ ≥ 0; 0 gives the unconstrained classifier.
        options: keyword options of the chosen loss (``unbiased=True``, ``order=1`` …).

    Returns:
        A callable ``(scores, protected, labels=None, weights=None) -> λ · penalty``.

    Example:
        >>> penalty = decorrelation_loss("mode", strength=10.0, order=1)
        >>> mass = torch.linspace(0, 1, 64)
        >>> round(penalty(mass, mass).item(), 3)
        1.624

    References:
        DisCo arXiv:2001.05310; MoDe arXiv:2010.09745.
    """
    if method not in DECORRELATION_METHODS:
        valid = ", ".join(repr(name) for name in DECORRELATION_METHODS)
        raise ConfigError(
            f"unknown decorrelation method {method!r}; use one of {valid} (for the "
            "adversary, use robusthep.losses.AdversarialPivot)"
        )
    strength = check_strength(strength)
    loss = DECORRELATION_METHODS[method]
    accepted = {
        name
        for name, parameter in inspect.signature(loss).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} for method {method!r}; it takes {sorted(accepted)}"
        )

    def penalty(
        scores: torch.Tensor,
        protected: torch.Tensor,
        labels: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return strength * loss(scores, protected, labels, weights, **options)

    return penalty
