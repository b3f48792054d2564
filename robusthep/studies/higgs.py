"""The Higgs signal-strength study: μ̂ and calibrated 68.27% intervals under six systematics."""

import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from scipy import stats

from robusthep import __version__
from robusthep.errors import ConfigError
from robusthep.infer import (
    ONE_SIGMA,
    BinnedLikelihood,
    EmptyPseudoExperimentError,
    FeatureMismatchError,
    NeymanBelt,
    NormSystematic,
    PseudoExperimentSampler,
    ShapeSystematic,
    challenge_score,
    chance_outside,
    coverage,
    width_ratio,
)
from robusthep.losses import profiled_variance, soft_counts
from robusthep.parallel import Executor
from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.sim import FEATURES, PRIORS, HiggsSettings, apply_systematics, generate_higgs
from robusthep.sim.systematics import Prior
from robusthep.studies._common import relu_mlp, seeded
from robusthep.studies._resume import ResultStore, digest
from robusthep.studies.config import StudyConfig
from robusthep.train import fit
from robusthep.train.flow_ratio import FlowRatioEnsemble

__all__ = ["Classifier", "HiggsConfig", "Measurement", "run_higgs"]

Log = Callable[[str], None]
Table = dict[str, Any]

SIGNAL = "htautau"
BACKGROUNDS = ("ztautau", "ttbar", "diboson")
SHAPES = ("tes", "jes", "soft_met")
SCALES = {"ttbar_scale": ("ttbar",), "diboson_scale": ("diboson",), "bkg_scale": BACKGROUNDS}
METHODS = {
    "baseline": "baseline (nominal training)",
    "aware": "systematic-aware training",
    "flows": "NF-ensemble ratios + aware training",
    "inferno": "inference-aware training (INFERNO)",
}
MethodName = Literal["baseline", "aware", "flows", "inferno"]
ShapeName = Literal["tes", "jes", "soft_met"]
#: Kinematic features of the flows: defined for every event (no jet needed).
FLOW_FEATURES = ("mass_vis", "mass_transverse_met_lep", "pt_h", "deltar_had_lep", "met", "had_pt")
#: Stand-in for undefined (NaN) features, as the challenge's −25 for missing jets.
MISSING = -25.0
#: A column added for paired aware training: the row of the event a shifted copy is of.
EVENT = "_event"
#: Belts re-calibrated on resampled pseudo-experiments, for the belt's share of the
#: error of a Neyman width ratio.
BELT_RESAMPLES = 100
#: Seed stream of the pseudo-experiments at μ = 1 that every training is fitted to.
SEED_SPREAD_STREAM = 3
#: Bootstrap resamples of those pseudo-experiments, for their share of a ratio's error.
SEED_SPREAD_RESAMPLES = 200
#: Share of the training split INFERNO holds out to stop early on (its loss overfits).
INFERNO_VALIDATION = 0.2
#: Epochs without a lower held-out profiled variance before INFERNO stops.
INFERNO_PATIENCE = 20
#: The least share of the expected events at μ = 1 a bin of INFERNO's categories holds.
MIN_CATEGORY_SHARE = 0.01


def _silent(message: str) -> None:
    """Discard a progress message."""


class HiggsConfig(StudyConfig):
    """The configuration of ``robusthep higgs``.

    Example:
        >>> HiggsConfig.quick().pseudo_experiments
        20
    """

    seed: int = 0
    data_seed: int = Field(0, ge=0, description="seed of the generated sample (its cache key)")
    events: int = Field(20_000, ge=100, description="Pythia events per process")
    fast: bool = True
    train_fraction: float = Field(0.4, gt=0, lt=1)
    template_fraction: float = Field(0.2, gt=0, lt=1)
    signal_use: float = Field(0.03, gt=0, description="ν/n of the signal pool at μ = 1")
    background_use: float = Field(0.1, gt=0, description="ν/n of each background pool")
    max_overlap: float = Field(
        0.1,
        gt=0,
        description="largest ν/n of a process's pool; > 1 is the challenge's resampling "
        "(every pool event drawn ≈ ν/n times: coverage is then conditional on the pool)",
    )
    prior_set: Literal["talk", "challenge"] = "talk"
    bins: int = Field(8, ge=2)
    hidden: tuple[int, ...] = (64, 64)
    epochs: int = Field(40, ge=1)
    batch_size: int = Field(256, ge=1)
    lr: float = Field(2e-3, gt=0)
    augment_copies: int = Field(5, ge=1, description="shifted copies for aware training")
    invariance: float = Field(
        0.0,
        ge=0,
        description="weight of the penalty on the spread of an event's logit over its "
        "shifted copies (aware training, methods 2 and 3): 0 trains as the talk; > 0 asks "
        "for a score the shape systematics barely move",
    )
    methods: tuple[MethodName, ...] = Field(
        ("baseline", "aware", "flows"),
        description="the methods measured; 'inferno' (method 2 with the inference-aware "
        "objective) is opt-in",
    )
    inferno_temperature: float = Field(
        0.3, gt=0, description="softmax temperature of INFERNO's soft histogram"
    )
    inferno_epochs: int = Field(
        200, ge=1, description="most epochs of INFERNO (it stops early on held-out events)"
    )
    inferno_batch_size: int = Field(
        4000, ge=10, description="events a batch of INFERNO: its histograms need many"
    )
    flow_features: tuple[str, ...] = FLOW_FEATURES
    flow_members: int = Field(5, ge=1, description="flow pairs in method 3's ensemble")
    flow_epochs: int = Field(40, ge=1)
    flow_shapes: tuple[ShapeName, ...] = Field(
        ("jes",), description="shape systematics profiled by method 3 (the seed: jes only)"
    )
    mu_values: tuple[float, ...] = tuple(float(x) for x in np.round(np.linspace(0.1, 3, 10), 4))
    pseudo_experiments: int = Field(1000, ge=2, description="per true μ")
    # The true μ values themselves plus 0 and 3.3: calibrated beyond the true range, so
    # no interval near its ends is clipped to the grid's edge (one-sided: over-covers), and
    # each true μ a node, so its belt is measured, not interpolated (near μ = 0 the belt's
    # lower edge bends: linear interpolation between 0 and 0.3 covered 65% at μ = 0.1).
    grid: tuple[float, ...] = (
        0.0,
        *(float(x) for x in np.round(np.linspace(0.1, 3, 10), 4)),
        3.3,
    )
    calibration_experiments: int = Field(1000, ge=10, description="per grid point")
    calibration_stream: int = Field(
        1, ge=0, description="seed stream of the belt's pseudo-experiments"
    )
    evaluation_stream: int = Field(
        2,
        ge=0,
        description="seed stream of the evaluation pseudo-experiments: another value "
        "re-measures coverage on fresh ones with the same models and belt",
    )
    kink_starts: bool = Field(
        False,
        description="fit also from both sides of each asymmetric shape nuisance's kink and "
        "keep the lowest minimum (BinnedLikelihood.fit): needed with thousands of events a "
        "pseudo-experiment, where the NLL has a minimum on each side; 5× the fits",
    )
    training_seeds: int = Field(
        1,
        ge=1,
        description="trainings of every method, with seeds seed, seed + 1, …: beyond the "
        "first (the one the coverage study uses) each is fitted to the same "
        "seed_experiments pseudo-experiments at μ = 1, and a method's width over the "
        "baseline's is averaged over trainings, its error including their spread",
    )
    seed_experiments: int = Field(
        300, ge=10, description="pseudo-experiments at μ = 1 each training is fitted to"
    )
    executor: Literal["local", "ray"] = "local"
    workers: int | None = Field(None, ge=1)
    address: str | None = Field(None, description="Ray cluster to join: auto or host:port")

    @classmethod
    def quick(cls) -> "HiggsConfig":
        """The demo size: the quick sample, few pseudo-experiments, all four methods.

        In this process (``workers=1``): at this size starting worker processes (each
        importing torch) costs more than the work they would share.
        """
        return cls(
            events=4_000,
            epochs=25,
            augment_copies=3,
            flow_members=2,
            flow_epochs=15,
            inferno_epochs=40,
            methods=tuple(METHODS),
            pseudo_experiments=20,
            calibration_experiments=50,
            workers=1,
        )

    def sample_settings(self) -> HiggsSettings:
        """The generated sample this study reads (from the cache, or generated first)."""
        return HiggsSettings(
            events=self.events,
            seed=self.data_seed,
            fast=self.fast,
            shard_events=min(1_000, self.events),
        )


@dataclass
class Classifier:
    """A signal-vs-background network with the features and scaling it was trained on.

    Attributes:
        model: the torch module (one logit).
        features: the column names it reads, in order.
        mean, std: the standardisation of its inputs (after NaN → −25).
        ratios: method 3's flow ensemble, whose log-density ratios of ``flow_features``
            are inputs after ``features`` (None for methods 1 and 2).
        flow_features: the columns the flows read.
        categories: 0 for a one-logit classifier; k for a network with k outputs whose
            largest names the event's category (INFERNO's summary).
        ranks: with ``categories``, each category's rank by signal purity (0 the least
            pure): the score of an event is its category's rank, so that neighbouring
            scores are alike and merging them (:func:`build_likelihood`) loses little.
            Empty: the category itself.
    """

    model: torch.nn.Module
    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    ratios: FlowRatioEnsemble | None = None
    flow_features: tuple[str, ...] = ()
    categories: int = 0
    ranks: tuple[int, ...] = ()

    def inputs(self, table: Mapping[str, Any]) -> np.ndarray:
        """The network's unstandardised inputs: features, then the flows' log-ratios."""
        x = feature_matrix(table, self.features)
        if self.ratios is None:
            return x
        return np.hstack([x, self.ratios.log_ratios(flow_matrix(table, self.flow_features))])

    def scores(self, table: Mapping[str, Any]) -> np.ndarray:
        """Signal probabilities of the events of ``table`` (``categories``: category ranks).

        Raises:
            FeatureMismatchError: a feature of the model is missing from the table.
        """
        x = self.inputs(table)
        with torch.no_grad():
            inputs = torch.as_tensor((x - self.mean) / self.std, dtype=torch.float32)
            outputs = self.model(inputs)
            if self.categories:
                category = outputs.argmax(dim=-1).numpy()
                return (np.asarray(self.ranks)[category] if self.ranks else category).astype(float)
            return torch.sigmoid(outputs).reshape(-1).numpy().astype(float)


def feature_matrix(table: Mapping[str, Any], features: Sequence[str]) -> np.ndarray:
    """The columns ``features`` of ``table`` as an (events, features) array, NaN → −25.

    Raises:
        FeatureMismatchError: a feature is missing; the message lists them all.

    Example:
        >>> feature_matrix({"a": np.array([1.0, np.nan])}, ["a"]).tolist()
        [[1.0], [-25.0]]
        >>> feature_matrix({"a": np.zeros(1)}, ["a", "b"])
        Traceback (most recent call last):
        ...
        robusthep.infer.errors.FeatureMismatchError: the data lack the features ['b'] the \
model was trained on (its features: a, b)
    """
    missing = [name for name in features if name not in table]
    if missing:
        raise FeatureMismatchError(
            f"the data lack the features {missing} the model was trained on "
            f"(its features: {', '.join(features)})"
        )
    columns = [np.asarray(table[name], dtype=float) for name in features]
    return np.nan_to_num(np.stack(columns, axis=1), nan=MISSING)


def flow_matrix(table: Mapping[str, Any], features: Sequence[str]) -> np.ndarray:
    """The flows' inputs: ``features`` compressed by sign(x)·log(1 + |x|) (GeV tails).

    Example:
        >>> flow_matrix({"met": np.array([0.0, np.e - 1])}, ["met"]).tolist()
        [[0.0], [1.0]]
    """
    x = feature_matrix(table, features)
    return np.sign(x) * np.log1p(np.abs(x))


def _split(table: Table, config: HiggsConfig) -> tuple[Table, Table, Table]:
    """Disjoint train, template and pool tables, each process split in the same fractions."""
    rng = np.random.default_rng(config.seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for process in (SIGNAL, *BACKGROUNDS):
        rows = rng.permutation(np.flatnonzero(np.asarray(table["process"]) == process))
        first = int(round(config.train_fraction * len(rows)))
        second = first + int(round(config.template_fraction * len(rows)))
        for part, chosen in zip(
            parts, (rows[:first], rows[first:second], rows[second:]), strict=True
        ):
            part.append(chosen)
    return tuple({k: v[np.sort(np.concatenate(p))] for k, v in table.items()} for p in parts)


def _count(table: Table, process: str) -> int:
    return int(np.sum(np.asarray(table["process"]) == process))


def _process_weights(table: Table, yields: Mapping[str, float], n: Mapping[str, int]) -> np.ndarray:
    """Per event: its process's yield over the number of its events in the reference split."""
    processes = np.asarray(table["process"])
    weights = np.zeros(len(processes))
    for name, value in yields.items():
        weights[processes == name] = value / max(n[name], 1)
    return weights


def _shifted_copies(table: Table, config: HiggsConfig, seed: int) -> list[Table]:
    rng = np.random.default_rng(seed)
    priors = PRIORS[config.prior_set]
    copies = []
    for _ in range(config.augment_copies):
        values = {name: float(priors[name].sample(rng)) for name in SHAPES}
        copies.append(apply_systematics(table, values, seed=int(rng.integers(2**31))))
    return copies


def _concatenate(tables: Sequence[Table], columns: Sequence[str]) -> Table:
    return {name: np.concatenate([np.asarray(t[name]) for t in tables]) for name in columns}


def _balanced_weights(
    data: Table, yields: Mapping[str, float], counts: Mapping[str, int]
) -> np.ndarray:
    """Each process as in a pseudo-experiment at μ = 1, signal and background balanced."""
    weights = _process_weights(data, yields, counts)
    labels = np.asarray(data["label"], dtype=float)
    for value in (0.0, 1.0):
        weights[labels == value] /= weights[labels == value].sum()
    return weights * len(weights) / weights.sum()


def train_flow_ensemble(
    table: Table, yields: Mapping[str, float], config: HiggsConfig, executor: Executor
) -> FlowRatioEnsemble:
    """Method 3's densities: ``flow_members`` pairs of flows fitted to nominal events.

    Each class's density is of ``flow_features`` (log-compressed, standardised), with
    events weighted as in a pseudo-experiment at μ = 1.
    """
    counts = {name: _count(table, name) for name in yields}
    columns = [*config.flow_features, "process", "label"]
    data = {name: np.asarray(table[name]) for name in columns if name in table}
    return FlowRatioEnsemble(
        flow_matrix(data, config.flow_features),
        np.asarray(table["label"]),
        _balanced_weights(data, yields, counts),
        members=config.flow_members,
        seed=config.seed + 3,
        executor=executor,
        epochs=config.flow_epochs,
    )


def _by_event(
    tensors: Sequence[torch.Tensor], events: np.ndarray, sizes: Sequence[int]
) -> list[torch.Tensor]:
    """Rows of shifted copies (copy after copy) regrouped as (events, copies, …).

    ``events[r]`` is the event that row ``r`` is a shifted copy of; ``sizes`` the rows of
    each copy. An event a shift moved out of the selection is missing from that copy:
    its place holds zeros with weight 0 (the last tensor holds the weights), which the
    loss and :func:`_copy_spread` ignore. Events are in the order of ``events``' values.
    """
    copy = np.repeat(np.arange(len(sizes)), sizes)
    present, slot = np.unique(events, return_inverse=True)
    rows = np.full((len(present), len(sizes)), -1)
    rows[slot, copy] = np.arange(len(events))
    grouped = []
    for tensor in tensors:
        padded = torch.cat([tensor, torch.zeros_like(tensor[:1])])  # row −1: zeros
        grouped.append(padded[torch.as_tensor(rows)])
    return grouped


def _copy_spread(logits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean over events of the variance of an event's logit over its copies.

    ``logits`` and ``weights`` are (events, copies); a weight of 0 marks a missing copy.

    Example:
        >>> logits = torch.tensor([[1.0, 3.0, 0.0], [2.0, 2.0, 2.0]])
        >>> weights = torch.tensor([[1.0, 1.0, 0.0], [3.0, 3.0, 3.0]])
        >>> float(_copy_spread(logits, weights))  # (1 · 1 + 3 · 0) / (1 + 3)
        0.25
    """
    present = (weights > 0).to(logits.dtype)
    n = present.sum(dim=1).clamp(min=1)
    mean = (present * logits).sum(dim=1, keepdim=True) / n[:, None]
    variance = (present * (logits - mean) ** 2).sum(dim=1) / n
    event_weights = weights.sum(dim=1) / n
    return (event_weights * variance).sum() / event_weights.sum()


def train_classifier(
    table: Table,
    yields: Mapping[str, float],
    config: HiggsConfig,
    *,
    aware: bool,
    ratios: FlowRatioEnsemble | None = None,
    progress: bool = False,
) -> Classifier:
    """Train the signal-vs-background classifier, on nominal or on nuisance-shifted events.

    Events are weighted so that each process counts as much as in a pseudo-experiment at
    μ = 1, and signal and background as much as each other. ``aware`` trains on
    ``augment_copies`` copies of the events, each shifted by tes, jes and soft_met drawn
    from the priors (the normalisations change no event). With ``ratios`` (method 3) the
    flows' log-density ratios of each (shifted) event are inputs besides the 28 features.

    With ``config.invariance = λ > 0`` (aware only) a batch holds events with all their
    copies, and the loss adds λ times the weighted mean over events of the variance of
    the event's logit over its copies: a score the nuisances move less has templates
    whose shape systematics are smaller, so profiling them widens the interval less, at
    the price of some separating power (the trade that λ sets).
    """
    counts = {name: _count(table, name) for name in yields}
    columns = [*FEATURES, "process", "label"]
    if ratios is not None:
        columns += [name for name in config.flow_features if name not in columns]
    paired = aware and config.invariance > 0
    if aware:
        if paired:  # the row of every event, to find it again in each shifted copy
            table = table | {EVENT: np.arange(len(table["weight"]))}
            columns.append(EVENT)
        shifted = _shifted_copies(table, config, config.seed + 1)
        data = _concatenate(shifted, columns)
        counts = {name: _count(data, name) for name in yields}
    else:
        data = {name: np.asarray(table[name]) for name in columns}
    weights = _balanced_weights(data, yields, counts)
    labels = np.asarray(data["label"], dtype=float)
    shell = Classifier(
        torch.nn.Identity(),
        tuple(FEATURES),
        np.zeros(1),
        np.ones(1),
        ratios,
        tuple(config.flow_features) if ratios is not None else (),
    )
    x = shell.inputs(data)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    inputs = torch.as_tensor((x - mean) / std, dtype=torch.float32)
    model = seeded(lambda: relu_mlp(x.shape[1], config.hidden), config.seed)

    def loss(module: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        logits = module(batch[0]).squeeze(-1)
        value = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, batch[1], weight=batch[2]
        )
        if paired:
            value = value + config.invariance * _copy_spread(logits, batch[2])
        return value

    tensors = [
        inputs,
        torch.as_tensor(labels, dtype=torch.float32),
        torch.as_tensor(weights, dtype=torch.float32),
    ]
    if paired:
        tensors = _by_event(tensors, np.asarray(data[EVENT]), [len(t["weight"]) for t in shifted])
    fit(
        model,
        loss,
        train=tuple(tensors),
        epochs=config.epochs,
        batch_size=max(config.batch_size // (config.augment_copies if paired else 1), 1),
        lr=config.lr,
        seed=config.seed,
        progress=progress,
    )
    model.eval()
    return Classifier(model, shell.features, mean, std, ratios, shell.flow_features)


def _shape_shifts(
    table: Table, config: HiggsConfig, *, seed_offset: int, shapes: Sequence[str] = SHAPES
) -> dict[str, tuple[Table, Table | None]]:
    """Each shape nuisance in ``shapes``: the table at +1 prior σ and at −1 σ.

    soft_met has no −1 σ table (None): the soft term only widens MET, so its down
    template is the mirror of the up one. Each nuisance's soft-MET noise has the seed
    ``config.seed + seed_offset + its index in SHAPES``.
    """
    priors = PRIORS[config.prior_set]
    shifts = {}
    for index, name in enumerate(SHAPES):
        if name not in shapes:
            continue
        sigma, centre = _width(priors[name]), (0.0 if name == "soft_met" else 1.0)
        seed = config.seed + seed_offset + index
        up = apply_systematics(table, {name: centre + sigma}, seed=seed)
        down = (
            None
            if name == "soft_met"
            else apply_systematics(table, {name: centre - sigma}, seed=seed)
        )
        shifts[name] = (up, down)
    return shifts


def _inferno_variants(table: Table, config: HiggsConfig) -> list[Table]:
    """The table at nominal, then each shape nuisance at +1 σ and (but soft_met) −1 σ.

    The shifts of :func:`build_likelihood`'s templates, with other soft-MET noise seeds.
    """
    shifts = _shape_shifts(table, config, seed_offset=200)
    return [table, *(t for pair in shifts.values() for t in pair if t is not None)]


def _scale_slopes(config: HiggsConfig) -> list[tuple[float, list[int]]]:
    """Each normalisation's ∂ ln ν / ∂α at α = 0 and the rows of the processes it scales.

    The slope is the mean of pyhf code 1's two one-sided slopes,
    ``(ln(1 + σ) − ln(1 − σ)) / 2``; rows index ``(SIGNAL, *BACKGROUNDS)``.
    """
    priors = PRIORS[config.prior_set]
    processes = (SIGNAL, *BACKGROUNDS)
    return [
        (
            (math.log1p(priors[name].sigma) - math.log1p(-priors[name].sigma)) / 2,
            [processes.index(p) for p in scaled],
        )
        for name, scaled in SCALES.items()
    ]


def _inferno_derivatives(
    counts: torch.Tensor, scale_slopes: Sequence[tuple[float, list[int]]]
) -> torch.Tensor:
    """∂ν/∂θ at the nominal point of :func:`build_likelihood`'s model, θ = (μ, shapes, scales).

    ``counts`` are (variants, processes, bins) in the order of :func:`_inferno_variants`
    and of ``(SIGNAL, *BACKGROUNDS)``. A symmetric shape's slope is (up − down) / 2;
    soft_met's down template is the mirror of its up one, so its slope is up − nominal; a
    normalisation's slope is ``scale_slopes`` (:func:`_scale_slopes`) times the counts.
    """
    nominal = counts[0]
    rows, variant = [nominal[0]], 1
    for name in SHAPES:
        if name == "soft_met":
            rows.append((counts[variant] - nominal).sum(0))
            variant += 1
        else:
            rows.append((counts[variant] - counts[variant + 1]).sum(0) / 2)
            variant += 2
    rows += [slope * nominal[scaled].sum(0) for slope, scaled in scale_slopes]
    return torch.stack(rows)


def train_inferno(
    table: Table, yields: Mapping[str, float], config: HiggsConfig, *, progress: bool = False
) -> Classifier:
    """Train INFERNO's summary: ``bins`` softmax outputs minimising the profiled variance of μ.

    Every training event is taken with its copies shifted by tes and jes by ±1 prior σ
    and by soft_met by +1 σ (:func:`_inferno_variants`); a batch's soft histograms per
    process and variant (:func:`~robusthep.losses.soft_counts`, scaled to the process's
    yield at μ = 1) give
    the expected counts and their derivatives in μ, the three shapes and the three scales
    of the likelihood the study fits (:func:`_inferno_derivatives`), and the loss is μ's
    variance with the other six profiled, ``(I⁻¹)_μμ`` under their unit Gaussian priors
    (:func:`~robusthep.losses.profiled_variance`). An event moved out of the selection by
    a shift is absent from that variant, so the loss sees the acceptance change too.
    ``INFERNO_VALIDATION`` of the events are held out; training stops when their loss has
    not improved for ``INFERNO_PATIENCE`` epochs and keeps the best epoch's weights.
    The event's category is its largest output (``Classifier.categories``), ranked by the
    signal purity of the nominal training events it holds (``Classifier.ranks``).

    Reference: de Castro and Dorigo, Comput. Phys. Commun. 244 (2019) 170, arXiv:1806.04743.
    """
    processes = (SIGNAL, *BACKGROUNDS)
    table = table | {EVENT: np.arange(len(table["weight"]))}
    variants = _inferno_variants(table, config)
    data = _concatenate(variants, [*FEATURES, EVENT])
    x = feature_matrix(data, FEATURES)
    nominal_rows = len(table["weight"])
    mean, std = x[:nominal_rows].mean(axis=0), x[:nominal_rows].std(axis=0) + 1e-6
    present = torch.ones(len(x))
    grouped_x, grouped_present = _by_event(
        [torch.as_tensor((x - mean) / std, dtype=torch.float32), present],
        np.asarray(data[EVENT]),
        [len(v["weight"]) for v in variants],
    )
    names = np.asarray(table["process"])
    one_hot = torch.as_tensor(
        np.stack([names == p for p in processes], axis=1), dtype=torch.float32
    )
    expected = torch.as_tensor([yields[p] for p in processes], dtype=torch.float32)
    constraints = torch.ones(1 + len(SHAPES) + len(SCALES))
    constraints[0] = 0.0
    temperature = config.inferno_temperature
    scale_slopes = _scale_slopes(config)

    def loss(module: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        inputs, weights, membership = batch  # (n, V, F), (n, V), (n, P)
        logits = module(inputs).transpose(0, 1)  # (V, n, bins)
        per_process = weights.T[:, None, :] * membership.T[None]  # (V, P, n)
        counts = soft_counts(logits[:, None], per_process, temperature=temperature)
        scale = expected / membership.sum(0).clamp(min=1.0)
        counts = counts * scale[None, :, None]
        total = counts[0].sum(0) + 1e-3  # a floor for a bin no event of the batch fills
        derivatives = _inferno_derivatives(counts, scale_slopes)
        return profiled_variance(total, derivatives, constraints)

    order = np.random.default_rng(config.seed + 5).permutation(nominal_rows)
    # In random order: the table is sorted by process, and a validation batch of one
    # process has no signal (or no background) to measure μ against.
    held = order[: int(round(INFERNO_VALIDATION * nominal_rows))]
    kept = order[len(held) :]
    tensors = (grouped_x, grouped_present, one_hot)
    model = seeded(lambda: relu_mlp(x.shape[1], config.hidden, config.bins), config.seed)
    fit(
        model,
        loss,
        train=tuple(t[kept] for t in tensors),
        validation=tuple(t[held] for t in tensors),
        epochs=config.inferno_epochs,
        batch_size=config.inferno_batch_size,
        lr=config.lr,
        patience=INFERNO_PATIENCE,
        seed=config.seed,
        progress=progress,
    )
    model.eval()
    with torch.no_grad():
        category = model(grouped_x[:, 0]).argmax(dim=-1).numpy()
    weights = _process_weights(table, yields, {p: _count(table, p) for p in processes})
    signal = names == SIGNAL
    purity = [
        np.sum(weights[(category == k) & signal]) / max(np.sum(weights[category == k]), 1e-300)
        for k in range(config.bins)
    ]
    ranks = np.argsort(np.argsort(purity, kind="stable"), kind="stable")
    return Classifier(
        model,
        tuple(FEATURES),
        mean,
        std,
        categories=config.bins,
        ranks=tuple(int(r) for r in ranks),
    )


def _histograms(
    table: Table, classifier: Classifier, edges: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    scores = classifier.scores(table)
    processes = np.asarray(table["process"])
    return {
        name: np.histogram(scores[processes == name], edges, weights=weights[processes == name])[0]
        for name in (SIGNAL, *BACKGROUNDS)
    }


def _width(prior: Prior) -> float:
    """The shift the likelihood calls one σ: the prior's σ; exp(mean + σ) for a log-normal."""
    return float(np.exp(prior.mean + prior.sigma)) if prior.log_normal else prior.sigma


def _merged_category_edges(scores: np.ndarray, weights: np.ndarray, categories: int) -> np.ndarray:
    """Bin edges between category ranks, each bin holding ≥ ``MIN_CATEGORY_SHARE`` of the weight.

    Example:
        >>> ranks = np.array([0.0, 1, 2, 3])
        >>> _merged_category_edges(ranks, np.array([0.5, 60, 30, 9.5]), 4)  # 0 joins 1
        array([-0.5,  1.5,  2.5,  3.5])
        >>> _merged_category_edges(ranks, np.array([50, 49.5, 0.0, 0.5]), 4)  # 2, 3 join 1
        array([-0.5,  0.5,  3.5])
    """
    content = np.bincount(scores.astype(int), weights=weights, minlength=categories)
    least = MIN_CATEGORY_SHARE * content.sum()
    edges, held = [-0.5], 0.0
    for rank in range(categories):
        held += content[rank]
        if held >= least and rank < categories - 1:
            edges.append(rank + 0.5)
            held = 0.0
    if held < least and len(edges) > 1:  # the last bin is short: join it to the one before
        edges.pop()
    return np.array([*edges, categories - 0.5])


def build_likelihood(
    templates: Table,
    classifier: Classifier,
    yields: Mapping[str, float],
    config: HiggsConfig,
    *,
    shapes: Sequence[str] = SHAPES,
) -> BinnedLikelihood:
    """The binned likelihood of the classifier's score from the template split.

    Bins: quantiles of the score of the expected mixture at μ = 1, so every bin has events;
    for a classifier with ``categories`` (INFERNO), a bin per category, in the order of
    their ranks, a category expecting fewer than ``MIN_CATEGORY_SHARE`` of the events at
    μ = 1 joined with the next (the last: the one before): a category holding a few
    template events of one process would predict ≈ 0 events of the others, which a
    pseudo-experiment contradicts.
    tes and jes templates at ±1 prior σ, soft_met at +1 σ (mirrored below: the soft term
    only widens MET), each with its own soft-MET noise seed (only those named in
    ``shapes``); the three scales are normalisation systematics with their prior widths.
    """
    n = {name: _count(templates, name) for name in yields}
    weights = _process_weights(templates, yields, n)
    scores = classifier.scores(templates)
    if classifier.categories:
        edges = _merged_category_edges(scores, weights, classifier.categories)
    else:
        order = np.argsort(scores)
        cumulative = np.cumsum(weights[order]) / weights.sum()
        inner = np.interp(np.linspace(0, 1, config.bins + 1)[1:-1], cumulative, scores[order])
        edges = np.concatenate([[0.0], np.unique(inner), [1.0]])
    nominal = _histograms(templates, classifier, edges, weights)
    priors = PRIORS[config.prior_set]
    systematics = []
    shifts = _shape_shifts(templates, config, seed_offset=100, shapes=shapes)
    for name, (up_table, down_table) in shifts.items():
        up = _histograms(up_table, classifier, edges, _process_weights(up_table, yields, n))
        if down_table is None:
            down = {p: np.maximum(2 * nominal[p] - up[p], 0.0) for p in nominal}
        else:
            down = _histograms(
                down_table, classifier, edges, _process_weights(down_table, yields, n)
            )
        systematics.append(ShapeSystematic(name, low=down, high=up))
    norms = [
        NormSystematic(name, priors[name].sigma, processes) for name, processes in SCALES.items()
    ]
    return BinnedLikelihood(nominal, signal=SIGNAL, shapes=systematics, norms=norms, edges=edges)


@dataclass
class Measurement:
    """A classifier and its likelihood: one method of measuring μ.

    Attributes:
        name: the method's key.
        classifier: the trained classifier.
        likelihood: the binned likelihood of its score.
    """

    name: str
    classifier: Classifier
    likelihood: BinnedLikelihood

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest of everything its fits depend on: weights, scaling, edges, templates."""
        classifier = self.classifier
        modules = [classifier.model]
        arrays = [
            classifier.mean,
            classifier.std,
            self.likelihood.edges,
            np.asarray(classifier.ranks),
        ]
        if classifier.ratios is not None:
            modules += [flow for pair in classifier.ratios.flows for flow in pair]
            arrays += [classifier.ratios.mean, classifier.ratios.std]
        return digest(
            self.name,
            list(classifier.features),
            list(classifier.flow_features),
            self.likelihood.workspace(np.zeros(self.likelihood.nominal.shape[1])),
            *(np.ascontiguousarray(a, dtype=float).tobytes() for a in arrays if a is not None),
            *(
                value.detach().cpu().contiguous().numpy().tobytes()
                for module in modules
                for value in module.state_dict().values()
            ),
        )

    def counts(self, table: Mapping[str, Any]) -> np.ndarray:
        """The data's histogram in the likelihood's bins."""
        return self.counts_many([table])[0]

    def counts_many(self, tables: Sequence[Mapping[str, Any]]) -> list[np.ndarray]:
        """Each data set's histogram, the events of all scored in one call of the network.

        One call for many pseudo-experiments instead of one each: the flows of method 3
        cost ≈ 8 ms per call of ≈ 40 events, almost all of it fixed overhead.
        """
        if not tables:
            return []
        sizes = [len(np.asarray(next(iter(t.values())))) for t in tables]
        columns = [*self.classifier.features, *self.classifier.flow_features]
        merged = {
            name: np.concatenate([np.asarray(t[name]) for t in tables])
            for name in dict.fromkeys(columns)
            if all(name in t for t in tables)
        }
        scores = np.split(self.classifier.scores(merged), np.cumsum(sizes)[:-1])
        edges = self.likelihood.edges
        return [np.histogram(s, edges)[0].astype(float) for s in scores]


def _train_measurement(
    method: str,
    train: Table,
    templates: Table,
    yields: Mapping[str, float],
    config: HiggsConfig,
    executor: Executor,
    *,
    progress: bool = False,
) -> tuple[Measurement, float | None]:
    """Train one method's classifier (with ``config.seed``) and build its likelihood.

    Returns the measurement and the seconds its flow ensemble took (None: no flows).
    """
    ratios, flow_seconds = None, None
    if method == "flows":
        tick = time.perf_counter()
        ratios = train_flow_ensemble(train, yields, config, executor)
        flow_seconds = time.perf_counter() - tick
    if method == "inferno":
        classifier = train_inferno(train, yields, config, progress=progress)
    else:
        classifier = train_classifier(
            train, yields, config, aware=method != "baseline", ratios=ratios, progress=progress
        )
    shapes = config.flow_shapes if method == "flows" else SHAPES
    likelihood = build_likelihood(templates, classifier, yields, config, shapes=shapes)
    return Measurement(method, classifier, likelihood), flow_seconds


@dataclass(frozen=True)
class _Task:
    """One chunk of pseudo-experiments for a worker: a method, a true μ, seeds."""

    measurement: Measurement
    sampler: PseudoExperimentSampler
    prior_set: str
    mu: float
    seeds: tuple[int, ...]
    intervals: bool
    kink_starts: bool = False


#: Events scored in one network call: large enough to pay the call's fixed cost once for
#: many pseudo-experiments, small enough to bound memory (≈ 15 MB of tables at the pool's
#: ≈ 35 flat columns) whatever the luminosity.
SCORE_BATCH_EVENTS = 50_000


def _run_task(task: _Task) -> dict[str, list[Any]]:
    """Sample, histogram and fit each pseudo-experiment of a task; failures are recorded.

    Pseudo-experiments are drawn and scored in batches of about ``SCORE_BATCH_EVENTS``
    events (one network call each), then fitted one by one.
    """
    torch.set_num_threads(1)
    priors = PRIORS[task.prior_set]
    out: dict[str, list[Any]] = {
        "mu_hat": [],
        "low": [],
        "high": [],
        "converged": [],
        "empty": [],
        "pulls": [],
    }
    model = task.measurement.likelihood
    truths: list[dict[str, float]] = []
    histograms: list[np.ndarray | None] = []  # None: an empty pseudo-experiment
    pending: list[tuple[int, Table]] = []  # drawn, not yet scored: ≲ SCORE_BATCH_EVENTS events
    size = 0  # events in pending
    for index, seed in enumerate(task.seeds):
        rng = np.random.default_rng(seed)
        truths.append({name: float(prior.sample(rng)) for name, prior in priors.items()})
        histograms.append(None)
        try:
            table = task.sampler.sample(task.mu, truths[-1], seed=seed).table
            pending.append((index, table))
            size += len(table["weight"])
        except EmptyPseudoExperimentError:
            pass
        if pending and (size >= SCORE_BATCH_EVENTS or index == len(task.seeds) - 1):
            scored = task.measurement.counts_many([table for _, table in pending])
            for (position, _), counts in zip(pending, scored, strict=True):
                histograms[position] = counts
            pending, size = [], 0
    for truth, counts in zip(truths, histograms, strict=True):
        if counts is None:
            best, low, high, converged, empty = None, math.nan, math.nan, False, True
        else:
            if task.intervals:
                interval = model.profile_interval(counts, kink_starts=task.kink_starts)
                best, low, high = interval.fit, interval.low, interval.high
            else:
                best = model.fit(counts, kink_starts=task.kink_starts)
                low = high = math.nan
            converged, empty = best.converged, False
        out["mu_hat"].append(float(best.mu) if best is not None and best.converged else math.nan)
        out["low"].append(float(low))
        out["high"].append(float(high))
        out["converged"].append(bool(converged))
        out["empty"].append(bool(empty))
        pulls = {}
        if best is not None:
            for name, prior in priors.items():
                if name not in best.parameters:
                    continue  # not a parameter of this method's likelihood
                centre = 0.0 if name == "soft_met" else 1.0
                pulls[name] = float(best.parameters[name] - (truth[name] - centre) / _width(prior))
        out["pulls"].append(pulls)
    return out


def _chunks(
    measurement: Measurement,
    sampler: PseudoExperimentSampler,
    config: HiggsConfig,
    mus: Sequence[float],
    n: int,
    stream: int,
    intervals: bool,
) -> list[_Task]:
    """Tasks with seeds from (seed, stream, μ index, experiment): the same for any executor."""
    tasks = []
    for index, mu in enumerate(mus):
        sequence = np.random.SeedSequence([config.seed, stream, index])
        seeds = tuple(int(s) for s in sequence.generate_state(n, dtype=np.uint32))
        half = (n + 1) // 2  # two chunks per μ so two workers share every μ
        for part in (seeds[:half], seeds[half:]):
            if part:
                tasks.append(
                    _Task(
                        measurement,
                        sampler,
                        config.prior_set,
                        mu,
                        part,
                        intervals,
                        config.kink_starts,
                    )
                )
    return tasks


def _merge(results: Sequence[dict[str, list[Any]]], per_mu: int) -> list[dict[str, list[Any]]]:
    merged = []
    for start in range(0, len(results), per_mu):
        group = results[start : start + per_mu]
        merged.append({key: [v for r in group for v in r[key]] for key in group[0]})
    return merged


#: Config fields that do not change a chunk's result: where it runs, and how many chunks
#: there are (a chunk's own μ and seeds enter its key).
_NOT_IN_KEY = frozenset(
    {
        "executor",
        "workers",
        "address",
        "pseudo_experiments",
        "calibration_experiments",
        "training_seeds",
        "seed_experiments",
    }
)


class _FinishedChunks:
    """The run's finished chunks of pseudo-experiments, kept in ``<run>/checkpoints/``.

    A run killed at any point and started again with the same config and ``--output``
    fits only the chunks it had not finished: a chunk's key hashes the package version, the
    config (less ``_NOT_IN_KEY``), the measurement's weights and templates (the trainings
    are seeded, so they come out the same) and the chunk's μ and seeds. The folder is
    removed when the run has written its results.
    """

    def __init__(self, folder: RunFolder, config: HiggsConfig) -> None:
        self.store = ResultStore(folder.path / "checkpoints")
        self.salt = digest(__version__, config.model_dump(mode="json", exclude=set(_NOT_IN_KEY)))

    def run(
        self, executor: Executor, tasks: Sequence[_Task], *, progress: bool, description: str
    ) -> list[dict[str, list[Any]]]:
        """``_run_task`` of every task, the stored ones read back instead of fitted again."""
        keys = [
            digest(
                self.salt,
                task.measurement.fingerprint,
                task.prior_set,
                task.mu,
                list(task.seeds),
                task.intervals,
                task.kink_starts,
            )
            for task in tasks
        ]
        return self.store.map(
            executor,
            _run_task,
            tasks,
            keys=keys,
            sizes=[len(task.seeds) for task in tasks],
            progress=progress,
            description=description,
        )


def _asimov(likelihood: BinnedLikelihood, mu: float) -> np.ndarray:
    """The Asimov data set at μ: the expected counts with every nuisance nominal."""
    theta = np.zeros(len(likelihood.names))
    theta[0] = mu
    return likelihood.expected(theta)


def _asimov_fit(likelihood: BinnedLikelihood, mu: float) -> float:
    """μ̂ fitted to the Asimov data set at μ."""
    return likelihood.fit(_asimov(likelihood, mu)).mu


def _asimov_widths(likelihood: BinnedLikelihood, mu: float = 1.0) -> dict[str, Any]:
    """Wilks widths on the Asimov data set at μ: profiled, and with every nuisance fixed.

    ``sqrt(profiled² − stat_only²)`` is what the profiled systematics add: the room a
    method that is robust to them has to be narrower.
    """
    asimov = _asimov(likelihood, mu)
    nominal = dict(zip(likelihood.processes, likelihood.nominal, strict=True))
    stat = BinnedLikelihood(nominal, signal=likelihood.signal, edges=likelihood.edges)
    widths = {}
    for key, model in (("profiled", likelihood), ("stat_only", stat)):
        interval = model.profile_interval(asimov)
        widths[key] = float(interval.high - interval.low)
    systematic = math.sqrt(max(widths["profiled"] ** 2 - widths["stat_only"] ** 2, 0.0))
    return {
        "mu": quantity(mu, "1"),
        "profiled": quantity(widths["profiled"], "1"),
        "stat_only": quantity(widths["stat_only"], "1"),
        "systematic": quantity(systematic, "1", note="sqrt(profiled² − stat_only²)"),
    }


def _summary(
    mus: Sequence[float],
    lows: list[np.ndarray],
    highs: list[np.ndarray],
    calibration: int | None = None,
) -> dict[str, Any]:
    """Coverage per μ and overall, widths, the challenge score.

    Besides the issue's test (each μ within 2 binomial σ of 68.27%), the numbers that say
    whether misses are chance: per μ the pull ``(c − 0.6827)/σ`` with ``σ`` the spread
    expected of exact intervals (``calibration``: the belt's own noise included), the
    number of μ outside 2 binomial σ against the number expected by chance
    (:func:`robusthep.infer.chance_outside`), and the χ² of the pulls with its p-value.
    """
    per_mu = []
    pulls = []
    for mu, low, high in zip(mus, lows, highs, strict=True):
        result = coverage(low, high, mu)
        finite = np.isfinite(low) & np.isfinite(high)
        widths = (high - low)[finite]
        spread = ONE_SIGMA * (1 - ONE_SIGMA) / result.n
        if calibration is not None:
            spread *= 1 + result.n / calibration
        pulls.append((result.fraction - ONE_SIGMA) / math.sqrt(spread))
        per_mu.append(
            {
                "mu": quantity(mu, "1"),
                "coverage": quantity(result.fraction, "1", error=result.error, n=result.n),
                "within_2_sigma": result.within(ONE_SIGMA, 2.0),
                "pull": quantity(pulls[-1], "1", note="(c − 0.6827) / expected spread"),
                "failed": quantity(result.failed, "count"),
                "width": quantity(
                    float(widths.mean()) if widths.size else math.nan,
                    "1",
                    std=float(widths.std()) if widths.size else None,
                ),
            }
        )
    all_low, all_high = np.concatenate(lows), np.concatenate(highs)
    truth = np.concatenate([np.full(len(low), mu) for mu, low in zip(mus, lows, strict=True)])
    score = challenge_score(all_low, all_high, truth)
    total = coverage(all_low, all_high, truth)
    chance = sum(chance_outside(len(low), calibration=calibration) for low in lows)
    chi2 = float(np.sum(np.square(pulls)))
    return {
        "per_mu": per_mu,
        "coverage": quantity(total.fraction, "1", error=total.error, n=total.n),
        "failed": quantity(total.failed, "count"),
        "score": quantity(score["score"], "1", penalty=score["penalty"]),
        "mean_width": quantity(score["width"], "1"),
        "all_within_2_sigma": all(entry["within_2_sigma"] for entry in per_mu),
        "outside_2_sigma": quantity(
            sum(not entry["within_2_sigma"] for entry in per_mu),
            "count",
            expected_by_chance=chance,
            note="μ values outside 68.27% ± 2 binomial σ; expected_by_chance: for intervals "
            "that cover exactly (the belt's calibration noise included)",
        ),
        "pull_chi2": quantity(
            chi2, "1", dof=len(pulls), p_value=float(stats.chi2.sf(chi2, len(pulls)))
        ),
    }


def _width_comparison(
    raw: Mapping[str, Mapping[str, Any]], grid: Sequence[float], seed: int
) -> dict[str, Any]:
    """Each method's mean width over the baseline's, on the same pseudo-experiments.

    For both interval kinds, :func:`robusthep.infer.width_ratio` over every true μ together
    (paired, so the spread of widths the methods share cancels). A Neyman width also
    carries the noise of its belt, common to all of its intervals: its share of the error
    is the spread of the ratio over ``BELT_RESAMPLES`` belts re-calibrated on resampled
    (bootstrap) calibration pseudo-experiments of both methods, added in quadrature.
    """
    reference = raw["baseline"]
    comparison: dict[str, Any] = {}
    for method, entry in raw.items():
        if method == "baseline":
            continue
        rows = {}
        for kind in ("wilks", "neyman"):
            result = width_ratio(entry[f"{kind}_width"], reference[f"{kind}_width"])
            extra = {"n": result.n, "excluded": result.excluded}
            error = result.error
            if kind == "neyman":
                rng = np.random.default_rng(seed)
                resampled = []
                for _ in range(BELT_RESAMPLES):
                    widths = []
                    for source in (entry, reference):
                        belt = NeymanBelt.calibrate(
                            grid, [rng.choice(c, size=c.size) for c in source["calibration"]]
                        )
                        low, high = belt.bounds(source["mu_hat_all"])
                        widths.append(high - low)
                    resampled.append(width_ratio(*widths).ratio)
                belt_error = float(np.std(resampled, ddof=1))
                extra |= {"pseudo_experiment_error": error, "belt_error": belt_error}
                error = math.hypot(error, belt_error)
            rows[kind] = quantity(
                result.ratio,
                "1",
                error=error,
                note="mean width over the baseline's on the same pseudo-experiments (< 1: "
                "narrower)",
                **extra,
            )
        comparison[method] = rows
    return comparison


def _central_range(mu_hat: np.ndarray) -> np.ndarray:
    """The central 68.27% range of μ̂ along the last axis; failed fits (NaN) left out."""
    low, high = np.nanquantile(mu_hat, [(1 - ONE_SIGMA) / 2, (1 + ONE_SIGMA) / 2], axis=-1)
    return high - low


def _training_spread(mu_hat: Mapping[str, np.ndarray], seed: int) -> dict[str, Any]:
    """Each method's μ̂ range per training, and its ratio to the baseline's over trainings.

    ``mu_hat[method]`` holds one row per training seed: μ̂ of the *same* pseudo-experiments
    at μ = 1 (NaN where a fit failed, counted). The central 68.27% range of μ̂ is what a
    Neyman interval's width follows, its belt at μ being that range of the calibration μ̂.
    The ratio to the baseline is taken per training (row k with the baseline's row k) and
    averaged; its error adds in quadrature the trainings' spread over √K and the
    pseudo-experiments' share (the spread of the mean ratio over bootstrap resamples of
    the pseudo-experiments, the same resample for every row).
    """
    rng = np.random.default_rng(seed)
    ranges = {method: _central_range(values) for method, values in mu_hat.items()}
    resamples = []
    n = next(iter(mu_hat.values())).shape[1]
    for _ in range(SEED_SPREAD_RESAMPLES):
        rows = rng.integers(0, n, n)
        resamples.append({m: _central_range(v[:, rows]) for m, v in mu_hat.items()})
    out: dict[str, Any] = {}
    for method, values in mu_hat.items():
        entry: dict[str, Any] = {
            "range": quantity(ranges[method].tolist(), "1", note="per training seed"),
            "failed": quantity(int(np.isnan(values).sum()), "count"),
        }
        if method != "baseline" and "baseline" in mu_hat:
            ratios = ranges[method] / ranges["baseline"]
            spread = float(ratios.std(ddof=1)) if len(ratios) > 1 else math.nan
            training_error = spread / math.sqrt(len(ratios))
            experiment_error = float(
                np.std([np.mean(r[method] / r["baseline"]) for r in resamples], ddof=1)
            )
            entry["ratio_per_training"] = quantity(ratios.tolist(), "1")
            entry["ratio"] = quantity(
                float(ratios.mean()),
                "1",
                error=math.hypot(training_error, experiment_error),
                seed_std=spread,
                training_error=training_error,
                pseudo_experiment_error=experiment_error,
                note="mean over trainings of the μ̂ range over the baseline's (< 1: narrower)",
            )
        out[method] = entry
    return out


@dataclass(frozen=True)
class _Training:
    """One training for a worker: a method, the (train, templates) parts, its config."""

    method: str
    parts: tuple[Table, Table]
    yields: dict[str, float]
    config: HiggsConfig


def _run_training(job: _Training) -> Measurement:
    """Train one method with the job's config (its flows, if any, in this process)."""
    torch.set_num_threads(1)
    train, templates = job.parts
    serial = Executor("local", workers=1)
    return _train_measurement(job.method, train, templates, job.yields, job.config, serial)[0]


def _seed_spread(
    measurements: Mapping[str, Measurement],
    parts: tuple[Table, Table],
    yields: Mapping[str, float],
    sampler: PseudoExperimentSampler,
    config: HiggsConfig,
    executor: Executor,
    finished: _FinishedChunks,
    *,
    log: Log,
    progress: bool = False,
) -> dict[str, Any]:
    """Train every method ``training_seeds`` times and fit each training to the same data.

    The first training is the study's own (``measurements``); the others use the seeds
    after it, trained in parallel on the executor. Every training is fitted to the same
    ``seed_experiments`` pseudo-experiments at μ = 1 (their seeds depend on ``config.seed``
    alone); see :func:`_training_spread`.
    """
    seeds = [config.seed + k for k in range(config.training_seeds)]
    jobs = [
        _Training(method, parts, dict(yields), config.model_copy(update={"seed": seed}))
        for seed in seeds[1:]
        for method in measurements
    ]
    named = f"seed {seeds[1]}" if len(seeds) == 2 else f"seeds {seeds[1]}–{seeds[-1]}"
    log(f"higgs: training {len(jobs)} more classifiers ({named})")
    trained = iter(executor.map(_run_training, jobs))
    mu_hat: dict[str, list[list[float]]] = {method: [] for method in measurements}
    asimov: dict[str, list[float]] = {method: [] for method in measurements}
    for seed in seeds:
        for method, measurement in measurements.items():
            if seed != config.seed:
                measurement = next(trained)
            tasks = _chunks(
                measurement,
                sampler,
                config,
                [1.0],
                config.seed_experiments,
                stream=SEED_SPREAD_STREAM,
                intervals=False,
            )
            done = finished.run(
                executor, tasks, progress=progress, description=f"{method}, seed {seed}"
            )
            mu_hat[method].append(_merge(done, 2)[0]["mu_hat"])
            asimov[method].append(_asimov_widths(measurement.likelihood)["profiled"]["value"])
    methods = _training_spread(
        {method: np.array(rows) for method, rows in mu_hat.items()}, config.seed
    )
    for method, widths in asimov.items():
        methods[method]["asimov_profiled"] = quantity(widths, "1", note="per training seed")
    return {
        "mu": quantity(1.0, "1"),
        "pseudo_experiments": quantity(config.seed_experiments, "count"),
        "seeds": quantity(seeds, "1", note="training seeds; the first is the study's own"),
        "methods": methods,
    }


def _sampler(pool: Table, config: HiggsConfig) -> tuple[PseudoExperimentSampler, dict[str, float]]:
    """The sampler and the yields at μ = 1: a fixed share of each process's pool.

    The quick sample's Z → ττ pool is far too small for the physical luminosity (one
    pseudo-experiment would need 1.4 M Z → ττ events at 36 fb⁻¹), so a pseudo-experiment
    uses ``background_use`` of each background pool and ``signal_use`` of the signal's:
    the composition is the study's choice, and pseudo-experiments share ≤ ``max_overlap``.
    """
    yields = {SIGNAL: config.signal_use * _count(pool, SIGNAL)}
    yields |= {name: config.background_use * _count(pool, name) for name in BACKGROUNDS}
    mu_max = max(max(config.mu_values), max(config.grid))
    sampler = PseudoExperimentSampler(pool, yields, max_overlap=config.max_overlap, mu_max=mu_max)
    return sampler, yields


_STYLES = {"wilks": "--", "neyman": "-"}
_COLORS = {
    "baseline": "tab:red",
    "aware": "tab:blue",
    "flows": "tab:green",
    "inferno": "tab:purple",
}


def _plot_per_mu(ax: Any, mus: Sequence[float], methods: Mapping[str, Any], key: str) -> None:
    """One line per method and interval kind of a per-μ quantity, with its error if any."""
    for method, entry in methods.items():
        for kind in ("wilks", "neyman"):
            rows = entry[kind]["per_mu"]
            ax.errorbar(
                mus,
                [row[key]["value"] for row in rows],
                [row[key].get("error", 0.0) for row in rows],
                color=_COLORS[method],
                ls=_STYLES[kind],
                marker="o",
                ms=4,
                label=f"{METHODS[method]}, {kind}",
            )


def _figures(
    folder: RunFolder,
    mus: Sequence[float],
    methods: Mapping[str, Any],
    raw: Mapping[str, Mapping[str, Any]],
    n: int,
) -> list[str]:
    paths = []
    sigma = math.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n)
    path = folder.figure_path("coverage")
    with figure(path) as (_, ax):
        ax.axhspan(
            ONE_SIGMA - 2 * sigma,
            ONE_SIGMA + 2 * sigma,
            color="0.85",
            label=f"68.27% ± 2 binomial σ (N = {n})",
        )
        ax.axhline(ONE_SIGMA, color="black", lw=1)
        _plot_per_mu(ax, mus, methods, "coverage")
        ax.set_xlabel("true μ")
        ax.set_ylabel("coverage of the 68.27% interval")
        ax.legend(fontsize=9)
    paths.append(folder.relative(path))
    path = folder.figure_path("width")
    with figure(path) as (_, ax):
        _plot_per_mu(ax, mus, methods, "width")
        ax.set_xlabel("true μ")
        ax.set_ylabel("mean interval width")
        ax.legend(fontsize=9)
    paths.append(folder.relative(path))
    path = folder.figure_path("mu_hat")
    with figure(path) as (_, ax):
        ax.plot([0, max(mus)], [0, max(mus)], color="black", lw=1, label="μ̂ = μ")
        for method in methods:
            for key, ls in (("mu_hat", "--"), ("corrected", "-")):
                values = raw[method][key]
                q = np.array([np.nanquantile(v, [0.16, 0.5, 0.84]) for v in values])
                ax.plot(
                    mus,
                    q[:, 1],
                    color=_COLORS[method],
                    ls=ls,
                    label=f"{METHODS[method]}: {'fit' if key == 'mu_hat' else 'bias-corrected'}",
                )
                ax.fill_between(mus, q[:, 0], q[:, 2], color=_COLORS[method], alpha=0.12)
        ax.set_xlabel("true μ")
        ax.set_ylabel("μ̂ (median, 16–84% band)")
        ax.legend(fontsize=9)
    paths.append(folder.relative(path))
    path = folder.figure_path("pulls")
    with figure(path, ncols=len(methods), size=(6 * len(methods), 5)) as (_, axes):
        axes = np.atleast_1d(axes)
        for ax, method in zip(axes, methods, strict=True):
            names = list(PRIORS["talk"])
            data = [[p[name] for p in raw[method]["pulls"] if name in p] for name in names]
            ax.boxplot(data, tick_labels=names, showfliers=False)
            ax.axhline(0, color="black", lw=1)
            ax.set_title(METHODS[method], fontsize=12)
            ax.set_ylabel("fitted − true nuisance (prior σ)")
            ax.tick_params(axis="x", rotation=30)
    paths.append(folder.relative(path))
    return paths


def _seed_section(spread: Mapping[str, Any]) -> Section:
    """The report's table of the trainings: each one's μ̂ range, its ratio, their mean."""

    def listed(values: Sequence[float]) -> str:
        return " ".join(f"{v:.3f}" for v in values)

    rows = []
    for method, entry in spread["methods"].items():
        ratio = entry.get("ratio")
        rows.append(
            [
                METHODS[method],
                listed(entry["range"]["value"]),
                listed(entry["asimov_profiled"]["value"]),
                "—" if ratio is None else listed(entry["ratio_per_training"]["value"]),
                "—"
                if ratio is None
                else f"{ratio['value']:.3f} ± {ratio['error']:.3f} "
                f"(seed std {ratio['seed_std']:.3f})",
                str(entry["failed"]["value"]),
            ]
        )
    return Section(
        "Trainings: how much of a method comparison is the training seed",
        text=(
            f"Every method trained with seeds {spread['seeds']['value']} (the first is "
            "the study's own), each training fitted to the same "
            f"{spread['pseudo_experiments']['value']} pseudo-experiments at μ = 1 "
            "(nuisances from the priors). The central 68.27% range of μ̂ is what a Neyman "
            "interval's width follows. The ratio to the baseline is taken per training and "
            "averaged; its error adds the trainings' spread over √K and the "
            "pseudo-experiments' share (bootstrap)."
        ),
        table=(
            [
                "method",
                "μ̂ 16–84% range per training",
                "Asimov width per training",
                "range / baseline's, per training",
                "mean over trainings",
                "failed fits",
            ],
            rows,
        ),
    )


def run_higgs(
    config: HiggsConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Measure μ with up to four methods and two kinds of interval; coverage, widths, score.

    Protocol: generate (or read from the cache) the ``higgs`` sample; split each process
    into train, template and pool parts; train the baseline and the systematic-aware
    classifiers and method 3 (flow ensemble on nominal events, its log-ratios as extra
    inputs of a systematic-aware classifier; ``flow_shapes`` profiled) and INFERNO's
    summary trained for μ's profiled variance (:func:`train_inferno`); build each one's
    binned likelihood from the template part; calibrate a
    Neyman belt per method on ``calibration_experiments`` pseudo-experiments at every grid
    μ; then for every true μ of ``mu_values`` throw ``pseudo_experiments``
    pseudo-experiments (nuisances from the priors), fit, and compare the Wilks interval and
    the bias-corrected Neyman interval with the truth.

    Arguments:
        config: the study's settings.
        folder: where results, figures, the report and a pyhf workspace go.
        command: the command line that repeats the run (shown in the report).
        progress: show progress bars.
        log: called with a line saying what runs now.

    Returns:
        The results, also written to ``results.json``.
    """
    if max(config.mu_values) > max(config.grid) or min(config.mu_values) < min(config.grid):
        raise ConfigError(
            f"mu_values {config.mu_values} reach outside the Neyman grid "
            f"{min(config.grid):g}–{max(config.grid):g}: coverage there is not calibrated"
        )
    if config.calibration_stream == config.evaluation_stream:
        raise ConfigError(
            f"calibration_stream and evaluation_stream are both {config.evaluation_stream}: "
            "coverage would be measured on the belt's own pseudo-experiments; make them differ"
        )
    if config.train_fraction + config.template_fraction >= 1:
        raise ConfigError("train_fraction + template_fraction must leave a pool (< 1)")
    if not config.methods or len(set(config.methods)) != len(config.methods):
        raise ConfigError(f"methods must name each of {list(METHODS)} at most once, ≥ one")
    unknown = [name for name in config.flow_features if name not in FEATURES]
    if unknown:
        raise ConfigError(f"flow_features {unknown} are not features; valid: {FEATURES}")
    started = time.perf_counter()
    folder.write_config(config.model_dump(mode="json"))
    executor = Executor(config.executor, workers=config.workers, address=config.address)
    finished = _FinishedChunks(folder, config)
    if stored := finished.store.stored():
        log(f"higgs: resuming: {stored} finished chunks in {finished.store.folder}")
    settings = config.sample_settings()
    log(f"higgs: sample ({settings.events} events per process, cached by settings)")
    dataset = generate_higgs(settings, executor=executor, progress=progress)
    train, templates, pool = _split(dict(dataset.columns), config)
    sampler, yields = _sampler(pool, config)
    measurements = {}
    timings: dict[str, Any] = {}
    for method in config.methods:
        log(f"higgs: training the {METHODS[method]} classifier")
        tick = time.perf_counter()
        measurements[method], flow_seconds = _train_measurement(
            method, train, templates, yields, config, executor, progress=progress
        )
        if flow_seconds is not None:
            timings["train_flow_ensemble"] = quantity(flow_seconds, "s")
        timings[f"train_{method}"] = quantity(time.perf_counter() - tick, "s")

    results: dict[str, Any] = {
        "description": "signal strength of H → ττ with classifiers (baseline, systematic-aware, "
        "NF-ensemble ratios, inference-aware INFERNO) and a pyhf-compatible binned profile "
        "likelihood (tes, jes, "
        "soft_met shapes, jes only for the flows; three normalisations); Wilks "
        "and bias-corrected Neyman 68.27% intervals; nuisances drawn from the "
        f"'{config.prior_set}' priors",
        "prior_set": config.prior_set,
        "yields_mu1": {name: quantity(value, "count") for name, value in yields.items()},
        "pool_overlap": {name: quantity(v, "1") for name, v in sampler.overlaps().items()},
        "events": {
            part: quantity(len(table["weight"]), "count")
            for part, table in (("train", train), ("templates", templates), ("pool", pool))
        },
        "methods": {},
    }
    raw: dict[str, dict[str, Any]] = {}
    mus = list(config.mu_values)
    for method, measurement in measurements.items():
        log(
            f"higgs: {method}: Neyman calibration, {config.calibration_experiments} × "
            f"{len(config.grid)} pseudo-experiments"
        )
        tick = time.perf_counter()
        tasks = _chunks(
            measurement,
            sampler,
            config,
            config.grid,
            config.calibration_experiments,
            stream=config.calibration_stream,
            intervals=False,
        )
        calibration = _merge(
            finished.run(executor, tasks, progress=progress, description=f"{method} belt"), 2
        )
        belt = NeymanBelt.calibrate(config.grid, [np.array(c["mu_hat"]) for c in calibration])
        timings[f"calibration_{method}"] = quantity(time.perf_counter() - tick, "s")
        log(f"higgs: {method}: {config.pseudo_experiments} × {len(mus)} pseudo-experiments")
        tick = time.perf_counter()
        tasks = _chunks(
            measurement,
            sampler,
            config,
            mus,
            config.pseudo_experiments,
            stream=config.evaluation_stream,
            intervals=True,
        )
        evaluation = _merge(
            finished.run(executor, tasks, progress=progress, description=f"{method} coverage"), 2
        )
        timings[f"evaluation_{method}"] = quantity(
            time.perf_counter() - tick,
            "s",
            note=(f"{config.pseudo_experiments * len(mus)} pseudo-experiments with Wilks scans"),
        )
        neyman = [[belt.interval(x) for x in e["mu_hat"]] for e in evaluation]
        wilks_low = [np.array(e["low"]) for e in evaluation]
        wilks_high = [np.array(e["high"]) for e in evaluation]
        n_low = [np.array([i.low for i in row]) for row in neyman]
        n_high = [np.array([i.high for i in row]) for row in neyman]
        corrected = [np.array([i.estimate for i in row]) for row in neyman]
        mu_hat = [np.array(e["mu_hat"]) for e in evaluation]
        raw[method] = {
            "mu_hat": mu_hat,
            "corrected": corrected,
            "pulls": [p for e in evaluation for p in e["pulls"]],
            "mu_hat_all": np.concatenate(mu_hat),
            "calibration": [np.array(c["mu_hat"]) for c in calibration],
            "wilks_width": np.concatenate(wilks_high) - np.concatenate(wilks_low),
            "neyman_width": np.concatenate(n_high) - np.concatenate(n_low),
        }
        pulls = {}
        for name in PRIORS[config.prior_set]:
            values = np.array([p[name] for p in raw[method]["pulls"] if name in p])
            if values.size:  # a nuisance the method does not fit has no pull
                pulls[name] = quantity(float(values.mean()), "1", std=float(values.std()))
        results["methods"][method] = {
            "label": METHODS[method],
            "wilks": _summary(mus, wilks_low, wilks_high),
            "neyman": _summary(mus, n_low, n_high, config.calibration_experiments),
            "bias": [
                quantity(float(np.nanmean(m - mu)), "1", mu=mu, std=float(np.nanstd(m)))
                for mu, m in zip(mus, mu_hat, strict=True)
            ],
            "bias_corrected": [
                quantity(float(np.nanmean(m - mu)), "1", mu=mu, std=float(np.nanstd(m)))
                for mu, m in zip(mus, corrected, strict=True)
            ],
            "empty_pseudo_experiments": quantity(sum(sum(e["empty"]) for e in evaluation), "count"),
            "nonconverged_fits": quantity(
                sum(not c for e in evaluation for c in e["converged"]), "count"
            ),
            "calibration_failed": quantity(int(belt.failed.sum()), "count"),
            "neyman_clipped": quantity(
                sum(i.clipped_low or i.clipped_high for row in neyman for i in row),
                "count",
                note="intervals with an endpoint beyond the calibration grid, set to its edge",
            ),
            "neyman_outside": quantity(
                sum(i.outside for row in neyman for i in row),
                "count",
                note="estimates no grid μ produces centrally (extrapolation, flagged)",
            ),
            "asimov_mu_hat": [
                quantity(_asimov_fit(measurement.likelihood, mu), "1", mu=mu) for mu in mus
            ],
            "asimov_width": _asimov_widths(measurement.likelihood),
            "pulls": pulls,
            "belt": {
                "grid": quantity(belt.grid.tolist(), "1"),
                "low": quantity(belt.low.tolist(), "1"),
                "median": quantity(belt.median.tolist(), "1"),
                "high": quantity(belt.high.tolist(), "1"),
            },
        }
    if "baseline" in raw and len(raw) > 1:
        results["width_vs_baseline"] = _width_comparison(raw, config.grid, config.seed)
    if config.training_seeds > 1:
        log(
            f"higgs: {config.training_seeds} trainings of each method, each fitted to "
            f"{config.seed_experiments} pseudo-experiments at μ = 1"
        )
        tick = time.perf_counter()
        results["training_seeds"] = _seed_spread(
            measurements,
            (train, templates),
            yields,
            sampler,
            config,
            executor,
            finished,
            log=log,
            progress=progress,
        )
        timings["training_seeds"] = quantity(time.perf_counter() - tick, "s")
    # One pseudo-experiment's workspace, for anyone to refit with pyhf.
    experiment = sampler.sample(1.0, {}, seed=config.seed)
    first = measurements[config.methods[0]]
    workspace = first.likelihood.workspace(first.counts(experiment.table))
    (folder.path / "workspace.json").write_text(json.dumps(workspace, indent=1) + "\n")
    timings["total"] = quantity(time.perf_counter() - started, "s")
    results["timings"] = timings
    folder.write_results(results)
    figures = _figures(folder, mus, results["methods"], raw, config.pseudo_experiments)
    table_rows = []
    ratios = results.get("width_vs_baseline", {})
    for method, entry in results["methods"].items():
        asimov = entry["asimov_width"]
        for kind in ("wilks", "neyman"):
            s = entry[kind]
            outside = s["outside_2_sigma"]
            ratio = ratios.get(method, {}).get(kind)
            table_rows.append(
                [
                    METHODS[method],
                    kind,
                    f"{s['coverage']['value']:.3f} ± {s['coverage']['error']:.3f}",
                    f"{outside['value']} ({outside['expected_by_chance']:.1f})",
                    f"{s['pull_chi2']['p_value']:.2f}",
                    f"{s['mean_width']['value']:.3f}",
                    "—" if ratio is None else f"{ratio['value']:.3f} ± {ratio['error']:.3f}",
                    f"{asimov['profiled']['value']:.3f} / {asimov['stat_only']['value']:.3f}",
                    f"{s['score']['value']:.3f}",
                    str(s["failed"]["value"]),
                ]
            )
    section = Section(
        "Signal strength with calibrated intervals",
        text="Coverage of the 68.27% intervals per true μ (binomial errors; the band is "
        "68.27% ± 2σ for the number of pseudo-experiments per μ), their widths, the fitted "
        "and bias-corrected μ̂, and the fitted minus true nuisances. Failed fits and empty "
        "pseudo-experiments count as not covering. 'μ outside 2σ' counts the true μ whose "
        "coverage is outside the band, beside the number expected by chance for intervals "
        "that cover exactly (for Neyman: including the belt's own calibration noise); "
        "p(χ²) tests all pulls together. 'Width / baseline's' is paired on the same "
        "pseudo-experiments; for Neyman its error includes both belts' calibration noise. "
        "The Asimov widths say how much the profiled "
        "systematics widen the interval over the statistical one. The pyhf workspace of one "
        "pseudo-experiment at μ = 1 is workspace.json.",
        table=(
            [
                "method",
                "interval",
                "coverage (all μ)",
                "μ outside 2σ (by chance)",
                "p(χ² of pulls)",
                "mean width",
                "width / baseline's",
                "Asimov width at μ = 1: profiled / stat-only",
                "challenge score",
                "failed",
            ],
            table_rows,
        ),
        numbers={"total time": timings["total"]},
        figures=figures,
        links=[("pyhf workspace (μ = 1)", "workspace.json")],
    )
    sections = [section]
    if "training_seeds" in results:
        sections.append(_seed_section(results["training_seeds"]))
    folder.write_report(
        title="Higgs signal strength: coverage under six systematics",
        sections=sections,
        command=command,
    )
    finished.store.clear()
    return results
