import math

import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses import AdversarialPivot, MixtureDensityNetwork, disco_loss
from robusthep.train import fit


def test_log_prob_is_the_gaussian_mixture_density():
    adversary = MixtureDensityNetwork(2, components=3, loc=150.0, scale=60.0)
    context, z = torch.rand(5, 2), torch.tensor([60.0, 100.0, 150.0, 200.0, 290.0])
    log_weights, means, log_scales = adversary(context)
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=log_weights),
        torch.distributions.Normal(150 + 60 * means, 60 * log_scales.exp()),
    )
    torch.testing.assert_close(adversary.log_prob(z, context), mixture.log_prob(z))


def _information(z, context, epochs=4):
    """The NLL drop of a trained adversary below the marginal (Gaussian) NLL of z."""
    torch.manual_seed(0)
    adversary = MixtureDensityNetwork(1, components=3, loc=z.mean().item(), scale=z.std().item())
    fit(
        adversary,
        lambda model, batch: model.nll(batch[0], batch[1]),
        train=(z, context),
        epochs=epochs,
        batch_size=100,
        lr=2e-2,
        progress=False,
    )
    with torch.no_grad():
        marginal = 0.5 * math.log(2 * math.pi * math.e * z.var().item())
        return marginal - adversary.nll(z, context).item()


def test_adversary_finds_a_dependence_and_no_more():
    generator = torch.Generator().manual_seed(1)
    context = torch.rand(1000, 1, generator=generator)
    noise = torch.randn(1000, generator=generator)
    assert _information(100 + 60 * context[:, 0] + 5 * noise, context) > 1.0
    assert abs(_information(100 + 20 * noise, context)) < 0.05


def _toy(n=4000, seed=0):
    generator = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=generator) < 0.5).float()
    x = torch.randn(n, 2, generator=generator) + y[:, None]
    mass = 100 + 30 * x[:, 1]  # the second feature carries the mass
    return x, y, torch.ones(n), mass


def test_pivot_updates_the_adversary_only_in_training_and_never_through_the_classifier():
    x, y, w, mass = _toy(n=64)
    adversary = MixtureDensityNetwork(1, loc=100.0, scale=30.0)
    pivot = AdversarialPivot(adversary, strength=2.0, adversary_steps=3)
    classifier = torch.nn.Linear(2, 1)
    before = [p.detach().clone() for p in adversary.parameters()]
    loss = pivot(classifier, (x, y, w, mass))
    assert pivot.adversary_updates == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, adversary.parameters(), strict=True))
    loss.backward()
    assert all(p.grad is None for p in adversary.parameters())
    assert classifier.weight.grad is not None
    with torch.no_grad():
        pivot(classifier, (x, y, w, mass))
    assert pivot.adversary_updates == 3


@pytest.mark.slow
def test_pivot_decorrelates_the_classifier_from_the_mass():
    x, y, w, mass = _toy()
    background = y == 0

    def train(strength):
        torch.manual_seed(0)
        classifier = torch.nn.Linear(2, 1)
        adversary = MixtureDensityNetwork(1, components=3, loc=100.0, scale=30.0)
        pivot = AdversarialPivot(adversary, strength=strength, adversary_steps=5, adversary_lr=1e-2)
        fit(
            classifier,
            pivot,
            train=(x, y, w, mass),
            epochs=8,
            batch_size=256,
            lr=1e-2,
            progress=False,
        )
        with torch.no_grad():
            scores = torch.sigmoid(classifier(x)).reshape(-1)
        return disco_loss(scores[background], mass[background]).item()

    assert train(5.0) < 0.3 * train(0.0)


def test_bad_arguments():
    adversary = MixtureDensityNetwork(1)
    with pytest.raises(ConfigError, match="λ"):
        AdversarialPivot(adversary, strength=-1.0)
    with pytest.raises(ConfigError, match="adversary_steps"):
        AdversarialPivot(adversary, strength=1.0, adversary_steps=0)
    with pytest.raises(ConfigError, match="MixtureDensityNetwork"):
        AdversarialPivot(torch.nn.Linear(1, 1), strength=1.0)
    with pytest.raises(ConfigError, match="scale"):
        MixtureDensityNetwork(1, scale=0.0)
    with pytest.raises(DataError, match="2 features"):
        adversary.nll(torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(DataError, match="NaN"):
        adversary.nll(torch.tensor([1.0, float("nan")]), torch.zeros(2, 1))
    with pytest.raises(DataError, match="zero"):
        adversary.nll(torch.ones(2), torch.zeros(2, 1), torch.zeros(2))
