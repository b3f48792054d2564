"""One shard: a seeded Pythia run of one process, through the detector, to feature columns."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from robusthep.sim import detector
from robusthep.sim._stdout import captured_stdout
from robusthep.sim.features import HAD_PT_MIN, LEP_PT_MIN, derived_features, jet_features
from robusthep.sim.pythia import make_pythia
from robusthep.sim.record import HardLepton, HardTau, final_state, hard_leptons, tau_products

__all__ = [
    "CALORIMETER_ETA_MAX",
    "JET_CANDIDATE_PT_MIN",
    "JET_ETA_MAX",
    "JET_RADIUS",
    "TRACKER_ETA_MAX",
    "ShardResult",
    "simulate",
]

TRACKER_ETA_MAX = 2.5
"""Electrons, muons and visible τs are reconstructed within |η| < 2.5 (the inner detector)."""

CALORIMETER_ETA_MAX = 4.9
"""Particles beyond |η| = 4.9 escape the calorimeters (and count as missing momentum)."""

JET_ETA_MAX = 4.5
"""Jets are kept within |η| < 4.5."""

JET_RADIUS = 0.4
"""Anti-kT radius parameter, as ATLAS."""

JET_CANDIDATE_PT_MIN = 20.0
"""Jets are stored (as lists) above 20 GeV, below the 26 GeV threshold, so that a JES shift
up to 1.3 can move a jet across the threshold; stored jets enter MET as hard objects."""

_FOUR = ("px", "py", "pz", "E")
_TRUTH_MARGIN = 0.7  # a truth object below 0.7 × threshold never smears above it


@dataclass(frozen=True)
class ShardResult:
    """The events one shard selected, before weights, and Pythia's account of the run.

    Attributes:
        columns: unweighted columns (features, jet lists, truth), one row per selected event.
        generated: events Pythia generated (``info.nAccepted()``).
        sigma_pb: Pythia's estimate of the cross section of the run, in pb.
        sigma_error_pb: its statistical uncertainty, in pb.
        seconds: wall time of the shard.
    """

    columns: dict[str, Any]
    generated: int
    sigma_pb: float
    sigma_error_pb: float
    seconds: float


def _transverse(momentum: tuple[float, ...]) -> tuple[float, float]:
    """(pT, η) of a four-momentum; plain floats, as this runs for every event."""
    pt = math.hypot(momentum[0], momentum[1])
    return pt, (math.asinh(momentum[2] / pt) if pt > 0 else math.inf)


def _lepton_resolution(lepton: HardLepton, momentum: tuple[float, ...]) -> float:
    if lepton.flavour == 11:
        return float(detector.ELECTRON.relative([momentum[3]])[0])
    return float(detector.MUON.relative([math.hypot(momentum[0], momentum[1])])[0])


def _tau_resolution(_: HardTau, momentum: tuple[float, ...]) -> float:
    return float(detector.TAU_HAD.relative([momentum[3]])[0])


def _the_one_reconstructed(
    candidates: list[Any],
    momenta: list[tuple[float, ...]],
    resolution: Callable[[Any, tuple[float, ...]], float],
    pt_min: float,
    rng: np.random.Generator,
) -> tuple[Any, np.ndarray] | None:
    """The one candidate within the tracker and above ``pt_min`` after smearing, or None.

    The same Gaussian response as :func:`~robusthep.sim.detector.smear_momenta`, written
    for one object at a time because it runs on every event.
    """
    passing = []
    for candidate, momentum in zip(candidates, momenta, strict=True):
        pt, eta = _transverse(momentum)
        if abs(eta) > TRACKER_ETA_MAX or pt < _TRUTH_MARGIN * pt_min:
            continue
        response = max(1.0 + resolution(candidate, momentum) * rng.standard_normal(), 0.0)
        if response * pt >= pt_min:
            passing.append((candidate, np.array(momentum) * response))
    return passing[0] if len(passing) == 1 else None


def _invariant_mass(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    px, py, pz, energy = (x + y for x, y in zip(a, b, strict=True))
    return float(np.sqrt(max(energy**2 - px**2 - py**2 - pz**2, 0.0)))


def _cluster_jets(particles: list[np.ndarray]) -> ak.Array:
    """Anti-kT R = 0.4 jets (FastJet) of each event's particle list, as (px, py, pz, E) records."""
    import fastjet

    counts = np.array([len(p) for p in particles], dtype=np.int64)
    flat = np.concatenate(particles) if particles else np.zeros((0, 4))
    events = ak.unflatten(
        ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]}),
        counts,
    )
    if len(flat) == 0:  # FastJet cannot cluster nothing
        empty = ak.unflatten(np.zeros(0), counts)
        return ak.zip({name: empty for name in _FOUR})
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_RADIUS)
    with captured_stdout():  # FastJet prints its banner on first use
        return fastjet.ClusterSequence(events, definition).inclusive_jets(min_pt=10.0)


def _jets_and_soft_term(
    particles: list[np.ndarray], rng: np.random.Generator
) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """Smeared jet lists (sorted by pT) and the smeared soft term (x, y) of each event."""
    jets = _cluster_jets(particles)
    counts = np.asarray(ak.num(jets), dtype=np.int64)
    raw = np.stack(
        [np.asarray(ak.flatten(jets[f]), dtype=np.float64) for f in ("px", "py", "pz", "E")], 1
    )
    raw_pt = np.hypot(raw[:, 0], raw[:, 1])
    raw_eta = np.arcsinh(raw[:, 2] / np.maximum(raw_pt, 1e-9))
    resolution = np.where(
        np.abs(raw_eta) < detector.JET_CENTRAL_ETA,
        detector.CENTRAL_JET.relative(raw[:, 3]),
        detector.FORWARD_JET.relative(raw[:, 3]),
    )
    smeared = detector.smear_momenta(raw, resolution, rng)
    smeared_pt = np.hypot(smeared[:, 0], smeared[:, 1])
    kept = (smeared_pt > JET_CANDIDATE_PT_MIN) & (np.abs(raw_eta) < JET_ETA_MAX)
    event_of_jet = np.repeat(np.arange(len(counts)), counts)

    soft_x, soft_y, soft_et = (np.zeros(len(particles)) for _ in range(3))
    for event, visible in enumerate(particles):
        soft_x[event], soft_y[event] = visible[:, 0].sum(), visible[:, 1].sum()
        soft_et[event] = np.hypot(visible[:, 0], visible[:, 1]).sum()
    np.subtract.at(soft_x, event_of_jet[kept], raw[kept, 0])
    np.subtract.at(soft_y, event_of_jet[kept], raw[kept, 1])
    np.subtract.at(soft_et, event_of_jet[kept], raw_pt[kept])
    soft = detector.smear_soft_term(soft_x, soft_y, soft_et, rng)

    order = np.lexsort((-smeared_pt[kept], event_of_jet[kept]))
    kept_counts = np.bincount(event_of_jet[kept], minlength=len(counts))
    kept_jets = smeared[kept][order]
    kept_pt = smeared_pt[kept][order]
    jet_lists = ak.zip(
        {
            "pt": ak.unflatten(kept_pt, kept_counts),
            "eta": ak.unflatten(np.arcsinh(kept_jets[:, 2] / kept_pt), kept_counts),
            "phi": ak.unflatten(np.arctan2(kept_jets[:, 1], kept_jets[:, 0]), kept_counts),
            "px": ak.unflatten(kept_jets[:, 0], kept_counts),
            "py": ak.unflatten(kept_jets[:, 1], kept_counts),
        }
    )
    return jet_lists, soft[0], soft[1]


def _visible_in_calorimeter(visible: np.ndarray) -> np.ndarray:
    pt = np.hypot(visible[:, 0], visible[:, 1])
    eta = np.arcsinh(visible[:, 2] / np.maximum(pt, 1e-12))
    return visible[(pt > 0) & (np.abs(eta) < CALORIMETER_ETA_MAX)]


def _columns(
    leptons: list[tuple[HardLepton, np.ndarray]],
    taus: list[tuple[HardTau, np.ndarray]],
    particles: list[np.ndarray],
    invisible: list[np.ndarray],
    rng: np.random.Generator,
) -> dict[str, Any]:
    jets, soft_x, soft_y = _jets_and_soft_term(particles, rng)
    lep = np.array([smeared for _, smeared in leptons]).reshape(-1, 4)
    had = np.array([smeared for _, smeared in taus]).reshape(-1, 4)
    met_x = -(lep[:, 0] + had[:, 0] + np.asarray(ak.sum(jets.px, axis=1)) + soft_x)
    met_y = -(lep[:, 1] + had[:, 1] + np.asarray(ak.sum(jets.py, axis=1)) + soft_y)
    columns: dict[str, Any] = {}
    for name, momenta in (("had", had), ("lep", lep)):
        pt = np.hypot(momenta[:, 0], momenta[:, 1])
        columns[f"{name}_pt"] = pt
        columns[f"{name}_eta"] = np.arcsinh(momenta[:, 2] / pt)
        columns[f"{name}_phi"] = np.arctan2(momenta[:, 1], momenta[:, 0])
    columns["met"] = np.hypot(met_x, met_y)
    columns["met_phi"] = np.arctan2(met_y, met_x)
    columns.update(jet_features(jets.pt, jets.eta, jets.phi))
    columns.update(derived_features(columns))
    columns["jet_pt"], columns["jet_eta"], columns["jet_phi"] = jets.pt, jets.eta, jets.phi
    columns["lep_flavour"] = np.array([lepton.flavour for lepton, _ in leptons], dtype=np.int64)
    columns["true_mass"] = np.array(
        [
            _invariant_mass(lepton.parent, tau.tau)
            for (lepton, _), (tau, _) in zip(leptons, taus, strict=True)
        ]
    )
    columns["true_had_pt"] = np.array([np.hypot(*tau.visible[:2]) for tau, _ in taus])
    columns["true_lep_pt"] = np.array([np.hypot(*lepton.momentum[:2]) for lepton, _ in leptons])
    columns["true_met"] = np.array([np.hypot(*nu) for nu in invisible]).reshape(-1)
    return columns


def simulate(
    settings: tuple[str, ...], events: int, pythia_seed: int, detector_seed: int
) -> ShardResult:
    """Generate ``events`` Pythia events and keep those with one lepton and one hadronic τ.

    Arguments:
        settings: all Pythia settings of the run (process, mode, forced decays, user's).
        events: number of Pythia events to generate.
        pythia_seed: Pythia's ``Random:seed``.
        detector_seed: seed of the detector smearing.

    Returns:
        A :class:`ShardResult`; its columns have no weight yet (that needs every shard's
        cross-section estimate).
    """
    start = time.perf_counter()
    pythia = make_pythia(settings, pythia_seed)
    rng = np.random.default_rng(detector_seed)
    event = pythia.event
    leptons, taus, particles, invisible = [], [], [], []
    for _ in range(events):
        if not pythia.next():
            continue
        hard_lepton, hard_taus = hard_leptons(event)
        lepton = _the_one_reconstructed(
            hard_lepton, [x.momentum for x in hard_lepton], _lepton_resolution, LEP_PT_MIN, rng
        )
        if lepton is None:
            continue
        tau = _the_one_reconstructed(
            hard_taus, [x.visible for x in hard_taus], _tau_resolution, HAD_PT_MIN, rng
        )
        if tau is None:
            continue
        visible, missing = final_state(event, {lepton[0].index} | tau_products(event, tau[0]))
        leptons.append(lepton)
        taus.append(tau)
        particles.append(_visible_in_calorimeter(visible))
        invisible.append(missing)
    info = pythia.infoPython()
    return ShardResult(
        columns=_columns(leptons, taus, particles, invisible, rng),
        generated=int(info.nAccepted()),
        sigma_pb=float(info.sigmaGen()) * 1e9,
        sigma_error_pb=float(info.sigmaErr()) * 1e9,
        seconds=time.perf_counter() - start,
    )
