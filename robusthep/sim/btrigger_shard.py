"""One ``btrigger`` shard: Pythia batches, tracks in the LHCb acceptance, two-track candidates."""

import time
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from robusthep.sim._stdout import captured_stdout
from robusthep.sim.pythia import make_pythia
from robusthep.sim.shard import ShardResult
from robusthep.sim.tracker import (
    SPEED_OF_LIGHT_MM_PER_PS,
    Tracker,
    corrected_mass,
    fit_two_track_vertices,
    impact_parameter,
)

__all__ = ["CHARGED_IDS", "WEAK_B_HADRONS", "TrackSelection", "simulate_btrigger"]

CHARGED_IDS = (11, 13, 211, 321, 2212)
"""Long-lived charged particles that leave tracks: e, μ, π, K, p."""

WEAK_B_HADRONS = (511, 521, 531, 541, 5122, 5132, 5232, 5332)
"""b hadrons that decay weakly (the ones with a measurable flight distance)."""

_PION_MASS = 0.13957
_BATCH_EVENTS = 500
_MAX_ANCESTRY = 30


@dataclass(frozen=True)
class TrackSelection:
    """The preselection of tracks and two-track vertices (HLT1-like).

    Attributes:
        track_pt_min, track_p_min: GeV.
        track_ip_chi2_min: tracks must be displaced from the PV.
        vertex_chi2_max: the two tracks must meet.
    """

    track_pt_min: float = 0.5
    track_p_min: float = 5.0
    track_ip_chi2_min: float = 4.0
    vertex_chi2_max: float = 10.0


def _flat(array: ak.Array) -> np.ndarray:
    return np.asarray(ak.flatten(array))


def _b_ancestors(mother: np.ndarray, pdg: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each flat particle, the flat index of its nearest weakly decaying b-hadron ancestor.

    ``mother`` holds flat indices (−1 for none). −1 where there is none.
    """
    is_b = np.isin(np.abs(pdg), WEAK_B_HADRONS)
    found = np.full(len(mother), -1)
    current = mother.copy()
    for _ in range(_MAX_ANCESTRY):
        walking = (found < 0) & (current >= 0)
        if not walking.any():
            break
        hit = walking & is_b[np.maximum(current, 0)]
        found[hit] = current[hit]
        current = np.where(walking & ~hit, mother[np.maximum(current, 0)], -1)
    return found


def _true_decay_time_ps(
    tau: np.ndarray, mother: np.ndarray, pdg: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Proper decay time of each b hadron, adding the copy it oscillated from (B⁰, B_s mixing)."""
    time = tau[b].copy()
    parent = mother[b]
    mixed = (parent >= 0) & (np.abs(pdg[np.maximum(parent, 0)]) == np.abs(pdg[b]))
    time[mixed] += tau[parent[mixed]]
    return time / SPEED_OF_LIGHT_MM_PER_PS


def _candidates(
    batch: ak.Array, tracker: Tracker, selection: TrackSelection, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    particles = batch.prt
    counts = np.asarray(ak.num(particles.id), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    event = np.repeat(np.arange(len(counts)), counts)
    pdg = _flat(particles.id)
    mother = _flat(particles.mother1).astype(np.int64)
    mother = np.where(mother > 0, mother + start[event], -1)
    status = _flat(particles.status)
    momentum = np.stack([_flat(particles.p[x]).astype(np.float64) for x in ("px", "py", "pz")], 1)
    vertex = ak.fill_none(particles.vProd, {"px": 0.0, "py": 0.0, "pz": 0.0, "e": 0.0})
    origin = np.stack([_flat(vertex[x]).astype(np.float64) for x in ("px", "py", "pz")], 1)
    tau = _flat(particles.tau).astype(np.float64)
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    eta = np.arcsinh(momentum[:, 2] / np.maximum(pt, 1e-12))
    track = (
        (status > 0)
        & np.isin(np.abs(pdg), CHARGED_IDS)
        & (eta > tracker.eta_min)
        & (eta < tracker.eta_max)
        & (pt > 0.9 * selection.track_pt_min)
    )
    index = np.flatnonzero(track)
    points, momenta, sigma = tracker.reconstruct(origin[index], momentum[index], rng)
    pv = rng.normal(0.0, tracker.pv_sigma_mm, (len(counts), 3))
    reco_pt = np.hypot(momenta[:, 0], momenta[:, 1])
    ip = impact_parameter(points, momenta, pv[event[index]])
    ip_chi2 = (ip / sigma) ** 2
    kept = (
        (reco_pt > selection.track_pt_min)
        & (np.linalg.norm(momenta, axis=1) > selection.track_p_min)
        & (ip_chi2 > selection.track_ip_chi2_min)
    )
    index, points, momenta, sigma, ip_chi2 = (
        x[kept] for x in (index, points, momenta, sigma, ip_chi2)
    )
    per_event = ak.unflatten(
        np.arange(len(index)), np.bincount(event[index], minlength=len(counts))
    )
    pairs = ak.combinations(per_event, 2)
    first, second = (np.asarray(ak.flatten(pairs[x]), dtype=np.int64) for x in ("0", "1"))
    fit = fit_two_track_vertices(
        (points[first], points[second]),
        (momenta[first], momenta[second]),
        (sigma[first], sigma[second]),
    )
    good = fit.chi2 < selection.vertex_chi2_max
    first, second = first[good], second[good]
    position, covariance = fit.position[good], fit.covariance[good]
    candidate_event = event[index[first]]
    flight = position - pv[candidate_event]
    pv_covariance = np.diag(np.square(tracker.pv_sigma_mm))[None]
    fd_chi2 = np.einsum(
        "ni,ni->n", flight, np.linalg.solve(covariance + pv_covariance, flight[:, :, None])[:, :, 0]
    )
    total = momenta[first] + momenta[second]
    energy = sum(
        np.sqrt(_PION_MASS**2 + np.sum(m**2, axis=1)) for m in (momenta[first], momenta[second])
    )
    mass = np.sqrt(np.maximum(energy**2 - np.sum(total**2, axis=1), 0.0))
    m_corr = corrected_mass(mass, total, flight)
    fd = np.linalg.norm(flight, axis=1)
    total_p = np.linalg.norm(total, axis=1)
    ancestor = _b_ancestors(mother, pdg, start)
    b1, b2 = ancestor[index[first]], ancestor[index[second]]
    signal = (b1 >= 0) & (b1 == b2)
    true_time = np.full(len(first), np.nan)
    true_time[signal] = _true_decay_time_ps(tau, mother, pdg, b1[signal])
    true_b_pt = np.full(len(first), np.nan)
    true_b_pt[signal] = pt[b1[signal]]
    track_pt = np.hypot(momenta[:, 0], momenta[:, 1])
    sum_pt = track_pt[first] + track_pt[second]
    return {
        "sum_pt": sum_pt,
        "min_pt": np.minimum(track_pt[first], track_pt[second]),
        "min_ip_chi2": np.minimum(ip_chi2[first], ip_chi2[second]),
        "fd": fd,
        "fd_chi2": fd_chi2,
        "vertex_chi2": fit.chi2[good],
        "doca": fit.doca[good],
        "mass": mass,
        "corrected_mass": m_corr,
        "decay_time": fd * m_corr / np.maximum(total_p, 1e-12) / SPEED_OF_LIGHT_MM_PER_PS,
        "eta": np.arcsinh(total[:, 2] / np.maximum(np.hypot(total[:, 0], total[:, 1]), 1e-12)),
        "event_in_batch": candidate_event,
        "label": signal.astype(np.int64),
        "true_b_decay_time": true_time,
        "true_b_pt": true_b_pt,
    }


def simulate_btrigger(
    settings: tuple[str, ...],
    events: int,
    pythia_seed: int,
    detector_seed: int,
    selection: TrackSelection,
    tracker: Tracker | None = None,
) -> ShardResult:
    """Generate ``events`` Pythia events and return their two-track candidates.

    Arguments:
        settings: all Pythia settings of the run.
        events: number of Pythia events.
        pythia_seed: Pythia's ``Random:seed``.
        detector_seed: seed of the tracker smearing.
        selection: track and vertex preselection.
        tracker: the tracker (default :class:`~robusthep.sim.tracker.Tracker`).

    Returns:
        A :class:`~robusthep.sim.shard.ShardResult`: one row per candidate; ``event``
        numbers the shard's events.
    """
    begin = time.perf_counter()
    tracker = tracker or Tracker()
    pythia = make_pythia(settings, pythia_seed)
    rng = np.random.default_rng(detector_seed)
    parts, offset = [], 0
    for first in range(0, events, _BATCH_EVENTS):
        with captured_stdout():
            batch = pythia.nextBatch(min(_BATCH_EVENTS, events - first), "skip")
        if len(batch) == 0:
            continue
        part = _candidates(batch, tracker, selection, rng)
        part["event"] = part.pop("event_in_batch") + offset
        offset += len(batch)
        parts.append(part)
    info = pythia.infoPython()
    columns: dict[str, Any] = (
        {name: np.concatenate([part[name] for part in parts]) for name in parts[0]} if parts else {}
    )
    return ShardResult(
        columns=columns,
        generated=int(info.nAccepted()),
        sigma_pb=float(info.sigmaGen()) * 1e9,
        sigma_error_pb=float(info.sigmaErr()) * 1e9,
        seconds=time.perf_counter() - begin,
    )
