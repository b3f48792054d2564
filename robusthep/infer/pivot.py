"""Learning to pivot on a nuisance parameter: a classifier whose output ignores the nuisance."""

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from robusthep.errors import DataError
from robusthep.losses.adversary import AdversarialPivot, MixtureDensityNetwork
from robusthep.train import fit

__all__ = ["nuisance_protected", "output_shift", "train_pivot"]

Batch = tuple[torch.Tensor, ...]


def nuisance_protected(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The protected variable of a batch (x, y, w, z) for a nuisance: z, for every event.

    A nuisance such as the τ energy scale shifts signal and background alike, so the
    pivot is asked of both (unlike a jet mass, protected on background only).

    Example:
        >>> z, w = nuisance_protected((torch.zeros(2, 1), torch.tensor([0.0, 1.0]),
        ...                            torch.ones(2), torch.tensor([0.99, 1.01])))
        >>> z.tolist(), w.tolist()
        ([0.9900000095367432, 1.0099999904632568], [1.0, 1.0])
    """
    return batch[3].reshape(-1), batch[2].reshape(-1)


def train_pivot(
    model: nn.Module,
    train: Batch,
    *,
    strength: float,
    loc: float,
    scale: float,
    pretrain_epochs: int = 5,
    epochs: int = 10,
    adversary_steps: int = 1,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
) -> AdversarialPivot:
    """Pretrain ``model`` (with the adversary learning alongside), then train it against it.

    Uses :class:`robusthep.losses.AdversarialPivot` (the decorrelation issue's adversary,
    one implementation for both) with :func:`nuisance_protected`: first ``pretrain_epochs``
    at λ = 0, in which the adversary already learns p(z | f(x)), then ``epochs`` at
    λ = ``strength``. With ``strength`` = 0 the second phase is plain training, the
    baseline to compare with.

    Arguments:
        model: the classifier (one logit), trained in place.
        train: (x, y, w, z) with z the nuisance value each event was simulated at.
        strength: λ ≥ 0.
        loc, scale: the nuisance's centre and spread (the adversary's standardisation).
        pretrain_epochs, epochs, adversary_steps, batch_size, lr, seed: training settings.

    Returns:
        The pivot loss, with its trained adversary.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> x = torch.randn(256, 2)
        >>> z = 1 + 0.1 * torch.randn(256)
        >>> batch = (x + z[:, None], (x[:, 0] > 0).float(), torch.ones(256), z)
        >>> pivot = train_pivot(torch.nn.Linear(2, 1), batch, strength=1.0, loc=1.0,
        ...                     scale=0.1, pretrain_epochs=1, epochs=1, batch_size=64)
        >>> pivot.adversary_updates
        8

    References:
        Louppe, Kagan, Cranmer, "Learning to Pivot with Adversarial Networks",
        arXiv:1611.01046.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        adversary = MixtureDensityNetwork(1, components=3, loc=loc, scale=scale)
    first = AdversarialPivot(adversary, strength=0.0, protected=nuisance_protected)
    settings = {"batch_size": batch_size, "lr": lr, "progress": False}
    fit(model, first, train=train, epochs=pretrain_epochs, seed=seed, **settings)
    second = AdversarialPivot(
        adversary,
        strength=strength,
        adversary_steps=adversary_steps,
        protected=nuisance_protected,
        optimizer=first.optimizer,
    )
    second.adversary_updates = first.adversary_updates
    fit(model, second, train=train, epochs=epochs, seed=seed + 1, **settings)
    return second


def output_shift(nominal: ArrayLike, shifted: ArrayLike) -> float:
    """The largest distance between the CDFs of two samples of a classifier's output (KS).

    0 when the output's distribution does not move with the nuisance; 1 when the two
    samples do not overlap.

    Example:
        >>> output_shift([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]), output_shift([0.1], [0.9])
        (0.0, 1.0)
    """
    a = np.sort(np.asarray(nominal, dtype=float).reshape(-1))
    b = np.sort(np.asarray(shifted, dtype=float).reshape(-1))
    if a.size == 0 or b.size == 0:
        raise DataError("output_shift needs events in both samples")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))
