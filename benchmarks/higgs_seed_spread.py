"""How much the higgs study's method comparison moves with the classifier's training seed.

Not a timing: a measurement behind docs/higgs.md ("One training is not a measurement of a
method"). For each training seed (the study's ``seed``: network initialisation, batch
order and the aware method's shifted copies), train the baseline and the
systematic-aware classifiers on the same sample, build their likelihoods, and fit the
*same* pseudo-experiments at μ = 1 (nuisances drawn from the priors): the Asimov widths
(profiled and stat-only) and the central 68.27% range of μ̂ — what a Neyman interval's
width follows. The last lines give the aware/baseline ratio of that range per seed, its
mean and its seed-to-seed spread.

    .venv/bin/python benchmarks/higgs_seed_spread.py docs/configs/higgs/lumi50.toml \
        --experiments 200 --seeds 10

Reads the sample from the cache (generates it the first time, as the study does).
"""

import argparse
import tomllib
from pathlib import Path

import numpy as np
import torch

from robusthep.parallel import Executor
from robusthep.sim import PRIORS, generate_higgs
from robusthep.studies.higgs import (
    SHAPES,
    HiggsConfig,
    Measurement,
    _asimov_widths,
    _sampler,
    _split,
    build_likelihood,
    train_classifier,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="a higgs study configuration (TOML)")
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    with arguments.config.open("rb") as stream:
        base = HiggsConfig(**tomllib.load(stream))
    dataset = generate_higgs(base.sample_settings(), executor=Executor("local", workers=1))
    train, templates, pool = _split(dict(dataset.columns), base)
    sampler, yields = _sampler(pool, base)
    tables = []
    for k in range(arguments.experiments):
        rng = np.random.default_rng(10_000 + k)
        truth = {name: float(prior.sample(rng)) for name, prior in PRIORS[base.prior_set].items()}
        tables.append(sampler.sample(1.0, truth, seed=10_000 + k).table)
    print("| training seed | method | Asimov width, profiled | stat-only | μ̂ 16–84% range |")
    print("| --- | --- | --- | --- | --- |")
    ratios = []
    for seed in range(arguments.seeds):
        config = base.model_copy(update={"seed": seed})
        ranges = {}
        for method in ("baseline", "aware"):
            classifier = train_classifier(train, yields, config, aware=method != "baseline")
            likelihood = build_likelihood(templates, classifier, yields, config, shapes=SHAPES)
            measurement = Measurement(method, classifier, likelihood)
            estimates = [likelihood.fit(c).mu for c in measurement.counts_many(tables)]
            low, high = np.quantile(estimates, [0.15865, 0.84135])
            ranges[method] = high - low
            widths = _asimov_widths(likelihood)
            print(
                f"| {seed} | {method} | {widths['profiled']['value']:.4f} | "
                f"{widths['stat_only']['value']:.4f} | {high - low:.4f} |",
                flush=True,
            )
        ratios.append(ranges["aware"] / ranges["baseline"])
    ratios = np.array(ratios)
    print("aware / baseline μ̂ range per seed:", " ".join(f"{r:.3f}" for r in ratios))
    print(
        f"mean {ratios.mean():.3f}, seed-to-seed std {ratios.std(ddof=1):.3f}, "
        f"error of the mean {ratios.std(ddof=1) / np.sqrt(len(ratios)):.3f}"
    )


if __name__ == "__main__":
    main()
