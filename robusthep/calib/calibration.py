"""Training calibrations: the prior-dependent MSE regression and the prior-independent one."""

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from robusthep.calib.ansatz import GaussianAnsatz, _mlp, donsker_varadhan_loss
from robusthep.errors import DataError
from robusthep.train import fit

__all__ = ["MseCalibration", "mse_calibration", "prior_independent_calibration"]


class MseCalibration(nn.Module):
    """f(x) ≈ E[z | x], a regression with standardised inputs and outputs."""

    def __init__(
        self,
        x_features: int,
        *,
        hidden: Sequence[int],
        x_loc: Sequence[float],
        x_scale: Sequence[float],
        z_loc: float,
        z_scale: float,
    ) -> None:
        super().__init__()
        self.net = _mlp(x_features, hidden, 1)
        self.register_buffer("x_loc", torch.as_tensor(x_loc, dtype=torch.float32).reshape(-1))
        self.register_buffer("x_scale", torch.as_tensor(x_scale, dtype=torch.float32).reshape(-1))
        self.register_buffer("z_loc", torch.tensor(float(z_loc)))
        self.register_buffer("z_scale", torch.tensor(float(z_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The calibrated value, in the units of z: shape (N,)."""
        x = (x.reshape(len(x), -1) - self.x_loc) / self.x_scale
        return self.net(x).reshape(-1) * self.z_scale + self.z_loc

    calibrate = forward


def _training_data(x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x.reshape(len(x), -1)
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1)
    if len(x) != len(z):
        raise DataError(f"{len(x)} measurements x but {len(z)} truths z; give one of each an event")
    if len(z) < 2:
        raise DataError(f"a calibration needs at least 2 events, got {len(z)}")
    return x, z


def _standardisation(x: torch.Tensor, z: torch.Tensor) -> dict[str, Any]:
    return {
        "x_loc": x.mean(0).tolist(),
        "x_scale": x.std(0).tolist(),
        "z_loc": z.mean().item(),
        "z_scale": z.std().item(),
    }


def _settings(epochs: int, batch_size: int, lr: float, seed: int) -> dict[str, Any]:
    return {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}


def mse_calibration(
    x: torch.Tensor,
    z: torch.Tensor,
    *,
    hidden: Sequence[int] = (32, 32),
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
) -> MseCalibration:
    """The usual calibration: a regression of the truth z on the measurement x by mean
    squared error, f(x) = E[z | x]. By Bayes' theorem E[z | x] = ∫ z p(x|z) p(z) dz / p(x)
    depends on the training prior p(z): f is pulled towards the bulk of the training truths.

    Arguments:
        x: measurements, shape (N,) or (N, features).
        z: truths, shape (N,).
        hidden, epochs, batch_size, lr: the network and its training (Adam, ``fit``).
        seed: seeds the initial weights and the training.

    Returns:
        The trained :class:`MseCalibration`.

    References:
        Gambhir, Nachman, Thaler, arXiv:2205.05084.
    """
    x, z = _training_data(x, z)
    torch.manual_seed(seed)
    model = MseCalibration(x.shape[1], hidden=hidden, **_standardisation(x, z))

    def squared_error(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return ((net(batch[0]) - batch[1]) ** 2).mean() / net.z_scale**2

    fit(
        model,
        squared_error,
        train=(x, z),
        progress=False,
        **_settings(epochs, batch_size, lr, seed),
    )
    return model


def prior_independent_calibration(
    x: torch.Tensor,
    z: torch.Tensor,
    *,
    hidden: Sequence[int] = (32, 32),
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
) -> GaussianAnsatz:
    """The maximum-likelihood calibration ẑ(x) = argmax_z p(x | z), learned with the
    Gaussian Ansatz: it depends only on the response p(x | z), so a change of the truth
    spectrum between training and use does not bias it.

    Arguments:
        x: measurements, shape (N,) or (N, features).
        z: truths, shape (N,). Their spread should cover the range the calibration is used in.
        hidden, epochs, batch_size, lr: the networks and their training (Adam, ``fit``).
        seed: seeds the initial weights, the training and the pairings of the marginals.

    Returns:
        The trained :class:`GaussianAnsatz`; ``.calibrate(x)`` gives ẑ, ``.resolution(x)`` σ.

    Example:
        >>> generator = torch.Generator().manual_seed(0)
        >>> z = torch.randn(2000, generator=generator)
        >>> x = z + 0.5 * torch.randn(2000, generator=generator)
        >>> ansatz = prior_independent_calibration(x, z, hidden=(16,), epochs=3)
        >>> ansatz.calibrate(torch.tensor([[1.0]])).shape
        torch.Size([1])

    References:
        Gambhir, Nachman, Thaler, arXiv:2205.05084 and arXiv:2205.03413.
    """
    x, z = _training_data(x, z)
    torch.manual_seed(seed)
    ansatz = GaussianAnsatz(x.shape[1], hidden=hidden, **_standardisation(x, z))

    def loss(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return donsker_varadhan_loss(model, batch[0], batch[1])

    fit(ansatz, loss, train=(x, z), progress=False, **_settings(epochs, batch_size, lr, seed))
    return ansatz
