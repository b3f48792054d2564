"""Learning to pivot on a nuisance: the pivoted output moves less with the nuisance."""

import numpy as np
import pytest
import torch

from robusthep.errors import DataError
from robusthep.infer.pivot import nuisance_protected, output_shift, train_pivot


def _toy(n: int, z: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Two features: x0 separates the classes and is shifted by z, x1 separates them too."""
    y = (torch.rand(n, generator=generator) < 0.5).float()
    x0 = y + torch.randn(n, generator=generator) + 2 * (z - 1) / 0.1
    x1 = 0.7 * y + torch.randn(n, generator=generator)
    return torch.stack([x0, x1], dim=1), y


@pytest.mark.slow
def test_pivot_reduces_the_dependence_of_the_output_on_the_nuisance():
    generator = torch.Generator().manual_seed(0)
    z = 1 + 0.1 * torch.randn(4000, generator=generator)
    x, y = _toy(4000, z, generator)
    data = (x, y, torch.ones(4000), z)
    shifts = {}
    for strength in (0.0, 20.0):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        train_pivot(
            model,
            data,
            strength=strength,
            loc=1.0,
            scale=0.1,
            pretrain_epochs=3,
            epochs=8,
            batch_size=128,
            lr=3e-3,
            adversary_steps=2,
        )
        outputs = {}
        for value in (0.9, 1.1):
            g = torch.Generator().manual_seed(1)
            xt, _ = _toy(3000, torch.full((3000,), value), g)
            with torch.no_grad():
                outputs[value] = torch.sigmoid(model(xt)).reshape(-1).numpy()
        shifts[strength] = output_shift(outputs[0.9], outputs[1.1])
    assert shifts[20.0] < 0.5 * shifts[0.0]


def test_protected_variable_is_the_nuisance_for_every_event():
    batch = (
        torch.zeros(3, 1),
        torch.tensor([0.0, 1.0, 0.0]),
        torch.tensor([1.0, 2.0, 3.0]),
        torch.tensor([0.9, 1.0, 1.1]),
    )
    z, w = nuisance_protected(batch)
    assert z.tolist() == pytest.approx([0.9, 1.0, 1.1]) and w.tolist() == [1.0, 2.0, 3.0]


def test_output_shift():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 1000)
    assert output_shift(a, a) == 0.0
    assert output_shift(a, a + 2) == 1.0
    with pytest.raises(DataError):
        output_shift([], a)
