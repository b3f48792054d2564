"""The study registry, and the demo that runs every study and links their reports."""

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from robusthep.errors import ConfigError
from robusthep.report import RunFolder, Section, quantity
from robusthep.studies.config import StudyConfig, load_config, read_toml
from robusthep.studies.higgs import HiggsConfig, run_higgs
from robusthep.studies.sbi import SbiConfig, run_sbi
from robusthep.studies.tabular import TabularConfig, run_tabular
from robusthep.studies.toys import ToysConfig, run_toys

__all__ = ["STUDIES", "Study", "run_demo", "run_study"]

Log = Callable[[str], None]


def _silent(message: str) -> None:
    """Discard a progress message."""


@dataclass(frozen=True)
class Study:
    """A study the command line can run and the demo includes.

    Attributes:
        name: the command's name, also the run folder's prefix and the demo's subfolder.
        title: one line saying what it shows.
        config: its configuration class.
        run: ``run(config, folder, command=..., progress=..., log=...) -> results``.
        headline: the few numbers of its results the demo's page shows, label → quantity.
    """

    name: str
    title: str
    config: type[StudyConfig]
    run: Callable[..., dict[str, Any]]
    headline: Callable[[Mapping[str, Any]], dict[str, Mapping[str, Any]]]


def _toys_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    outlier, monotonic, moons = results["outlier"], results["monotonic"], results["moons"]
    return {
        "outlier toy: RMSE vs truth, Lipschitz NN": outlier["lipschitz"]["rmse_domain"],
        "outlier toy: RMSE vs truth, MLP": outlier["mlp"]["rmse_domain"],
        "gap toy: violations, monotonic NN": monotonic["monotonic"]["violations_total"],
        "gap toy: violations, MLP": monotonic["mlp"]["violations_total"],
        "two moons: accuracy": moons["accuracy"],
        "two moons: median certified radius": moons["certified_radius"]["q50"],
    }


def _tabular_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for entry in results["models"].values():
        headline[f"AutoMPG test MSE, {entry['label']}"] = entry["test_mse"]
        headline[f"AutoMPG violations, {entry['label']}"] = entry["violations_total"]
    return headline


def _higgs_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for entry in results["methods"].values():
        for kind in ("wilks", "neyman"):
            summary = entry[kind]
            headline[f"Higgs μ, {entry['label']}, {kind}: coverage"] = summary["coverage"]
            headline[f"Higgs μ, {entry['label']}, {kind}: mean width"] = summary["mean_width"]
    return headline


def _sbi_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for method, entry in results["luminosity_gain"].items():
        label = results["methods"][method]["label"]
        if "width" in entry:
            headline[f"tes: luminosity gain over the histogram, {label}"] = entry["width"]
    for entry in results["methods"].values():
        headline[f"tes: coverage, {entry['label']}"] = entry["coverage"]
    return headline


#: Every study, in the order the demo runs them. A new study adds itself here.
STUDIES: dict[str, Study] = {
    "toys": Study(
        "toys",
        "Toys: robust fit, monotonic fit through gaps, two moons",
        ToysConfig,
        run_toys,
        _toys_headline,
    ),
    "bench-tabular": Study(
        "bench-tabular",
        "AutoMPG: monotonic vs MLP vs monotonicnetworks",
        TabularConfig,
        run_tabular,
        _tabular_headline,
    ),
    "higgs": Study(
        "higgs",
        "Higgs signal strength: calibrated 68.27% intervals under six systematics",
        HiggsConfig,
        run_higgs,
        _higgs_headline,
    ),
    "sbi": Study(
        "sbi",
        "τ energy scale by simulation-based inference: histogram, calibrated ratio, flow",
        SbiConfig,
        run_sbi,
        _sbi_headline,
    ),
}


def run_study(
    name: str,
    output: str | os.PathLike | None = None,
    *,
    config_file: str | os.PathLike | None = None,
    quick: bool = False,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> tuple[RunFolder, dict[str, Any]]:
    """Run one registered study into a run folder.

    Arguments:
        name: a key of :data:`STUDIES`.
        output: the run folder; ``runs/<name>-<time>/`` when None.
        config_file: a TOML file updating the defaults.
        quick: start from the quick (demo) size.
        seed: the seed, overriding the configuration's.
        overrides: configuration keys set after the file.
        progress: show the trainer's progress bars.
        log: called with a line saying what runs now.

    Returns:
        The run folder and the results.

    Example:
        >>> run_study("nope")
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: unknown study 'nope'; the studies are toys, bench-tabular, \
higgs, sbi
    """
    if name not in STUDIES:
        raise ConfigError(f"unknown study {name!r}; the studies are {', '.join(STUDIES)}")
    study = STUDIES[name]
    updates = dict(overrides or {})
    if seed is not None:
        updates["seed"] = seed
    config = load_config(study.config, config_file, quick=quick, overrides=updates)
    folder = RunFolder.create(name, output)
    command = f"robusthep {name} --config {folder.path / RunFolder.CONFIG}"
    results = study.run(config, folder, command=command, progress=progress, log=log)
    return folder, results


def run_demo(
    output: str | os.PathLike | None = None,
    *,
    config_file: str | os.PathLike | None = None,
    quick: bool = True,
    seed: int | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> tuple[RunFolder, dict[str, Any]]:
    """Run every study into ``output/<study>/`` and link their reports from one page.

    Arguments:
        output: the demo's folder; ``runs/demo-<time>/`` when None.
        config_file: a TOML file with one optional table per study (``[toys]``,
            ``["bench-tabular"]``), each updating that study's defaults.
        quick: run every study at its quick size.
        seed: the seed of every study.
        progress: show the trainer's progress bars.
        log: called with a line saying what runs now.

    Returns:
        The demo's run folder and its results (per study: folder, seconds, headline numbers).
    """
    tables = {} if config_file is None else read_toml(config_file)
    unknown = sorted(set(tables) - set(STUDIES))
    if unknown:
        raise ConfigError(
            f"unknown keys {unknown} in {config_file}; a demo configuration has one table per "
            f"study: {', '.join(STUDIES)}"
        )
    folder = RunFolder.create("demo", output)
    results: dict[str, Any] = {"study": "demo", "quick": quick, "studies": {}}
    configs: dict[str, Any] = {}
    sections = []
    for name, study in STUDIES.items():
        log(f"demo: running {name} ({study.title})")
        started = time.perf_counter()
        study_folder, study_results = run_study(
            name,
            folder.path / name,
            quick=quick,
            seed=seed,
            overrides=tables.get(name),
            progress=progress,
            log=log,
        )
        seconds = time.perf_counter() - started
        configs[name] = read_toml(study_folder.path / RunFolder.CONFIG)
        headline = study.headline(study_results)
        report = folder.relative(study_folder.path / RunFolder.REPORT)
        results["studies"][name] = {
            "report": report,
            "wall_time": quantity(seconds, "s"),
            "headline": headline,
        }
        sections.append(
            Section(
                study.title,
                numbers={**headline, "wall time": quantity(seconds, "s")},
                links=[
                    (f"full report of {name}", report),
                    (
                        f"results of {name} (JSON)",
                        folder.relative(study_folder.path / RunFolder.RESULTS),
                    ),
                ],
            )
        )
    # Every setting of every study, so `robusthep demo --config` on it repeats the run.
    folder.write_config(configs)
    folder.write_results(results)
    folder.write_report(
        title="robusthep demo: every study at a glance",
        sections=sections,
        command=f"robusthep demo --config {folder.path / RunFolder.CONFIG}",
    )
    return folder, results
