"""Executor: same results whatever runs them; clear errors for bad kinds and addresses."""

import subprocess
import sys

import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.parallel import Executor


def seeded_draw(seed):
    return np.random.default_rng(seed).normal(size=3).tolist()


SEEDS = [11, 12, 13, 14, 15]
EXPECTED = [seeded_draw(seed) for seed in SEEDS]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_local_results_do_not_depend_on_the_number_of_workers(workers):
    assert Executor("local", workers=workers).map(seeded_draw, SEEDS) == EXPECTED


def test_on_done_sees_every_item_once():
    seen = []
    Executor("local", workers=2).map(seeded_draw, SEEDS, on_done=lambda i, r: seen.append(i))
    assert sorted(seen) == list(range(len(SEEDS)))


def test_an_error_in_a_worker_reaches_the_caller():
    with pytest.raises(ConfigError, match="unknown executor"):
        Executor("local", workers=2).map(Executor, ["dask", "spark"])


def test_empty_work_gives_empty_results():
    assert Executor("local").map(seeded_draw, []) == []


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"kind": "dask"}, "unknown executor 'dask'; valid: local, ray"),
        ({"kind": "local", "workers": 0}, "workers must be at least 1"),
        ({"kind": "local", "address": "auto"}, "only makes sense with the 'ray'"),
    ],
)
def test_bad_executor_arguments_are_config_errors(arguments, match):
    with pytest.raises(ConfigError, match=match):
        Executor(**arguments)


@pytest.mark.parametrize(
    ("address", "match"),
    [
        ("127.0.0.1:1", "cannot reach the Ray head node at '127.0.0.1:1'"),
        ("no-port", "not 'auto' or 'host:port'"),
    ],
)
def test_an_unreachable_ray_address_is_a_config_error(address, match):
    with pytest.raises(ConfigError, match=match):
        Executor("ray", address=address).map(seeded_draw, SEEDS)


def test_the_ray_executor_imports_ray_only_when_it_runs():
    code = "import sys; from robusthep.parallel import Executor; Executor('ray'); "
    code += "print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.slow
def test_ray_gives_the_same_results_as_local_processes():
    assert Executor("ray", workers=2).map(seeded_draw, SEEDS) == EXPECTED
