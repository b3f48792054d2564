"""The ``neemo`` study: NEEMo against POT, and k-circle shape fits to W and QCD jets."""

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from robusthep.ot import (
    JetFitSettings,
    compare_with_pot,
    fit_jets,
    jet_cloud,
    plot_jet_fits,
    select_jets,
)
from robusthep.ot.jets import prong_separation
from robusthep.parallel import EXECUTOR_KINDS, Executor
from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.studies.config import StudyConfig

__all__ = ["JetShapesConfig", "NeemoConfig", "PotComparisonConfig", "run_neemo"]

Log = Callable[[str], None]

#: Coordinates of the jet plane (Δη, Δφ) and EMDs between pT fractions are in units of ΔR.
DELTA_R = "ΔR"


def _silent(message: str) -> None:
    """Discard a progress message."""


class PotComparisonConfig(StudyConfig):
    """NEEMo vs POT's exact EMD and Sinkhorn on the jet-like toy clouds of ``prong_clouds``."""

    sizes: tuple[int, ...] = (100, 1000, 10000)
    steps: int = Field(1000, ge=1)
    lr: float = Field(1e-2, gt=0)
    hidden: tuple[int, ...] = (64, 64, 64)
    full_batch_max: int = Field(1000, ge=1, description="full-batch steps up to this size")
    batch_size: int = Field(4096, ge=1, description="particles per cloud per step above it")
    sinkhorn_reg: float = Field(0.01, gt=0, description="ε relative to the mean cost")
    sinkhorn_max: int = Field(1000, ge=0, description="skip Sinkhorn above this size")


class JetShapesConfig(StudyConfig):
    """k-circle fits to W and QCD jets of the ``wjets`` dataset."""

    wjets_events: int = Field(12_000, ge=10, description="Pythia events per process (fast)")
    wjets_shard_events: int = Field(2_000, ge=1)
    jets_per_class: int = Field(24, ge=2)
    pt_min: float = Field(300.0, ge=0)
    pt_max: float = Field(700.0, gt=0)
    # A window always (no None: a printed TOML config must hold every value, and TOML has no
    # null); [0, 10 000) GeV is "no window".
    mass_min: float = Field(60.0, ge=0, description="jet mass window, GeV")
    mass_max: float = Field(100.0, gt=0)
    n_circles: tuple[int, ...] = (1, 2, 3)
    kind: str = "disk"
    points_per_circle: int = Field(32, ge=1)
    steps: int = Field(150, ge=1)
    critic_steps: int = Field(3, ge=1)
    warmup_steps: int = Field(100, ge=0)
    final_steps: int = Field(200, ge=1)
    hidden: tuple[int, ...] = (32, 32)
    displays: int = Field(1, ge=0, description="jets per class on the event displays")

    def fit_settings(self) -> JetFitSettings:
        """The :class:`~robusthep.ot.JetFitSettings` of these values."""
        return JetFitSettings(
            n_circles=self.n_circles,
            kind=self.kind,
            points_per_circle=self.points_per_circle,
            steps=self.steps,
            critic_steps=self.critic_steps,
            warmup_steps=self.warmup_steps,
            final_steps=self.final_steps,
            hidden=self.hidden,
        )


class NeemoConfig(StudyConfig):
    """The configuration of ``robusthep neemo``.

    Example:
        >>> NeemoConfig.quick().jets.jets_per_class
        3
    """

    seed: int = 0
    executor: str = Field("local", description=f"one of {', '.join(EXECUTOR_KINDS)}")
    workers: int | None = Field(None, ge=1)
    pot: PotComparisonConfig = PotComparisonConfig()
    jets: JetShapesConfig = JetShapesConfig()

    @classmethod
    def quick(cls) -> "NeemoConfig":
        """Small clouds and three jets per class: under a minute on one core."""
        return cls(
            # Sinkhorn at ε = 0.01 × mean cost needs its 1 000 iterations: ~12 s at N = 1 000.
            pot=PotComparisonConfig(sizes=(100, 1000), steps=200, sinkhorn_max=100),
            jets=JetShapesConfig(
                wjets_events=3_000,
                wjets_shard_events=1_000,
                jets_per_class=3,
                mass_min=0.0,  # no mass window at the quick size (too few jets)
                mass_max=10_000.0,
                steps=80,
                warmup_steps=40,
                final_steps=80,
            ),
        )


def run_neemo(
    config: NeemoConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """NEEMo vs POT on toy clouds, and shape fits to W and QCD jets, into ``folder``.

    Arguments:
        config: what to run.
        folder: the run folder.
        command: the command line that reproduces the run, shown in the report.
        progress: show progress bars (dataset generation only).
        log: called with a line saying what runs now.

    Returns:
        The results, as written to ``results.json``.

    Example:
        >>> import tempfile
        >>> tiny = NeemoConfig(pot=PotComparisonConfig(sizes=(20,), steps=20, hidden=(8, 8)),
        ...     jets=JetShapesConfig(wjets_events=3000, wjets_shard_events=1000,
        ...         jets_per_class=2, n_circles=(1, 2), steps=5, warmup_steps=5,
        ...         final_steps=5, hidden=(8, 8)), workers=1)
        >>> results = run_neemo(tiny, RunFolder(tempfile.mkdtemp()))
        >>> sorted(results["jets"]["classes"])
        ['qcd', 'w']

    References:
        Kitouni, Nolte, Williams, "Finding NEEMo", arXiv:2209.15624; Ba et al., "SHAPER",
        arXiv:2302.12266; Komiske, Metodiev, Thaler, arXiv:2004.04159.
    """
    folder.write_config(config.model_dump(mode="json"))
    executor = Executor(config.executor, workers=config.workers)
    log("neemo: NEEMo vs POT exact and Sinkhorn")
    started = time.perf_counter()
    pot, pot_section = _pot_comparison(config.pot, config.seed, folder)
    pot["time"] = quantity(time.perf_counter() - started, "s")
    log("neemo: shape fits to W and QCD jets")
    jets, jet_section = _jet_shapes(config.jets, config.seed, folder, executor, progress, log)
    results = {
        "study": "neemo",
        "units": "ΔR = distance in the (η, φ) plane; EMDs are between pT fractions, in ΔR",
        "pot": pot,
        "jets": jets,
    }
    folder.write_results(results)
    folder.write_report(
        title="robusthep neemo: the energy mover's distance with Lipschitz critics",
        sections=[pot_section, jet_section],
        command=command,
    )
    return results


def _pot_comparison(
    config: PotComparisonConfig, seed: int, folder: RunFolder
) -> tuple[dict[str, Any], Section]:
    rows = []
    for n in config.sizes:
        settings = {
            "steps": config.steps,
            "lr": config.lr,
            "hidden": config.hidden,
            "batch_size": None if n <= config.full_batch_max else config.batch_size,
            "refine": True,
        }
        rows.append(
            compare_with_pot(
                n,
                neemo=[settings],
                sinkhorn_reg=config.sinkhorn_reg if n <= config.sinkhorn_max else None,
                seed=seed,
            )
        )
    results: dict[str, Any] = {"sizes": {}}
    table_rows = []
    for row in rows:
        neemo = row["neemo"][0]
        critic_rel = (neemo["critic_value"] - row["exact"]) / row["exact"]
        entry = {
            "exact_emd": quantity(row["exact"], DELTA_R),
            "exact_time": quantity(row["exact_s"], "s"),
            "noise_floor": quantity(row["noise_floor"], DELTA_R),
            "neemo_rel_error": quantity(critic_rel, "1"),
            "neemo_refined_rel_error": quantity(neemo["rel"], "1"),
            "neemo_time": quantity(neemo["seconds"], "s"),
        }
        sinkhorn = "skipped"
        if "sinkhorn" in row:
            entry["sinkhorn_rel_error"] = quantity(row["sinkhorn_rel"], "1")
            entry["sinkhorn_time"] = quantity(row["sinkhorn_s"], "s")
            sinkhorn = f"{row['sinkhorn_rel']:+.2%} / {row['sinkhorn_s']:.2f} s"
        results["sizes"][str(row["n"])] = entry
        table_rows.append(
            [
                str(row["n"]),
                f"{row['exact']:.5f}",
                f"{row['exact_s']:.2f}",
                sinkhorn,
                f"{row['noise_floor']:.4f}",
                f"{critic_rel:+.2%}",
                f"{neemo['rel']:+.2%}",
                f"{neemo['seconds']:.1f}",
            ]
        )
    path = folder.figure_path("neemo_vs_pot")
    sizes = [row["n"] for row in rows]
    with figure(path, ncols=2, size=(12, 4.8)) as (_, (accuracy, timing)):
        accuracy.plot(
            sizes,
            [100 * (r["neemo"][0]["critic_value"] - r["exact"]) / r["exact"] for r in rows],
            "o-",
            label="NEEMo critic",
        )
        accuracy.plot(
            sizes, [100 * r["neemo"][0]["rel"] for r in rows], "s-", label="+ c-transform"
        )
        with_sinkhorn = [r for r in rows if "sinkhorn" in r]
        if with_sinkhorn:
            accuracy.plot(
                [r["n"] for r in with_sinkhorn],
                [100 * r["sinkhorn_rel"] for r in with_sinkhorn],
                "^-",
                label="Sinkhorn",
            )
        accuracy.axhspan(-2, 2, color="grey", alpha=0.2, label="±2%")
        accuracy.axhline(0, color="black", lw=1)
        accuracy.set(
            xscale="log", xlabel="particles per cloud N", ylabel="(estimate − exact)/exact [%]"
        )
        accuracy.legend(fontsize=10)
        timing.plot(sizes, [r["exact_s"] for r in rows], "o-", label="exact (POT emd2)")
        timing.plot(sizes, [r["neemo"][0]["seconds"] for r in rows], "s-", label="NEEMo")
        if with_sinkhorn:
            timing.plot(
                [r["n"] for r in with_sinkhorn],
                [r["sinkhorn_s"] for r in with_sinkhorn],
                "^-",
                label="Sinkhorn",
            )
        timing.set(xscale="log", yscale="log", xlabel="particles per cloud N", ylabel="time [s]")
        timing.legend(fontsize=10)
    section = Section(
        "NEEMo vs POT on jet-like toy clouds",
        text="Two clouds of N particles (three and two Gaussian prongs, exponential energies, "
        "normalised). Exact: POT's network simplex on the full cost matrix. NEEMo: a "
        "1-Lipschitz GroupSort critic maximising the Kantorovich–Rubinstein dual; its value "
        "is a certified lower bound, and the double c-transform of the trained critic on the "
        "particles tightens it (still a lower bound). Noise floor: the exact EMD between two "
        "independent samples of the same distribution at that N. Times on one thread, on a "
        "shared machine: compare within a row.",
        table=(
            [
                "N",
                "exact EMD",
                "exact s",
                "Sinkhorn rel. / s",
                "noise floor",
                "NEEMo rel.",
                "+ c-transform rel.",
                "NEEMo s",
            ],
            table_rows,
        ),
        figures=[folder.relative(path)],
    )
    return results, section


def _mean_sem(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1) / math.sqrt(len(array)))


def _jet_shapes(
    config: JetShapesConfig,
    seed: int,
    folder: RunFolder,
    executor: Executor,
    progress: bool,
    log: Log,
) -> tuple[dict[str, Any], Section]:
    from robusthep.sim import generate_wjets
    from robusthep.sim.wjets import WJetsSettings

    settings = WJetsSettings(
        events=config.wjets_events, shard_events=config.wjets_shard_events, fast=True
    )
    columns = generate_wjets(settings, progress=progress).columns
    fit_settings = config.fit_settings()
    classes = {"w": (1, "W jets"), "qcd": (0, "QCD jets")}
    fits: dict[str, list[dict[str, Any]]] = {}
    started = time.perf_counter()
    for name, (label, title) in classes.items():
        indices = select_jets(
            columns,
            label,
            config.jets_per_class,
            pt_range=(config.pt_min, config.pt_max),
            mass_range=(config.mass_min, config.mass_max),
            min_constituents=max(config.n_circles),
            seed=seed + label,
        )
        log(f"neemo: fitting {title} ({len(indices)} jets × k = {list(config.n_circles)})")
        fits[name] = fit_jets(columns, indices, fit_settings, executor=executor, seed=seed)
    seconds = time.perf_counter() - started
    ks = list(config.n_circles)
    results: dict[str, Any] = {
        "jets_per_class": quantity(config.jets_per_class, "count"),
        "pt_window": quantity([config.pt_min, config.pt_max], "GeV"),
        "mass_window": quantity([config.mass_min, config.mass_max], "GeV"),
        "fit_time": quantity(seconds, "s"),
        "classes": {},
    }
    numbers: dict[str, Any] = {}
    for name, (_, title) in classes.items():
        exact = np.array([fit["exact"] for fit in fits[name]])
        neemo = np.array([fit["neemo"] for fit in fits[name]])
        index = [fit["index"] for fit in fits[name]]
        entry: dict[str, Any] = {"jets": quantity(index, "index", note="rows of the dataset")}
        for column, k in enumerate(ks):
            mean, sem = _mean_sem(exact[:, column].tolist())
            entry[f"exact_emd_k{k}"] = quantity(mean, DELTA_R, std=sem, note="mean ± s.e.m.")
            mean, sem = _mean_sem(neemo[:, column].tolist())
            entry[f"neemo_emd_k{k}"] = quantity(mean, DELTA_R, std=sem, note="mean ± s.e.m.")
        entry["neemo_over_exact"] = quantity(float((neemo / exact).mean()), "1")
        for first, second in zip(ks, ks[1:], strict=False):
            i, j = ks.index(first), ks.index(second)
            drop = ((exact[:, i] - exact[:, j]) / exact[:, i]).tolist()
            mean, sem = _mean_sem(drop)
            entry[f"relative_drop_k{first}_to_k{second}"] = quantity(
                mean, "1", std=sem, note="(EMD_k − EMD_k') / EMD_k, exact EMD, mean ± s.e.m."
            )
            numbers[f"{title}: EMD drop k={first}→{second}"] = entry[
                f"relative_drop_k{first}_to_k{second}"
            ]
        if 2 in ks:
            two = ks.index(2)
            separation = [
                prong_separation(fit["shapes"][two]["centres"], fit["shapes"][two]["fractions"])
                for fit in fits[name]
            ]
            scale = 2 * columns["jet_mass"][index] / columns["jet_pt"][index]
            ratio = np.asarray(separation) / scale
            mean, sem = _mean_sem(ratio.tolist())
            entry["separation"] = quantity(separation, DELTA_R)
            entry["two_m_over_pt"] = quantity(scale.tolist(), DELTA_R)
            entry["separation_over_2m_pt"] = quantity(mean, "1", std=sem, note="mean ± s.e.m.")
            entry["separation_2m_pt_correlation"] = quantity(
                float(np.corrcoef(separation, scale)[0, 1]), "1"
            )
            # A two-body decay with momentum shares z, 1 − z has m² ≈ z(1 − z)·pT²·ΔR².
            shares = np.array([sorted(fit["shapes"][two]["fractions"])[-2:] for fit in fits[name]])
            z = shares[:, 1] / shares.sum(axis=1)
            two_body = columns["jet_mass"][index] / (
                columns["jet_pt"][index] * np.sqrt(z * (1 - z))
            )
            mean, sem = _mean_sem((np.asarray(separation) / two_body).tolist())
            entry["separation_over_two_body"] = quantity(
                mean, "1", std=sem, note="ΔR / (m / (pT √(z(1−z)))), fitted z; mean ± s.e.m."
            )
            numbers[f"{title}: 2-circle ΔR / (m/(pT√(z(1−z))))"] = entry["separation_over_two_body"]
            if name == "w":
                truth = columns["true_w_daughters_dr"][index]
                entry["true_daughters_dr"] = quantity(truth.tolist(), DELTA_R)
                entry["separation_truth_correlation"] = quantity(
                    float(np.corrcoef(separation, truth)[0, 1]), "1"
                )
        results["classes"][name] = entry
    if 1 in ks and 2 in ks:
        w = results["classes"]["w"]["relative_drop_k1_to_k2"]
        q = results["classes"]["qcd"]["relative_drop_k1_to_k2"]
        difference = w["value"] - q["value"]
        error = math.hypot(w["std"], q["std"])
        results["drop_difference_w_minus_qcd"] = quantity(
            difference, "1", std=error, significance=difference / error if error > 0 else 0.0
        )
        numbers["W − QCD difference of the k=1→2 drop"] = results["drop_difference_w_minus_qcd"]
    figures = _jet_figures(config, columns, fits, classes, folder)
    section = Section(
        "Shape fits to W and QCD jets",
        text=f"{config.jets_per_class} W jets and {config.jets_per_class} QCD jets with "
        f"{config.pt_min:g} ≤ pT < {config.pt_max:g} GeV (wjets, fast mode), constituents as "
        "(Δη, Δφ) to the jet axis weighted by their pT fractions. Each jet is fitted with "
        f"k = {', '.join(map(str, ks))} {config.kind}s by NEEMo minimax; the EMD between "
        "the jet and each fitted shape is then computed exactly by POT (the shape sampled "
        f"into {config.points_per_circle} points per circle). A two-prong W jet should gain "
        "more from a second circle than a QCD jet, and its two circles should sit about "
        "2m/pT apart (the opening angle of a boosted two-body decay).",
        numbers=numbers,
        figures=figures,
    )
    return results, section


def _jet_figures(
    config: JetShapesConfig,
    columns: Any,
    fits: dict[str, list[dict[str, Any]]],
    classes: dict[str, tuple[int, str]],
    folder: RunFolder,
) -> list[str]:
    ks = list(config.n_circles)
    paths = []
    if config.displays:
        shown, jets = [], []
        for name, (_, title) in classes.items():
            for fit in fits[name][: config.displays]:
                points, fractions = jet_cloud(columns, fit["index"])
                pt, mass = columns["jet_pt"][fit["index"]], columns["jet_mass"][fit["index"]]
                jets.append((points, fractions, f"{title[:-1]}, pT {pt:.0f}, m {mass:.0f}"))
                shown.append(fit)
        displays = folder.figure_path("jet_displays")
        plot_jet_fits(jets, shown, displays, kind=config.kind)
        paths.append(folder.relative(displays))
    versus_k = folder.figure_path("jet_emd_vs_k")
    with figure(versus_k, ncols=2, size=(12, 4.8)) as (_, (emd_axis, sep_axis)):
        for offset, (name, (_, title)) in zip((-0.05, 0.05), classes.items(), strict=True):
            exact = np.array([fit["exact"] for fit in fits[name]])
            neemo = np.array([fit["neemo"] for fit in fits[name]])
            sem = exact.std(axis=0, ddof=1) / math.sqrt(len(exact))
            line = emd_axis.errorbar(
                np.array(ks) + offset,
                exact.mean(axis=0),
                yerr=sem,
                fmt="o-",
                capsize=3,
                label=f"{title}, exact EMD at the fit",
            )
            emd_axis.plot(
                np.array(ks) + offset,
                neemo.mean(axis=0),
                "--",
                color=line[0].get_color(),
                label=f"{title}, NEEMo (lower bound)",
            )
        emd_axis.set(xlabel="circles k", ylabel="mean EMD(jet, fitted shape) [ΔR]")
        emd_axis.set_xticks(ks)
        emd_axis.legend(fontsize=9)
        if 2 in ks:
            two = ks.index(2)
            for name, (_, title) in classes.items():
                index = [fit["index"] for fit in fits[name]]
                scale = 2 * columns["jet_mass"][index] / columns["jet_pt"][index]
                separation = [
                    prong_separation(f["shapes"][two]["centres"], f["shapes"][two]["fractions"])
                    for f in fits[name]
                ]
                sep_axis.plot(scale, separation, "o", alpha=0.7, label=title)
            top = sep_axis.get_xlim()[1]
            sep_axis.plot([0, top], [0, top], "k--", lw=1, label="separation = 2m/pT")
            sep_axis.set(xlabel="2m/pT of the jet", ylabel="ΔR between the two fitted circles")
            sep_axis.legend(fontsize=9)
        else:
            sep_axis.set_axis_off()
    paths.append(folder.relative(versus_k))
    return paths
