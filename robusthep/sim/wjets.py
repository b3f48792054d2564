"""The ``wjets`` dataset: boosted W → qq̄ jets and QCD jets, with substructure and constituents."""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robusthep.data.dataset import Dataset, columns_to_parquet
from robusthep.errors import ConfigError
from robusthep.parallel import Executor
from robusthep.sim.cache import ShardStore
from robusthep.sim.calorimeter import Calorimeter
from robusthep.sim.generation import (
    GeneratorSettings,
    concatenate_columns,
    event_weight,
    generate_in_shards,
    join_shards,
    shard_seeds,
    shard_summary,
)
from robusthep.sim.processes import Process
from robusthep.sim.pythia import FAST_SETTINGS
from robusthep.sim.wjets_shard import JetSelection, simulate_wjets

__all__ = [
    "WJETS_LUMINOSITY_FB",
    "WJETS_PROCESSES",
    "WJetsSettings",
    "WJetsShard",
    "flat_pt_weights",
    "generate_wjets",
    "plan_wjets_shards",
    "run_wjets_shard",
]

WJETS_LUMINOSITY_FB = 140.0
"""The weights give expected yields for the LHC Run-2 luminosity, 140 fb⁻¹."""

WJETS_PROCESSES = (
    Process(
        name="wjet",
        label=1,
        settings=(
            "WeakBosonAndParton:qqbar2Wg = on",
            "WeakBosonAndParton:qg2Wq = on",
            "24:onMode = off",
            "24:onIfAny = 1 2 3 4 5",
        ),
        lep_had_taus=False,
        description="W + jet (qq̄ → Wg, qg → Wq) with W → qq̄', leading jet matched to the W",
    ),
    Process(
        name="qcd",
        label=0,
        settings=("HardQCD:all = on",),
        lep_had_taus=False,
        description="QCD 2 → 2 (HardQCD:all), the leading jet",
    ),
)
"""Signal first, then background."""

_NAMES = tuple(process.name for process in WJETS_PROCESSES)
_FLAT_PT_BINS = 30


def _process(name: str) -> Process:
    for process in WJETS_PROCESSES:
        if process.name == name:
            return process
    raise ConfigError(f"unknown process {name!r}; valid: {', '.join(_NAMES)}")


@dataclass(frozen=True)
class WJetsSettings(GeneratorSettings):
    """What to generate; every field enters the cache key.

    Attributes:
        events: Pythia events per process, split evenly over the pT-hat bins.
        seed: master seed; each shard derives its own Pythia and detector seeds from it.
        processes: a subset of ``wjet, qcd``.
        shard_events: at most this many Pythia events per shard.
        luminosity_fb: the weights give expected yields at this luminosity, fb⁻¹.
        fast: no multiparton interactions (no underlying event).
        pt_hat_edges: edges of the pT-hat bins, GeV; each bin is its own Pythia run.
        jet_radius: anti-kT radius R.
        jet_pt_min, jet_pt_max: the leading jet's pT window, GeV.
        jet_eta_max: the leading jet's |η| limit.
        max_constituents: constituents stored per jet (the hardest).
        soft_drop_beta, soft_drop_zcut: soft-drop parameters.
        pythia: extra Pythia settings, read after the process's own.
    """

    events: int = 20_000
    seed: int = 0
    processes: tuple[str, ...] = _NAMES
    shard_events: int = 2_000
    luminosity_fb: float = WJETS_LUMINOSITY_FB
    fast: bool = False
    pt_hat_edges: tuple[float, ...] = (200.0, 300.0, 450.0, 650.0, 900.0, 1300.0)
    jet_radius: float = 1.0
    jet_pt_min: float = 250.0
    jet_pt_max: float = 1000.0
    jet_eta_max: float = 2.0
    max_constituents: int = 100
    soft_drop_beta: float = 0.0
    soft_drop_zcut: float = 0.1
    pythia: tuple[str, ...] = field(default=())

    DATASET: ClassVar[str] = "wjets"
    SCHEMA: ClassVar[str] = "wjets-1"  # bump when the generated columns or physics change
    PROCESSES: ClassVar[tuple[str, ...]] = _NAMES

    def __post_init__(self) -> None:
        self._check_common()
        object.__setattr__(self, "pt_hat_edges", tuple(float(x) for x in self.pt_hat_edges))
        if (
            isinstance(self.max_constituents, bool)
            or not isinstance(self.max_constituents, int)
            or self.max_constituents <= 0
        ):
            raise ConfigError(
                f"max_constituents must be a positive integer, got {self.max_constituents!r}"
            )
        self._check_jets()

    def _check_jets(self) -> None:
        edges = np.array(self.pt_hat_edges)
        if len(edges) < 2 or not np.all(np.diff(edges) > 0) or edges[0] <= 0:
            raise ConfigError(
                f"pt_hat_edges must be at least two increasing positive values, got "
                f"{self.pt_hat_edges!r}"
            )
        if self.events < len(edges) - 1:
            raise ConfigError(
                f"events ({self.events}) must be at least the number of pT-hat bins "
                f"({len(edges) - 1})"
            )
        if not 0 < self.jet_radius <= 1.5:
            raise ConfigError(f"jet_radius must be in (0, 1.5], got {self.jet_radius!r}")
        if not 0 < self.jet_pt_min < self.jet_pt_max:
            raise ConfigError(
                f"the jet pT window needs 0 < jet_pt_min < jet_pt_max, got "
                f"{self.jet_pt_min!r} … {self.jet_pt_max!r}"
            )
        if edges[0] > self.jet_pt_min or edges[-1] < self.jet_pt_max:
            raise ConfigError(
                f"the pT-hat bins ({edges[0]:g} … {edges[-1]:g} GeV) must cover the jet pT "
                f"window ({self.jet_pt_min:g} … {self.jet_pt_max:g} GeV), or the jet "
                "spectrum is cut at its edges"
            )
        if not 0 < self.jet_eta_max <= Calorimeter().eta_max - self.jet_radius:
            raise ConfigError(
                f"jet_eta_max must be in (0, {Calorimeter().eta_max - self.jet_radius:g}] "
                f"(the calorimeter ends at |η| = {Calorimeter().eta_max}), got "
                f"{self.jet_eta_max!r}"
            )
        if not (0 < self.soft_drop_zcut < 0.5 and self.soft_drop_beta >= 0):
            raise ConfigError(
                f"soft drop needs 0 < zcut < 0.5 and beta ≥ 0, got zcut "
                f"{self.soft_drop_zcut!r}, beta {self.soft_drop_beta!r}"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> "WJetsSettings":
        """The demo size: fast mode, 3 000 events per process (under 2 minutes on 2 cores)."""
        return cls.from_mapping({"events": 3_000, "shard_events": 1_000, "fast": True, **overrides})

    def selection(self, process: str) -> JetSelection:
        """The jet definition and window, W-matched for the signal."""
        return JetSelection(
            radius=self.jet_radius,
            pt_min=self.jet_pt_min,
            pt_max=self.jet_pt_max,
            eta_max=self.jet_eta_max,
            max_constituents=self.max_constituents,
            soft_drop_beta=self.soft_drop_beta,
            soft_drop_zcut=self.soft_drop_zcut,
            match_w=_process(process).label == 1,
        )

    def bins(self) -> list[tuple[float, float]]:
        """The pT-hat bins, (low, high) in GeV."""
        edges = self.pt_hat_edges
        return list(zip(edges[:-1], edges[1:], strict=True))


@dataclass(frozen=True)
class WJetsShard:
    """One unit of work: a seeded Pythia run of one process in one pT-hat bin.

    Attributes:
        process: the process name.
        pt_hat_bin: the bin's number.
        index: the shard's number within its process and bin.
        events: Pythia events to generate.
        pythia_seed, detector_seed: the shard's seeds, derived from the master seed.
        settings: every Pythia setting of the run.
        selection: the jet definition and window.
    """

    process: str
    pt_hat_bin: int
    index: int
    events: int
    pythia_seed: int
    detector_seed: int
    settings: tuple[str, ...]
    selection: JetSelection

    @property
    def name(self) -> str:
        """The shard's file name, without extension."""
        return f"{self.process}-{self.pt_hat_bin:02d}-{self.index:05d}"


def _pythia_settings(
    name: str, low: float, high: float, settings: WJetsSettings
) -> tuple[str, ...]:
    mode = FAST_SETTINGS if settings.fast else ()
    window = (f"PhaseSpace:pTHatMin = {low:g}", f"PhaseSpace:pTHatMax = {high:g}")
    return (*_process(name).settings, *window, *mode, *settings.pythia)


def _bin_events(settings: WJetsSettings) -> list[int]:
    count = len(settings.bins())
    return [settings.events // count + (b < settings.events % count) for b in range(count)]


def plan_wjets_shards(settings: WJetsSettings) -> list[WJetsShard]:
    """Split the generation into shards, each seeded from (seed, process, bin, shard).

    Example:
        >>> tasks = plan_wjets_shards(WJetsSettings(events=10, shard_events=1,
        ...                                         pt_hat_edges=(200, 500, 1300)))
        >>> [(t.process, t.pt_hat_bin, t.index) for t in tasks][:2], len(tasks)
        ([('wjet', 0, 0), ('wjet', 0, 1)], 20)
    """
    tasks = []
    for name in settings.processes:
        number = _NAMES.index(name)
        for b, ((low, high), events) in enumerate(
            zip(settings.bins(), _bin_events(settings), strict=True)
        ):
            pythia = _pythia_settings(name, low, high, settings)
            for index, start in enumerate(range(0, events, settings.shard_events)):
                pythia_seed, detector_seed = shard_seeds(settings.seed, number, b, index)
                tasks.append(
                    WJetsShard(
                        process=name,
                        pt_hat_bin=b,
                        index=index,
                        events=min(settings.shard_events, events - start),
                        pythia_seed=pythia_seed,
                        detector_seed=detector_seed,
                        settings=pythia,
                        selection=settings.selection(name),
                    )
                )
    return tasks


def run_wjets_shard(task: WJetsShard) -> tuple[dict[str, Any], bytes]:
    """Generate one shard; return its summary and its table as Parquet bytes."""
    result = simulate_wjets(
        task.settings, task.events, task.pythia_seed, task.detector_seed, task.selection
    )
    info = shard_summary(task, result, len(result.columns["jet_pt"]), pt_hat_bin=task.pt_hat_bin)
    return info, columns_to_parquet(result.columns, info)


def flat_pt_weights(
    pt: np.ndarray, weight: np.ndarray, label: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Weights that make each class's weighted pT spectrum flat over ``edges``.

    Within each class (``label``) an event's weight is divided by the class's weighted
    yield in its pT bin and multiplied by the class's total over the number of filled
    bins: each class keeps its total, and signal and background get the same (flat) pT
    spectrum, so a tagger cannot learn pT from them. Events outside ``edges`` get 0.

    Arguments:
        pt: array (N,) of jet pT.
        weight: array (N,) of physical weights.
        label: array (N,) of class labels.
        edges: bin edges of pT.

    Returns:
        Array (N,) of reweighted weights.

    Example:
        >>> pt = np.array([10.0, 11.0, 30.0])
        >>> flat_pt_weights(pt, np.ones(3), np.zeros(3), np.array([0.0, 20.0, 40.0])).tolist()
        [0.75, 0.75, 1.5]
    """
    out = np.zeros(len(pt))
    position = np.digitize(pt, edges) - 1
    inside = (position >= 0) & (position < len(edges) - 1)
    for value in np.unique(label):
        members = inside & (label == value)
        per_bin = np.bincount(position[members], weights=weight[members], minlength=len(edges) - 1)
        filled = per_bin > 0
        scale = np.zeros_like(per_bin)
        scale[filled] = weight[members].sum() / filled.sum() / per_bin[filled]
        out[members] = weight[members] * scale[position[members]]
    return out


def _merge(
    settings: WJetsSettings, tasks: list[WJetsShard], store: ShardStore
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Join the shards into one weighted table and describe each process and bin."""
    parts, processes = [], {}
    for name in settings.processes:
        process = _process(name)
        bins, yield_total, sigma_total = [], 0.0, 0.0
        for b, (low, high) in enumerate(settings.bins()):
            names = [t.name for t in tasks if t.process == name and t.pt_hat_bin == b]
            run = join_shards(store, names, f"{name}, pT-hat bin {b}")
            generated, sigma = run.generated, run.sigma_pb
            weight = event_weight(sigma, settings.luminosity_fb, generated)
            columns = concatenate_columns(run.tables)
            selected = len(columns["jet_pt"])
            columns["label"] = np.full(selected, process.label, dtype=np.int64)
            columns["process"] = np.full(selected, name, dtype=object)
            columns["pt_hat_bin"] = np.full(selected, b, dtype=np.int64)
            columns["weight"] = np.full(selected, weight)
            parts.append(columns)
            yield_total += weight * selected
            sigma_total += sigma
            bins.append(
                {
                    "pt_hat_min": low,
                    "pt_hat_max": high,
                    "sigma_pb": sigma,
                    "sigma_error_pb": run.sigma_error_pb,
                    "generated": generated,
                    "selected": selected,
                    "expected_yield": weight * selected,
                    "pythia_settings": list(_pythia_settings(name, low, high, settings)),
                }
            )
        processes[name] = {
            "label": process.label,
            "description": process.description,
            "sigma_pb": sigma_total,
            "generated": sum(x["generated"] for x in bins),
            "selected": sum(x["selected"] for x in bins),
            "expected_yield": yield_total,
            "pt_hat_bins": bins,
        }
    columns = concatenate_columns(parts)
    edges = np.linspace(settings.jet_pt_min, settings.jet_pt_max, _FLAT_PT_BINS + 1)
    columns["weight_flat_pt"] = flat_pt_weights(
        columns["jet_pt"], columns["weight"], columns["label"], edges
    )
    return columns, processes


def _meta(settings: WJetsSettings, processes: dict[str, Any]) -> dict[str, Any]:

    calorimeter = Calorimeter()
    return settings.common_meta(processes) | {
        "selection": {
            "leading_jet": True,
            "jet_pt_min": settings.jet_pt_min,
            "jet_pt_max": settings.jet_pt_max,
            "jet_eta_max": settings.jet_eta_max,
            "signal_match_delta_r": 0.75 * settings.jet_radius,
        },
        "jets": {
            "algorithm": "anti-kT",
            "radius": settings.jet_radius,
            "inputs": "calorimeter towers",
            "soft_drop": {"beta": settings.soft_drop_beta, "zcut": settings.soft_drop_zcut},
            "nsubjettiness": {"beta": 1.0, "axes": "one-pass kT", "normalised": True},
            "d2": {"beta": 1.0},
            "weight_flat_pt_bins": _FLAT_PT_BINS,
        },
        "calorimeter": dataclasses.asdict(calorimeter),
        "undefined": "NaN",
    }


def generate_wjets(
    settings: WJetsSettings | None = None,
    *,
    output: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> Dataset:
    """Generate the ``wjets`` dataset, or return it from the cache.

    Signal: W + jet with W → qq̄', the leading anti-kT jet within 0.75 R of the W.
    Background: QCD 2 → 2, the leading jet. Each process runs in pT-hat bins, and each
    bin's events weigh σ_bin · L / N_bin, so the summed spectrum is physical; the column
    ``weight_flat_pt`` reweights both classes to the same flat pT spectrum.
    Shards, cache, resume and executors are those of :func:`generate_higgs`.

    Arguments:
        settings: what to generate (default: :class:`WJetsSettings`).
        output: the dataset folder; default ``<cache root>/wjets-<settings key>``.
        executor: where the shards run (default: local processes, one per core).
        progress: show a progress bar on the terminal.

    Returns:
        The :class:`~robusthep.data.Dataset`.

    Raises:
        ConfigError: bad settings, a setting Pythia rejects, an unwritable folder, an
            unreachable executor.

    Example:
        >>> generate_wjets(WJetsSettings(jet_pt_min=1200.0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: the jet pT window needs 0 < jet_pt_min < jet_pt_max, ...

    References:
        Cogan, Kagan, Strauss, Schwartzman, "Jet-images: computer vision inspired
        techniques for jet tagging", JHEP 02 (2015) 118, arXiv:1407.5675 (W' → WZ vs QCD);
        Baldi et al., "Jet substructure classification in high-energy physics with deep
        neural networks", Phys. Rev. D 93 (2016) 094034, arXiv:1603.09349.
    """
    settings = settings or WJetsSettings()

    def merge(store: ShardStore) -> tuple[dict[str, Any], dict[str, Any]]:
        columns, processes = _merge(settings, tasks, store)
        return columns, _meta(settings, processes)

    tasks = plan_wjets_shards(settings)
    return generate_in_shards(
        settings, tasks, run_wjets_shard, merge, output=output, executor=executor, progress=progress
    )
