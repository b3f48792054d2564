"""The toys: what each demonstrates holds at a tiny size, and the run folder is complete."""

import json

import pytest
import torch

from robusthep.report import RunFolder, iter_quantities
from robusthep.studies.toys import (
    MonotonicToyConfig,
    MoonsToyConfig,
    OutlierToyConfig,
    ToysConfig,
    run_toys,
    two_moons,
)

# Small, but large enough for each toy to show its point (about 10 s on one core).
TINY = ToysConfig(
    outlier=OutlierToyConfig(n_points=40, epochs=600),
    monotonic=MonotonicToyConfig(
        n_points=40, hidden=(16, 16), seeds=2, epochs=800, grid_points=301
    ),
    moons=MoonsToyConfig(n_train=400, n_test=400, hidden=(16, 16), epochs=40, batch_size=64),
)


@pytest.fixture(scope="module")
def toys(tmp_path_factory, one_thread):
    folder = RunFolder(tmp_path_factory.mktemp("toys"))
    return folder, run_toys(TINY, folder, command="robusthep toys --quick")


def test_the_lipschitz_fit_ignores_the_outlier_the_mlp_chases(toys):
    _, results = toys
    lipschitz, mlp = results["outlier"]["lipschitz"], results["outlier"]["mlp"]
    assert lipschitz["rmse_domain"]["value"] < mlp["rmse_domain"]["value"]
    assert lipschitz["max_error_domain"]["value"] < mlp["max_error_domain"]["value"]
    # The Lipschitz fit cannot rise more than λ × (distance to its neighbours) at the outlier.
    assert lipschitz["shift_at_outlier"]["value"] < 0.5 * TINY.outlier.outlier_shift
    assert mlp["shift_at_outlier"]["value"] > 0.5 * TINY.outlier.outlier_shift


def test_the_monotonic_fit_never_decreases_and_the_mlp_does(toys):
    _, results = toys
    monotonic, mlp = results["monotonic"]["monotonic"], results["monotonic"]["mlp"]
    assert monotonic["violations"]["value"] == [0] * TINY.monotonic.seeds
    assert monotonic["violations_total"]["value"] == 0
    assert mlp["violations_total"]["value"] > 0


def test_two_moons_are_classified_with_positive_certified_radii(toys):
    _, results = toys
    moons = results["moons"]
    assert moons["accuracy"]["value"] > 0.9
    assert moons["lipschitz_bound"]["value"] <= TINY.moons.lipschitz + 1e-9
    quantiles = [moons["certified_radius"][q]["value"] for q in ("q10", "q50", "q90")]
    assert 0 < quantiles[0] <= quantiles[1] <= quantiles[2]


def test_every_number_has_a_unit_and_the_report_shows_every_figure(toys):
    folder, results = toys
    stored = json.loads((folder.path / "results.json").read_text())
    assert stored == json.loads(json.dumps(results))
    units = {q["unit"] for _, q in iter_quantities(stored)}
    assert units <= {"a.u.", "1", "count"}
    html = (folder.path / "report.html").read_text()
    figures = sorted(p.name for p in folder.figures.iterdir())
    assert figures == ["monotonic.png", "moons_decision.png", "moons_radii.png", "outlier.png"]
    for name in figures:
        assert f'src="figures/{name}"' in html
    assert 'href="results.json"' in html and 'href="config.toml"' in html


def test_two_moons_is_seeded_and_balanced():
    x, labels = two_moons(2000, noise=0.0, seed=5)
    again, _ = two_moons(2000, noise=0.0, seed=5)
    assert torch.equal(x, again)
    assert 0.45 < labels.float().mean() < 0.55
    # Without noise, class 0 lies on the unit circle around (0, 0).
    assert torch.allclose(x[labels == 0].norm(dim=1), torch.ones(int((labels == 0).sum())))
