import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.uq import ACTIVATIONS, NTKMLP, empirical_ntk, fc_kernels


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2])
def test_empirical_ntk_of_a_wide_network_approaches_the_analytic_one(activation, depth):
    x = torch.randn(5, 3, dtype=torch.float64)
    analytic = fc_kernels(x, depth=depth, activation=activation, w_std=1.4, b_std=0.2).ntk
    errors = []
    for width in (32, 1024):
        net = NTKMLP(
            3, 1, hidden=(width,) * depth, activation=activation, w_std=1.4, b_std=0.2, seed=1
        ).double()
        empirical = empirical_ntk(net, x)
        errors.append(float((empirical - analytic).abs().max() / analytic.abs().max()))
    # Fluctuations of the finite-width NTK shrink like 1/√width.
    assert errors[1] < 0.1
    assert errors[1] < errors[0]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_nngp_is_the_output_covariance_over_initialisations(activation):
    x = torch.randn(3, 2, dtype=torch.float64)
    analytic = fc_kernels(x, depth=1, activation=activation, w_std=1.3, b_std=0.1).nngp
    outputs = torch.stack(
        [
            NTKMLP(2, 1, hidden=(128,), activation=activation, w_std=1.3, b_std=0.1, seed=s)
            .double()(x)
            .squeeze(-1)
            .detach()
            for s in range(400)
        ]
    )
    sample = outputs.T @ outputs / len(outputs)
    assert torch.allclose(sample, analytic, atol=0.15 * float(analytic.diagonal().max()))


def test_kernels_are_symmetric_and_positive_semidefinite():
    x = torch.randn(8, 4, dtype=torch.float64)
    for activation in ACTIVATIONS:
        k = fc_kernels(x, depth=3, activation=activation, w_std=1.2, b_std=0.3)
        for matrix in (k.nngp, k.ntk):
            assert torch.allclose(matrix, matrix.T)
            assert torch.linalg.eigvalsh(matrix).min() > -1e-10


def test_full_empirical_ntk_is_block_diagonal_for_independent_outputs():
    net = NTKMLP(2, 3, hidden=(16,), seed=0).double()
    full = empirical_ntk(net, torch.randn(4, 2, dtype=torch.float64), outputs="full")
    assert full.shape == (4, 4, 3, 3)
    mean = empirical_ntk(net, torch.randn(4, 2, dtype=torch.float64))
    assert mean.shape == (4, 4)


def test_unsupported_activation_is_a_config_error_naming_the_valid_ones():
    with pytest.raises(ConfigError, match="tanh.*erf, relu"):
        fc_kernels(torch.zeros(2, 2), activation="tanh")
    with pytest.raises(ConfigError, match="tanh"):
        NTKMLP(2, 1, activation="tanh")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"depth": -1}, ConfigError),
        ({"w_std": 0.0}, ConfigError),
        ({"b_std": -1.0}, ConfigError),
    ],
)
def test_bad_architecture_is_rejected(kwargs, error):
    with pytest.raises(error):
        fc_kernels(torch.zeros(2, 2), **kwargs)


def test_bad_inputs_are_data_errors():
    with pytest.raises(DataError, match="features"):
        fc_kernels(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(DataError, match="NaN"):
        fc_kernels(np.array([[np.nan, 0.0]]))
    with pytest.raises(DataError, match="shape"):
        fc_kernels(torch.zeros(0, 2))
    with pytest.raises(ConfigError, match="no trainable"):
        empirical_ntk(torch.nn.ReLU(), torch.zeros(1, 2))
