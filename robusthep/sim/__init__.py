"""Event generation: Pythia 8 + FastJet, a parametrised detector, systematic shifts."""

from robusthep.sim.features import CHALLENGE_NAMES, FEATURES, to_challenge_names
from robusthep.sim.higgs import HiggsSettings, generate_higgs
from robusthep.sim.processes import PROCESS_NAMES
from robusthep.sim.systematics import (
    NOMINAL,
    NUISANCES,
    PRIORS,
    apply_systematics,
    sample_nuisances,
)

__all__ = [
    "CHALLENGE_NAMES",
    "FEATURES",
    "NOMINAL",
    "NUISANCES",
    "PRIORS",
    "PROCESS_NAMES",
    "HiggsSettings",
    "apply_systematics",
    "generate_higgs",
    "sample_nuisances",
    "to_challenge_names",
]
