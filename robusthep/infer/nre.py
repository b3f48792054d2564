"""Neural ratio estimation: a classifier of joint against marginal (x, θ) pairs (NRE-A, NRE-B)."""

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError

__all__ = ["NRELoss"]

Batch = tuple[torch.Tensor, ...]


class NRELoss:
    r"""The loss of neural ratio estimation, a ``loss_fn`` for :func:`robusthep.train.fit`.

    The model is a parametrised :class:`~robusthep.infer.ratio.RatioEstimator` d(x, θ);
    batches are (x, θ, w) drawn from the joint p(θ) p(x|θ) (θ from the prior, x simulated
    at it). Pairs with θ taken from other rows of the (shuffled) batch are draws of the
    product of marginals p(x) p(θ).

    - ``"A"`` (AALR / NRE-A): binary cross-entropy of joint pairs (label 1) against
      marginal pairs (x_i, θ_{i−1}) (label 0); the logit converges to
      log r(x, θ) = log p(x|θ)/p(x) = log p(θ|x)/p(θ).
    - ``"B"`` (NRE-B, contrastive): each x against ``classes`` candidate θ (its own and
      ``classes`` − 1 from other rows), softmax cross-entropy picking its own; the logit
      converges to log r(x, θ) + c(x), which a posterior normalised over θ does not see.

    The posterior is then p(θ|x) ∝ p(θ) exp(d(x, θ)), normalised on a grid of θ.

    Arguments:
        kind: ``"A"`` or ``"B"``.
        classes: the candidates per x of NRE-B (≥ 2).

    Example:
        >>> from robusthep.infer.ratio import RatioEstimator
        >>> _ = torch.manual_seed(0)
        >>> model = RatioEstimator(1, parameters=1, theta_range=[(-1.0, 1.0)])
        >>> theta = torch.rand(64, 1) * 2 - 1
        >>> batch = (theta + 0.1 * torch.randn(64, 1), theta, torch.ones(64))
        >>> NRELoss("A")(model, batch).item() > 0, NRELoss("B", classes=4)(model, batch).ndim
        (True, 0)

    References:
        Hermans, Begy, Louppe, "Likelihood-free MCMC with Amortized Approximate Ratio
        Estimators", arXiv:1903.04057 (NRE-A); Durkan, Murray, Papamakarios, "On Contrastive
        Learning for Likelihood-free Inference", arXiv:2002.03712 (NRE-B); the ``sbi``
        package's NRE_A and NRE_B.
    """

    def __init__(self, kind: str = "A", *, classes: int = 2) -> None:
        if kind not in ("A", "B"):
            raise ConfigError(f"unknown NRE kind {kind!r}; valid: 'A', 'B'")
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ConfigError(f"classes must be an integer ≥ 2, got {classes!r}")
        self.kind, self.classes = kind, classes

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The loss of one batch (x, θ, w)."""
        x, theta, w = batch[0], batch[1], batch[2].reshape(-1)
        rows = len(x)
        if self.kind == "A":
            joint = model(x, theta)
            marginal = model(x, theta.roll(1, dims=0))
            losses = F.binary_cross_entropy_with_logits(
                joint, torch.ones_like(joint), reduction="none"
            ) + F.binary_cross_entropy_with_logits(
                marginal, torch.zeros_like(marginal), reduction="none"
            )
        else:
            classes = min(self.classes, rows)
            candidates = torch.cat([theta.roll(k, dims=0) for k in range(classes)])
            logits = model(x.repeat(classes, 1), candidates).reshape(classes, rows).T
            losses = torch.logsumexp(logits, dim=1) - logits[:, 0]
        return (w * losses).sum() / w.sum()
