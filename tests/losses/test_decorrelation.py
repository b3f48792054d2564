import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses import (
    DECORRELATION_METHODS,
    decorrelation_loss,
    disco_loss,
    double_disco_loss,
    mode_loss,
)


def _batch():
    generator = torch.Generator().manual_seed(0)
    mass = torch.rand(640, generator=generator, dtype=torch.float64)
    scores = (mass + torch.rand(640, generator=generator, dtype=torch.float64)) / 2
    labels = (torch.rand(640, generator=generator) < 0.2).long()
    return scores, mass, labels, torch.rand(640, generator=generator, dtype=torch.float64)


def test_factory_scales_the_chosen_penalty():
    scores, mass, labels, weights = _batch()
    disco = decorrelation_loss("disco", strength=3.0, unbiased=True)
    expected = 3 * disco_loss(scores, mass, labels, weights, unbiased=True)
    assert disco(scores, mass, labels, weights).item() == pytest.approx(expected.item())
    mode = decorrelation_loss("mode", strength=0.5, order=1)
    expected = 0.5 * mode_loss(scores, mass, labels, weights, order=1)
    assert mode(scores, mass, labels, weights).item() == pytest.approx(expected.item())
    assert sorted(DECORRELATION_METHODS) == ["disco", "mode"]


def test_factory_rejects_bad_names_strengths_and_options():
    with pytest.raises(ConfigError, match="'disco', 'mode'"):
        decorrelation_loss("pivot", strength=1.0)
    with pytest.raises(ConfigError, match="λ"):
        decorrelation_loss("disco", strength=-0.1)
    with pytest.raises(ConfigError, match="λ"):
        decorrelation_loss("disco", strength=float("nan"))
    with pytest.raises(ConfigError, match="order"):
        decorrelation_loss("disco", strength=1.0, order=1)


def test_double_disco_known_answers():
    generator = torch.Generator().manual_seed(0)
    f, g = torch.rand(2, 2000, generator=generator, dtype=torch.float64)
    labels = torch.zeros(2000)
    assert abs(double_disco_loss(f, g, labels, unbiased=True).item()) < 0.003
    assert double_disco_loss(f, f**3, labels).item() > 0.8
    # signal events, however dependent, do not count
    labels[:1000] = 1
    g_signal = torch.where(labels == 1, f, g)
    assert abs(double_disco_loss(f, g_signal, labels, unbiased=True).item()) < 0.01


def test_double_disco_bad_input():
    f = torch.rand(10)
    with pytest.raises(DataError, match="9 entries"):
        double_disco_loss(f, f[:9])
    with pytest.raises(DataError, match="no background"):
        double_disco_loss(f, f, torch.ones(10))
