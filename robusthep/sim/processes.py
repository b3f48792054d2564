"""The physics processes of the ``higgs`` dataset, as Pythia settings, and forced τ decays."""

import functools
from dataclasses import dataclass

from robusthep.errors import ConfigError

__all__ = ["PROCESSES", "PROCESS_NAMES", "Process", "get_process", "tau_lep_had"]


@dataclass(frozen=True)
class Process:
    """One physics process: its Pythia settings and how its events are labelled.

    Attributes:
        name: the value of the ``process`` column.
        label: 1 for signal, 0 for background.
        settings: Pythia settings that select the hard process and its resonance decays.
            Pythia scales its cross section by the branching fractions of the resonance
            decays left open, so ``info.sigmaGen()`` already carries them.
        lep_had_taus: force one τ to decay to e/μ and the other to hadrons; the weights
            then carry the branching fraction returned by :func:`tau_lep_had`.
        description: one line for the docs.
    """

    name: str
    label: int
    settings: tuple[str, ...]
    lep_had_taus: bool
    description: str


PROCESSES = (
    Process(
        name="htautau",
        label=1,
        settings=(
            "HiggsSM:gg2H = on",
            "HiggsSM:ff2Hff(t:WW) = on",
            "HiggsSM:ff2Hff(t:ZZ) = on",
            "25:m0 = 125.0",
            "25:onMode = off",
            "25:onIfMatch = 15 -15",
        ),
        lep_had_taus=True,
        description="gluon fusion and vector-boson fusion H → ττ (m_H = 125 GeV)",
    ),
    Process(
        name="ztautau",
        label=0,
        settings=(
            "WeakSingleBoson:ffbar2gmZ = on",
            "23:onMode = off",
            "23:onIfMatch = 15 -15",
            "PhaseSpace:mHatMin = 60.",
        ),
        lep_had_taus=True,
        description="Drell-Yan Z/γ* → ττ with full interference, m(ττ) > 60 GeV",
    ),
    Process(
        name="ttbar",
        label=0,
        settings=(
            "Top:gg2ttbar = on",
            "Top:qqbar2ttbar = on",
            "24:onMode = off",
            "24:onIfAny = 11 13 15",
        ),
        lep_had_taus=False,
        description="tt̄ with both W → ℓν (ℓ = e, μ, τ)",
    ),
    Process(
        name="diboson",
        label=0,
        settings=(
            "WeakDoubleBoson:ffbar2WW = on",
            "WeakDoubleBoson:ffbar2ZW = on",
            "WeakDoubleBoson:ffbar2gmZgmZ = on",
        ),
        lep_had_taus=False,
        description="WW, WZ and ZZ/γ* with all decays",
    ),
)
"""The four processes of the challenge, signal first."""

PROCESS_NAMES = tuple(process.name for process in PROCESSES)


def get_process(name: str) -> Process:
    """Return the process called ``name``.

    Example:
        >>> get_process("ttbar").label
        0
        >>> get_process("qcd")
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: unknown process 'qcd'; valid: htautau, ztautau, ttbar, diboson
    """
    for process in PROCESSES:
        if process.name == name:
            return process
    raise ConfigError(f"unknown process {name!r}; valid: {', '.join(PROCESS_NAMES)}")


@functools.cache
def tau_lep_had() -> tuple[tuple[str, ...], float]:
    """Settings that make τ⁻ decay to hadrons and τ⁺ to e or μ, and the fraction they keep.

    Pythia's per-channel ``onMode`` (2: particle only, 3: antiparticle only) lets the two
    charges decay differently. Of a τ pair, a fraction 2·B(τ→ℓνν)·B(τ→hadrons ν) decays
    lepton-hadron in nature; forcing makes every pair do so, so the weights must be
    multiplied by that fraction. The doubling accounts for the charge-conjugate
    assignment, which has the same kinematics up to the τ charge (not a feature here).

    Returns:
        (settings, fraction): the ``15:N:onMode`` settings, and 2·B(τ→e/μ νν)·B(τ→hadrons ν)
        computed from Pythia's own decay table (≈ 0.455).

    Example:
        >>> settings, fraction = tau_lep_had()
        >>> settings[0], round(fraction, 3)
        ('15:0:onMode = 2', 0.455)
    """
    import pythia8mc

    entry = pythia8mc.Pythia("", False).particleData.particleDataEntryPtr(15)
    leptonic = hadronic = 0.0
    settings = []
    for position in range(entry.sizeChannels()):
        channel = entry.channel(position)
        products = {abs(channel.product(i)) for i in range(channel.multiplicity())}
        only_antiparticle, only_particle = 3, 2
        if products & {11, 13}:
            leptonic += channel.bRatio()
            settings.append(f"15:{position}:onMode = {only_antiparticle}")
        else:
            hadronic += channel.bRatio()
            settings.append(f"15:{position}:onMode = {only_particle}")
    total = leptonic + hadronic
    return tuple(settings), 2.0 * (leptonic / total) * (hadronic / total)
