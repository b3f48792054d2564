"""NEEMo against POT's exact EMD and Sinkhorn on the same jet-like clouds: accuracy and time."""

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from robusthep.errors import ConfigError
from robusthep.ot.emd import emd
from robusthep.ot.exact import import_pot

__all__ = ["compare_with_pot", "prong_clouds"]


def prong_clouds(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two jet-like toy clouds of ``n`` particles each in the (rapidity, azimuth) plane.

    P has three Gaussian prongs (centres (0, 0), (0.3, 0.1), (−0.1, 0.25), fractions
    0.6/0.3/0.1, width 0.05), Q two ((0.05, 0), (0.2, 0.2), 0.7/0.3, width 0.07); the
    energies are exponential. The clouds of ``benchmarks/bench_ot.py``.

    Returns:
        ``(p, p_energies, q, q_energies)``, shapes (n, 2), (n,), (n, 2), (n,).

    Example:
        >>> p, pw, q, qw = prong_clouds(5)
        >>> p.shape, qw.shape
        ((5, 2), (5,))
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"n must be an integer ≥ 1 (particles per cloud), got {n!r}")
    rng = np.random.default_rng(seed)
    prongs_p = np.array([[0.0, 0.0], [0.3, 0.1], [-0.1, 0.25]])
    prongs_q = np.array([[0.05, 0.0], [0.2, 0.2]])
    p = prongs_p[rng.choice(3, n, p=[0.6, 0.3, 0.1])] + 0.05 * rng.standard_normal((n, 2))
    q = prongs_q[rng.choice(2, n, p=[0.7, 0.3])] + 0.07 * rng.standard_normal((n, 2))
    return p, rng.exponential(size=n), q, rng.exponential(size=n)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _pot_reference(
    ot: Any, p: np.ndarray, a: np.ndarray, q: np.ndarray, b: np.ndarray, reg: float | None
) -> dict[str, Any]:
    """Exact EMD and Sinkhorn by POT, timed; the n × m cost matrix is freed on return."""
    cost, cost_s = _timed(lambda: ot.dist(p, q, metric="euclidean"))
    exact, exact_s = _timed(lambda: float(ot.emd2(a, b, cost, numItermax=10**9)))
    row = {"exact": exact, "exact_s": exact_s + cost_s}
    if reg is not None:
        epsilon = reg * float(cost.mean())
        value, seconds = _timed(
            lambda: float(ot.sinkhorn2(a, b, cost, epsilon, method="sinkhorn", numItermax=1000))
        )
        row.update(sinkhorn=value, sinkhorn_s=seconds + cost_s, sinkhorn_reg=epsilon)
        row["sinkhorn_rel"] = (value - exact) / exact
    return row


def compare_with_pot(
    n: int,
    *,
    neemo: Sequence[Mapping[str, Any]] = ({"steps": 1000},),
    sinkhorn_reg: float | None = 0.01,
    noise_floor: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Exact EMD, Sinkhorn and NEEMo on :func:`prong_clouds` of size ``n``, with times.

    *Exact*: ``ot.emd2`` (network simplex) on the full Euclidean cost matrix, whose
    construction is included in its time. *Sinkhorn*: ``ot.sinkhorn2`` with
    ε = ``sinkhorn_reg`` × the mean cost, at most 1 000 iterations (None skips it).
    *NEEMo*: :func:`~robusthep.ot.emd` once per entry of ``neemo`` (keyword arguments).
    *Noise floor*: the exact EMD between P and an independent second sample of P, the part
    of an empirical EMD that is sampling noise at this ``n``.

    Arguments:
        n: particles per cloud.
        neemo: the settings of each NEEMo run.
        sinkhorn_reg: ε relative to the mean cost, or None.
        noise_floor: also compute the noise floor (a second exact EMD).
        seed: seeds the clouds and NEEMo.

    Returns:
        ``{"n", "exact", "exact_s", "sinkhorn", "sinkhorn_s", "sinkhorn_rel", "noise_floor",
        "neemo": [{"settings", "value", "critic_value", "seconds", "rel"}]}`` (Sinkhorn keys
        only when it ran); ``rel`` is (estimate − exact)/exact.

    Raises:
        MissingDependencyError: POT is not installed.

    Example:
        >>> row = compare_with_pot(30, neemo=[{"steps": 50, "hidden": (8, 8)}])
        >>> row["neemo"][0]["value"] <= row["exact"] + 1e-6
        True
    """
    ot = import_pot("compare_with_pot")
    p, pw, q, qw = prong_clouds(n, seed)
    a, b = pw / pw.sum(), qw / qw.sum()
    row: dict[str, Any] = {"n": n, **_pot_reference(ot, p, a, q, b, sinkhorn_reg)}
    row["neemo"] = []
    for settings in neemo:
        settings = dict(settings)
        result, seconds = _timed(
            lambda settings=settings: emd(p, q, p_weights=pw, q_weights=qw, seed=seed, **settings)
        )
        if "hidden" in settings:
            settings["hidden"] = list(settings["hidden"])
        row["neemo"].append(
            {
                "settings": settings,
                "value": result.value,
                "critic_value": result.critic_value,
                "seconds": seconds,
                "rel": (result.value - row["exact"]) / row["exact"],
            }
        )
    if noise_floor:
        p2, pw2, _, _ = prong_clouds(n, seed + 1000)
        floor_cost = ot.dist(p, p2, metric="euclidean")
        row["noise_floor"] = float(ot.emd2(a, pw2 / pw2.sum(), floor_cost, numItermax=10**9))
    return row
