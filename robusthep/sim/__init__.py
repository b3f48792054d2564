"""Event generation: Pythia 8 + FastJet, parametrised detectors, jet substructure, systematics."""

from robusthep.sim.btrigger import BTriggerSettings, generate_btrigger
from robusthep.sim.calorimeter import Calorimeter
from robusthep.sim.datasets import GENERATORS, generator
from robusthep.sim.features import CHALLENGE_NAMES, FEATURES, to_challenge_names
from robusthep.sim.flat_events import FlatEvents
from robusthep.sim.higgs import HiggsSettings, generate_higgs
from robusthep.sim.processes import PROCESS_NAMES
from robusthep.sim.resolution import degrade_tracker
from robusthep.sim.substructure import jet_substructure, relative_constituents
from robusthep.sim.systematics import (
    NOMINAL,
    NUISANCES,
    PRIORS,
    apply_systematics,
    sample_nuisances,
)
from robusthep.sim.tracker import Tracker
from robusthep.sim.wjets import WJetsSettings, flat_pt_weights, generate_wjets

__all__ = [
    "CHALLENGE_NAMES",
    "FEATURES",
    "GENERATORS",
    "NOMINAL",
    "NUISANCES",
    "PRIORS",
    "PROCESS_NAMES",
    "BTriggerSettings",
    "Calorimeter",
    "FlatEvents",
    "HiggsSettings",
    "Tracker",
    "WJetsSettings",
    "apply_systematics",
    "degrade_tracker",
    "flat_pt_weights",
    "generate_btrigger",
    "generate_higgs",
    "generate_wjets",
    "generator",
    "jet_substructure",
    "relative_constituents",
    "sample_nuisances",
    "to_challenge_names",
]
