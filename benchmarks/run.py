"""Run every benchmark in this folder: each ``bench_*.py`` that defines ``main()``."""

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmark_names() -> list[str]:
    """The names (``nn`` for ``bench_nn.py``) of the benchmark modules here, sorted."""
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {benchmark_names()})"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(benchmark_names()))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; available: {benchmark_names()}")
    sys.path.insert(0, str(HERE))
    ran = 0
    for name in args.names or benchmark_names():
        module = importlib.import_module(f"bench_{name}")
        if not callable(getattr(module, "main", None)):
            print(f"skipping bench_{name}.py: it defines no main()")
            continue
        print(f"== bench_{name}")
        module.main()
        ran += 1
    if not ran:
        print("no benchmark ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
