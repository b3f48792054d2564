"""Agreement with neural-tangents (JAX); skipped where it cannot be imported."""

import numpy as np
import pytest

from robusthep.uq import fc_kernels, infinite_width_ensemble

nt = pytest.importorskip("neural_tangents", reason="neural-tangents (JAX) is not installed")
jax = pytest.importorskip("jax")


@pytest.fixture(scope="module", autouse=True)
def _float64_jax():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _stax_network(depth, activation, w_std, b_std):
    stax = nt.stax
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(512, W_std=w_std, b_std=b_std)]
        layers += [stax.Relu() if activation == "relu" else stax.Erf()]
    return stax.serial(*layers, stax.Dense(1, W_std=w_std, b_std=b_std))


def _relative(ours, theirs):
    theirs = np.asarray(theirs)
    return np.abs(np.asarray(ours) - theirs).max() / np.abs(theirs).max()


@pytest.mark.parametrize(("activation", "depth"), [("relu", 3), ("erf", 2)])
def test_kernels_and_ensemble_prediction_agree_with_neural_tangents(activation, depth):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    y_train = rng.standard_normal((6, 2))
    options = {"depth": depth, "activation": activation, "w_std": 1.5, "b_std": 0.1}
    _, _, kernel_fn = _stax_network(depth, activation, 1.5, 0.1)
    theirs = kernel_fn(x_test, x_train, ("nngp", "ntk"))
    ours = fc_kernels(x_test, x_train, **options)
    assert _relative(ours.nngp.numpy(), theirs.nngp) < 1e-4
    assert _relative(ours.ntk.numpy(), theirs.ntk) < 1e-4
    predict = nt.predict.gradient_descent_mse_ensemble(
        kernel_fn, x_train, y_train, learning_rate=0.5
    )
    for time in (None, 3.0):
        gaussian = predict(x_test=x_test, get="ntk", compute_cov=True, t=time)
        mine = infinite_width_ensemble(
            x_train, y_train, x_test, **options, time=time, learning_rate=0.5
        )
        assert _relative(mine.mean.numpy(), gaussian.mean) < 1e-4
        assert _relative(mine.covariance.numpy(), gaussian.covariance) < 1e-4
