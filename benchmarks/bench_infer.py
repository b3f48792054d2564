"""One maximum-likelihood fit of μ + 6 nuisances (numpy path against pyhf), one pseudo-experiment.

The model is that of the reference timing in REFERENCES.md: 20 bins, 4 samples (H → ττ,
Z → ττ, tt̄, diboson), 3 shape (histosys) and 3 normalisation (normsys) nuisances. Each fit
is of a fresh Poisson pseudo-data set; single-threaded BLAS (set before numpy loads) so the
figure is one core's.

Second table: drawing one pseudo-experiment of the `higgs` study (its quick sample, read from
the cache, its pool and yields, nuisances from the `talk` priors) with the systematic shifts
on awkward arrays (`apply_systematics`) against the flat-array fast path (`FlatEvents`), and
the whole per-pseudo-experiment cost (draw, shift, score with the classifier, one 6-NP fit;
or the Wilks interval, as the study's evaluation pseudo-experiments need).

    .venv/bin/python benchmarks/bench_infer.py               # 200 fits each
    .venv/bin/python benchmarks/bench_infer.py --fits 50 --experiments 100

Writes benchmarks/results/infer.json and prints a markdown table.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "infer.json"


def _model(scale: float = 1.0, one_sided: tuple[str, ...] = ()):
    """The reference model; ``scale`` multiplies every yield, and each shape named in
    ``one_sided`` moves only downwards (its up template is the nominal), as a shift does
    that pushes events out of a selection stored after its cut (docs/higgs.md)."""
    from robusthep.infer import BinnedLikelihood, NormSystematic, ShapeSystematic

    rng = np.random.default_rng(0)
    bins = 20
    x = np.linspace(0, 1, bins)
    nominal = {
        "htautau": scale * (5 + 30 * x**2),
        "ztautau": scale * (300 * np.exp(-3 * x) + 5),
        "ttbar": scale * (40 + 10 * x),
        "diboson": scale * (3 + rng.uniform(0, 1, bins)),
    }
    shapes = []
    for name, size in (("tes", 0.05), ("jes", 0.03), ("soft_met", 0.02)):
        tilt = size * np.linspace(-1, 1, bins)
        shapes.append(
            ShapeSystematic(
                name,
                low={p: v * (1 - tilt) for p, v in nominal.items()},
                high={p: v * (1 + tilt * (name not in one_sided)) for p, v in nominal.items()},
            )
        )
    norms = [
        NormSystematic("ttbar_scale", 0.25, ("ttbar",)),
        NormSystematic("diboson_scale", 0.025, ("diboson",)),
        NormSystematic("bkg_scale", 0.01, ("ztautau", "ttbar", "diboson")),
    ]
    return BinnedLikelihood(nominal, signal="htautau", shapes=shapes, norms=norms)


def _time(call, datasets) -> tuple[float, list[float]]:
    started = time.perf_counter()
    results = [call(data) for data in datasets]
    return (time.perf_counter() - started) / len(datasets), results


def _pseudo_experiment_rows(n: int) -> list[dict]:
    """ms per pseudo-experiment: awkward shifts, flat shifts, and draw + score + fit."""
    import torch

    from robusthep.infer import PseudoExperimentSampler
    from robusthep.parallel import Executor
    from robusthep.sim import PRIORS, generate_higgs
    from robusthep.studies.higgs import (
        HiggsConfig,
        Measurement,
        _sampler,
        _split,
        build_likelihood,
        train_classifier,
        train_flow_ensemble,
    )

    torch.set_num_threads(1)
    config = HiggsConfig.quick()
    train, templates, pool = _split(dict(generate_higgs(config.sample_settings()).columns), config)
    flat, yields = _sampler(pool, config)
    slow = PseudoExperimentSampler(
        pool, yields, max_overlap=config.max_overlap, mu_max=flat.mu_max, flat=False
    )
    rng = np.random.default_rng(2)
    draws = [
        ({name: float(p.sample(rng)) for name, p in PRIORS["talk"].items()}, int(seed))
        for seed in rng.integers(2**31, size=n)
    ]
    classifier = train_classifier(
        train, yields, config.model_copy(update={"epochs": 2}), aware=False
    )
    measurement = Measurement(
        "baseline", classifier, build_likelihood(templates, classifier, yields, config)
    )

    def full(truth: dict, seed: int) -> float:
        experiment = flat.sample(1.0, truth, seed=seed)
        return measurement.likelihood.fit(measurement.counts(experiment.table)).mu

    def wilks(truth: dict, seed: int) -> float:
        experiment = flat.sample(1.0, truth, seed=seed)
        return measurement.likelihood.profile_interval(measurement.counts(experiment.table)).high

    rows = []
    for label, call in (
        (
            "sample, shifts by apply_systematics (awkward)",
            lambda truth, seed: slow.sample(1.0, truth, seed=seed),
        ),
        (
            "sample, shifts by FlatEvents (flat numpy)",
            lambda truth, seed: flat.sample(1.0, truth, seed=seed),
        ),
        ("sample (flat) + classifier score + one 6-NP fit", full),
        ("sample (flat) + score + Wilks interval (both endpoints)", wilks),
    ):
        started = time.perf_counter()
        for truth, seed in draws:
            call(truth, seed)
        seconds = (time.perf_counter() - started) / n
        rows.append({"method": label, "calls": n, "ms_per_call": 1e3 * seconds})
    rows[1]["speed_up_over_awkward"] = rows[0]["ms_per_call"] / rows[1]["ms_per_call"]
    # Method 3's scoring (5 members × 2 NSF flows): one network call per pseudo-experiment,
    # or one for all of a task's (what the study does).
    short = config.model_copy(update={"epochs": 2, "flow_epochs": 1, "flow_members": 5})
    ratios = train_flow_ensemble(train, yields, short, Executor("local", workers=1))
    flows = train_classifier(train, yields, short, aware=False, ratios=ratios)
    method3 = Measurement("flows", flows, build_likelihood(templates, flows, yields, short))
    tables = [flat.sample(1.0, truth, seed=seed).table for truth, seed in draws]
    for label, call in (
        (
            "method 3 scoring, one call per pseudo-experiment",
            lambda: [method3.counts(t) for t in tables],
        ),
        ("method 3 scoring, one call for all (counts_many)", lambda: method3.counts_many(tables)),
    ):
        started = time.perf_counter()
        call()
        rows.append(
            {"method": label, "calls": n, "ms_per_call": 1e3 * (time.perf_counter() - started) / n}
        )
    rows[-1]["speed_up_over_one_call_each"] = rows[-2]["ms_per_call"] / rows[-1]["ms_per_call"]
    return rows


def _kink_row(fits: int) -> dict:
    """``fit(kink_starts=True)`` against the plain fit where the NLL has a kink that matters.

    The reference model with 100× its yields (≈ 330 000 events) and tes one-sided: how
    often the plain fit stops in a higher minimum, and what the extra starts cost. Its
    three shapes are the same linear tilt, so soft_met can stand in for tes: the plain
    fit, started on tes's kink, often stays there and moves soft_met instead.
    """
    model = _model(scale=100.0, one_sided=("tes",))
    rng = np.random.default_rng(3)
    datasets = []
    for _ in range(fits):
        truth = np.concatenate([[1.0], rng.standard_normal(6)])
        datasets.append(rng.poisson(model.expected(truth)).astype(float))
    plain_seconds, plain = _time(model.fit, datasets)
    seconds, kinked = _time(lambda counts: model.fit(counts, kink_starts=True), datasets)
    above = np.array([p.nll - k.nll for p, k in zip(plain, kinked, strict=True)])
    shift = np.array([abs(p.mu - k.mu) for p, k in zip(plain, kinked, strict=True)])
    missed = int((above > 1e-3).sum())
    return {
        "method": "BinnedLikelihood.fit, kink_starts (100× yields, tes one-sided; "
        "reference: the plain fit)",
        "fits": fits,
        "ms_per_call": 1e3 * seconds,
        "reference_ms": 1e3 * plain_seconds,
        "plain_fits_above_the_lowest_minimum": missed,
        "largest_nll_above": float(above.max()),
        "largest_mu_shift": float(shift.max()),
        "every_fit_converged": bool(all(k.converged for k in kinked)),
        "note": f"plain fit {1e3 * plain_seconds:.1f} ms; it stopped above the lowest minimum "
        f"in {missed} of {fits} (ΔNLL ≤ {above.max():.2f}, |Δμ̂| ≤ {shift.max():.3f})",
    }


def _belt_row() -> dict:
    """Neyman intervals of 10 000 estimates: ``NeymanBelt.bounds`` against ``interval`` each."""
    from robusthep.infer import NeymanBelt

    rng = np.random.default_rng(2)
    grid = np.linspace(0.0, 3.3, 12)
    belt = NeymanBelt.calibrate(grid, [mu + 0.3 * rng.standard_normal(5000) for mu in grid])
    estimates = rng.uniform(0.0, 3.0, 10_000)
    per_estimate, one_by_one = _time(lambda x: belt.interval(float(x)).high, estimates)
    each = per_estimate * len(estimates)
    together, ((_, high),) = _time(belt.bounds, [estimates])
    assert np.array_equal(high, one_by_one)
    return {
        "method": "NeymanBelt.bounds, 10 000 estimates (reference: interval() one by one)",
        "fits": len(estimates),
        "ms_per_call": 1e3 * together,
        "reference_ms": 1e3 * each,
        "speed_up": each / together,
        "note": f"{each / together:.0f}× faster than {1e3 * each:.0f} ms one by one",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()

    import pyhf

    model = _model()
    rng = np.random.default_rng(1)
    truth = np.concatenate([[1.0], np.zeros(6)])
    datasets = [rng.poisson(model.expected(truth)) for _ in range(arguments.fits)]
    pdf, _ = model.pyhf_model(datasets[0])
    aux = pdf.config.auxdata

    def ours(counts):
        return model.fit(counts).mu

    def wilks(counts):
        return model.profile_interval(counts).high

    def with_pyhf(optimizer):
        def call(counts):
            data = np.concatenate([counts, aux])
            return float(pyhf.infer.mle.fit(data, pdf)[pdf.config.poi_index])

        pyhf.set_backend("numpy", optimizer)
        return call

    rows = []
    for label, call, n in (
        ("robusthep BinnedLikelihood.fit (numpy, scipy TNC)", ours, arguments.fits),
        ("pyhf 0.7.6 mle.fit, numpy + scipy", with_pyhf("scipy"), arguments.fits // 4),
        ("pyhf 0.7.6 mle.fit, numpy + minuit", with_pyhf("minuit"), arguments.fits // 4),
        ("robusthep profile_interval (Wilks, 68.27%)", wilks, arguments.fits // 4),
    ):
        if "pyhf" in label:
            call = with_pyhf(label.rsplit(" ", 1)[-1])
        seconds, values = _time(call, datasets[:n])
        rows.append({"method": label, "fits": n, "ms_per_call": 1e3 * seconds, "values": values})
    # Agreement of μ̂ on the data sets both fitted.
    reference = np.array(rows[1]["values"])
    for row in rows[:3]:
        difference = np.array(row["values"][: len(reference)]) - reference
        row["max_abs_mu_difference_to_pyhf_scipy"] = float(np.max(np.abs(difference)))
    rows.append(_kink_row(arguments.fits // 4))
    rows.append(_belt_row())
    machine = {
        "python": platform.python_version(),
        "cpu": platform.processor() or "unknown",
        "pyhf": pyhf.__version__,
        "load_average": os.getloadavg(),
    }
    pseudo = _pseudo_experiment_rows(arguments.experiments)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(
        json.dumps({"machine": machine, "rows": rows, "pseudo_experiments": pseudo}, indent=1)
        + "\n"
    )
    print(f"load average {machine['load_average']}")
    print("| method | calls | ms per call | max abs(mu-hat - pyhf scipy's) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        agreement = row.get("max_abs_mu_difference_to_pyhf_scipy")
        shown = row.get("note", "—" if agreement is None else f"{agreement:.1e}")
        print(f"| {row['method']} | {row['fits']} | {row['ms_per_call']:.1f} | {shown} |")
    print()
    print("| one pseudo-experiment of the higgs study | calls | ms per call |")
    print("| --- | --- | --- |")
    for row in pseudo:
        print(f"| {row['method']} | {row['calls']} | {row['ms_per_call']:.2f} |")
    print(f"flat over awkward: {pseudo[1]['speed_up_over_awkward']:.0f}× faster")
    print(
        "method 3 scoring, one call for all over one each: "
        f"{pseudo[-1]['speed_up_over_one_call_each']:.1f}× faster"
    )


if __name__ == "__main__":
    main()
