import math

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.ot import CircleShape, fit_shape, plot_shape_fit

ot = pytest.importorskip("ot", reason="POT is the exact reference")


def _rings(centres, radii, fractions, n, seed=0):
    rng = np.random.default_rng(seed)
    label = rng.choice(len(radii), n, p=fractions)
    angle = rng.uniform(0, 2 * np.pi, n)
    offset = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return np.asarray(centres)[label] + np.asarray(radii)[label, None] * offset


def _pot_emd(points, shape):
    shape_points, shape_weights = (t.detach().double().numpy() for t in shape.cloud())
    cost = ot.dist(points, shape_points, metric="euclidean")
    return float(ot.emd2(np.full(len(points), 1 / len(points)), shape_weights, cost))


@pytest.mark.parametrize("kind", ["ring", "disk"])
def test_shape_cloud_is_differentiable_and_carries_the_fractions(kind):
    shape = CircleShape([[0.0, 0.0], [2.0, 0.0]], [1.0, 0.5], [1.0, 3.0], kind=kind)
    points, weights = shape.cloud()
    assert weights.sum().item() == pytest.approx(1.0)
    assert weights[: shape.points_per_circle].sum().item() == pytest.approx(0.25)
    distance = torch.linalg.vector_norm(points[:64], dim=1)
    if kind == "ring":
        assert torch.allclose(distance, torch.ones(64))
    else:
        assert distance.max() <= 1.0
    (points.sum() + weights[0]).backward()
    assert all(p.grad is not None for p in shape.parameters())


def test_one_ring_is_recovered(tmp_path):
    points = _rings([[0.2, -0.1]], [0.4], [1.0], 300)
    fit = fit_shape(points, n_circles=1, steps=60, critic_steps=5, final_steps=150, hidden=(32, 32))
    assert fit.shape.centres.detach().numpy() == pytest.approx(np.array([[0.2, -0.1]]), abs=0.05)
    assert fit.shape.radii.item() == pytest.approx(0.4, abs=0.03)
    pot = _pot_emd(points, fit.shape)
    assert fit.emd.value <= pot * (1 + 1e-4)
    assert pot < 0.05
    assert plot_shape_fit(points, None, fit, tmp_path / "fit.png").stat().st_size > 0


@pytest.mark.slow
def test_two_rings_are_recovered_and_the_fitted_emd_matches_pot():
    centres, radii, fractions = [[-0.5, 0.0], [0.6, 0.3]], [0.3, 0.2], [0.6, 0.4]
    points = _rings(centres, radii, fractions, 1000)
    fit = fit_shape(points, n_circles=2, steps=200, critic_steps=10, shape_lr=5e-3)
    order = np.argsort(fit.shape.centres.detach().numpy()[:, 0])
    assert fit.shape.centres.detach().numpy()[order] == pytest.approx(np.array(centres), abs=0.03)
    assert fit.shape.radii.detach().numpy()[order] == pytest.approx(np.array(radii), abs=0.02)
    assert fit.shape.fractions.detach().numpy()[order] == pytest.approx(
        np.array(fractions), abs=0.04
    )
    truth = CircleShape(centres, radii, fractions)
    floor = _pot_emd(points, truth)
    pot = _pot_emd(points, fit.shape)
    assert pot < 2 * floor + 0.01
    assert fit.emd.value <= pot * (1 + 1e-4)


def test_bad_shape_input_is_rejected():
    with pytest.raises(DataError, match="empty"):
        fit_shape(np.zeros((0, 2)))
    with pytest.raises(DataError, match="2-d"):
        fit_shape(np.zeros((5, 3)))
    with pytest.raises(DataError, match="negative"):
        fit_shape(np.zeros((2, 2)), weights=[1.0, -2.0])
    with pytest.raises(DataError, match="cannot seed"):
        fit_shape(np.zeros((2, 2)), n_circles=3)
    with pytest.raises(ConfigError, match="kind"):
        CircleShape([[0.0, 0.0]], [1.0], [1.0], kind="ellipse")
    with pytest.raises(ConfigError, match="> 0"):
        CircleShape([[0.0, 0.0]], [-1.0], [1.0])
    assert math.isfinite(CircleShape([[0.0, 0.0]], [1.0], [1.0]).radii.item())
