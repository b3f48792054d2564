"""DisCo: the naive O(B²) distance correlation against the blocked one, forward + backward.

Each measurement runs in a fresh process so that its peak resident memory (ru_maxrss) above
the process's state just before the call is the memory the call itself needed.

    .venv/bin/python benchmarks/bench_disco.py                 # B = 1k, 4k, 16k, 1 thread
    .venv/bin/python benchmarks/bench_disco.py --sizes 1024 4096 --threads 2

Writes benchmarks/results/disco.json and prints a markdown table.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "disco.json"


def _measure(method: str, unbiased: bool, size: int, threads: int, repeats: int) -> dict:
    import torch

    from robusthep.losses import distance_correlation

    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    mass = torch.rand(size, generator=generator)
    scores = (mass + torch.rand(size, generator=generator)).requires_grad_()
    weights = torch.rand(size, generator=generator) + 0.5

    def step() -> float:
        scores.grad = None
        value = distance_correlation(scores, mass, weights, unbiased=unbiased, method=method)
        value.backward()
        return value.item()

    # The first call sets the peak (ru_maxrss never goes down); later ones only time.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - started)
        if len(times) == 1:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "method": method,
        "estimator": "U" if unbiased else "V",
        "batch": size,
        "threads": threads,
        "seconds": min(times),
        "repeats": repeats,
        "peak_extra_mb": (peak - before) / 1024,
        "value": value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        method, estimator, size, threads = arguments.worker
        repeats = 3 if int(size) <= 4096 else 1
        result = _measure(method, estimator == "U", int(size), int(threads), repeats)
        print(json.dumps(result))
        return
    rows = []
    for size in arguments.sizes:
        for estimator in ("V", "U"):
            for method in ("naive", "blocked"):
                command = [sys.executable, __file__, "--worker", method, estimator, str(size)]
                command.append(str(arguments.threads))
                output = subprocess.run(command, check=True, capture_output=True, text=True)
                rows.append(json.loads(output.stdout))
                row = rows[-1]
                print(
                    f"B={size:>6} {estimator} {method:>8}: {row['seconds']:8.3f} s "
                    f"{row['peak_extra_mb']:8.0f} MB  dCor²={row['value']:.6f}",
                    file=sys.stderr,
                )
    machine = {
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "threads": arguments.threads,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print("| B | estimator | naive time | naive peak memory | blocked time | blocked peak memory |")
    print("|---:|:---:|---:|---:|---:|---:|")
    for size in arguments.sizes:
        for estimator in ("V", "U"):
            naive, blocked = (
                next(r for r in rows if (r["batch"], r["estimator"], r["method"]) == key)
                for key in ((size, estimator, "naive"), (size, estimator, "blocked"))
            )
            print(
                f"| {size} | {estimator} | {naive['seconds']:.3f} s | "
                f"{naive['peak_extra_mb']:.0f} MB | {blocked['seconds']:.3f} s | "
                f"{blocked['peak_extra_mb']:.0f} MB |"
            )
    print(f"\nwritten to {arguments.output}; load average {machine['load_average']}")


if __name__ == "__main__":
    main()
