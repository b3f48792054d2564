"""The hinge (margin) loss for Lipschitz classifiers, and their certified radii."""

import torch

from robusthep.errors import ConfigError, DataError

__all__ = ["certified_radius", "lipschitz_margin_loss"]


def _signed_labels(labels: torch.Tensor) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    values = set(torch.unique(labels).tolist())
    if values <= {0, 1}:
        return labels.to(torch.float32) * 2 - 1
    if values <= {-1, 1}:
        return labels.to(torch.float32)
    raise DataError(f"labels must be 0/1 or −1/+1, got the values {sorted(values)[:10]}")


def lipschitz_margin_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    *,
    margin: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""The hinge loss max(0, m − y·ŷ), averaged with optional per-event weights.

    BCE and MSE push a bounded-gradient classifier towards ±1, which a tight Lipschitz bound
    may make impossible; the hinge only asks for a margin m, reachable by a 1-Lipschitz
    function when m is about half the distance between the classes.

    Arguments:
        scores: the classifier's raw outputs ŷ, shape (N,) or (N, 1).
        labels: 0/1 or −1/+1, shape (N,).
        margin: m > 0.
        weights: per-event weights (N,), or None for equal weights.

    Returns:
        A scalar tensor.

    Example:
        >>> lipschitz_margin_loss(torch.tensor([0.5, -2.0]), torch.tensor([1, 0]), margin=1.0)
        tensor(0.2500)

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512; Anil, Lucas, Grosse, arXiv:1811.05381.
    """
    if not margin > 0:
        raise ConfigError(f"margin must be > 0, got {margin!r}")
    scores = scores.reshape(-1)
    y = _signed_labels(labels).reshape(-1).to(scores.device)
    if y.shape != scores.shape:
        raise DataError(f"{scores.numel()} scores but {y.numel()} labels")
    losses = torch.relu(margin - y * scores)
    if weights is None:
        return losses.mean()
    weights = torch.as_tensor(weights, dtype=scores.dtype).reshape(-1)
    if weights.shape != scores.shape:
        raise DataError(f"{scores.numel()} scores but {weights.numel()} weights")
    return (weights * losses).sum() / weights.sum()


def certified_radius(
    scores: torch.Tensor, *, lipschitz: float, threshold: float = 0.0
) -> torch.Tensor:
    r"""Each event's certified radius |ŷ − t| / L: no input change smaller than it can flip
    the decision ŷ > t, in the norm L is the Lipschitz bound for.

    Arguments:
        scores: the raw outputs ŷ of an L-Lipschitz classifier.
        lipschitz: its certified bound L > 0 (e.g. from ``lipschitz_bound``).
        threshold: the decision threshold t.

    Returns:
        Radii, the shape of ``scores``.

    Example:
        >>> certified_radius(torch.tensor([0.5, -2.0]), lipschitz=2.0)
        tensor([0.2500, 1.0000])
    """
    if not lipschitz > 0:
        raise ConfigError(f"lipschitz must be > 0, got {lipschitz!r}")
    return (scores - threshold).abs() / lipschitz
