"""The ``higgs`` dataset: H → ττ and its backgrounds, generated in cached, parallel shards."""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robusthep.data.dataset import Dataset, columns_to_parquet
from robusthep.parallel import Executor
from robusthep.sim import detector
from robusthep.sim.cache import ShardStore
from robusthep.sim.features import HAD_PT_MIN, JET_PT_MIN, LEP_PT_MIN
from robusthep.sim.generation import (
    GeneratorSettings,
    concatenate_columns,
    event_weight,
    generate_in_shards,
    join_shards,
    shard_seeds,
    shard_summary,
)
from robusthep.sim.processes import PROCESS_NAMES, get_process, tau_lep_had
from robusthep.sim.pythia import FAST_SETTINGS
from robusthep.sim.shard import simulate

__all__ = [
    "DEFAULT_LUMINOSITY_FB",
    "HiggsSettings",
    "ShardTask",
    "generate_higgs",
    "plan_shards",
    "run_shard",
]

DEFAULT_LUMINOSITY_FB = 36.0
"""The challenge's integrated luminosity, fb⁻¹ (ATLAS 2015-2016)."""


@dataclass(frozen=True)
class HiggsSettings(GeneratorSettings):
    """What to generate; every field enters the cache key.

    Attributes:
        events: Pythia events generated per process (the selection keeps a fraction).
        seed: master seed; each shard derives its own Pythia and detector seeds from it.
        processes: which processes, a subset of ``htautau, ztautau, ttbar, diboson``.
        shard_events: Pythia events per shard (one seed each; the unit of parallel work
            and of resuming).
        luminosity_fb: the weights give expected yields at this luminosity, fb⁻¹.
        fast: no multiparton interactions (about 3× faster; see docs/sim.md).
        pythia: extra Pythia settings, read after the process's own.
    """

    events: int = 20_000
    seed: int = 0
    processes: tuple[str, ...] = PROCESS_NAMES
    shard_events: int = 2_500
    luminosity_fb: float = DEFAULT_LUMINOSITY_FB
    fast: bool = False
    pythia: tuple[str, ...] = field(default=())

    DATASET: ClassVar[str] = "higgs"
    SCHEMA: ClassVar[str] = "higgs-1"  # bump when the generated columns or physics change
    PROCESSES: ClassVar[tuple[str, ...]] = PROCESS_NAMES

    def __post_init__(self) -> None:
        self._check_common()

    @classmethod
    def quick(cls, **overrides: Any) -> "HiggsSettings":
        """The demo size: fast mode, 4 000 events per process (under 2 minutes on 2 cores)."""
        return cls.from_mapping({"events": 4_000, "shard_events": 1_000, "fast": True, **overrides})


@dataclass(frozen=True)
class ShardTask:
    """One unit of work: a seeded Pythia run of one process, saved as one shard file.

    Attributes:
        process: the process name.
        index: the shard's number within its process.
        events: Pythia events to generate.
        pythia_seed, detector_seed: the shard's seeds, derived from the master seed.
        settings: every Pythia setting of the run.
    """

    process: str
    index: int
    events: int
    pythia_seed: int
    detector_seed: int
    settings: tuple[str, ...]

    @property
    def name(self) -> str:
        """The shard's file name, without extension."""
        return f"{self.process}-{self.index:05d}"


def _process_settings(name: str, settings: HiggsSettings) -> tuple[tuple[str, ...], float]:
    process = get_process(name)
    forced, fraction = tau_lep_had() if process.lep_had_taus else ((), 1.0)
    mode = FAST_SETTINGS if settings.fast else ()
    return (*process.settings, *forced, *mode, *settings.pythia), fraction


def plan_shards(settings: HiggsSettings) -> list[ShardTask]:
    """Split the generation into shards, each with seeds derived from the master seed.

    The seeds depend only on (seed, process, shard number), so the events do not depend
    on how the shards are run.

    Example:
        >>> tasks = plan_shards(HiggsSettings(events=5, shard_events=2))
        >>> [(t.process, t.index, t.events) for t in tasks][:3]
        [('htautau', 0, 2), ('htautau', 1, 2), ('htautau', 2, 1)]
    """
    tasks = []
    for name in settings.processes:
        process_number = PROCESS_NAMES.index(name)
        pythia_settings, _ = _process_settings(name, settings)
        for index, start in enumerate(range(0, settings.events, settings.shard_events)):
            pythia_seed, detector_seed = shard_seeds(settings.seed, process_number, index)
            tasks.append(
                ShardTask(
                    process=name,
                    index=index,
                    events=min(settings.shard_events, settings.events - start),
                    pythia_seed=pythia_seed,
                    detector_seed=detector_seed,
                    settings=pythia_settings,
                )
            )
    return tasks


def run_shard(task: ShardTask) -> tuple[dict[str, Any], bytes]:
    """Generate one shard; return its summary and its table as Parquet bytes.

    This is the function the executor runs on the workers. The caller saves the bytes,
    so workers need no shared file system (Ray nodes on other machines).
    """
    result = simulate(task.settings, task.events, task.pythia_seed, task.detector_seed)
    info = shard_summary(task, result, len(result.columns["had_pt"]))
    return info, columns_to_parquet(result.columns, info)


def _merge(
    settings: HiggsSettings, tasks: list[ShardTask], store: ShardStore
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Join the shards into one weighted table and describe each process for meta.json."""
    parts, processes = [], {}
    for name in settings.processes:
        run = join_shards(store, [t.name for t in tasks if t.process == name], name)
        generated, sigma_pb = run.generated, run.sigma_pb
        _, fraction = _process_settings(name, settings)
        weight = event_weight(sigma_pb, settings.luminosity_fb, generated, fraction)
        columns = concatenate_columns(run.tables)
        selected = len(columns["had_pt"])
        process = get_process(name)
        columns["label"] = np.full(selected, process.label, dtype=np.int64)
        columns["process"] = np.full(selected, name, dtype=object)
        columns["weight"] = np.full(selected, weight)
        parts.append(columns)
        processes[name] = {
            "label": process.label,
            "description": process.description,
            "sigma_pb": sigma_pb,
            "sigma_error_pb": run.sigma_error_pb,
            "forced_decay_fraction": fraction,
            "generated": generated,
            "selected": selected,
            "expected_yield": weight * selected,
            "pythia_settings": list(_process_settings(name, settings)[0]),
        }
    return concatenate_columns(parts), processes


def _meta(settings: HiggsSettings, processes: dict[str, Any]) -> dict[str, Any]:
    return settings.common_meta(processes) | {
        "selection": {
            "had_pt_min": HAD_PT_MIN,
            "lep_pt_min": LEP_PT_MIN,
            "jet_pt_min": JET_PT_MIN,
            "exactly_one_lepton_and_one_hadronic_tau": True,
        },
        "detector": {
            name: dataclasses.asdict(getattr(detector, name))
            for name in ("ELECTRON", "MUON", "TAU_HAD", "CENTRAL_JET", "FORWARD_JET")
        }
        | {"soft_term_k": detector.SOFT_TERM_K},
        "undefined": "NaN",
    }


def generate_higgs(
    settings: HiggsSettings | None = None,
    *,
    output: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> Dataset:
    """Generate the ``higgs`` dataset, or return it from the cache.

    Shards (one seed each) run on ``executor``; each finished shard is saved at once, so a
    killed run resumes where it stopped. When every shard is done they are merged,
    weighted and written atomically as ``events.parquet`` + ``meta.json``.

    Arguments:
        settings: what to generate (default: :class:`HiggsSettings`).
        output: the dataset folder; default ``<cache root>/higgs-<settings key>``.
        executor: where the shards run (default: local processes, one per core).
        progress: show a progress bar on the terminal.

    Returns:
        The :class:`~robusthep.data.Dataset`; ``dataset.path`` says where it is.

    Raises:
        ConfigError: bad settings, a setting Pythia rejects, an unwritable folder, an
            unreachable executor.

    Example:
        >>> generate_higgs(HiggsSettings(events=0))
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: events must be a positive integer, got 0

    References:
        FAIR Universe HiggsML Uncertainty Challenge (NeurIPS 2024),
        arXiv:2410.02867; Adam-Bourdarios et al., JMLR W&CP 42 (2015) 19.
    """
    settings = settings or HiggsSettings()

    def merge(store: ShardStore) -> tuple[dict[str, Any], dict[str, Any]]:
        columns, processes = _merge(settings, tasks, store)
        return columns, _meta(settings, processes)

    tasks = plan_shards(settings)
    return generate_in_shards(
        settings, tasks, run_shard, merge, output=output, executor=executor, progress=progress
    )
