"""A physics budget: how far each input feature may be moved, a box turned into a unit ball."""

import math
from dataclasses import dataclass

import torch

from robusthep.errors import ConfigError

__all__ = ["CONSTITUENT_FEATURES", "HL_FEATURES", "Budget"]

#: The features of a constituent, as the PFN taggers see them.
CONSTITUENT_FEATURES = ("log_pt", "deta", "dphi")
#: The features of a jet, as the high-level taggers see them.
HL_FEATURES = ("log_jet_pt", "log_jet_mass", "jet_eta", "jet_d2", "jet_tau21")


@dataclass(frozen=True)
class Budget:
    r"""A box |Δxₖ| ≤ wₖ on each feature k of an input (of every constituent, for sets).

    Rescaling each feature by its half-width, u = Δx / w, makes the box the unit ball of
    ‖u‖∞: this is the *budget norm* in which attacks are bounded and certificates are given
    (radius 1 = the whole budget). A width of 0 holds that feature fixed.

    Attributes:
        widths: the half-widths wₖ ≥ 0, one per feature (the input's last dimension).
        names: the feature names, for messages and reports.

    Example:
        >>> budget = Budget.constituents()
        >>> [round(w, 4) for w in budget.widths]
        [0.0198, 0.02, 0.02]
        >>> Budget((0.0, -1.0), ("a", "b"))
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: budget half-width of 'b' must be finite and ≥ 0, got -1.0
    """

    widths: tuple[float, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        widths = tuple(float(w) for w in self.widths)
        names = tuple(str(n) for n in self.names)
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "names", names)
        if len(widths) != len(names):
            raise ConfigError(f"{len(widths)} budget widths for {len(names)} feature names")
        for name, width in zip(names, widths, strict=True):
            if not (math.isfinite(width) and width >= 0):
                raise ConfigError(
                    f"budget half-width of {name!r} must be finite and ≥ 0, got {width!r}"
                )
        if not any(w > 0 for w in widths):
            raise ConfigError(
                f"the budget allows no change at all (every half-width is 0: "
                f"{dict(zip(names, widths, strict=True))}); give at least one width > 0"
            )

    @classmethod
    def constituents(
        cls, pt_fraction: float = 0.02, eta: float = 0.02, phi: float = 0.02
    ) -> "Budget":
        """Per constituent: pT scaled by at most ±``pt_fraction``, η and φ shifted by at most
        ``eta``, ``phi``. On log pT the half-width is log(1 + f), the box that keeps every
        scale factor within [1 − f, 1 + f] (since log(1 − f) < −log(1 + f)).
        """
        return cls(
            (_log_width(pt_fraction, "pt_fraction"), _width(eta, "eta"), _width(phi, "phi")),
            CONSTITUENT_FEATURES,
        )

    @classmethod
    def jets(cls, pt_fraction: float = 0.02, eta: float = 0.02) -> "Budget":
        """The constituent budget's image on the high-level features (see docs/audit.md).

        Scaling each constituent's pT by a factor in [1 − f, 1 + f] scales the jet pT and mass
        within that range too: m² = Σᵢ<ⱼ 2 pTᵢ pTⱼ (cosh Δηᵢⱼ − cos Δφᵢⱼ) is a sum of
        non-negative terms each scaled by a factor in [(1 − f)², (1 + f)²] (massless
        constituents), and pT is ≈ Σᵢ pTᵢ for a collimated jet. A common η shift moves the
        jet's η by the same amount. D2 and τ21 are ratios invariant under a common pT scale
        and are held fixed.
        """
        log_width = _log_width(pt_fraction, "pt_fraction")
        return cls((log_width, log_width, _width(eta, "eta"), 0.0, 0.0), HL_FEATURES)

    def tensor(self, like: torch.Tensor | None = None) -> torch.Tensor:
        """The widths as a tensor (dtype and device of ``like``)."""
        if like is None:
            return torch.tensor(self.widths)
        return torch.tensor(self.widths, dtype=like.dtype, device=like.device)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ConfigError when ``x``'s last dimension is not one entry per feature."""
        if x.shape[-1] != len(self.widths):
            raise ConfigError(
                f"the budget has {len(self.widths)} features ({', '.join(self.names)}) but the "
                f"input has {x.shape[-1]} in its last dimension"
            )


def _width(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(f"the budget {name} must be a finite number > 0, got {value!r}")
    return float(value)


def _log_width(fraction: float, name: str) -> float:
    if not (_width(fraction, name) < 1):
        raise ConfigError(f"the budget {name} must be in (0, 1), got {fraction!r}")
    return math.log1p(fraction)
