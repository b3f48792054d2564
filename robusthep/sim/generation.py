"""The loop every generated dataset shares: cache lookup, resumable shards, merge, atomic write."""

import dataclasses
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import awkward as ak
import numpy as np

from robusthep.data.dataset import META_FILE, Dataset, read_dataset, write_dataset
from robusthep.errors import ConfigError, DataError
from robusthep.parallel import Executor
from robusthep.progress import progress_bar
from robusthep.sim.cache import ShardStore, cache_root, ensure_writable, settings_key
from robusthep.sim.pythia import MAX_PYTHIA_SEED, check_settings

__all__ = [
    "GeneratorSettings",
    "JoinedShards",
    "Shard",
    "cached_dataset",
    "concatenate_columns",
    "event_weight",
    "generate_in_shards",
    "join_shards",
    "shard_seeds",
    "shard_summary",
]


class GeneratorSettings:
    """What the frozen settings dataclasses of every generator share.

    A subclass is a frozen dataclass with at least ``events``, ``seed``, ``processes``,
    ``shard_events``, ``luminosity_fb`` and ``pythia``, and sets ``DATASET`` (the name in
    the cache key and the default folder), ``SCHEMA`` (bumped when the generated columns or
    physics change) and ``PROCESSES`` (the valid process names).

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Tiny(GeneratorSettings):
        ...     DATASET, SCHEMA, PROCESSES = "tiny", "tiny-1", ("a",)
        ...     events: int = 1
        >>> Tiny.from_mapping({"events": 2}).as_dict()
        {'events': 2}
        >>> Tiny.from_mapping({"event": 2})
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: unknown settings key 'event'; valid: events
    """

    DATASET: ClassVar[str]
    SCHEMA: ClassVar[str]
    PROCESSES: ClassVar[tuple[str, ...]]

    def _check_common(self) -> None:
        """Validate (and make tuples of) the fields every generator has."""
        for name in ("processes", "pythia"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("events", "shard_events"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        seed = getattr(self, "seed")  # noqa: B009  (a field of the subclass)
        if not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        luminosity = getattr(self, "luminosity_fb")  # noqa: B009
        if not luminosity > 0:
            raise ConfigError(f"luminosity_fb must be positive, got {luminosity!r}")
        processes = getattr(self, "processes")  # noqa: B009
        valid = ", ".join(self.PROCESSES)
        if not processes:
            raise ConfigError(f"processes is empty; valid: {valid}")
        for name in processes:
            if name not in self.PROCESSES:
                raise ConfigError(f"unknown process {name!r}; valid: {valid}")
        if len(set(processes)) != len(processes):
            raise ConfigError(f"processes lists a process twice: {processes!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Self:
        """Build settings from a mapping (a TOML table, CLI flags); unknown keys are an error."""
        valid = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        for key in mapping:
            if key not in valid:
                raise ConfigError(f"unknown settings key {key!r}; valid: {', '.join(valid)}")
        return cls(**mapping)

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-serialisable values."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()  # type: ignore[call-overload]
        }

    def common_meta(self, processes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The ``meta.json`` entries every dataset has: name, versions, settings, σ."""
        from importlib.metadata import version

        return {
            "dataset": self.DATASET,
            "generator": f"pythia8mc {version('pythia8mc')}, fastjet {version('fastjet')}",
            "settings": self.as_dict(),
            "seed": getattr(self, "seed"),  # noqa: B009  (a field of the subclass)
            "luminosity_fb": getattr(self, "luminosity_fb"),  # noqa: B009
            "cross_sections_pb": {name: p["sigma_pb"] for name, p in processes.items()},
            "processes": dict(processes),
        }

    def key(self) -> str:
        """The cache key: a hash of the settings and of the dataset's schema."""
        return settings_key({"dataset": self.DATASET, "schema": self.SCHEMA, **self.as_dict()})


class Shard(Protocol):
    """What the loop needs of a work item: a file name and a number of Pythia events."""

    @property
    def name(self) -> str: ...  # pragma: no cover

    events: int


def shard_seeds(*path: int) -> tuple[int, int]:
    """(Pythia seed, detector seed) of the shard at ``path`` (master seed, process, …, shard).

    The seeds depend on nothing else, so events never depend on how shards are run.

    Example:
        >>> shard_seeds(0, 1, 2) == shard_seeds(0, 1, 2) != shard_seeds(0, 1, 3)
        True
    """
    pythia_seed, detector_seed = (int(x) for x in np.random.SeedSequence(path).generate_state(2))
    return 1 + pythia_seed % MAX_PYTHIA_SEED, detector_seed


def shard_summary(task: Any, result: Any, selected: int, **extra: Any) -> dict[str, Any]:
    """What a worker reports of a finished shard (stored with its table, read at merge).

    Arguments:
        task: the shard (``process``, ``index``, ``pythia_seed``, ``detector_seed``).
        result: what the simulation returned (``generated``, ``sigma_pb``,
            ``sigma_error_pb``, ``seconds``).
        selected: the rows the shard kept.
        extra: dataset-specific entries (e.g. the pT-hat bin).
    """
    return {
        "process": task.process,
        **extra,
        "index": task.index,
        "generated": result.generated,
        "selected": selected,
        "sigma_pb": result.sigma_pb,
        "sigma_error_pb": result.sigma_error_pb,
        "seconds": result.seconds,
        "pythia_seed": task.pythia_seed,
        "detector_seed": task.detector_seed,
    }


def event_weight(
    sigma_pb: float, luminosity_fb: float, generated: int, fraction: float = 1.0
) -> float:
    """The weight of each generated event: σ [pb] × fraction × L [fb⁻¹] × 1000 / N.

    ``fraction`` is the branching fraction of forced decays; weight × rows = expected yield.

    Example:
        >>> event_weight(2.0, 36.0, 1000)  # 2 pb at 36 fb⁻¹ is 72 000 events
        72.0
    """
    return sigma_pb * fraction * luminosity_fb * 1000.0 / generated


def concatenate_columns(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Join tables with the same columns row-wise (numpy and awkward columns alike).

    Example:
        >>> concatenate_columns([{"x": np.ones(1)}, {"x": np.zeros(2)}])["x"].tolist()
        [1.0, 0.0, 0.0]
    """
    names = list(parts[0])
    return {
        name: ak.concatenate([part[name] for part in parts])
        if isinstance(parts[0][name], ak.Array)
        else np.concatenate([np.asarray(part[name]) for part in parts])
        for name in names
    }


@dataclasses.dataclass(frozen=True)
class JoinedShards:
    """The shards of one Pythia configuration, read back.

    Attributes:
        tables: the shards' column tables (empty ones left out).
        generated: Pythia events of all the shards.
        sigma_pb: the cross section, the shards' estimates weighted by their events, pb.
        sigma_error_pb: its statistical uncertainty, pb.
    """

    tables: list[dict[str, Any]]
    generated: int
    sigma_pb: float
    sigma_error_pb: float


def join_shards(store: ShardStore, names: Sequence[str], what: str) -> JoinedShards:
    """Read the shards ``names`` of ``what`` (a process, a bin) and combine their accounts.

    Raises:
        DataError: a shard is missing or unreadable.
    """
    shards = [store.load(name) for name in names]
    if any(shard is None for shard in shards):
        raise DataError(f"a shard of {what!r} vanished from {store.folder} while merging")
    infos = [info for _, info in shards]  # type: ignore[misc]
    generated = sum(info["generated"] for info in infos)
    sigma = sum(info["sigma_pb"] * info["generated"] for info in infos) / generated
    variance = sum((info["sigma_error_pb"] * info["generated"]) ** 2 for info in infos)
    tables = [columns for columns, _ in shards if columns]  # type: ignore[misc]
    return JoinedShards(tables, generated, sigma, variance**0.5 / generated)


def cached_dataset(path: Path, key: str) -> Dataset | None:
    """The dataset at ``path`` if whole and made with ``key``; None if absent or corrupt.

    A damaged dataset is reported on stderr and regenerated. A folder that is not a
    robusthep dataset, or one made with other settings, is never overwritten.

    Raises:
        ConfigError: ``path`` is not a dataset, or holds one made with other settings.
    """
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return None
    if not (path / META_FILE).is_file():
        raise ConfigError(
            f"{path} exists and is not a robusthep dataset (no {META_FILE}); refusing to "
            "overwrite it: choose another output folder"
        )
    try:
        dataset = read_dataset(path)
    except DataError as error:
        print(f"robusthep: regenerating {path}: {error}", file=sys.stderr)
        return None
    if dataset.meta.get("settings_key") != key:
        raise ConfigError(
            f"{path} holds a dataset made with other settings (key "
            f"{dataset.meta.get('settings_key')!r}, wanted {key!r}); choose another output "
            "folder or delete it"
        )
    return dataset


def generate_in_shards(
    settings: GeneratorSettings,
    tasks: Sequence[Shard],
    run: Callable[[Any], tuple[dict[str, Any], bytes]],
    merge: Callable[[ShardStore], tuple[dict[str, Any], dict[str, Any]]],
    *,
    output: str | Path | None,
    executor: Executor | None,
    progress: bool,
) -> Dataset:
    """Return the cached dataset, or run the missing shards, merge them and write it.

    Arguments:
        settings: the generator's settings; their key names the default folder
            (``<cache>/<dataset>-<key>``) and is stored in ``meta.json``; their extra
            Pythia settings are checked before any shard runs.
        tasks: every shard of the dataset.
        run: a module-level function ``task -> (summary, Parquet bytes)`` run on the
            executor's workers.
        merge: ``store -> (columns, meta)``, run here once every shard is saved.
        output: the dataset folder, or None for the default.
        executor: where the shards run (default: local processes, one per core).
        progress: show a progress bar.

    Returns:
        The dataset read back from its folder.
    """
    dataset, key = settings.DATASET, settings.key()
    path = Path(output) if output is not None else cache_root() / f"{dataset}-{key}"
    cached = cached_dataset(path, key)
    if cached is not None:
        return cached
    ensure_writable(path.parent)
    check_settings(getattr(settings, "pythia"))  # noqa: B009  (a field of the subclass)
    store = ShardStore(path.parent / f".{path.name}.shards-{key}")
    ensure_writable(store.folder)
    todo = [task for task in tasks if store.load(task.name) is None]
    executor = executor or Executor("local")

    def finished(task: Shard, result: tuple[dict[str, Any], bytes]) -> None:
        store.save_bytes(task.name, result[1])  # at once: a killed run keeps it
        bar.advance(job, task.events)

    with progress_bar(progress) as bar:
        job = bar.add_task(f"{dataset} → {path}", total=sum(task.events for task in tasks))
        bar.update(job, completed=sum(task.events for task in tasks if task not in todo))
        try:
            executor.map(run, todo, on_done=lambda i, result: finished(todo[i], result))
        except ConfigError:
            # Settings Pythia cannot run: no shard made with them is worth resuming.
            shutil.rmtree(store.folder, ignore_errors=True)
            raise
    columns, meta = merge(store)
    write_dataset(path, columns, {**meta, "settings_key": key}, overwrite=path.exists())
    shutil.rmtree(store.folder, ignore_errors=True)
    return read_dataset(path)
