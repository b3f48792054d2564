"""The guarantees, tested as properties over random architectures, weights and inputs."""

import tempfile

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.audit import verify
from robusthep.io import OnnxModel, export_onnx, load_model, save_model
from robusthep.nn import (
    MonotonicWrapper,
    Standardize,
    lipschitz_bound,
    lipschitz_mlp,
    to_plain,
)
from robusthep.nn.norms import vector_norm


@st.composite
def architectures(draw):
    group_size = draw(st.sampled_from([2, 4]))
    depth = draw(st.integers(0, 3))
    hidden = tuple(group_size * draw(st.integers(1, 6)) for _ in range(depth))
    return {
        "in_features": draw(st.integers(1, 6)),
        "out_features": draw(st.integers(1, 3)),
        "hidden": hidden,
        "group_size": group_size,
        "lipschitz": draw(st.floats(0.1, 10.0)),
        "input_norm": draw(st.sampled_from(["one", "inf", "two"])),
    }


def scramble(model, scale, seed):
    """Give the free weights values far outside the bound, as training might."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
    return model


def empirical_ratio(model, n_in, norm, seed):
    generator = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(2000, n_in, generator=generator, dtype=torch.float64)
    y = x + torch.randn(2000, n_in, generator=generator, dtype=torch.float64) * 10 ** (
        -2 * torch.rand(2000, 1, generator=generator, dtype=torch.float64)
    )
    with torch.no_grad():
        change = (model(x) - model(y)).abs().max(dim=1).values
    return float((change / vector_norm(x - y, norm)).max())


@given(arch=architectures(), scale=st.floats(0.01, 100.0), seed=st.integers(0, 2**16))
def test_network_bound_holds_for_any_weights(arch, scale, seed):
    # float64, so that rounding of outputs cannot pass for a violation
    net = scramble(lipschitz_mlp(**arch), scale, seed).double()
    bound = net.lipschitz_bound()
    assert bound <= arch["lipschitz"] * (1 + 1e-9)
    for mode in (True, False):
        net.train(mode)
        ratio = empirical_ratio(net, arch["in_features"], arch["input_norm"], seed)
        assert ratio <= bound * (1 + 1e-9)


@st.composite
def monotonic_models(draw):
    arch = draw(architectures())
    arch["input_norm"] = "one"
    arch["out_features"] = 1
    n = arch["in_features"]
    signs = draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n))
    if not any(signs):
        signs[draw(st.integers(0, n - 1))] = draw(st.sampled_from([-1, 1]))
    net = scramble(lipschitz_mlp(**arch), draw(st.floats(0.1, 50.0)), draw(st.integers(0, 999)))
    increasing = [i for i, s in enumerate(signs) if s > 0]
    decreasing = [i for i, s in enumerate(signs) if s < 0]
    return MonotonicWrapper(net, increasing=increasing, decreasing=decreasing), signs


def gradient_signs_hold(model, signs, x):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    s = torch.tensor(signs, dtype=grad.dtype)
    return bool((grad * s >= -1e-5).all())


@settings(max_examples=15)
@given(model_signs=monotonic_models(), seed=st.integers(0, 2**16))
def test_monotonic_wrapper_has_no_violations(model_signs, seed):
    model, signs = model_signs
    x = 5 * torch.randn(300, len(signs), generator=torch.Generator().manual_seed(seed))
    assert gradient_signs_hold(model, signs, x)
    report = verify(model, x, pairs=256, grid=16, steps=5, seed=seed)
    assert sum(report.monotonic_violations.values()) == 0
    assert report.lipschitz_violations == 0


@settings(max_examples=10)
@given(model_signs=monotonic_models(), seed=st.integers(0, 2**16))
def test_guarantees_survive_save_load_and_export(model_signs, seed):
    model, signs = model_signs
    model.eval()
    n = len(signs)
    x = 3 * torch.randn(200, n, generator=torch.Generator().manual_seed(seed))
    bound = lipschitz_bound(model)
    folder = tempfile.mkdtemp()
    loaded = load_model(save_model(model, f"{folder}/model"))
    plain = to_plain(model)
    onnx = OnnxModel(export_onnx(model, f"{folder}/model.onnx", in_features=n))
    with torch.no_grad():
        reference = model(x)
        assert torch.equal(loaded(x), reference)
        assert torch.allclose(plain(x), reference, atol=1e-5, rtol=1e-5)
        assert torch.allclose(onnx(x), reference, atol=1e-5, rtol=1e-5)
    assert lipschitz_bound(plain) <= bound * (1 + 1e-6)
    assert lipschitz_bound(loaded) <= bound * (1 + 1e-6)
    assert gradient_signs_hold(plain, signs, x) and gradient_signs_hold(loaded, signs, x)
    increasing = [i for i, s in enumerate(signs) if s > 0]
    decreasing = [i for i, s in enumerate(signs) if s < 0]
    for candidate in (plain, onnx):
        report = verify(
            candidate,
            x,
            increasing=increasing,
            decreasing=decreasing,
            lipschitz=bound,
            pairs=256,
            grid=16,
            steps=5,
            seed=seed,
        )
        assert report.violations == 0, report


def test_standardised_monotonic_model_keeps_signs_in_raw_units():
    raw = torch.randn(500, 3) * torch.tensor([1000.0, 1.0, 0.01]) + 50
    scaler = Standardize.fit(raw)
    g = MonotonicWrapper(lipschitz_mlp(3, hidden=(8, 8)), increasing=[0], decreasing=[2])
    model = torch.nn.Sequential(scaler, g)
    report = verify(model, raw, increasing=[0], decreasing=[2], pairs=256, steps=5)
    assert report.violations == 0
    # the bound in raw units is the standardised one divided by the smallest scale
    assert abs(lipschitz_bound(model) - lipschitz_bound(g) / float(scaler.scale.min())) < 1e-3
