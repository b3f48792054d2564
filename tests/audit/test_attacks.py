"""FGSM and PGD within physics budgets: boxes, masks, torchattacks agreement, bad models."""

import pytest
import torch
from torch import nn

from robusthep.audit.attacks import fgsm, pgd
from robusthep.audit.budget import Budget
from robusthep.errors import ConfigError, DataError
from robusthep.nn.pfn import ParticleFlowNetwork

pytestmark = pytest.mark.usefixtures("one_thread")

BUDGET = Budget.constituents()


def _pfn():
    torch.manual_seed(1)
    return ParticleFlowNetwork(3, latent=8, phi_hidden=(16,), head_hidden=(16,))


def _jets():
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(12, 7, 3, generator=generator)
    mask = torch.rand(12, 7, generator=generator) > 0.3
    mask[:, 0] = True
    return x, mask


@pytest.mark.parametrize("attack", [fgsm, pgd])
def test_attacks_stay_in_the_box_and_never_move_padding(attack):
    x, mask = _jets()
    labels = (torch.arange(12) % 2).float()
    moved = attack(_pfn(), x, BUDGET, labels=labels, mask=mask)
    change = (moved - x).abs()
    assert bool((change <= BUDGET.tensor() + 1e-6).all())
    assert bool((change[~mask] == 0).all())


def test_fgsm_goes_to_a_corner_and_pgd_does_at_least_as_well():
    x, mask = _jets()
    net = _pfn()
    moved = fgsm(net, x, BUDGET, mask=mask)
    corner = ((moved - x).abs() - BUDGET.tensor()).abs() < 1e-6
    assert bool(corner[mask].float().mean() > 0.9)  # zero gradients give no move
    strong = pgd(net, x, BUDGET, mask=mask, steps=20)
    with torch.no_grad():
        clean, one_step, many = net(x, mask), net(moved, mask), net(strong, mask)
    assert bool((many >= clean - 1e-6).all())
    assert float(many.mean()) >= float(one_step.mean()) - 1e-6


def test_labels_push_signal_down_and_background_up():
    x, mask = _jets()
    net = _pfn()
    labels = (torch.arange(12) % 2).float()
    moved = pgd(net, x, BUDGET, labels=labels, mask=mask)
    with torch.no_grad():
        delta = (net(moved, mask) - net(x, mask)).reshape(-1)
    assert bool((delta[labels == 1] <= 1e-6).all()) and bool((delta[labels == 0] >= -1e-6).all())


class _TwoClass(nn.Module):
    """A binary tagger as the two-class logits (0, f) that torchattacks expects."""

    def __init__(self, tagger: nn.Module) -> None:
        super().__init__()
        self.tagger = tagger

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logit = self.tagger(x)
        return torch.cat([torch.zeros_like(logit), logit], dim=1)


def test_fgsm_on_a_plain_linf_ball_equals_torchattacks():
    torchattacks = pytest.importorskip("torchattacks")
    torch.manual_seed(3)
    tagger = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    model = _TwoClass(tagger).eval()
    # Inside [0.1, 0.9], so torchattacks' clamp to the image range [0, 1] changes nothing.
    x = 0.1 + 0.8 * torch.rand(64, 5)
    labels = (torch.arange(64) % 2).long()
    eps = 0.05
    reference = torchattacks.FGSM(model, eps=eps)(x, labels)
    ours = fgsm(
        model,
        x,
        Budget((eps,) * 5, tuple("abcde")),
        labels=labels,
        objective=lambda output, y: nn.functional.cross_entropy(output, y, reduction="none"),
    )
    assert torch.allclose(ours, reference, atol=1e-7)
    # Our default objective pushes the logit to the wrong class: the same step for a binary
    # tagger, since the cross entropy is monotonic in the logit.
    assert torch.allclose(
        fgsm(tagger, x, Budget((eps,) * 5, tuple("abcde")), labels=labels.float()),
        reference,
        atol=1e-7,
    )


class _Detached(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach().sum(-1, keepdim=True)


class _IgnoresInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), 1)


@pytest.mark.parametrize("model", [_Detached(), _IgnoresInput()])
@pytest.mark.parametrize("attack", [fgsm, pgd])
def test_a_model_without_input_gradient_is_a_clear_error(model, attack):
    with pytest.raises(ConfigError, match="gradient|differentiabl"):
        attack(model, torch.randn(4, 2), Budget((0.1, 0.1), ("a", "b")))


def test_nan_constituents_and_bad_settings_are_refused():
    x, mask = _jets()
    x[0, 0, 1] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        fgsm(_pfn(), x, BUDGET, mask=mask)
    x, mask = _jets()
    with pytest.raises(ConfigError, match="steps"):
        pgd(_pfn(), x, BUDGET, mask=mask, steps=0)
    with pytest.raises(ConfigError, match="step_size"):
        pgd(_pfn(), x, BUDGET, mask=mask, step_size=float("nan"))
    with pytest.raises(ConfigError, match="Budget"):
        fgsm(_pfn(), x, (0.02, 0.02, 0.02), mask=mask)
