"""Reading a Pythia event record: prompt leptons, hadronic τs and the final state."""

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HardLepton", "HardTau", "final_state", "hard_leptons", "tau_products"]

_RESONANCES = frozenset({6, 23, 24, 25})  # t, Z/γ*, W, H: followed down to their decays
_CHARGED_LEPTONS = frozenset({11, 13})
_NEUTRINOS = frozenset({12, 14, 16})
_TAU = 15

Momentum = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class HardLepton:
    """An electron or muon from a W, Z or H decay, directly or through a leptonic τ decay.

    Attributes:
        momentum: (px, py, pz, E) in GeV after final-state radiation.
        flavour: 11 (electron) or 13 (muon).
        index: its position in the event record.
        parent: (px, py, pz, E) of the τ it came from, or of itself when prompt.
    """

    momentum: Momentum
    flavour: int
    index: int
    parent: Momentum


@dataclass(frozen=True, slots=True)
class HardTau:
    """A hadronically decaying τ from a W, Z or H decay.

    Attributes:
        visible: (px, py, pz, E) of its visible decay products (τ minus its neutrinos).
        tau: (px, py, pz, E) of the τ itself.
        index: the τ's position in the event record (see :func:`tau_products`).
    """

    visible: Momentum
    tau: Momentum
    index: int


def _momentum(particle: Any) -> Momentum:
    return (particle.px(), particle.py(), particle.pz(), particle.e())


def _tau_decay(event: Any, tau: Any, leptons: list[HardLepton], taus: list[HardTau]) -> None:
    daughters = [event[index] for index in tau.daughterList()]
    parent = _momentum(tau)
    charged = [d for d in daughters if d.idAbs() in _CHARGED_LEPTONS]
    if charged:
        lepton = event[charged[0].iBotCopyId()]
        leptons.append(HardLepton(_momentum(lepton), lepton.idAbs(), lepton.index(), parent))
        return
    visible = list(parent)
    for daughter in daughters:
        if daughter.idAbs() in _NEUTRINOS:
            for axis, component in enumerate(_momentum(daughter)):
                visible[axis] -= component
    taus.append(HardTau(tuple(visible), parent, tau.index()))


def hard_leptons(event: Any) -> tuple[list[HardLepton], list[HardTau]]:
    """Find the charged leptons and hadronic τs coming from the hard process.

    Walks down from the outgoing particles of the hard process through top, W, Z/γ* and
    H decays, following each particle to its last copy (after radiation). Only a few
    record entries are touched, so this is cheap enough to run on every event.

    Arguments:
        event: ``pythia.event`` after a successful ``pythia.next()``.

    Returns:
        (leptons, hadronic taus).

    Example:
        >>> from robusthep.sim.pythia import make_pythia
        >>> pythia = make_pythia(["WeakSingleBoson:ffbar2gmZ = on", "23:onMode = off",
        ...                       "23:onIfMatch = 13 -13", "PartonLevel:MPI = off"], seed=1)
        >>> _ = pythia.next()
        >>> leptons, taus = hard_leptons(pythia.event)
        >>> sorted(lepton.flavour for lepton in leptons), taus
        ([13, 13], [])
        >>> visible, invisible = final_state(pythia.event, {leptons[0].index})
        >>> visible.shape[1], invisible.shape
        (4, (2,))
    """
    leptons: list[HardLepton] = []
    taus: list[HardTau] = []
    stack = []
    index = 5  # 0 system, 1-2 beams, 3-4 incoming partons; then the outgoing ones
    while index < event.size() and event[index].statusAbs() in (22, 23):
        stack.append(index)
        index += 1
    while stack:
        particle = event[event[stack.pop()].iBotCopyId()]
        kind = particle.idAbs()
        if kind in _RESONANCES:
            stack.extend(particle.daughterList())
        elif kind in _CHARGED_LEPTONS:
            leptons.append(
                HardLepton(_momentum(particle), kind, particle.index(), _momentum(particle))
            )
        elif kind == _TAU:
            _tau_decay(event, particle, leptons, taus)
    return leptons, taus


def tau_products(event: Any, tau: HardTau) -> frozenset[int]:
    """Record positions of all the decay products of ``tau`` (to keep them out of jets)."""
    return frozenset(event[tau.index].daughterListRecursive())


def final_state(event: Any, exclude: set[int] | frozenset[int]) -> tuple[np.ndarray, np.ndarray]:
    """Split the final state into visible particles and the sum of the invisible ones.

    Arguments:
        event: ``pythia.event``.
        exclude: record positions to leave out of the visible list (the selected lepton and
            the decay products of the selected τ).

    Returns:
        (visible, invisible): an array (K, 4) of (px, py, pz, E) and the (px, py) sum of the
        neutrinos (the true missing transverse momentum).
    """
    visible = []
    invisible_x = invisible_y = 0.0
    for index, particle in enumerate(event):
        if not particle.isFinal():
            continue
        if not particle.isVisible():
            invisible_x += particle.px()
            invisible_y += particle.py()
        elif index not in exclude:
            visible.append((particle.px(), particle.py(), particle.pz(), particle.e()))
    return np.array(visible, dtype=np.float64).reshape(-1, 4), np.array([invisible_x, invisible_y])
