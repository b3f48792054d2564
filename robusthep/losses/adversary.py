"""Learning to pivot: a mixture density network adversary and alternating updates."""

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError, DataError
from robusthep.losses._inputs import as_vector, check_strength, event_weights

__all__ = ["AdversarialPivot", "MixtureDensityNetwork", "background_protected", "weighted_bce"]

Batch = tuple[torch.Tensor, ...]
ClassifierLoss = Callable[[nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]
Protected = Callable[[Batch], tuple[torch.Tensor, torch.Tensor | None]]


class MixtureDensityNetwork(nn.Module):
    r"""p(z | c): a mixture of Gaussians in a scalar z whose weights, means and widths an MLP
    predicts from a context c (a classifier's outputs).

    The adversary of learning to pivot: if it cannot predict z from c better than from
    nothing, c carries no information on z. z is standardised with ``loc`` and ``scale``
    (give the protected variable's mean and spread, e.g. 150 and 60 GeV for a jet mass);
    densities are returned in the units of z.

    Arguments:
        context_features: the size of c.
        components: the number of Gaussians.
        hidden: the widths of the hidden layers.
        loc: subtracted from z before the density is evaluated.
        scale: z is divided by it after subtracting ``loc``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> adversary = MixtureDensityNetwork(1, components=3, loc=150.0, scale=60.0)
        >>> adversary.log_prob(torch.tensor([120.0, 200.0]), torch.rand(2, 1)).shape
        torch.Size([2])

    References:
        Bishop, "Mixture density networks" (1994); Louppe, Kagan, Cranmer, "Learning to
        Pivot with Adversarial Networks", arXiv:1611.01046.
    """

    def __init__(
        self,
        context_features: int = 1,
        *,
        components: int = 5,
        hidden: Sequence[int] = (32, 32),
        loc: float = 0.0,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        for name, value in (("context_features", context_features), ("components", components)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer ≥ 1, got {value!r}")
        if not (math.isfinite(scale) and scale > 0 and math.isfinite(loc)):
            raise ConfigError(f"loc must be finite and scale > 0, got loc={loc}, scale={scale}")
        widths = [context_features, *hidden]
        layers: list[nn.Module] = []
        for size_in, size_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(size_in, size_out), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], 3 * components))
        self.net = nn.Sequential(*layers)
        self.context_features, self.components = context_features, components
        self.register_buffer("loc", torch.tensor(float(loc)))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mixture's log-weights, means and log-widths (standardised z), each (N, K)."""
        context = context.reshape(len(context), -1)
        if context.shape[1] != self.context_features:
            raise DataError(
                f"the context has {context.shape[1]} features per event, the adversary expects "
                f"{self.context_features}"
            )
        logits, means, log_scales = self.net(context).chunk(3, dim=-1)
        return F.log_softmax(logits, dim=-1), means, log_scales.clamp(-7.0, 7.0)

    def log_prob(self, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """log p(z | c) for each event, in the units of z: shape (N,)."""
        log_weights, means, log_scales = self(context)
        standard = ((z.reshape(-1, 1) - self.loc) / self.scale - means) * torch.exp(-log_scales)
        per_component = -0.5 * standard**2 - log_scales - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(log_weights + per_component, dim=-1) - torch.log(self.scale)

    def nll(
        self, z: torch.Tensor, context: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The weighted mean negative log-likelihood −Σwᵢ log p(zᵢ|cᵢ) / Σwᵢ.

        Arguments:
            z: the protected variable, shape (N,).
            context: the classifier outputs, shape (N, context_features) or (N,).
            weights: per-event weights ≥ 0 (zero drops an event, e.g. signal), or None.

        Returns:
            A scalar tensor.
        """
        z = as_vector("protected", z)
        w = event_weights(weights, rows=z.numel(), like=z)
        return -(w * self.log_prob(z, context)).sum() / w.sum()


def weighted_bce(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The default classifier loss for a batch (x, y, w, …): weighted BCE on the model's
    logits, and the sigmoid outputs the adversary sees."""
    x, y, w = batch[0], batch[1], batch[2]
    logits = model(x).reshape(-1)
    losses = F.binary_cross_entropy_with_logits(
        logits, y.reshape(-1).to(logits.dtype), reduction="none"
    )
    w = w.reshape(-1).to(logits.dtype)
    return (w * losses).sum() / w.sum(), torch.sigmoid(logits)[:, None]


def background_protected(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The default protected variable of a batch (x, y, w, z): z, with the background
    events' weights and zero for signal (the pivot is asked of background only)."""
    y, w, z = batch[1].reshape(-1), batch[2].reshape(-1), batch[3].reshape(-1)
    return z, torch.where(y == 0, w, torch.zeros_like(w))


class AdversarialPivot:
    r"""The loss of learning to pivot, as a ``loss_fn`` for :func:`robusthep.train.fit`.

    Each training call first takes K optimizer steps of the adversary r on the classifier's
    current (detached) outputs, minimising its NLL L_r of the protected variable z; then it
    returns L_f − λ·L_r, so the classifier's step (taken by ``fit``) lowers its own loss and
    raises the adversary's. Under ``torch.no_grad`` (``fit``'s validation) the adversary is
    not trained and the same L_f − λ·L_r is returned. As in the paper, pretrain the
    classifier with λ = 0 and the adversary with :meth:`adversary_loss_fn` first.

    Nothing in it is specific to jet mass: ``classifier_loss`` and ``protected`` say what
    the model's loss and outputs are and what to pivot on, so the same class pivots a
    likelihood-ratio estimator on a nuisance parameter.

    The adversary and its optimizer live here, not in ``fit``'s checkpoint: a resumed run
    restarts the adversary (save ``adversary.state_dict()`` yourself to keep it).

    Arguments:
        adversary: the adversary, e.g. a :class:`MixtureDensityNetwork`.
        strength: λ ≥ 0.
        adversary_steps: K ≥ 1, adversary steps per classifier step.
        adversary_lr: the adversary's Adam learning rate (ignored with ``optimizer``).
        classifier_loss: ``(model, batch) -> (L_f, outputs)``; default :func:`weighted_bce`
            for batches (x, y, w, z).
        protected: ``batch -> (z, weights or None)``; default :func:`background_protected`.
        optimizer: the adversary's optimizer; default Adam.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> from robusthep.train import fit
        >>> x = torch.randn(256, 2)
        >>> y = (x[:, 0] > 0).float()
        >>> mass = 100 + 20 * x[:, 1] + 10 * y
        >>> batch = (x, y, torch.ones(256), mass)
        >>> classifier = torch.nn.Linear(2, 1)
        >>> pivot = AdversarialPivot(MixtureDensityNetwork(1), strength=1.0, adversary_steps=2)
        >>> result = fit(classifier, pivot, train=batch, epochs=2, batch_size=64, progress=False)
        >>> pivot.adversary_updates
        16

    References:
        Louppe, Kagan, Cranmer, "Learning to Pivot with Adversarial Networks", NeurIPS 2017,
        arXiv:1611.01046; Shimmin et al., "Decorrelated jet substructure tagging using
        adversarial neural networks", Phys. Rev. D 96 (2017) 074034, arXiv:1703.03507.
    """

    def __init__(
        self,
        adversary: MixtureDensityNetwork,
        *,
        strength: float,
        adversary_steps: int = 1,
        adversary_lr: float = 1e-3,
        classifier_loss: ClassifierLoss = weighted_bce,
        protected: Protected = background_protected,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        if not isinstance(adversary, MixtureDensityNetwork):
            raise ConfigError(
                f"adversary must be a MixtureDensityNetwork, got {type(adversary).__name__}"
            )
        if isinstance(adversary_steps, bool) or not isinstance(adversary_steps, int):
            raise ConfigError(f"adversary_steps must be an integer ≥ 1, got {adversary_steps!r}")
        if adversary_steps < 1:
            raise ConfigError(f"adversary_steps must be an integer ≥ 1, got {adversary_steps!r}")
        if not adversary_lr > 0:
            raise ConfigError(f"adversary_lr must be > 0, got {adversary_lr!r}")
        self.adversary = adversary
        self.strength = check_strength(strength)
        self.adversary_steps = adversary_steps
        self.classifier_loss = classifier_loss
        self.protected = protected
        self.optimizer = optimizer or torch.optim.Adam(adversary.parameters(), lr=adversary_lr)
        self.adversary_updates = 0
        self.last_adversary_loss: float | None = None

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """L_f − λ·L_r for one batch, after K adversary steps when gradients are enabled."""
        classifier_loss, outputs = self.classifier_loss(model, batch)
        z, weights = self.protected(batch)
        if torch.is_grad_enabled():
            self._train_adversary(z, outputs.detach(), weights)
        if self.strength == 0:
            return classifier_loss
        # The adversary's parameters are constants in the classifier's step.
        frozen = [p for p in self.adversary.parameters() if p.requires_grad]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            adversary_loss = self.adversary.nll(z, outputs, weights)
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)
        return classifier_loss - self.strength * adversary_loss

    def _train_adversary(
        self, z: torch.Tensor, outputs: torch.Tensor, weights: torch.Tensor | None
    ) -> None:
        was_training = self.adversary.training
        self.adversary.train()
        for _ in range(self.adversary_steps):
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.adversary.nll(z, outputs, weights)
            loss.backward()
            self.optimizer.step()
            self.adversary_updates += 1
            self.last_adversary_loss = loss.item()
        self.optimizer.zero_grad(set_to_none=True)
        self.adversary.train(was_training)

    def adversary_loss_fn(
        self, classifier: nn.Module
    ) -> Callable[[nn.Module, Batch], torch.Tensor]:
        """A ``loss_fn`` to pretrain the adversary with ``fit(adversary, ...)`` on the outputs
        of a fixed ``classifier``."""

        def adversary_nll(adversary: nn.Module, batch: Batch) -> torch.Tensor:
            with torch.no_grad():
                _, outputs = self.classifier_loss(classifier, batch)
            z, weights = self.protected(batch)
            return adversary.nll(z, outputs, weights)

        return adversary_nll
