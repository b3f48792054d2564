"""Agreement with neural-tangents (JAX); skipped where it is not installed.

neural-tangents runs in a child process: importing JAX (and the TensorFlow that
neural-tangents pulls in) into the test process starts thread pools that slow every later
torch test many times over.
"""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from robusthep.uq import fc_kernels, infinite_width_ensemble

if importlib.util.find_spec("neural_tangents") is None or importlib.util.find_spec("jax") is None:
    pytest.skip("neural-tangents (JAX) is not installed", allow_module_level=True)

_REFERENCE = """
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from neural_tangents import predict, stax

case = json.load(sys.stdin)
layers = []
for _ in range(case["depth"]):
    layers.append(stax.Dense(512, W_std=case["w_std"], b_std=case["b_std"]))
    layers.append(stax.Relu() if case["activation"] == "relu" else stax.Erf())
layers.append(stax.Dense(1, W_std=case["w_std"], b_std=case["b_std"]))
_, _, kernel_fn = stax.serial(*layers)
x_train, x_test = np.array(case["x_train"]), np.array(case["x_test"])
y_train = np.array(case["y_train"])
kernels = kernel_fn(x_test, x_train, ("nngp", "ntk"))
out = {"nngp": np.asarray(kernels.nngp).tolist(), "ntk": np.asarray(kernels.ntk).tolist()}
ensemble = predict.gradient_descent_mse_ensemble(
    kernel_fn, x_train, y_train, learning_rate=case["learning_rate"]
)
for name, time in (("end", None), ("finite", case["time"])):
    gaussian = ensemble(x_test=x_test, get="ntk", compute_cov=True, t=time)
    out[name] = {
        "mean": np.asarray(gaussian.mean).tolist(),
        "covariance": np.asarray(gaussian.covariance).tolist(),
    }
print(json.dumps(out))
"""


def _relative(ours, theirs):
    theirs = np.asarray(theirs)
    return np.abs(np.asarray(ours) - theirs).max() / np.abs(theirs).max()


@pytest.mark.parametrize(("activation", "depth"), [("relu", 3), ("erf", 2)])
def test_kernels_and_ensemble_prediction_agree_with_neural_tangents(activation, depth):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    y_train = rng.standard_normal((6, 2))
    options = {"depth": depth, "activation": activation, "w_std": 1.5, "b_std": 0.1}
    case = {
        **options,
        "x_train": x_train.tolist(),
        "x_test": x_test.tolist(),
        "y_train": y_train.tolist(),
        "learning_rate": 0.5,
        "time": 3.0,
    }
    child = subprocess.run(
        [sys.executable, "-c", _REFERENCE],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu", "PATH": ""},
    )
    if child.returncode != 0:
        pytest.skip(f"neural-tangents could not run here: {child.stderr.strip()[-300:]}")
    theirs = json.loads(child.stdout.strip().splitlines()[-1])
    ours = fc_kernels(x_test, x_train, **options)
    assert _relative(ours.nngp.numpy(), theirs["nngp"]) < 1e-4
    assert _relative(ours.ntk.numpy(), theirs["ntk"]) < 1e-4
    for name, time in (("end", None), ("finite", 3.0)):
        mine = infinite_width_ensemble(
            x_train, y_train, x_test, **options, time=time, learning_rate=0.5
        )
        assert _relative(mine.mean.numpy(), theirs[name]["mean"]) < 1e-4
        assert _relative(mine.covariance.numpy(), theirs[name]["covariance"]) < 1e-4
