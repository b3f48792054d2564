"""Adversarial mismodelling: g stays within the budget and learns to raise the signal."""

import pytest
import torch
from torch import nn

from robusthep.audit.budget import Budget
from robusthep.audit.mismodelling import JetPerturber, mismodelling_loss
from robusthep.errors import DataError
from robusthep.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_perturber_stays_inside_the_budget_and_leaves_padding():
    budget = Budget.constituents()
    g = JetPerturber(budget, torch.zeros(3), torch.ones(3), constituents=True)
    for parameter in g.parameters():
        nn.init.normal_(parameter, std=3.0)
    x = torch.randn(6, 5, 3)
    mask = torch.rand(6, 5) > 0.4
    moved = g(x, mask)
    assert bool(((moved - x).abs() <= budget.tensor() + 1e-7).all())
    assert torch.equal(moved[~mask], x[~mask])
    with pytest.raises(DataError, match="mask"):
        g(x)


def test_g_learns_to_raise_the_signal_and_keep_the_background():
    """Signal at feature b > 0, background at b < 0: f reads a + b; g may move only a, and
    only the signal region is free to rise (the background pays for any change)."""
    generator = torch.Generator().manual_seed(0)
    labels = (torch.arange(400) % 2).float()
    x = torch.randn(400, 2, generator=generator)
    x[:, 1] = torch.where(labels > 0, 1.0, -1.0) + 0.1 * x[:, 1]
    tagger = nn.Linear(2, 1)
    with torch.no_grad():
        tagger.weight.copy_(torch.tensor([[1.0, 1.0]]))
        tagger.bias.zero_()
    tagger.requires_grad_(False)
    budget = Budget((0.5, 0.0), ("a", "b"))
    g = JetPerturber(budget, torch.zeros(2), torch.ones(2))

    def loss(model, batch):
        return mismodelling_loss(
            tagger,
            model,
            batch[0],
            batch[1],
            observables=lambda x, m: x[:, :1],
            classifier_weight=10.0,
            observable_weight=10.0,
        )

    fit(g, loss, train=(x, labels), epochs=60, batch_size=100, lr=2e-2, progress=False)
    with torch.no_grad():
        change = (g(x) - x)[:, 0]
    assert change[labels > 0].mean() > 0.3
    assert change[labels == 0].abs().mean() < 0.05
