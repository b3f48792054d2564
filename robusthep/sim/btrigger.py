"""The ``btrigger`` dataset: LHCb-like two-track candidates from b-hadron decays and others."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robusthep.data.dataset import Dataset, columns_to_parquet
from robusthep.errors import ConfigError, DataError
from robusthep.parallel import Executor
from robusthep.sim.btrigger_shard import TrackSelection, simulate_btrigger
from robusthep.sim.cache import ShardStore
from robusthep.sim.generation import (
    GeneratorSettings,
    concatenate_columns,
    event_weight,
    generate_in_shards,
    join_shards,
    shard_seeds,
    shard_summary,
)
from robusthep.sim.pythia import FAST_SETTINGS
from robusthep.sim.tracker import Tracker

__all__ = [
    "BTRIGGER_PROCESSES",
    "BTriggerSettings",
    "BTriggerShard",
    "generate_btrigger",
    "plan_btrigger_shards",
    "run_btrigger_shard",
]

BTRIGGER_PROCESSES = {
    "bbbar": ("HardQCD:hardbbbar = on",),
    "light": ("HardQCD:all = on", "HardQCD:nQuarkNew = 3"),
}
"""Pythia settings of each event sample: bb̄ pairs, and QCD 2 → 2 with light new quarks."""

_COMMON = (
    "Beams:eCM = 13600.",
    # K⁰_S, Λ and longer-lived particles do not decay: they reach the tracking stations.
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10.",
)


@dataclass(frozen=True)
class BTriggerSettings(GeneratorSettings):
    """What to generate; every field enters the cache key.

    Attributes:
        events: Pythia events per process.
        seed: master seed.
        processes: a subset of ``bbbar, light``.
        shard_events: Pythia events per shard.
        luminosity_fb: weights give expected candidate counts at this luminosity, fb⁻¹.
        fast: no multiparton interactions (fewer prompt tracks).
        pt_hat_min: PhaseSpace:pTHatMin of both samples, GeV.
        track_pt_min, track_p_min, track_ip_chi2_min, vertex_chi2_max: the preselection.
        pythia: extra Pythia settings.
    """

    DATASET: ClassVar[str] = "btrigger"
    SCHEMA: ClassVar[str] = "btrigger-1"
    PROCESSES: ClassVar[tuple[str, ...]] = tuple(BTRIGGER_PROCESSES)

    events: int = 20_000
    seed: int = 0
    processes: tuple[str, ...] = tuple(BTRIGGER_PROCESSES)
    shard_events: int = 2_500
    luminosity_fb: float = 1.0
    fast: bool = False
    pt_hat_min: float = 5.0
    track_pt_min: float = 0.5
    track_p_min: float = 5.0
    track_ip_chi2_min: float = 4.0
    vertex_chi2_max: float = 10.0
    pythia: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self._check_common()
        for name in ("pt_hat_min", "track_pt_min", "track_p_min", "vertex_chi2_max"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not self.track_ip_chi2_min >= 0:
            raise ConfigError(f"track_ip_chi2_min must be ≥ 0, got {self.track_ip_chi2_min!r}")

    @classmethod
    def quick(cls, **overrides: Any) -> "BTriggerSettings":
        """The demo size: fast mode, 5 000 events per process."""
        return cls.from_mapping({"events": 5_000, "shard_events": 2_500, "fast": True, **overrides})

    def selection(self) -> TrackSelection:
        """The track and vertex preselection."""
        return TrackSelection(
            track_pt_min=self.track_pt_min,
            track_p_min=self.track_p_min,
            track_ip_chi2_min=self.track_ip_chi2_min,
            vertex_chi2_max=self.vertex_chi2_max,
        )

    def pythia_settings(self, process: str) -> tuple[str, ...]:
        """Every Pythia setting of a run of ``process``."""
        mode = FAST_SETTINGS if self.fast else ()
        hat = (f"PhaseSpace:pTHatMin = {self.pt_hat_min:g}",)
        return (*BTRIGGER_PROCESSES[process], *_COMMON, *hat, *mode, *self.pythia)


@dataclass(frozen=True)
class BTriggerShard:
    """One unit of work: a seeded Pythia run of one process.

    Attributes:
        process, index, events, pythia_seed, detector_seed, settings: as for ``higgs``.
        selection: the preselection.
    """

    process: str
    index: int
    events: int
    pythia_seed: int
    detector_seed: int
    settings: tuple[str, ...]
    selection: TrackSelection

    @property
    def name(self) -> str:
        """The shard's file name, without extension."""
        return f"{self.process}-{self.index:05d}"


def plan_btrigger_shards(settings: BTriggerSettings) -> list[BTriggerShard]:
    """Shards seeded from (seed, process, shard number).

    Example:
        >>> [t.name for t in plan_btrigger_shards(BTriggerSettings(events=3, shard_events=2))]
        ['bbbar-00000', 'bbbar-00001', 'light-00000', 'light-00001']
    """
    tasks = []
    for name in settings.processes:
        number = BTriggerSettings.PROCESSES.index(name)
        for index, start in enumerate(range(0, settings.events, settings.shard_events)):
            pythia_seed, detector_seed = shard_seeds(settings.seed, number, index)
            tasks.append(
                BTriggerShard(
                    process=name,
                    index=index,
                    events=min(settings.shard_events, settings.events - start),
                    pythia_seed=pythia_seed,
                    detector_seed=detector_seed,
                    settings=settings.pythia_settings(name),
                    selection=settings.selection(),
                )
            )
    return tasks


def run_btrigger_shard(task: BTriggerShard) -> tuple[dict[str, Any], bytes]:
    """Generate one shard; return its summary and its candidates as Parquet bytes."""
    result = simulate_btrigger(
        task.settings, task.events, task.pythia_seed, task.detector_seed, task.selection
    )
    columns = dict(result.columns)
    if columns:
        columns["event"] = columns["event"] + task.index * 10**7  # unique within a process
    info = shard_summary(task, result, len(columns.get("label", ())))
    return info, columns_to_parquet(columns, info)


def _merge(
    settings: BTriggerSettings, tasks: list[BTriggerShard], store: ShardStore
) -> tuple[dict[str, Any], dict[str, Any]]:
    parts, processes = [], {}
    for name in settings.processes:
        run = join_shards(store, [t.name for t in tasks if t.process == name], name)
        generated, sigma = run.generated, run.sigma_pb
        weight = event_weight(sigma, settings.luminosity_fb, generated)
        if not run.tables:
            continue
        columns = concatenate_columns(run.tables)
        selected = len(columns["label"])
        columns["process"] = np.full(selected, name, dtype=object)
        columns["weight"] = np.full(selected, weight)
        parts.append(columns)
        processes[name] = {
            "sigma_pb": sigma,
            "generated": generated,
            "candidates": selected,
            "signal_candidates": int(columns["label"].sum()),
            "pythia_settings": list(settings.pythia_settings(name)),
        }
    if not parts:
        raise DataError("no two-track candidate passed the preselection; generate more events")
    return concatenate_columns(parts), processes


def _meta(settings: BTriggerSettings, processes: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    return settings.common_meta(processes) | {
        "tracker": asdict(Tracker()),
        "selection": asdict(settings.selection()),
        "monotonic_features": ["sum_pt", "min_pt", "fd", "fd_chi2", "min_ip_chi2", "decay_time"],
        "units": {"fd": "mm", "doca": "mm", "decay_time": "ps", "mass": "GeV"},
    }


def generate_btrigger(
    settings: BTriggerSettings | None = None,
    *,
    output: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> Dataset:
    """Generate the ``btrigger`` dataset (one row per two-track candidate), or read the cache.

    Arguments:
        settings: what to generate (default: :class:`BTriggerSettings`).
        output: the dataset folder; default ``<cache root>/btrigger-<settings key>``.
        executor: where the shards run.
        progress: show a progress bar.

    Returns:
        The :class:`~robusthep.data.Dataset`.

    Example:
        >>> generate_btrigger(BTriggerSettings(vertex_chi2_max=0))
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: vertex_chi2_max must be positive, got 0

    References:
        Kitouni, Nolte, Williams, "Robust and provably monotonic networks",
        arXiv:2112.00038 (the LHCb inclusive b-hadron trigger); Gligorov, Williams,
        "Efficient, reliable and fast high-level triggering using a bonsai boosted
        decision tree", JINST 8 (2013) P02013, arXiv:1210.6861 (the topological trigger
        and its corrected mass).
    """
    settings = settings or BTriggerSettings()

    def merge(store: ShardStore) -> tuple[dict[str, Any], dict[str, Any]]:
        columns, processes = _merge(settings, tasks, store)
        return columns, _meta(settings, processes)

    tasks = plan_btrigger_shards(settings)
    return generate_in_shards(
        settings,
        tasks,
        run_btrigger_shard,
        merge,
        output=output,
        executor=executor,
        progress=progress,
    )
