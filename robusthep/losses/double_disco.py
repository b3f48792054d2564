"""Double DisCo: two classifier outputs decorrelated from each other, for an ABCD estimate."""

from typing import Any

import torch

from robusthep.losses.disco import disco_loss

__all__ = ["double_disco_loss"]


def double_disco_loss(
    first: torch.Tensor,
    second: torch.Tensor,
    labels: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    **options: Any,
) -> torch.Tensor:
    r"""dCor²(f, g) on background between two classifier outputs f and g.

    Train two classifiers (or one network with two heads) with
    ``bce(f) + bce(g) + λ · double_disco_loss(f, g, labels, weights)``: on background f and
    g become independent, so the four regions of two cuts give the ABCD estimate
    N_A = N_B·N_C/N_D of the background in the signal region A (both pass); check it with
    :func:`robusthep.audit.abcd_closure`.

    Arguments:
        first: the first classifier's outputs f, shape (N,) or (N, 1).
        second: the second classifier's outputs g, shape (N,).
        labels: 0/1 labels; None treats every event as background.
        weights: per-event weights ≥ 0, normalised to sum N on the background.
        options: the keyword options of :func:`disco_loss` (``unbiased``, ``method``,
            ``block_size``, ``background_label``).

    Returns:
        A scalar tensor, differentiable in both outputs.

    Example:
        >>> generator = torch.Generator().manual_seed(0)
        >>> f, g = torch.rand(2, 1000, generator=generator)
        >>> labels = torch.zeros(1000)
        >>> double_disco_loss(f, g, labels, unbiased=True).abs().item() < 0.01
        True
        >>> round(double_disco_loss(f, f + 0.1 * g, labels).item(), 2)
        0.99

    References:
        Kasieczka, Nachman, Schwartz, Shih, "ABCDisCo: Automating the ABCD Method with
        Machine Learning", Phys. Rev. D 103 (2021) 035021, arXiv:2007.14400.
    """
    return disco_loss(first, second, labels, weights, **options)
