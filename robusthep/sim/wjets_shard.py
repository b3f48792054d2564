"""One ``wjets`` shard: Pythia events in batches, calorimeter towers, the leading large-R jet."""

import time
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from robusthep.sim._stdout import captured_stdout
from robusthep.sim.calorimeter import Calorimeter
from robusthep.sim.pythia import make_pythia
from robusthep.sim.shard import ShardResult
from robusthep.sim.substructure import jet_substructure, relative_constituents

__all__ = ["BATCH_EVENTS", "JetSelection", "simulate_wjets"]

BATCH_EVENTS = 200
"""Pythia events per ``nextBatch`` call: the record of a batch is held in memory at once.
Fixed, so that the random numbers of the detector do not depend on anything else."""

_W = 24


@dataclass(frozen=True)
class JetSelection:
    """How the leading jet is found and kept.

    Attributes:
        radius: anti-kT radius.
        pt_min, pt_max: the leading jet's pT window, GeV.
        eta_max: the leading jet's |η| limit.
        max_constituents: constituents stored per jet (the hardest).
        soft_drop_beta, soft_drop_zcut: soft-drop parameters.
        match_w: keep the event only if the leading jet lies within 0.75 R of the
            hadronically decaying W (signal truth matching).
    """

    radius: float = 1.0
    pt_min: float = 250.0
    pt_max: float = 1000.0
    eta_max: float = 2.0
    max_constituents: int = 100
    soft_drop_beta: float = 0.0
    soft_drop_zcut: float = 0.1
    match_w: bool = False


def _flat(array: ak.Array) -> np.ndarray:
    return np.asarray(ak.flatten(array), dtype=np.float64)


def _delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    dphi = (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def _eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-12)), np.arctan2(py, px)


def _true_w(particles: ak.Array) -> dict[str, np.ndarray]:
    """pT, η, φ of the last W copy of each event and the largest ΔR of its daughters to it.

    Events without a W get NaN.
    """
    counts = np.asarray(ak.num(particles.id), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat_id = np.abs(np.asarray(ak.flatten(particles.id)))
    event_of = np.repeat(np.arange(len(counts)), counts)
    last = np.full(len(counts), -1)
    is_w = np.flatnonzero(flat_id == _W)
    np.maximum.at(last, event_of[is_w], is_w)  # the bottom copy comes last in the record
    momentum = particles.p
    px, py, pz = _flat(momentum.px), _flat(momentum.py), _flat(momentum.pz)
    out = {name: np.full(len(counts), np.nan) for name in ("pt", "eta", "phi", "daughters_dr")}
    has = last >= 0
    w = last[has]
    out["pt"][has] = np.hypot(px[w], py[w])
    out["eta"][has], out["phi"][has] = _eta_phi(px[w], py[w], pz[w])
    daughter1 = np.asarray(ak.flatten(particles.daughter1))[w] + start[has]
    daughter2 = np.asarray(ak.flatten(particles.daughter2))[w] + start[has]
    spread = np.zeros(len(w))
    for daughter in (daughter1, daughter2):
        eta, phi = _eta_phi(px[daughter], py[daughter], pz[daughter])
        spread = np.maximum(spread, _delta_r(eta, phi, out["eta"][has], out["phi"][has]))
    out["daughters_dr"][has] = spread
    return out


def _cluster(towers: Any, radius: float, pt_min: float) -> tuple[ak.Array, ak.Array]:
    """Anti-kT jets above ``pt_min`` and their constituents, per event."""
    import fastjet

    events = ak.unflatten(
        ak.zip({"px": towers.px, "py": towers.py, "pz": towers.pz, "E": towers.energy}),
        towers.counts,
    )
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    with captured_stdout():  # FastJet prints its banner on first use
        sequence = fastjet.ClusterSequence(events, definition)
        return sequence.inclusive_jets(min_pt=pt_min), sequence.constituents(min_pt=pt_min)


def _leading_jets(
    batch: ak.Array, calorimeter: Calorimeter, selection: JetSelection, rng: np.random.Generator
) -> dict[str, Any]:
    """The kept leading jets of one batch: kinematics, constituents and truth."""
    particles = batch.prt
    counts = np.asarray(ak.num(particles.id), dtype=np.int64)
    final = np.asarray(ak.flatten(particles.status)) > 0
    momentum = particles.p
    towers = calorimeter.towers(
        np.repeat(np.arange(len(counts)), counts)[final],
        _flat(momentum.px)[final],
        _flat(momentum.py)[final],
        _flat(momentum.pz)[final],
        _flat(momentum.e)[final],
        np.asarray(ak.flatten(particles.id))[final],
        len(counts),
        rng,
    )
    if len(towers.px) == 0:  # FastJet cannot cluster nothing
        return _leading_jets_of_nothing()
    jets, constituents = _cluster(towers, selection.radius, selection.pt_min)
    pt = np.hypot(jets.px, jets.py)
    has_jet = np.asarray(ak.num(pt)) > 0
    leading = ak.argmax(pt, axis=1, keepdims=True)
    jet = ak.firsts(jets[leading])[has_jet]
    jet_constituents = ak.firsts(constituents[leading])[has_jet]
    px, py, pz, energy = (np.asarray(jet[x], dtype=np.float64) for x in ("px", "py", "pz", "E"))
    jet_pt = np.hypot(px, py)
    jet_eta, jet_phi = _eta_phi(px, py, pz)
    truth = {name: values[has_jet] for name, values in _true_w(particles).items()}
    keep = (jet_pt <= selection.pt_max) & (np.abs(jet_eta) < selection.eta_max)
    truth["dr"] = _delta_r(jet_eta, jet_phi, truth["eta"], truth["phi"])
    if selection.match_w:
        keep &= truth["dr"] < 0.75 * selection.radius
    pt_hat = np.sqrt(np.asarray(batch.info.pT2Hat, dtype=np.float64))[has_jet]
    return {
        "jet_pt": jet_pt[keep],
        "jet_eta": jet_eta[keep],
        "jet_phi": jet_phi[keep],
        "jet_mass": np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))[keep],
        "jet_n_constituents": np.asarray(ak.num(jet_constituents), dtype=np.int64)[keep],
        "constituents": jet_constituents[keep],
        "pt_hat": pt_hat[keep],
        "true_w_pt": truth["pt"][keep],
        "true_w_dr": truth["dr"][keep],
        "true_w_daughters_dr": truth["daughters_dr"][keep],
    }


def _columns(parts: list[dict[str, Any]], selection: JetSelection) -> dict[str, Any]:
    flat = {
        name: np.concatenate([part[name] for part in parts])
        for name in parts[0]
        if name != "constituents"
    }
    constituents = ak.concatenate([part["constituents"] for part in parts])
    shapes = jet_substructure(
        constituents,
        selection.radius,
        soft_drop_beta=selection.soft_drop_beta,
        soft_drop_zcut=selection.soft_drop_zcut,
    )
    columns: dict[str, Any] = {name: flat[name] for name in ("jet_pt", "jet_eta", "jet_phi")}
    columns["jet_mass"] = flat["jet_mass"]
    columns["jet_mass_sd"] = shapes["mass_sd"]
    for name in ("tau1", "tau2", "tau3", "d2"):
        columns[f"jet_{name}"] = shapes[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["jet_tau21"] = np.where(shapes["tau1"] > 0, shapes["tau2"] / shapes["tau1"], 0.0)
        columns["jet_tau32"] = np.where(shapes["tau2"] > 0, shapes["tau3"] / shapes["tau2"], 0.0)
    columns["jet_n_constituents"] = flat["jet_n_constituents"]
    relative = relative_constituents(
        constituents, flat["jet_eta"], flat["jet_phi"], selection.max_constituents
    )
    for name, values in relative.items():
        columns[f"constituent_{name}"] = values
    for name in ("pt_hat", "true_w_pt", "true_w_dr", "true_w_daughters_dr"):
        columns[name] = flat[name]
    return columns


def simulate_wjets(
    settings: tuple[str, ...],
    events: int,
    pythia_seed: int,
    detector_seed: int,
    selection: JetSelection,
    calorimeter: Calorimeter | None = None,
) -> ShardResult:
    """Generate ``events`` Pythia events and keep the leading large-R jet where it passes.

    Pythia's ``nextBatch`` hands the records over as awkward arrays, batch by batch, so no
    Python code runs per particle: the calorimeter, FastJet and the substructure all work
    on whole batches.

    Arguments:
        settings: all Pythia settings of the run (process, pT-hat range, mode, user's).
        events: number of Pythia events to generate.
        pythia_seed: Pythia's ``Random:seed``.
        detector_seed: seed of the calorimeter smearing.
        selection: the jet definition and the leading jet's window.
        calorimeter: the calorimeter (default :class:`Calorimeter`).

    Returns:
        A :class:`~robusthep.sim.shard.ShardResult`, columns without weights.
    """
    start = time.perf_counter()
    calorimeter = calorimeter or Calorimeter()
    pythia = make_pythia(settings, pythia_seed)
    rng = np.random.default_rng(detector_seed)
    parts = []
    for first in range(0, events, BATCH_EVENTS):
        with captured_stdout():  # Pythia reports aborted events on stdout
            batch = pythia.nextBatch(min(BATCH_EVENTS, events - first), "skip")
        if len(batch) > 0:
            parts.append(_leading_jets(batch, calorimeter, selection, rng))
    info = pythia.infoPython()
    if not parts:
        parts = [_leading_jets_of_nothing()]
    return ShardResult(
        columns=_columns(parts, selection),
        generated=int(info.nAccepted()),
        sigma_pb=float(info.sigmaGen()) * 1e9,
        sigma_error_pb=float(info.sigmaErr()) * 1e9,
        seconds=time.perf_counter() - start,
    )


def _leading_jets_of_nothing() -> dict[str, Any]:
    empty = np.zeros(0)
    names = ("jet_pt", "jet_eta", "jet_phi", "jet_mass", "pt_hat", "true_w_pt", "true_w_dr")
    part: dict[str, Any] = {name: empty for name in names}
    part["true_w_daughters_dr"] = empty
    part["jet_n_constituents"] = np.zeros(0, dtype=np.int64)
    part["constituents"] = ak.Array(
        ak.unflatten(ak.zip({n: empty for n in ("px", "py", "pz", "E")}), np.zeros(0, np.int64))
    )
    return part
