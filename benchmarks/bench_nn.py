"""Speed of robusthep's Lipschitz networks against a ReLU MLP and monotonicnetworks 1.5.1."""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from robusthep.atomic import atomic_write_text
from robusthep.nn import MonotonicWrapper, lipschitz_mlp, to_plain

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "nn.json"
README = HERE / "README.md"

IN_FEATURES = 16
HIDDEN = (256, 256, 256)
OUT_FEATURES = 1
BATCH = 1024
THREADS = 2
# The paper's recipe for a bound on every |∂f/∂xᵢ|: first layer ℓ1→ℓ∞, the others ℓ∞→ℓ∞.
KINDS = ("one-inf", "inf", "inf", "inf")
# Monotonic wrappers: increasing in features 0 and 1, decreasing in 2, free in the rest.
SIGNS = (1, 1, -1) + (0,) * (IN_FEATURES - 3)

# (label of the ratio, numerator case, denominator case, the goal)
GOALS = (
    ("train step, ours / ReLU MLP", "train/ours", "train/relu", 1.5),
    ("exported inference, ours / ReLU MLP", "infer/ours-exported", "infer/relu", 1.3),
    ("train step, ours / monotonicnetworks", "train/ours", "train/lmn", 0.6),
    ("inference, ours (eval) / monotonicnetworks", "infer/ours-eval", "infer/lmn", 0.3),
    ("inference, ours (exported) / monotonicnetworks", "infer/ours-exported", "infer/lmn", 0.3),
)


@dataclass
class Case:
    """One timed callable: a train step or a batch of inference."""

    key: str
    description: str
    run: Callable[[], None]


def relu_mlp() -> nn.Sequential:
    """A ReLU MLP with the same widths as the Lipschitz networks."""
    widths = [IN_FEATURES, *HIDDEN, OUT_FEATURES]
    layers: list[nn.Module] = []
    for index in range(len(widths) - 1):
        layers.append(nn.Linear(widths[index], widths[index + 1]))
        if index < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def ours(group_size: int = 2) -> nn.Sequential:
    """robusthep's Lipschitz MLP, bound 1 from ℓ1 to ℓ∞ (per-layer constants 1)."""
    return lipschitz_mlp(
        IN_FEATURES, OUT_FEATURES, hidden=HIDDEN, input_norm="one", group_size=group_size
    )


def reference() -> nn.Sequential:
    """The same network built from monotonicnetworks 1.5.1, as its README builds it."""
    import monotonicnetworks as lmn

    widths = [IN_FEATURES, *HIDDEN, OUT_FEATURES]
    layers: list[nn.Module] = []
    for index, kind in enumerate(KINDS):
        n_in, n_out = widths[index], widths[index + 1]
        layers.append(lmn.LipschitzLinear(n_in, n_out, kind=kind, lipschitz_const=1.0))
        if index < len(KINDS) - 1:
            # Its argument is the number of groups: width/2 groups of two is MaxMin.
            layers.append(lmn.GroupSort(n_out // 2))
    return nn.Sequential(*layers)


def ours_monotonic() -> MonotonicWrapper:
    increasing = [i for i, s in enumerate(SIGNS) if s > 0]
    decreasing = [i for i, s in enumerate(SIGNS) if s < 0]
    return MonotonicWrapper(ours(), increasing=increasing, decreasing=decreasing)


def reference_monotonic() -> nn.Module:
    import monotonicnetworks as lmn

    return lmn.MonotonicWrapper(reference(), lipschitz_const=1.0, monotonic_constraints=SIGNS)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """Forward, MSE loss, backward and an Adam step, as a training loop runs them."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        optimizer.step()

    return step


def inference(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One batch in eval mode without gradients, as a new user would run it."""
    model.eval()

    def predict() -> None:
        with torch.no_grad():
            model(x)

    return predict


def cases(x: torch.Tensor, y: torch.Tensor) -> tuple[list[Case], list[Case]]:
    """The train-step cases and the inference cases, each list timed interleaved."""
    full = HIDDEN[0]
    train = [
        Case("train/relu", "ReLU MLP", train_step(relu_mlp(), x, y)),
        Case("train/ours", "robusthep, MaxMin (group_size=2)", train_step(ours(), x, y)),
        Case("train/ours-gs4", "robusthep, group_size=4", train_step(ours(4), x, y)),
        Case(
            "train/ours-full",
            f"robusthep, full sort (group_size={full})",
            train_step(ours(full), x, y),
        ),
        Case("train/lmn", "monotonicnetworks 1.5.1", train_step(reference(), x, y)),
        Case("train/ours-mono", "robusthep MonotonicWrapper", train_step(ours_monotonic(), x, y)),
        Case(
            "train/lmn-mono",
            "monotonicnetworks MonotonicWrapper",
            train_step(reference_monotonic(), x, y),
        ),
    ]
    infer = [
        Case("infer/relu", "ReLU MLP", inference(relu_mlp(), x)),
        Case(
            "infer/ours-exported",
            "robusthep, MaxMin, exported (to_plain)",
            inference(to_plain(ours()), x),
        ),
        Case("infer/ours-eval", "robusthep, MaxMin, eval (cached weights)", inference(ours(), x)),
        Case(
            "infer/ours-gs4", "robusthep, group_size=4, exported", inference(to_plain(ours(4)), x)
        ),
        Case(
            "infer/ours-full",
            f"robusthep, full sort (group_size={full}), exported",
            inference(to_plain(ours(full)), x),
        ),
        Case("infer/lmn", "monotonicnetworks 1.5.1", inference(reference(), x)),
        Case(
            "infer/ours-mono",
            "robusthep MonotonicWrapper, exported",
            inference(to_plain(ours_monotonic()), x),
        ),
        Case(
            "infer/ours-mono-eval",
            "robusthep MonotonicWrapper, eval",
            inference(ours_monotonic(), x),
        ),
        Case(
            "infer/lmn-mono",
            "monotonicnetworks MonotonicWrapper",
            inference(reference_monotonic(), x),
        ),
    ]
    return train, infer


def time_interleaved(cases: list[Case], rounds: int, warmup: int, seed: int) -> dict[str, list]:
    """Seconds per call of every case: each round runs every case once, in a shuffled order.

    Interleaving spreads slow phases of a shared machine over all cases alike, rather than
    over whichever case happened to run in a block at that moment.
    """
    order = list(cases)
    for _ in range(warmup):
        for case in order:
            case.run()
    shuffle = random.Random(seed).shuffle
    times: dict[str, list[float]] = {case.key: [] for case in cases}
    for _ in range(rounds):
        shuffle(order)
        for case in order:
            start = time.perf_counter()
            case.run()
            times[case.key].append(time.perf_counter() - start)
    return times


def summarize(seconds: list[float]) -> dict[str, float]:
    """Median, quartiles and 10th percentile, in milliseconds."""
    ms = [1e3 * s for s in seconds]
    deciles = statistics.quantiles(ms, n=10)
    q1, _, q3 = statistics.quantiles(ms, n=4)
    return {"median": statistics.median(ms), "q1": q1, "q3": q3, "p10": deciles[0]}


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "monotonicnetworks": importlib.metadata.version("monotonicnetworks"),
        "threads": torch.get_num_threads(),
    }


def table_rows(stats: dict[str, dict]) -> list[tuple[str, ...]]:
    """Case, median, IQR, p10 (ms) and the median's ratios to the two references."""
    rows = []
    for key, entry in stats.items():
        phase = key.split("/")[0]
        relu, lmn = stats[f"{phase}/relu"]["median"], stats[f"{phase}/lmn"]["median"]
        rows.append(
            (
                f"{phase}: {entry['description']}",
                f"{entry['median']:.2f}",
                f"{entry['q1']:.2f}–{entry['q3']:.2f}",
                f"{entry['p10']:.2f}",
                f"{entry['median'] / relu:.2f}",
                f"{entry['median'] / lmn:.2f}",
            )
        )
    return rows


def markdown(result: dict) -> str:
    """The README section: setup, command, goals and the full table."""
    stats, info = result["cases"], result["machine"]
    load_before, load_after = result["load_average"]["before"], result["load_average"]["after"]
    lines = [
        "## nn: Lipschitz/GroupSort MLP vs a ReLU MLP and monotonicnetworks",
        "",
        "Command: `make bench` (or `.venv/bin/python benchmarks/bench_nn.py`); results in "
        "`benchmarks/results/nn.json`.",
        "",
        f"Network: {IN_FEATURES} → {' → '.join(map(str, HIDDEN))} → {OUT_FEATURES} "
        f"(4 linear layers), batch {BATCH}, float32, `torch.set_num_threads({info['threads']})`. "
        'Ours: `lipschitz_mlp(16, 1, hidden=(256, 256, 256), input_norm="one")` (kinds '
        f"{', '.join(KINDS)}; λ = 1). monotonicnetworks: `LipschitzLinear(kind=…, "
        "lipschitz_const=1)` with the same kinds and `GroupSort(width // 2)`. Train step: "
        "zero_grad, forward, MSE loss, backward, Adam step. Inference: `model.eval()` under "
        '`torch.no_grad()`; "exported" is `robusthep.nn.to_plain(model)`. Monotonic '
        "wrappers: increasing in features 0 and 1, decreasing in 2. Our GroupSort runs "
        "sizes 2 to 4 as compare-exchange networks with a one-mask backward, larger sizes "
        "with `torch.sort`.",
        "",
        f"Machine: {info['cpu']}, nproc {info['nproc']}, torch {info['torch']}, "
        f"monotonicnetworks {info['monotonicnetworks']}, Python {info['python']}, "
        f"{info['threads']} threads; {result['rounds']['train']} rounds of train steps and "
        f"{result['rounds']['infer']} of inference, cases interleaved in a shuffled order. "
        f"Load average (1 min) {load_before:.1f} before and {load_after:.1f} after the run "
        f"({info['nproc']} cores): other processes shared the machine, which widens the "
        "spread; p10 is the 10th percentile, closer to what a quiet machine gives. "
        f"Run {result['date']}.",
        "",
        "| ratio | goal | median ratio | met on medians | p10 ratio | met on p10 |",
        "| --- | ---: | ---: | :---: | ---: | :---: |",
    ]
    for goal in result["goals"]:
        lines.append(
            f"| {goal['label']} | ≤ {goal['goal']:g} | {goal['ratio']:.2f} | "
            f"{'yes' if goal['met'] else '**no**'} | {goal['ratio_p10']:.2f} | "
            f"{'yes' if goal['met_p10'] else '**no**'} |"
        )
    lines += [
        "",
        "| case | median ms | IQR ms | p10 ms | × ReLU MLP | × monotonicnetworks |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(stats)]
    lines += ["", reference_note(stats)]
    return "\n".join(lines) + "\n"


def reference_note(stats: dict[str, dict]) -> str:
    """What the goals against monotonicnetworks ask of us, given its cost measured here."""
    parts = []
    for phase, goal in (("train", 0.6), ("infer", 0.3)):
        cost = {q: stats[f"{phase}/lmn"][q] / stats[f"{phase}/relu"][q] for q in ("median", "p10")}
        parts.append(
            f"{'a train step' if phase == 'train' else 'inference'} {cost['median']:.2f}× "
            f"(p10 {cost['p10']:.2f}×) a ReLU MLP's, so ≤ {goal:g}× of it means ≤ "
            f"{goal * cost['median']:.2f}× (p10 {goal * cost['p10']:.2f}×) a ReLU MLP's"
        )
    return (
        f"monotonicnetworks took {parts[0]}; {parts[1]}. Our network does the same matrix "
        "products as the ReLU MLP and they dominate both, so it cannot run faster than the "
        "ReLU MLP: a goal that needs a ratio below 1 to it cannot be met by changes to the "
        "activation or the weight normalisation."
    )


_README_HEAD = """# Benchmarks

Speed measurements, run by hand and never by the tests: `make bench` runs
`benchmarks/run.py`, which runs every `benchmarks/bench_*.py` that defines `main()`
(`.venv/bin/python benchmarks/run.py nn` runs one). Each prints a table with its reference
measured in the same run, writes JSON under `benchmarks/results/` and rewrites its own section
below.
"""


def write_readme_section(text: str, name: str = "nn") -> None:
    """Replace this benchmark's section of benchmarks/README.md, leaving the others as they are."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{text}{end}\n"
    old = README.read_text(encoding="utf-8") if README.exists() else _README_HEAD
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    atomic_write_text(README, new)


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"nn benchmark ({result['machine']['threads']} threads, batch {BATCH})")
    for column in ("case", "median ms", "IQR ms", "p10 ms", "× ReLU", "× monotonicnetworks"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for row in table_rows(result["cases"]):
        table.add_row(*row)
    console = Console(width=120)
    console.print(table)
    for goal in result["goals"]:
        verdicts = ["met" if met else "MISSED" for met in (goal["met"], goal["met_p10"])]
        console.print(
            f"{goal['label']} (goal ≤ {goal['goal']:g}): median {goal['ratio']:.2f} "
            f"{verdicts[0]}, p10 {goal['ratio_p10']:.2f} {verdicts[1]}"
        )


def run(rounds_train: int, rounds_infer: int, warmup: int, seed: int, threads: int) -> dict:
    """Build every case, time them and return the result (JSON-ready)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        x, y = torch.randn(BATCH, IN_FEATURES), torch.randn(BATCH, OUT_FEATURES)
        train, infer = cases(x, y)
        load_before = os.getloadavg()[0]
        times = time_interleaved(train, rounds_train, warmup, seed)
        times |= time_interleaved(infer, rounds_infer, warmup, seed + 1)
        load_after = os.getloadavg()[0]
        info = machine()
    finally:
        torch.set_num_threads(previous_threads)
    descriptions = {case.key: case.description for case in train + infer}
    stats = {
        key: {"description": descriptions[key], **summarize(seconds)}
        for key, seconds in times.items()
    }
    goals = [
        {
            "label": label,
            "numerator": numerator,
            "denominator": denominator,
            "ratio": stats[numerator]["median"] / stats[denominator]["median"],
            "ratio_p10": stats[numerator]["p10"] / stats[denominator]["p10"],
            "goal": goal,
            "met": stats[numerator]["median"] / stats[denominator]["median"] <= goal,
            "met_p10": stats[numerator]["p10"] / stats[denominator]["p10"] <= goal,
        }
        for label, numerator, denominator, goal in GOALS
    ]
    return {
        "benchmark": "nn",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "make bench",
        "setup": {
            "in_features": IN_FEATURES,
            "hidden": list(HIDDEN),
            "out_features": OUT_FEATURES,
            "batch": BATCH,
            "kinds": list(KINDS),
            "lipschitz": 1.0,
            "monotonic_signs": list(SIGNS),
            "dtype": "float32",
        },
        "machine": info,
        "load_average": {"before": load_before, "after": load_after},
        "rounds": {"train": rounds_train, "infer": rounds_infer, "warmup": warmup},
        "goals": goals,
        "cases": stats,
        "seconds": {key: [round(s, 7) for s in values] for key, values in times.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table, write the JSON and the README section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds-train", type=int, default=100)
    parser.add_argument("--rounds-infer", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help=f"torch threads; other than {THREADS}, results go to nn-<N>threads.json and the "
        "README is left alone (a check of how much the spread comes from other processes)",
    )
    parser.add_argument("--quick", action="store_true", help="a few rounds, to try the script")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--from-json", action="store_true", help=f"re-render the README from {RESULTS.name}"
    )
    args = parser.parse_args([] if argv is None else argv)
    if args.from_json:
        result = json.loads(RESULTS.read_text(encoding="utf-8"))
        write_readme_section(markdown(result))
        return result
    if args.quick:
        args.rounds_train, args.rounds_infer, args.warmup = 10, 30, 2
    result = run(args.rounds_train, args.rounds_infer, args.warmup, args.seed, args.threads)
    print_table(result)
    if args.no_write:
        return result
    if args.threads == THREADS:
        atomic_write_text(RESULTS, json.dumps(result, indent=1) + "\n")
        write_readme_section(markdown(result))
        print(f"wrote {RESULTS.relative_to(HERE.parent)} and {README.relative_to(HERE.parent)}")
    else:
        path = RESULTS.with_name(f"nn-{args.threads}threads.json")
        atomic_write_text(path, json.dumps(result, indent=1) + "\n")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
