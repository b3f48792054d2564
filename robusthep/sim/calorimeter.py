"""A simple calorimeter: particles summed in η–φ cells, each layer's energy smeared, towers out."""

import math
from dataclasses import dataclass

import numpy as np

from robusthep.errors import ConfigError
from robusthep.sim import detector
from robusthep.sim.detector import CalorimeterResolution

__all__ = ["EM_IDS", "INVISIBLE_IDS", "Calorimeter", "Towers"]

EM_IDS = (11, 22)
"""Electrons and photons shower in the electromagnetic layer; other hadrons in the hadronic."""

INVISIBLE_IDS = (12, 13, 14, 16)
"""Neutrinos escape; muons leave only a minimum-ionising trace, not counted as energy."""


@dataclass(frozen=True)
class Towers:
    """Calorimeter towers of a batch of events, flat, grouped by event.

    Attributes:
        counts: array (events,): towers per event; the arrays below hold them in order.
        px, py, pz, energy: arrays (towers,) of the massless tower four-momenta, GeV.
    """

    counts: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray


@dataclass(frozen=True)
class Calorimeter:
    """Cells of Δη × Δφ with an electromagnetic and a hadronic layer, as Delphes builds towers.

    Each particle's energy goes to the cell its (η, φ) falls in, in the electromagnetic
    layer for electrons and photons, the hadronic layer otherwise. Each layer's summed
    cell energy gets a Gaussian response ``1 + σ(E)·z`` (clipped at zero), cells below the
    layer's energy threshold are dropped, and the two layers of a cell form one massless
    tower pointing at the cell's centre. So a jet's constituents are towers, not particles:
    nearby particles merge, soft ones vanish, energies fluctuate.

    Arguments:
        eta_max: acceptance, |η| < eta_max.
        cell_eta: cell size in η.
        cells_phi: number of cells in φ (size 2π / cells_phi).
        em: resolution of the electromagnetic layer.
        hadronic: resolution of the hadronic layer for |η| < ``forward_eta``.
        forward: resolution of both layers beyond ``forward_eta``.
        forward_eta: where the forward calorimeter starts.
        em_threshold, hadronic_threshold: smallest cell energy kept, GeV.

    Example:
        >>> calo = Calorimeter(em=CalorimeterResolution(0.0, 0.0),
        ...                    hadronic=CalorimeterResolution(0.0, 0.0))
        >>> pt = np.array([50.0, 30.0])  # two photons in one cell
        >>> towers = calo.towers(np.array([0, 0]), pt, np.zeros(2), np.zeros(2), pt,
        ...                      np.array([22, 22]), 1, np.random.default_rng(0))
        >>> towers.counts.tolist(), round(float(towers.energy[0]), 6)
        ([1], 80.0)

    References:
        ATLAS Collaboration, JINST 3 (2008) S08003 (cells of 0.1 × 0.1 in the hadronic
        calorimeter; resolutions of table 1.1); de Favereau et al., "DELPHES 3",
        JHEP 02 (2014) 057, arXiv:1307.6346 (towers from ECAL and HCAL cells, energy
        thresholds 0.5 and 1 GeV of its CMS card).
    """

    eta_max: float = 4.9
    cell_eta: float = 0.1
    cells_phi: int = 64
    em: CalorimeterResolution = detector.ELECTRON
    hadronic: CalorimeterResolution = detector.CENTRAL_JET
    forward: CalorimeterResolution = detector.FORWARD_JET
    forward_eta: float = detector.JET_CENTRAL_ETA
    em_threshold: float = 0.5
    hadronic_threshold: float = 1.0

    def __post_init__(self) -> None:
        if not (self.eta_max > 0 and self.cell_eta > 0 and self.cells_phi >= 1):
            raise ConfigError(
                f"calorimeter needs eta_max > 0, cell_eta > 0 and cells_phi ≥ 1, got "
                f"{self.eta_max!r}, {self.cell_eta!r}, {self.cells_phi!r}"
            )
        if self.em_threshold < 0 or self.hadronic_threshold < 0:
            raise ConfigError("calorimeter energy thresholds must be ≥ 0")

    @property
    def cells_eta(self) -> int:
        """Number of cells in η across the acceptance."""
        return math.ceil(2 * self.eta_max / self.cell_eta)

    def towers(
        self,
        event: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        pz: np.ndarray,
        energy: np.ndarray,
        pdg_id: np.ndarray,
        events: int,
        rng: np.random.Generator,
    ) -> Towers:
        """Deposit visible final-state particles and return the towers of each event.

        Arguments:
            event: array (particles,) of event numbers, 0 … events − 1.
            px, py, pz, energy: the particles' four-momenta, GeV.
            pdg_id: their PDG codes; neutrinos and muons (:data:`INVISIBLE_IDS`) deposit
                nothing.
            events: number of events in the batch (events without towers get none).
            rng: the random generator of the shard.

        Returns:
            :class:`Towers`, events in order, cells within an event in (η, φ) order.
        """
        pt = np.hypot(px, py)
        eta = np.arcsinh(pz / np.maximum(pt, 1e-12))
        absolute = np.abs(pdg_id)
        kept = (pt > 0) & (np.abs(eta) < self.eta_max) & ~np.isin(absolute, INVISIBLE_IDS)
        layer = (~np.isin(absolute[kept], EM_IDS)).astype(np.int64)  # 0 EM, 1 hadronic
        n_eta, n_phi = self.cells_eta, self.cells_phi
        i_eta = np.clip(((eta[kept] + self.eta_max) / self.cell_eta).astype(np.int64), 0, n_eta - 1)
        phi = np.arctan2(py[kept], px[kept])
        i_phi = ((phi + math.pi) / (2 * math.pi) * n_phi).astype(np.int64) % n_phi
        cell = (np.asarray(event)[kept].astype(np.int64) * n_eta + i_eta) * n_phi + i_phi
        key, inverse = np.unique(cell * 2 + layer, return_inverse=True)
        summed = np.bincount(inverse, weights=energy[kept], minlength=len(key))
        cell_of_key, layer_of_key = key // 2, key % 2
        cell_eta = -self.eta_max + (cell_of_key // n_phi % n_eta + 0.5) * self.cell_eta
        forward = np.abs(cell_eta) > self.forward_eta
        sigma = np.where(
            forward,
            self.forward.relative(summed),
            np.where(layer_of_key == 0, self.em.relative(summed), self.hadronic.relative(summed)),
        )
        smeared = summed * np.clip(1.0 + sigma * rng.standard_normal(len(summed)), 0.0, None)
        threshold = np.where(layer_of_key == 0, self.em_threshold, self.hadronic_threshold)
        visible = smeared > threshold
        cells, tower_of = np.unique(cell_of_key[visible], return_inverse=True)
        tower_energy = np.bincount(tower_of, weights=smeared[visible], minlength=len(cells))
        tower_eta = -self.eta_max + (cells // n_phi % n_eta + 0.5) * self.cell_eta
        tower_phi = -math.pi + (cells % n_phi + 0.5) * (2 * math.pi / n_phi)
        tower_pt = tower_energy / np.cosh(tower_eta)
        return Towers(
            counts=np.bincount(cells // (n_eta * n_phi), minlength=events).astype(np.int64),
            px=tower_pt * np.cos(tower_phi),
            py=tower_pt * np.sin(tower_phi),
            pz=tower_pt * np.sinh(tower_eta),
            energy=tower_energy,
        )
