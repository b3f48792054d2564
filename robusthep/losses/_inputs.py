"""Checks of the tensors the decorrelation losses take, shared by all of them."""

import math

import torch

from robusthep.errors import ConfigError, DataError

__all__ = ["as_vector", "background_mask", "check_strength", "event_weights"]


def as_vector(name: str, value: torch.Tensor, *, rows: int | None = None) -> torch.Tensor:
    """``value`` as a finite 1-d floating tensor of ``rows`` entries, or a DataError."""
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    if value.ndim > 1 and value.shape[1:].numel() != 1:
        raise DataError(
            f"{name} must hold one value per event, shape (N,) or (N, 1); got shape "
            f"{tuple(value.shape)}"
        )
    value = value.reshape(-1)
    if not value.is_floating_point():
        value = value.to(torch.get_default_dtype())
    if rows is not None and value.numel() != rows:
        raise DataError(
            f"{name} has {value.numel()} entries but the scores have {rows}; every tensor "
            "must hold one entry per event, in the same order"
        )
    bad = ~torch.isfinite(value.detach())
    if bool(bad.any()):
        nan = int(torch.isnan(value.detach()).sum())
        first = int(bad.nonzero()[0, 0])
        raise DataError(
            f"{name} holds {nan} NaN and {int(bad.sum()) - nan} infinite values (of "
            f"{value.numel()}), the first at index {first}; drop or impute them first"
        )
    return value


def event_weights(weights: torch.Tensor | None, *, rows: int, like: torch.Tensor) -> torch.Tensor:
    """Per-event weights as constants (no gradient), ones when None; ≥ 0, not all zero."""
    if weights is None:
        return torch.ones(rows, dtype=like.dtype, device=like.device)
    weights = as_vector("weights", weights, rows=rows).detach().to(like.dtype)
    if bool((weights < 0).any()):
        first = int((weights < 0).nonzero()[0, 0])
        raise DataError(
            f"weights must be ≥ 0, got {float(weights[first])} at index {first}; negative "
            "weights (NLO samples) have no distance or CDF interpretation here: drop them"
        )
    if not bool((weights > 0).any()):
        raise DataError(
            f"all {rows} weights are zero (of the events used): the loss is undefined; "
            "check the weight column and the background selection"
        )
    return weights


def background_mask(
    labels: torch.Tensor | None, *, rows: int, background_label: int | float
) -> torch.Tensor:
    """Which events are background; a DataError when there are none."""
    if labels is None:
        return torch.ones(rows, dtype=torch.bool)
    labels = as_vector("labels", labels, rows=rows)
    mask = labels == background_label
    if not bool(mask.any()):
        found = sorted(set(torch.unique(labels).tolist()))[:10]
        raise DataError(
            f"the batch holds no background events (label {background_label}) among its {rows} "
            f"events (labels seen: {found}); decorrelation is measured on background, so "
            "use larger or stratified batches"
        )
    return mask


def check_strength(strength: float) -> float:
    """λ as a finite float ≥ 0, or a ConfigError."""
    if isinstance(strength, bool) or not isinstance(strength, int | float):
        raise ConfigError(f"strength λ must be a number ≥ 0, got {strength!r}")
    if not (math.isfinite(strength) and strength >= 0):
        raise ConfigError(
            f"strength λ must be a finite number ≥ 0, got {strength!r}; λ < 0 would reward "
            "the dependence the penalty is meant to remove"
        )
    return float(strength)
