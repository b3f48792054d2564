"""NEEMo (robusthep.ot.emd) against POT's exact EMD and Sinkhorn on the same point clouds.

Usage:
    POT_BACKEND_DISABLE_TENSORFLOW=1 POT_BACKEND_DISABLE_JAX=1 \\
        .venv/bin/python benchmarks/bench_ot.py --sizes 100 1000 10000 --output benchmarks/results

Prints a table (relative error to the exact EMD, seconds) and writes JSON. The clouds are
jet-like toys in the (rapidity, azimuth) plane: P has three prongs, Q two, energies are
exponential. Everything runs on one thread so the three methods are compared on equal terms.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from robusthep.atomic import atomic_write_text
from robusthep.ot import emd


def clouds(n, seed):
    rng = np.random.default_rng(seed)
    prongs_p = np.array([[0.0, 0.0], [0.3, 0.1], [-0.1, 0.25]])
    prongs_q = np.array([[0.05, 0.0], [0.2, 0.2]])
    p = prongs_p[rng.choice(3, n, p=[0.6, 0.3, 0.1])] + 0.05 * rng.standard_normal((n, 2))
    q = prongs_q[rng.choice(2, n, p=[0.7, 0.3])] + 0.07 * rng.standard_normal((n, 2))
    return p, rng.exponential(size=n), q, rng.exponential(size=n)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def neemo_settings(n):
    """Full batches while a step over both clouds is cheap; fixed-size batches beyond, at
    two step counts to show the trade between time and accuracy."""
    if n <= 1000:
        return [{"steps": 1000, "batch_size": None, "hidden": (64, 64, 64), "lr": 1e-2}]
    return [
        {"steps": steps, "batch_size": 4096, "hidden": (64, 64, 64), "lr": 1e-2}
        for steps in (300, 1000)
    ]


def run(n, seed, sinkhorn_reg, skip_sinkhorn_above):
    import ot

    p, pw, q, qw = clouds(n, seed)
    a, b = pw / pw.sum(), qw / qw.sum()
    row = {"n": n}
    cost, row["cost_matrix_s"] = timed(lambda: ot.dist(p, q, metric="euclidean"))
    exact, row["exact_s"] = timed(lambda: float(ot.emd2(a, b, cost, numItermax=10**9)))
    row["exact_s"] += row["cost_matrix_s"]
    row["exact"] = exact
    if n <= skip_sinkhorn_above:
        reg = sinkhorn_reg * float(cost.mean())
        value, seconds = timed(
            lambda: float(ot.sinkhorn2(a, b, cost, reg, method="sinkhorn", numItermax=1000))
        )
        row.update(sinkhorn=value, sinkhorn_s=seconds + row["cost_matrix_s"], sinkhorn_reg=reg)
        row["sinkhorn_rel"] = (value - exact) / exact
    row["neemo"] = []
    for settings in neemo_settings(n):
        result, seconds = timed(
            lambda settings=settings: emd(p, q, p_weights=pw, q_weights=qw, seed=seed, **settings)
        )
        row["neemo"].append(
            {
                "settings": {**settings, "hidden": list(settings["hidden"])},
                "value": result.value,
                "seconds": seconds,
                "rel": (result.value - exact) / exact,
            }
        )
    # Two independent samples of the same P: the part of the empirical EMD that is sampling
    # noise at this N, which a smooth critic cannot follow particle by particle.
    p2, pw2, _, _ = clouds(n, seed + 1000)
    floor_cost = ot.dist(p, p2, metric="euclidean")
    row["same_distribution_emd"] = float(ot.emd2(a, pw2 / pw2.sum(), floor_cost, numItermax=10**9))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 20000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sinkhorn-reg", type=float, default=0.01, help="× mean cost")
    parser.add_argument("--skip-sinkhorn-above", type=int, default=10000)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    header = (
        f"{'N':>6} {'exact':>9} {'exact s':>8} {'Sinkhorn rel':>12} {'Sinkhorn s':>10} "
        f"{'noise floor':>11}  NEEMo rel / s (steps)"
    )
    print(header)
    for n in args.sizes:
        row = run(n, args.seed, args.sinkhorn_reg, args.skip_sinkhorn_above)
        rows.append(row)
        sinkhorn = (
            f"{row['sinkhorn_rel']:>+12.4f} {row['sinkhorn_s']:>10.2f}"
            if "sinkhorn" in row
            else f"{'skipped':>12} {'':>10}"
        )
        neemo = ", ".join(
            f"{r['rel']:+.4f} / {r['seconds']:.1f} s ({r['settings']['steps']})"
            for r in row["neemo"]
        )
        print(
            f"{n:>6} {row['exact']:>9.5f} {row['exact_s']:>8.2f} {sinkhorn} "
            f"{row['same_distribution_emd']:>11.5f}  {neemo}",
            flush=True,
        )
    args.output.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_ot",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": 1},
        "rows": rows,
    }
    path = atomic_write_text(args.output / "bench_ot.json", json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
