"""A fixed affine rescaling of the inputs, (x − mean) / scale, stored with the model."""

import torch
from torch import nn

from robusthep.errors import ConfigError

__all__ = ["Standardize"]


class Standardize(nn.Module):
    """Maps x to (x − mean) / scale with fixed buffers, so a model carries its own scaler.

    Each output is increasing in its input (scale > 0), so a monotonic network after it
    keeps its signs in the raw features; its Lipschitz constant is max(1/scale).

    Arguments:
        mean: per-feature offsets, shape (features,).
        scale: per-feature scales, all > 0, shape (features,).

    Example:
        >>> layer = Standardize(mean=torch.tensor([1.0, 2.0]), scale=torch.tensor([2.0, 4.0]))
        >>> layer(torch.tensor([[3.0, 2.0]]))
        tensor([[1., 0.]])
    """

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float32).flatten()
        scale = torch.as_tensor(scale, dtype=torch.float32).flatten()
        if mean.shape != scale.shape:
            raise ConfigError(
                f"mean and scale need the same length, got {mean.numel()} and {scale.numel()}"
            )
        bad = ~torch.isfinite(scale) | (scale <= 0) | ~torch.isfinite(mean)
        if bad.any():
            raise ConfigError(
                f"scale must be finite and > 0 and mean finite; bad features at indices "
                f"{bad.nonzero().flatten().tolist()} (a constant feature has scale 0: drop it)"
            )
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardize":
        """The scaler of the columns of ``x``: their mean and standard deviation.

        Example:
            >>> Standardize.fit(torch.tensor([[0.0], [2.0]])).scale
            tensor([1.4142])
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        return cls(mean=x.mean(dim=0), scale=x.std(dim=0))

    @property
    def in_features(self) -> int:
        """The number of features."""
        return self.mean.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale
