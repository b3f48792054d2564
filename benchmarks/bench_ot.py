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
from pathlib import Path

import torch

from robusthep.atomic import atomic_write_text
from robusthep.ot import compare_with_pot


def neemo_settings(n):
    """Full batches while a step over both clouds is cheap; fixed-size batches beyond, at
    two step counts to show the trade between time and accuracy. Every run also reports
    the double c-transform of its critic (``refine=True``; ``critic_value`` is without);
    the last runs add semi-dual ascent steps on the particles (``refine_steps``)."""
    batch_size = None if n <= 1000 else 4096
    plain = [(1000, 0)] if n <= 1000 else [(300, 0), (1000, 0)]
    return [
        {
            "steps": steps,
            "batch_size": batch_size,
            "hidden": (64, 64, 64),
            "refine": True,
            "refine_steps": refine_steps,
        }
        for steps, refine_steps in [*plain, (300, 300), (300, 1000)]
    ]


def run(n, seed, sinkhorn_reg, skip_sinkhorn_above):
    row = compare_with_pot(
        n,
        neemo=neemo_settings(n),
        sinkhorn_reg=sinkhorn_reg if n <= skip_sinkhorn_above else None,
        seed=seed,
    )
    for entry in row["neemo"]:
        entry["critic_rel"] = (entry["critic_value"] - row["exact"]) / row["exact"]
    row["same_distribution_emd"] = row.pop("noise_floor")
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
        f"{'noise floor':>11}  NEEMo rel / refined rel / s (critic + semi-dual steps)"
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
            f"{r['critic_rel']:+.4f} / {r['rel']:+.4f} / {r['seconds']:.1f} s "
            f"({r['settings']['steps']}+{r['settings']['refine_steps']})"
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
