"""One maximum-likelihood fit of μ + 6 nuisances: robusthep's numpy path against pyhf.

The model is that of the reference timing in REFERENCES.md: 20 bins, 4 samples (H → ττ,
Z → ττ, tt̄, diboson), 3 shape (histosys) and 3 normalisation (normsys) nuisances. Each fit
is of a fresh Poisson pseudo-data set; single-threaded BLAS (set before numpy loads) so the
figure is one core's.

    .venv/bin/python benchmarks/bench_infer.py               # 200 fits each
    .venv/bin/python benchmarks/bench_infer.py --fits 50

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


def _model():
    from robusthep.infer import BinnedLikelihood, NormSystematic, ShapeSystematic

    rng = np.random.default_rng(0)
    bins = 20
    x = np.linspace(0, 1, bins)
    nominal = {
        "htautau": 5 + 30 * x**2,
        "ztautau": 300 * np.exp(-3 * x) + 5,
        "ttbar": 40 + 10 * x,
        "diboson": 3 + rng.uniform(0, 1, bins),
    }
    shapes = []
    for name, size in (("tes", 0.05), ("jes", 0.03), ("soft_met", 0.02)):
        tilt = size * np.linspace(-1, 1, bins)
        shapes.append(
            ShapeSystematic(
                name,
                low={p: v * (1 - tilt) for p, v in nominal.items()},
                high={p: v * (1 + tilt) for p, v in nominal.items()},
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
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
    machine = {
        "python": platform.python_version(),
        "cpu": platform.processor() or "unknown",
        "pyhf": pyhf.__version__,
        "load_average": os.getloadavg(),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print(f"load average {machine['load_average']}")
    print("| method | calls | ms per call | max abs(mu-hat - pyhf scipy's) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        agreement = row.get("max_abs_mu_difference_to_pyhf_scipy")
        shown = "—" if agreement is None else f"{agreement:.1e}"
        print(f"| {row['method']} | {row['fits']} | {row['ms_per_call']:.1f} | {shown} |")


if __name__ == "__main__":
    main()
