"""The ``audit`` study: W-tagger robustness to physics-budget attacks, adversarial
mismodelling and certification, for PFN and high-level taggers, plain and Lipschitz."""

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from scipy import stats
from torch import nn

from robusthep.audit import auc, roc_curve, threshold_at_efficiency
from robusthep.audit.attacks import fgsm, model_output, pgd
from robusthep.audit.budget import Budget
from robusthep.audit.certify import budget_lipschitz, certify
from robusthep.audit.jets import JetInputs, jet_inputs, jet_pt_mass
from robusthep.audit.mismodelling import JetPerturber, mismodelling_loss
from robusthep.errors import ConfigError
from robusthep.nn import Standardize, lipschitz_mlp
from robusthep.nn.pfn import ParticleFlowNetwork
from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.sim import WJetsSettings, generate_wjets
from robusthep.studies._common import relu_mlp, seeded
from robusthep.studies.config import StudyConfig
from robusthep.train import StepInfo, fit

__all__ = ["AuditConfig", "audit_jets", "run_audit"]

Log = Callable[[str], None]
Kind = Literal["pfn", "hl"]


def _silent(message: str) -> None:
    """Discard a progress message."""


class AuditConfig(StudyConfig):
    """The configuration of ``robusthep audit``.

    Example:
        >>> AuditConfig.quick().events, AuditConfig().events
        (3000, 12000)
    """

    seed: int = 0
    events: int = Field(12_000, ge=6, description="wjets Pythia events per process (fast mode)")
    shard_events: int = Field(2_000, ge=1)
    max_constituents: int = Field(50, ge=1)
    train_fraction: float = Field(0.5, gt=0, lt=1)
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    latent: int = Field(32, ge=1)
    hidden: tuple[int, ...] = (64, 64)
    pfn_lipschitz: tuple[float, float] = (1.0, 8.0)
    hl_lipschitz: float = Field(8.0, gt=0)
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(2e-3, gt=0)
    pt_fraction: float = Field(0.02, gt=0, lt=1)
    eta: float = Field(0.02, gt=0)
    phi: float = Field(0.02, gt=0)
    pgd_steps: int = Field(10, ge=1)
    mismodelling_epochs: int = Field(20, ge=1)
    mismodelling_batch_size: int = Field(64, ge=1)
    mismodelling_lr: float = Field(5e-3, gt=0)
    classifier_weight: float = Field(100.0, ge=0)
    observable_weight: float = Field(100.0, ge=0)
    scan_epochs: tuple[int, ...] = (1, 2, 4, 8, 16, 30)

    @classmethod
    def quick(cls) -> "AuditConfig":
        """The demo size: the quick wjets sample (3 195 jets), fewer epochs."""
        return cls(
            events=3_000,
            shard_events=1_000,
            max_constituents=30,
            pgd_steps=5,
            epochs=15,
            mismodelling_epochs=10,
            scan_epochs=(1, 2, 4, 8, 15),
        )


@dataclass
class _Tagger:
    label: str
    kind: Kind
    lipschitz: bool
    model: nn.Module | None = None


def _split(inputs: JetInputs, config: AuditConfig) -> tuple[JetInputs, JetInputs, JetInputs]:
    if config.train_fraction + config.validation_fraction >= 1:
        raise ConfigError(
            f"train_fraction ({config.train_fraction}) + validation_fraction "
            f"({config.validation_fraction}) must be < 1 to leave test jets"
        )
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(config.seed))
    n_train = int(config.train_fraction * len(inputs))
    n_val = int(config.validation_fraction * len(inputs))
    return (
        inputs.subset(order[:n_train]),
        inputs.subset(order[n_train : n_train + n_val]),
        inputs.subset(order[n_train + n_val :]),
    )


def _arrays(inputs: JetInputs, kind: Kind) -> tuple[torch.Tensor, ...]:
    if kind == "pfn":
        return inputs.constituents, inputs.mask, inputs.labels
    return inputs.high_level, inputs.labels


def _x_mask(inputs: JetInputs, kind: Kind) -> tuple[torch.Tensor, torch.Tensor | None]:
    return (inputs.constituents, inputs.mask) if kind == "pfn" else (inputs.high_level, None)


def _bce_pfn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, mask, y = batch
    return nn.functional.binary_cross_entropy_with_logits(model(x, mask).reshape(-1), y)


def _bce_hl(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, y = batch
    return nn.functional.binary_cross_entropy_with_logits(model(x).reshape(-1), y)


def _build(kind: Kind, lipschitz: bool, train: JetInputs, config: AuditConfig) -> nn.Module:
    if kind == "pfn":
        real = train.constituents[train.mask]
        real = torch.cat([real, torch.exp(real[:, :1])], dim=1)
        return ParticleFlowNetwork(
            3,
            latent=config.latent,
            phi_hidden=config.hidden,
            head_hidden=config.hidden,
            lipschitz=tuple(config.pfn_lipschitz) if lipschitz else None,
            pool_scale=1.0 / config.max_constituents,
            exp_features=(0,),
            mean=real.mean(0),
            scale=real.std(0),
        )
    scaler = Standardize.fit(train.high_level)
    if lipschitz:
        head = lipschitz_mlp(
            5, hidden=config.hidden, lipschitz=config.hl_lipschitz, input_norm="inf"
        )
    else:
        head = relu_mlp(5, config.hidden)
    return nn.Sequential(scaler, head)


def _train(
    tagger: _Tagger,
    train: JetInputs,
    validation: JetInputs,
    config: AuditConfig,
    *,
    progress: bool,
    snapshots: dict[int, dict[str, torch.Tensor]] | None = None,
) -> None:
    def keep(info: StepInfo) -> None:
        if info.step_in_epoch == info.steps_per_epoch and info.epoch in config.scan_epochs:
            state = tagger.model.state_dict()
            snapshots[info.epoch] = {k: v.detach().clone() for k, v in state.items()}

    fit(
        tagger.model,
        _bce_pfn if tagger.kind == "pfn" else _bce_hl,
        train=_arrays(train, tagger.kind),
        validation=_arrays(validation, tagger.kind),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
        callback=None if snapshots is None else keep,
    )
    tagger.model.eval()


def _logits(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None) -> np.ndarray:
    with torch.no_grad():
        return model_output(model, x, mask).reshape(-1).double().numpy()


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _mean_with_error(values: np.ndarray, unit: str) -> dict[str, Any]:
    error = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return quantity(float(values.mean()), unit, error=error, n=len(values))


@dataclass(frozen=True)
class _WorkingPoint:
    threshold: float  # on the logit, 50% signal efficiency on the clean test set
    background_efficiency: float

    @classmethod
    def of(cls, logits: np.ndarray, labels: np.ndarray) -> "_WorkingPoint":
        threshold = threshold_at_efficiency(logits, labels, efficiency=0.5)
        background = logits[labels == 0]
        return cls(threshold, float((background >= threshold).mean()))

    def signal_efficiency(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Signal efficiency at this working point's background efficiency (ROC point)."""
        curve = roc_curve(logits, labels)
        return float(
            np.interp(
                self.background_efficiency, curve.background_efficiency, curve.signal_efficiency
            )
        )


def _attack_entry(
    tagger: _Tagger,
    test: JetInputs,
    budget: Budget,
    point: _WorkingPoint,
    clean: np.ndarray,
    attacked_x: torch.Tensor,
) -> dict[str, Any]:
    x, mask = _x_mask(test, tagger.kind)
    labels = test.labels.numpy()
    moved = _logits(tagger.model, attacked_x, mask)
    shift = _sigmoid(moved) - _sigmoid(clean)
    background = labels == 0
    entry = {
        "probability_shift_background": _mean_with_error(shift[background], "1"),
        "probability_shift_signal": _mean_with_error(shift[~background], "1"),
        "signal_efficiency": quantity(point.signal_efficiency(moved, labels), "1"),
        "background_efficiency_at_clean_cut": quantity(
            float((moved[background] >= point.threshold).mean()), "1"
        ),
        "max_logit_shift": quantity(float(np.abs(moved - clean).max()), "1"),
    }
    if tagger.lipschitz:
        bounds = budget_lipschitz(tagger.model, budget, mask, x).expand(len(clean)).numpy()
        ratio = np.abs(moved - clean) / bounds
        entry["max_shift_over_bound"] = quantity(float(ratio.max()), "1")
    return entry


def _attacks(
    tagger: _Tagger, test: JetInputs, budget: Budget, config: AuditConfig
) -> dict[str, Any]:
    x, mask = _x_mask(test, tagger.kind)
    labels = test.labels.numpy()
    clean = _logits(tagger.model, x, mask)
    point = _WorkingPoint.of(clean, labels)
    result: dict[str, Any] = {
        "label": tagger.label,
        "auc": quantity(auc(clean, labels), "1"),
        "R50": quantity(1.0 / max(point.background_efficiency, 1e-12), "1"),
        "signal_efficiency_clean": quantity(point.signal_efficiency(clean, labels), "1"),
        "background_efficiency_clean": quantity(point.background_efficiency, "1"),
    }
    attacked = {
        "fgsm": fgsm(tagger.model, x, budget, labels=test.labels, mask=mask),
        "pgd": pgd(tagger.model, x, budget, labels=test.labels, mask=mask, steps=config.pgd_steps),
    }
    for name, moved in attacked.items():
        result[name] = _attack_entry(tagger, test, budget, point, clean, moved)
    if tagger.lipschitz:
        certificate = certify(tagger.model, x, budget, threshold=point.threshold, mask=mask)
        result["certified_fraction"] = quantity(certificate.fraction, "1")
        result["median_certified_radius"] = quantity(float(certificate.radii.median()), "1")
        result["radii"] = certificate.radii.numpy()
    result["pgd_shift_background"] = _sigmoid(
        _logits(tagger.model, attacked["pgd"], mask)
    ) - _sigmoid(clean)
    result["clean_logits"], result["working_point"] = clean, point
    return result


def _observables(kind: Kind) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """log jet pT and log jet mass, from the constituents for the PFN."""

    def from_constituents(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        pt, mass = jet_pt_mass(x, mask)
        return torch.stack([torch.log(pt), torch.log(mass.clamp(min=1e-3))], -1)

    def from_features(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return x[:, :2]

    return from_constituents if kind == "pfn" else from_features


def _mismodel(
    tagger: _Tagger,
    train: JetInputs,
    test: JetInputs,
    budget: Budget,
    point: _WorkingPoint,
    config: AuditConfig,
    seed: int,
    *,
    progress: bool,
) -> dict[str, Any]:
    x_train, mask_train = _x_mask(train, tagger.kind)
    real = x_train if mask_train is None else x_train[mask_train]
    scale = real.std(0).clamp(min=1e-6)
    perturber = seeded(
        lambda: JetPerturber(budget, real.mean(0), scale, constituents=tagger.kind == "pfn"),
        seed,
    )
    for parameter in tagger.model.parameters():
        parameter.requires_grad_(False)
    observables = _observables(tagger.kind)

    def loss(g: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, mask, y = batch if tagger.kind == "pfn" else (batch[0], None, batch[1])
        return mismodelling_loss(
            tagger.model,
            g,
            x,
            y,
            observables=observables,
            mask=mask,
            classifier_weight=config.classifier_weight,
            observable_weight=config.observable_weight,
        )

    fit(
        perturber,
        loss,
        train=_arrays(train, tagger.kind),
        epochs=config.mismodelling_epochs,
        batch_size=config.mismodelling_batch_size,
        lr=config.mismodelling_lr,
        seed=seed,
        progress=progress,
    )
    perturber.eval()
    x, mask = _x_mask(test, tagger.kind)
    with torch.no_grad():
        moved = perturber(x, mask)
        before_obs = observables(x, mask).exp().double().numpy()
        after_obs = observables(moved, mask).exp().double().numpy()
    clean, shifted = _logits(tagger.model, x, mask), _logits(tagger.model, moved, mask)
    labels = test.labels.numpy()
    background = labels == 0
    result: dict[str, Any] = {
        "signal_probability_before": _mean_with_error(_sigmoid(clean[~background]), "1"),
        "signal_probability_after": _mean_with_error(_sigmoid(shifted[~background]), "1"),
        "background_probability_before": _mean_with_error(_sigmoid(clean[background]), "1"),
        "background_probability_after": _mean_with_error(_sigmoid(shifted[background]), "1"),
        "signal_efficiency_at_clean_cut_before": quantity(
            float((clean[~background] >= point.threshold).mean()), "1"
        ),
        "signal_efficiency_at_clean_cut_after": quantity(
            float((shifted[~background] >= point.threshold).mean()), "1"
        ),
        "background_efficiency_at_clean_cut_after": quantity(
            float((shifted[background] >= point.threshold).mean()), "1"
        ),
    }
    # The cut-and-count sensitivity S/√B at the clean cut, after over before (the seed's
    # figure of merit): > 1 means the mismodelling makes the analysis look more sensitive.
    efficiencies = [
        float((values >= point.threshold).mean())
        for values in (clean[~background], shifted[~background], clean[background])
    ]
    background_after = float((shifted[background] >= point.threshold).mean())
    if efficiencies[2] > 0 and background_after > 0:
        ratio = efficiencies[1] / efficiencies[0] / np.sqrt(background_after / efficiencies[2])
        result["significance_ratio"] = quantity(float(ratio), "1")
    # "Unchanged within statistical error": the shift of the background mean against the
    # statistical error of that mean, and a two-sample KS test of the distributions.
    shift = _sigmoid(shifted[background]) - _sigmoid(clean[background])
    error = _sigmoid(clean[background]).std(ddof=1) / np.sqrt(background.sum())
    result["background_probability_pull"] = quantity(float(shift.mean() / error), "1")
    for index, (name, unit) in enumerate((("jet_pt", "GeV"), ("jet_mass", "GeV"))):
        before, after = before_obs[background, index], after_obs[background, index]
        error = before.std(ddof=1) / np.sqrt(len(before))
        result[name] = {
            "mean_before": quantity(float(before.mean()), unit),
            "mean_after": quantity(float(after.mean()), unit),
            "statistical_error_of_mean": quantity(float(error), unit),
            "pull": quantity(float((after.mean() - before.mean()) / error), "1"),
            "ks_p_value": quantity(
                float(stats.ks_2samp(before, after, method="asymp").pvalue), "1"
            ),
        }
    result["_arrays"] = {
        "before_obs": before_obs,
        "after_obs": after_obs,
        "clean": _sigmoid(clean),
        "shifted": _sigmoid(shifted),
        "background": background,
    }
    return result


def _epoch_scan(
    tagger: _Tagger,
    snapshots: dict[int, dict[str, torch.Tensor]],
    test: JetInputs,
    budget: Budget,
    config: AuditConfig,
) -> dict[str, Any]:
    model = copy.deepcopy(tagger.model)
    x, mask = _x_mask(test, tagger.kind)
    labels = test.labels.numpy()
    epochs, aucs, shifts, errors = [], [], [], []
    for epoch in sorted(snapshots):
        model.load_state_dict(snapshots[epoch])
        model.eval()
        clean = _logits(model, x, mask)
        moved = pgd(model, x, budget, labels=test.labels, mask=mask, steps=config.pgd_steps)
        shift = (_sigmoid(_logits(model, moved, mask)) - _sigmoid(clean))[labels == 0]
        epochs.append(epoch)
        aucs.append(auc(clean, labels))
        shifts.append(float(shift.mean()))
        errors.append(float(shift.std(ddof=1) / np.sqrt(len(shift))))
    return {
        "epochs": quantity(epochs, "count"),
        "auc": quantity(aucs, "1"),
        "pgd_probability_shift_background": quantity(shifts, "1", error=errors),
    }


def _table(attacks: dict[str, Any], mismodelling: dict[str, Any]) -> tuple[list, list]:
    header = [
        "tagger",
        "AUC",
        "R50",
        "attack",
        "mean ΔPr(signal), bkg",
        "ε_sig at fixed R (clean → attacked)",
        "certified fraction",
    ]
    rows = []
    for name, entry in attacks.items():
        certified = entry.get("certified_fraction", {}).get("value")
        certified_text = "—" if certified is None else f"{certified:.3f}"
        for attack in ("fgsm", "pgd"):
            row = entry[attack]
            shift = row["probability_shift_background"]
            rows.append(
                [
                    entry["label"],
                    f"{entry['auc']['value']:.3f}",
                    f"{entry['R50']['value']:.1f}",
                    attack.upper(),
                    f"{shift['value']:+.4f} ± {shift['error']:.4f}",
                    f"{entry['signal_efficiency_clean']['value']:.3f} → "
                    f"{row['signal_efficiency']['value']:.3f}",
                    certified_text,
                ]
            )
        mis = mismodelling[name]
        before = mis["signal_efficiency_at_clean_cut_before"]["value"]
        after = mis["signal_efficiency_at_clean_cut_after"]["value"]
        shift_bkg = (
            mis["background_probability_after"]["value"]
            - (mis["background_probability_before"]["value"])
        )
        rows.append(
            [
                entry["label"],
                f"{entry['auc']['value']:.3f}",
                f"{entry['R50']['value']:.1f}",
                "mismodelling g(J)",
                f"{shift_bkg:+.4f} (pull {mis['background_probability_pull']['value']:+.2f})",
                f"{before:.3f} → {after:.3f} (fixed cut)",
                certified_text,
            ]
        )
    return header, rows


def _figures(
    folder: RunFolder,
    attacks: dict[str, Any],
    mismodelling: dict[str, Any],
    scans: dict[str, Any],
    test: JetInputs,
) -> dict[str, str]:
    labels = test.labels.numpy()
    paths = {}
    path = folder.figure_path("roc")
    with figure(path) as (fig, ax):
        for entry in attacks.values():
            curve = roc_curve(entry["clean_logits"], labels)
            keep = curve.background_efficiency > 0
            ax.plot(
                curve.signal_efficiency[keep],
                1 / curve.background_efficiency[keep],
                label=f"{entry['label']} (AUC {entry['auc']['value']:.3f})",
            )
        ax.set_yscale("log")
        ax.set_xlabel("signal efficiency")
        ax.set_ylabel("background rejection")
        ax.legend(fontsize=10)
    paths["roc"] = folder.relative(path)

    path = folder.figure_path("pgd_shift")
    with figure(path) as (fig, ax):
        bins = np.linspace(-0.05, 0.5, 56)
        for entry in attacks.values():
            shift = entry["pgd_shift_background"][labels == 0]
            ax.hist(np.clip(shift, bins[0], bins[-1]), bins, histtype="step", label=entry["label"])
        ax.set_yscale("log")
        ax.set_xlabel("PGD change of Pr(signal), background jets")
        ax.set_ylabel("jets")
        ax.legend(fontsize=10)
    paths["pgd_shift"] = folder.relative(path)

    path = folder.figure_path("certified_radius")
    with figure(path) as (fig, ax):
        for entry in attacks.values():
            if "radii" not in entry:
                continue
            radii = np.sort(entry["radii"])
            ax.plot(radii, 1 - np.arange(len(radii)) / len(radii), label=entry["label"])
        ax.axvline(1.0, color="k", ls="--", lw=1, label="whole budget")
        ax.set_xscale("log")
        ax.set_xlabel("certified radius (budget units)")
        ax.set_ylabel("fraction of jets with larger radius")
        ax.legend(fontsize=10)
    paths["certified_radius"] = folder.relative(path)

    compared = [name for name in ("pfn", "hl") if name in mismodelling]
    path = folder.figure_path("mismodelling")
    with figure(path, ncols=3, nrows=len(compared), size=(16.0, 4.8 * len(compared))) as (
        fig,
        axes,
    ):
        for row, name in zip(np.atleast_2d(axes), compared, strict=True):
            _mismodelling_panels(row, mismodelling[name])
    paths["mismodelling"] = folder.relative(path)

    path = folder.figure_path("epoch_scan")
    with figure(path) as (fig, ax):
        for name, scan in scans.items():
            ax.errorbar(
                scan["epochs"]["value"],
                scan["pgd_probability_shift_background"]["value"],
                yerr=scan["pgd_probability_shift_background"]["error"],
                marker="o",
                label=attacks[name]["label"],
            )
        ax.set_xscale("log")
        ax.set_xlabel("training epochs")
        ax.set_ylabel("PGD mean ΔPr(signal), background")
        ax.legend(fontsize=10)
    paths["epoch_scan"] = folder.relative(path)
    return paths


def _mismodelling_panels(axes: Any, mismodelling: dict[str, Any]) -> None:
    """Background jet pT and mass, and the tagger output, before and after g(J)."""
    arrays = mismodelling["_arrays"]
    background = arrays["background"]
    label = mismodelling["label"]
    for ax, index, title in ((axes[0], 0, "jet pT [GeV]"), (axes[1], 1, "jet mass [GeV]")):
        before = arrays["before_obs"][background, index]
        after = arrays["after_obs"][background, index]
        bins = np.linspace(before.min(), np.percentile(before, 99.5), 31)
        ax.hist(before, bins, histtype="step", label="background, simulation")
        ax.hist(after, bins, histtype="step", ls="--", label="background, g(J)")
        ax.set_xlabel(f"{title} ({label} audit)")
        ax.legend(fontsize=9)
    bins = np.linspace(0, 1, 26)
    for name, selected in (("signal", ~background), ("background", background)):
        axes[2].hist(arrays["clean"][selected], bins, histtype="step", label=f"{name}, sim.")
        axes[2].hist(
            arrays["shifted"][selected], bins, histtype="step", ls="--", label=f"{name}, g(J)"
        )
    axes[2].set_xlabel(f"Pr(signal), {label}")
    axes[2].set_yscale("log")
    axes[2].legend(fontsize=9)


def run_audit(
    config: AuditConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Train four W taggers and audit them: attacks, mismodelling, certificates, epochs.

    Arguments:
        config: what to run.
        folder: the run folder.
        command: the command line that reproduces the run, shown in the report.
        progress: show the trainer's progress bars.
        log: called with a line saying what runs now.

    Returns:
        The results, as written to ``results.json``.

    References:
        Nachman, Shimmin, "AI Safety for High Energy Physics", arXiv:1910.08606;
        Komiske, Metodiev, Thaler, arXiv:1810.05165; Kitouni, Nolte, Williams,
        arXiv:2112.00038.
    """
    started = time.perf_counter()
    settings = WJetsSettings.from_mapping(
        {"events": config.events, "shard_events": config.shard_events, "fast": True}
    )
    log(f"audit: wjets sample ({config.events} events per process, fast mode)")
    dataset = generate_wjets(settings, progress=progress)
    inputs = jet_inputs(dataset.columns, max_constituents=config.max_constituents)
    return audit_jets(
        inputs, config, folder, command=command, progress=progress, log=log, started=started
    )


def audit_jets(
    inputs: JetInputs,
    config: AuditConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
    started: float | None = None,
) -> dict[str, Any]:
    """The audit of :func:`run_audit` on given jets (e.g. :func:`~robusthep.audit.toy_jets`).

    Arguments:
        inputs: the jets, split by ``config`` into training, validation and test sets.
        config, folder, command, progress, log: as for :func:`run_audit`.
        started: ``time.perf_counter()`` when the run began (for its wall time).

    Returns:
        The results, as written to ``results.json``.

    Example:
        >>> import tempfile
        >>> from robusthep.audit import toy_jets
        >>> tiny = AuditConfig(max_constituents=10, hidden=(8, 8), latent=4, epochs=2,
        ...                    mismodelling_epochs=1, pgd_steps=2, scan_epochs=(1, 2))
        >>> jets = toy_jets(120, max_constituents=10)
        >>> # trains four taggers and draws five figures: tests/studies/test_audit_study.py
        >>> results = audit_jets(jets, tiny, RunFolder(tempfile.mkdtemp()))  # doctest: +SKIP
        >>> sorted(results["taggers"])  # doctest: +SKIP
        ['hl', 'hl_lipschitz', 'pfn', 'pfn_lipschitz']
    """
    started = time.perf_counter() if started is None else started
    train, validation, test = _split(inputs, config)
    folder.write_config(config.model_dump(mode="json"))
    budgets = {
        "pfn": Budget.constituents(config.pt_fraction, config.eta, config.phi),
        "hl": Budget.jets(config.pt_fraction, config.eta),
    }
    taggers = {
        "pfn": _Tagger("PFN", "pfn", False),
        "pfn_lipschitz": _Tagger("Lipschitz PFN", "pfn", True),
        "hl": _Tagger("HL net", "hl", False),
        "hl_lipschitz": _Tagger("Lipschitz HL net", "hl", True),
    }
    attacks, mismodelling, scans = {}, {}, {}
    for index, (name, tagger) in enumerate(taggers.items()):
        log(f"audit: training the {tagger.label}")
        tagger.model = seeded(
            lambda t=tagger: _build(t.kind, t.lipschitz, train, config), config.seed + index
        )
        snapshots: dict[int, dict[str, torch.Tensor]] | None = None if tagger.lipschitz else {}
        _train(tagger, train, validation, config, progress=progress, snapshots=snapshots)
        budget = budgets[tagger.kind]
        log(f"audit: attacking the {tagger.label} (FGSM, PGD)")
        attacks[name] = _attacks(tagger, test, budget, config)
        if snapshots:
            scans[name] = _epoch_scan(tagger, snapshots, test, budget, config)
        log(f"audit: adversarial mismodelling of the {tagger.label}")
        mismodelling[name] = _mismodel(
            tagger,
            train,
            test,
            budget,
            attacks[name]["working_point"],
            config,
            config.seed + 100 + index,
            progress=progress,
        )
        mismodelling[name]["label"] = tagger.label
    paths = _figures(folder, attacks, mismodelling, scans, test)
    private = {"radii", "pgd_shift_background", "clean_logits", "working_point"}
    results = {
        "study": "audit",
        "units": "'1' = dimensionless (probabilities, efficiencies, budget units)",
        "sample": {
            "jets": quantity(len(inputs), "count"),
            "train": quantity(len(train), "count"),
            "validation": quantity(len(validation), "count"),
            "test": quantity(len(test), "count"),
            "signal_fraction": quantity(float(inputs.labels.mean()), "1"),
        },
        "budgets": {
            kind: {n: quantity(w, "1") for n, w in zip(b.names, b.widths, strict=True)}
            for kind, b in budgets.items()
        },
        "taggers": {
            name: {k: v for k, v in entry.items() if k not in private}
            for name, entry in attacks.items()
        },
        "mismodelling": {
            name: {k: v for k, v in entry.items() if k != "_arrays"}
            for name, entry in mismodelling.items()
        },
        "epoch_scan": scans,
        "wall_time": quantity(time.perf_counter() - started, "s"),
    }
    folder.write_results(results)
    folder.write_report(
        title="robusthep audit: W taggers under physics-budget attacks",
        sections=_sections(results, attacks, mismodelling, paths),
        command=command,
    )
    return results


def _sections(
    results: dict[str, Any],
    attacks: dict[str, Any],
    mismodelling: dict[str, Any],
    paths: dict[str, str],
) -> list[Section]:
    header, rows = _table(attacks, mismodelling)
    sections = [
        Section(
            title="Taggers × attacks",
            text=(
                "Budget: every constituent's pT scaled by at most ±2% and its η, φ shifted by "
                "at most ±0.02 (PFN); on the jet, pT and mass scaled by at most ±2% and η "
                "shifted by ±0.02 (HL nets). FGSM and PGD push signal jets down and background "
                "jets up; ε_sig is the signal efficiency at the background rejection of the "
                "clean 50% working point. Certified: the Lipschitz bound proves that no "
                "perturbation in the budget flips the decision at that working point."
            ),
            table=(header, rows),
            figures=[paths["roc"], paths["pgd_shift"], paths["certified_radius"]],
        )
    ]
    for name, mis in mismodelling.items():
        sections.append(
            Section(
                title=f"Adversarial mismodelling: {mis['label']}",
                text=(
                    "g(J) moves every jet within the budget, trained to raise the signal's "
                    "tagger output while keeping background jets' output, pT and mass."
                ),
                numbers={
                    "signal Pr(signal), simulation": mis["signal_probability_before"],
                    "signal Pr(signal), g(J)": mis["signal_probability_after"],
                    "background Pr(signal), simulation": mis["background_probability_before"],
                    "background Pr(signal), g(J)": mis["background_probability_after"],
                    "background jet pT pull": mis["jet_pt"]["pull"],
                    "background jet mass pull": mis["jet_mass"]["pull"],
                    "background jet pT KS p-value": mis["jet_pt"]["ks_p_value"],
                    "background jet mass KS p-value": mis["jet_mass"]["ks_p_value"],
                },
                figures=[paths["mismodelling"]] if name in ("pfn", "hl") else [],
            )
        )
    sections.append(
        Section(
            title="Susceptibility vs training epochs",
            text="PGD's mean change of Pr(signal) on background jets after each number of epochs.",
            figures=[paths["epoch_scan"]],
        )
    )
    return sections
