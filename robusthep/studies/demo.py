"""The study registry, and the demo that runs every study and writes one report of them all."""

import contextlib
import os
import shlex
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import TextColumn

from robusthep.atomic import atomic_write_text
from robusthep.errors import ConfigError
from robusthep.progress import progress_bar
from robusthep.report import RunFolder, Section, dumps_toml, quantity
from robusthep.studies.audit import AuditConfig, run_audit
from robusthep.studies.config import StudyConfig, load_config, read_toml
from robusthep.studies.higgs import HiggsConfig, run_higgs
from robusthep.studies.neemo import NeemoConfig, run_neemo
from robusthep.studies.ntk import NtkConfig, run_ntk
from robusthep.studies.sbi import SbiConfig, run_sbi
from robusthep.studies.tabular import TabularConfig, run_tabular
from robusthep.studies.toys import ToysConfig, run_toys
from robusthep.studies.trigger import TriggerConfig, run_trigger
from robusthep.studies.wtag import WtagConfig, run_wtag

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


def _wtag_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for label, index in results["best"].items():
        metrics = results["points"][index["value"]]["metrics"]
        headline[f"W tag, {label} (best λ): R50"] = metrics["R50"]
        headline[f"W tag, {label} (best λ): 1/JSD50"] = metrics["inverse_jsd50"]
    dependence = results["calibration"]["jets"]["prior_dependence"]
    headline["jet pT: MSE calibration, trained falling − rising"] = dependence["mse"]["rising"]
    headline["jet pT: prior-independent, trained falling − rising"] = dependence[
        "prior_independent"
    ]["rising"]
    return headline


def _audit_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for entry in results["taggers"].values():
        label = entry["label"]
        headline[f"W tagging AUC, {label}"] = entry["auc"]
        headline[f"PGD mean ΔPr(signal) on background, {label}"] = entry["pgd"][
            "probability_shift_background"
        ]
        if "certified_fraction" in entry:
            headline[f"certified fraction, {label}"] = entry["certified_fraction"]
    return headline


def _trigger_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for entry in results["models"].values():
        rate, point = list(entry["working_points"].items())[-1]
        label = f"b trigger, {entry['label']}"
        headline[f"{label}: efficiency at {rate} output rate"] = point["efficiency"]
        headline[f"{label}: its change, worse tracker"] = point["efficiency_change"]
        headline[f"{label}: monotonicity violations"] = entry["violations_total"]
    return headline


def _neemo_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    largest = max(results["pot"]["sizes"], key=int)
    entry = results["pot"]["sizes"][largest]
    headline[f"NEEMo vs exact EMD at N = {largest}"] = entry["neemo_rel_error"]
    headline[f"NEEMo + c-transform vs exact at N = {largest}"] = entry["neemo_refined_rel_error"]
    for name, label in (("w", "W"), ("qcd", "QCD")):
        drop = results["jets"]["classes"][name].get("relative_drop_k1_to_k2")
        if drop is not None:
            headline[f"{label} jets: EMD drop from 1 to 2 circles"] = drop
    return headline


def _ntk_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for name, entry in results["datasets"].items():
        n = entry["sizes"]["value"][-1]
        headline[f"{name}, n = {n}: CV of the ensemble"] = quantity(
            entry["ensemble_cv"]["value"][-1], "1"
        )
        headline[f"{name}, n = {n}: CV at infinite width"] = quantity(
            entry["infinite_cv"]["value"][-1], "1"
        )
    return headline


def _sbi_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    headline: dict[str, Mapping[str, Any]] = {}
    for method, entry in results["luminosity_gain"].items():
        label = results["methods"][method]["label"]
        if "width" in entry:
            headline[f"tes: luminosity gain over the histogram, {label}"] = entry["width"]
        if "neyman_width" in entry:
            headline[f"tes: luminosity gain at Neyman coverage, {label}"] = entry["neyman_width"]
    for entry in results["methods"].values():
        headline[f"tes: Wilks coverage, {entry['label']}"] = entry["coverage"]
        if "coverage" in entry["neyman"]:
            headline[f"tes: Neyman coverage, {entry['label']}"] = entry["neyman"]["coverage"]
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
    "wtag": Study(
        "wtag",
        "W tagging: taggers decorrelated from the jet mass; prior-independent jet calibration",
        WtagConfig,
        run_wtag,
        _wtag_headline,
    ),
    "audit": Study(
        "audit",
        "W taggers audited: physics-budget attacks, adversarial mismodelling, certificates",
        AuditConfig,
        run_audit,
        _audit_headline,
    ),
    "trigger": Study(
        "trigger",
        "b-hadron trigger: monotonic NN vs MLP vs BDT, efficiency and a worse tracker",
        TriggerConfig,
        run_trigger,
        _trigger_headline,
    ),
    "neemo": Study(
        "neemo",
        "NEEMo: EMD with Lipschitz critics vs POT, circle fits to W and QCD jets",
        NeemoConfig,
        run_neemo,
        _neemo_headline,
    ),
    "ntk": Study(
        "ntk",
        "Ensemble spread vs training size: finite networks vs the infinite-width NTK prediction",
        NtkConfig,
        run_ntk,
        _ntk_headline,
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
higgs, wtag, audit, trigger, neemo, ntk, sbi
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


def _clock(seconds: float) -> str:
    """``"1m 05s"``, the demo's elapsed time."""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


@contextlib.contextmanager
def _demo_progress(enabled: bool, total: int) -> Iterator[Callable[[int, str], None]]:
    """A rich bar "demo 2/5: higgs … elapsed" on a terminal; yields ``show(done, name)``."""
    with progress_bar(enabled, TextColumn("studies"), elapsed=True, remaining=False) as bar:
        task = bar.add_task("demo", total=total)

        def show(done: int, name: str) -> None:
            bar.update(task, completed=done, description=f"demo: {name}")

        yield show


def _full_size_config(study: Study, seed: int | None) -> dict[str, Any]:
    """Every setting of ``study`` at its full size (with ``seed``), as written to TOML."""
    overrides = {} if seed is None else {"seed": seed}
    return load_config(study.config, overrides=overrides).model_dump(mode="json")


def _study_section(
    folder: RunFolder,
    index: int,
    study: Study,
    study_folder: RunFolder,
    numbers: Mapping[str, Mapping[str, Any]],
    full_config: Path,
) -> Section:
    """The demo page's section of one study: numbers, figures, links, commands."""
    figures = sorted(study_folder.figures.glob("*.png"))
    files = [
        (f"full report of {study.name}", RunFolder.REPORT),
        (f"results of {study.name} (JSON, with units)", RunFolder.RESULTS),
        ("configuration that was run (TOML)", RunFolder.CONFIG),
    ]
    return Section(
        f"{index}. {study.title}",
        anchor=f"study-{study.name}",
        numbers=numbers,
        figures=[folder.relative(path) for path in figures],
        links=[
            *((label, folder.relative(study_folder.path / name)) for label, name in files),
            ("its full-size configuration (TOML)", folder.relative(full_config)),
        ],
        commands=[
            (
                "Reproduce at full size",
                f"robusthep {study.name} --full --config {shlex.quote(str(full_config))}",
            ),
            (
                "Repeat this quick run",
                f"robusthep {study.name} --config "
                f"{shlex.quote(str(study_folder.path / RunFolder.CONFIG))}",
            ),
        ],
    )


def run_demo(
    output: str | os.PathLike | None = None,
    *,
    config_file: str | os.PathLike | None = None,
    quick: bool = True,
    seed: int | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> tuple[RunFolder, dict[str, Any]]:
    """Run every study into ``output/<study>/`` and write one report of them all.

    The demo's ``report.html`` has a section per study, in the order of :data:`STUDIES`:
    its headline numbers and wall time, its figures (linked relative to the demo's folder,
    so the page works wherever the folder is copied), links to its own report, results and
    configuration, and the commands that repeat it: at full size
    (``robusthep <name> --full --config <study>/full-config.toml``, every full-size setting
    with this seed) and exactly as run.

    Arguments:
        output: the demo's folder; ``runs/demo-<time>/`` when None.
        config_file: a TOML file with one optional table per study (``[toys]``,
            ``["bench-tabular"]``), each updating that study's defaults.
        quick: run every study at its quick size.
        seed: the seed of every study.
        progress: show the demo's progress (study i/N, elapsed) and the trainer's bars.
        log: called with a line saying which study runs now and how far the demo is.

    Returns:
        The demo's run folder and its results (per study: report, wall time, headline
        numbers, full-size command).

    Example:
        >>> run_demo(config_file="/nonexistent.toml")
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: config file /nonexistent.toml does not exist
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
    total = len(STUDIES)
    demo_started = time.perf_counter()
    with _demo_progress(progress, total) as show:
        for index, (name, study) in enumerate(STUDIES.items(), start=1):
            show(index - 1, name)
            elapsed = _clock(time.perf_counter() - demo_started)
            log(f"demo [{index}/{total}, {elapsed}]: running {name} ({study.title})")
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
            full_config = study_folder.path / "full-config.toml"
            atomic_write_text(full_config, dumps_toml(_full_size_config(study, seed)))
            headline = study.headline(study_results)
            results["studies"][name] = {
                "title": study.title,
                "report": folder.relative(study_folder.path / RunFolder.REPORT),
                "wall_time": quantity(seconds, "s"),
                "headline": headline,
                "full_size_command": (
                    f"robusthep {name} --full --config {shlex.quote(str(full_config))}"
                ),
            }
            numbers = {**headline, "wall time": quantity(seconds, "s")}
            sections.append(
                _study_section(folder, index, study, study_folder, numbers, full_config)
            )
        show(total, "done")
    total_seconds = time.perf_counter() - demo_started
    results["wall_time"] = quantity(total_seconds, "s")
    log(f"demo [{total}/{total}, {_clock(total_seconds)}]: done")
    size = "quick" if quick else "full"
    studies = "1 study" if total == 1 else f"{total} studies"
    overview = Section(
        "The studies",
        text=f"{studies} at {size} size in {_clock(total_seconds)}. Each section below "
        "shows a study's key numbers and figures, links its own report, results and "
        "configuration, and gives the command that reproduces it at full size.",
        links=[(section.title, f"#{section.anchor}") for section in sections],
    )
    # Every setting of every study, so `robusthep demo --config` on it repeats the run.
    folder.write_config(configs)
    folder.write_results(results)
    folder.write_report(
        title="robusthep demo: every study at a glance",
        sections=[overview, *sections],
        command=f"robusthep demo --config {shlex.quote(str(folder.path / RunFolder.CONFIG))}",
    )
    return folder, results
