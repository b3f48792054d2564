"""A simulator with a known posterior: θ uniform in a box, x = θ + Gaussian noise."""

import math
from dataclasses import dataclass

import numpy as np

from robusthep.errors import ConfigError, DataError

__all__ = ["GaussianTask"]


@dataclass(frozen=True)
class GaussianTask:
    r"""The Gaussian-linear benchmark of simulation-based inference, on a bounded prior.

    θ ~ Uniform([−``bound``, ``bound``]^dim), x | θ ~ N(θ, ``noise``² I). The posterior is
    the Gaussian N(x, noise² I) truncated to the box, known in closed form, so posterior
    estimates and their coverage can be checked against the truth.

    Example:
        >>> task = GaussianTask(dim=2)
        >>> rng = np.random.default_rng(0)
        >>> theta = task.sample_prior(3, rng)
        >>> task.simulate(theta, rng).shape
        (3, 2)

    References:
        Lueckmann et al., "Benchmarking Simulation-Based Inference", arXiv:2101.04653 (the
        ``gaussian_linear`` task, here with a uniform prior).
    """

    dim: int = 2
    bound: float = 2.0
    noise: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1:
            raise ConfigError(f"dim must be an integer ≥ 1, got {self.dim!r}")
        for name in ("bound", "noise"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")

    @property
    def theta_range(self) -> list[tuple[float, float]]:
        """The prior's box, one (low, high) per dimension."""
        return [(-self.bound, self.bound)] * self.dim

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of θ, shape (n, dim)."""
        return rng.uniform(-self.bound, self.bound, (n, self.dim))

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One x per row of θ."""
        theta = np.asarray(theta, dtype=float)
        if theta.ndim != 2 or theta.shape[1] != self.dim:
            raise DataError(f"theta must have shape (n, {self.dim}), got {theta.shape}")
        return theta + self.noise * rng.standard_normal(theta.shape)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """log p(x | θ) for matching rows (broadcasting)."""
        squared = np.sum((np.asarray(x) - np.asarray(theta)) ** 2, axis=-1)
        return -0.5 * squared / self.noise**2 - self.dim * math.log(
            self.noise * math.sqrt(2 * math.pi)
        )
