"""A worse tracker at test time: btrigger candidates re-smeared as if each resolution were wider."""

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from robusthep.errors import ConfigError, DataError
from robusthep.sim.tracker import Tracker

__all__ = ["DEGRADED_COLUMNS", "degrade_tracker"]

DEGRADED_COLUMNS = (
    "sum_pt",
    "min_pt",
    "min_ip_chi2",
    "fd",
    "fd_chi2",
    "vertex_chi2",
    "doca",
    "decay_time",
)
"""The columns :func:`degrade_tracker` changes; every other column is passed through."""

_NEEDED = (*DEGRADED_COLUMNS, "eta")


def _checked(table: Mapping[str, Any]) -> dict[str, np.ndarray]:
    missing = [name for name in _NEEDED if name not in table]
    if missing:
        raise DataError(
            f"degrade_tracker needs the btrigger columns {list(_NEEDED)}; missing {missing}"
        )
    columns = {name: np.asarray(table[name], dtype=np.float64) for name in _NEEDED}
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                f"column {name!r} holds {int(bad.sum())} NaN or infinite values (first rows "
                f"{np.flatnonzero(bad)[:5].tolist()}); remove those candidates first"
            )
    return columns


def degrade_tracker(
    table: Mapping[str, Any],
    factor: float = 1.2,
    *,
    seed: int,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    r"""The candidates as a tracker with every resolution ``factor`` times wider would see them.

    The reconstruction still assumes the nominal resolutions (the χ² use them), as when a
    detector performs worse than its simulation. A measurement of resolution σ becomes one of
    resolution s·σ by adding independent Gaussian noise of width k·σ, k = √(s² − 1). The
    candidate-level consequences, per row:

    - track pT: the two tracks' pT are ``min_pt`` and ``sum_pt − min_pt``; each gets
      relative noise k·(σ_p/p) at p ≈ pT·cosh η (the pair's η);
    - DOCA: its noise is the two tracks' transverse displacements projected on the common
      normal, of width k·√(σ₁² + σ₂²) with σᵢ = σ_IP(pTᵢ); the vertex χ² of two straight
      tracks is DOCA² / (σ₁² + σ₂²), so it scales with (DOCA′/DOCA)²;
    - IP χ²: the IP of a track is a 2-d vector in units of σ_IP of length √χ², so
      χ²′ = (√χ² + k z₁)² + (k z₂)² exactly in distribution (isotropic noise); applied to
      the track that had the smaller IP χ², whose partner is not stored (the minimum may
      switch tracks: not modelled);
    - flight: the vertex and PV covariances scale by s²; whitened, the flight vector has
      length √χ²_FD, so χ²_FD′ = (√χ²_FD + k z₁)² + k²(z₂² + z₃²); along the flight direction
      FD′ = FD·|1 + k z₁ / √χ²_FD| (the error ellipsoid is long along the flight), and the
      decay time FD·m_corr/(p c) scales with FD′/FD (m_corr's change of direction is not
      modelled).

    Nothing else changes (mass, η, corrected mass, labels, truth and weights are passed
    through); rows are neither added nor removed, so a candidate that would now fail the
    preselection (IP χ² or vertex χ² cuts) stays: apply the cuts again if needed.

    Arguments:
        table: ``btrigger`` columns (column → array); not modified.
        factor: s ≥ 1, the resolution scale (1.2: 20 % worse).
        seed: seeds the noise; same seed, same table.
        tracker: the nominal tracker (default :class:`~robusthep.sim.tracker.Tracker`).

    Returns:
        A new table (dict) with the columns of :data:`DEGRADED_COLUMNS` re-smeared.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> prompt = {name: np.ones(20_000) for name in DEGRADED_COLUMNS + ("eta",)}
        >>> prompt["sum_pt"] = 2 * prompt["min_pt"]
        >>> prompt["min_ip_chi2"] = rng.chisquare(2, 20_000)  # tracks from the PV: χ²(2)
        >>> worse = degrade_tracker(prompt, 1.2, seed=1)
        >>> round(float(worse["min_ip_chi2"].mean() / prompt["min_ip_chi2"].mean()), 1)  # s²
        1.4

    References:
        LHCb Collaboration, "LHCb detector performance", Int. J. Mod. Phys. A 30 (2015)
        1530022, arXiv:1412.6352 (the nominal resolutions of :class:`Tracker`); Kitouni,
        Nolte, Williams, arXiv:2112.00038 (robustness of the monotonic trigger).
    """
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor >= 1):
        raise ConfigError(
            f"factor must be a finite number ≥ 1 (a resolution can only be made worse by "
            f"adding noise), got {factor!r}"
        )
    columns = _checked(table)
    tracker = tracker or Tracker()
    k = math.sqrt(factor**2 - 1.0)
    rng = np.random.default_rng(seed)
    rows = len(columns["sum_pt"])
    z = rng.standard_normal((8, rows))
    out = dict(table)

    pt_min, pt_other = columns["min_pt"], columns["sum_pt"] - columns["min_pt"]
    cosh = np.cosh(columns["eta"])
    pt_a = pt_min * (1 + k * tracker.momentum_resolution(pt_min * cosh) * z[0])
    pt_b = pt_other * (1 + k * tracker.momentum_resolution(pt_other * cosh) * z[1])
    out["sum_pt"] = pt_a + pt_b
    out["min_pt"] = np.minimum(pt_a, pt_b)

    pair_sigma = np.hypot(tracker.ip_sigma_mm(pt_min), tracker.ip_sigma_mm(pt_other))
    doca = columns["doca"]
    new_doca = np.abs(doca + k * pair_sigma * z[2])
    out["doca"] = new_doca
    out["vertex_chi2"] = new_doca**2 / pair_sigma**2

    ip = np.sqrt(columns["min_ip_chi2"])
    out["min_ip_chi2"] = (ip + k * z[3]) ** 2 + (k * z[4]) ** 2

    flight = np.sqrt(np.maximum(columns["fd_chi2"], 1e-12))
    out["fd_chi2"] = (flight + k * z[5]) ** 2 + k**2 * (z[6] ** 2 + z[7] ** 2)
    stretch = np.abs(1 + k * z[5] / flight)
    out["fd"] = columns["fd"] * stretch
    out["decay_time"] = columns["decay_time"] * stretch
    return out
