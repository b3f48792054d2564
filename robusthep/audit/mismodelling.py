"""Adversarial mismodelling: a network g(J) that moves jets within the budget so that a tagger
sees more signal while background and control observables look unchanged."""

from collections.abc import Callable, Sequence

import torch
from torch import nn

from robusthep.audit.attacks import model_output
from robusthep.audit.budget import Budget
from robusthep.errors import ConfigError, DataError

__all__ = ["JetPerturber", "mismodelling_loss"]

Observables = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    last = nn.Linear(widths[-1], out_features)
    # Zero-initialised: g starts as the identity, the simulation itself.
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class JetPerturber(nn.Module):
    r"""g(J) = J + w ⊙ tanh(h(J)): a learnt change of every jet, inside the budget's box.

    For flat inputs (jets, features) h is an MLP of the standardised features. For sets
    (``constituents=True``; inputs (jets, constituents, features) with a mask) each
    constituent's change is computed from
    its own standardised features and the mean of a per-constituent embedding over the jet
    (a Deep Sets context), so g can move constituents coherently; padded slots never move.
    |tanh| < 1 keeps every change strictly inside the budget; g sees no label, so it models
    a change of the detector or physics, the same for signal and background jets.

    Arguments:
        budget: the half-widths w per feature.
        mean, scale: the standardisation of the features that h sees.
        constituents: the inputs are sets of constituents with a mask.
        hidden: hidden widths of h (and of the set embedding).

    Example:
        >>> g = JetPerturber(Budget((0.1, 0.0), ("a", "b")), torch.zeros(2), torch.ones(2))
        >>> x = torch.randn(4, 2)
        >>> torch.equal(g(x), x)  # the identity before training
        True

    References:
        Nachman, Shimmin, "AI Safety for High Energy Physics", arXiv:1910.08606.
    """

    def __init__(
        self,
        budget: Budget,
        mean: torch.Tensor,
        scale: torch.Tensor,
        *,
        constituents: bool = False,
        hidden: Sequence[int] = (32, 32),
    ) -> None:
        super().__init__()
        features = len(budget.widths)
        self.budget = budget
        self.register_buffer("widths", torch.tensor(budget.widths, dtype=torch.float32))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(-1))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).reshape(-1))
        if self.mean.numel() != features or self.scale.numel() != features:
            raise ConfigError(f"mean and scale need {features} entries, one per budget feature")
        self.constituents = constituents
        if constituents:
            self.embed = _mlp(features, hidden[:1], hidden[0])
            nn.init.normal_(self.embed[-1].weight, std=0.1)
            self.change = _mlp(features + hidden[0], hidden, features)
        else:
            self.change = _mlp(features, hidden, features)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        self.budget.check_input(x)
        if (mask is not None) != self.constituents:
            raise DataError(
                "a JetPerturber built with constituents=True needs the mask of the jets' "
                "constituents, and one built for flat inputs takes none"
            )
        standard = (x - self.mean) / self.scale
        if mask is None:
            return x + self.widths * torch.tanh(self.change(standard))
        real = mask.to(x.dtype).unsqueeze(-1)
        standard = standard * real
        context = (self.embed(standard) * real).sum(1) / real.sum(1).clamp(min=1)
        context = context.unsqueeze(1).expand(-1, x.shape[1], -1)
        change = torch.tanh(self.change(torch.cat([standard, context], -1)))
        return x + self.widths * change * real


def mismodelling_loss(
    tagger: nn.Module,
    perturber: JetPerturber,
    x: torch.Tensor,
    labels: torch.Tensor,
    *,
    observables: Observables,
    mask: torch.Tensor | None = None,
    classifier_weight: float = 10.0,
    observable_weight: float = 100.0,
) -> torch.Tensor:
    r"""The Nachman–Shimmin loss of g, to minimise with the tagger f frozen:

    L = ⟨log(1 − f(g(J)))⟩_signal + ⟨λ_cls (f(J) − f(g(J)))² + Σ_O λ_obs (O(J) − O(g(J)))²⟩_bkg

    with f = sigmoid(logit). Minimising the first term raises the signal's tagger output;
    the second keeps background jets' output and the control observables (``observables``,
    e.g. log jet pT and log jet mass, so that the penalty is on relative changes) where they
    were, jet by jet.

    Arguments:
        tagger: f, returning logits (``tagger(x)`` or ``tagger(x, mask)``).
        perturber: g.
        x, labels, mask: a batch of jets, 1 signal and 0 background.
        observables: ``observables(x, mask) -> (jets, n_observables)``.
        classifier_weight: λ_cls.
        observable_weight: λ_obs.

    Returns:
        A scalar tensor.

    Example:
        >>> budget = Budget((0.1, 0.1), ("a", "b"))
        >>> g = JetPerturber(budget, torch.zeros(2), torch.ones(2))
        >>> f = nn.Linear(2, 1)
        >>> x, y = torch.randn(8, 2), torch.tensor([1.0, 0.0] * 4)
        >>> loss = mismodelling_loss(f, g, x, y, observables=lambda x, m: x[:, :1])
        >>> loss.shape
        torch.Size([])

    References:
        Nachman, Shimmin, "AI Safety for High Energy Physics", arXiv:1910.08606.
    """
    signal = labels.reshape(-1) > 0.5
    moved = perturber(x, mask)
    logit_moved = model_output(tagger, moved, mask).reshape(-1)
    with torch.no_grad():
        logit_clean = model_output(tagger, x, mask).reshape(-1)
    zero = logit_moved.sum() * 0
    # log(1 − sigmoid(a)) = −softplus(a), stable for large logits.
    signal_term = -nn.functional.softplus(logit_moved[signal]).mean() if signal.any() else zero
    background = ~signal
    if not background.any():
        return signal_term
    classifier = (torch.sigmoid(logit_clean) - torch.sigmoid(logit_moved))[background] ** 2
    clean_mask = None if mask is None else mask[background]
    shift = observables(moved[background], clean_mask) - observables(x[background], clean_mask)
    control = shift.pow(2).sum(-1)
    return signal_term + (classifier_weight * classifier + observable_weight * control).mean()
