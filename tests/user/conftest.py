"""A small synthetic jet table: signal at the W mass, background falling; pt helps, chi2 hurts."""

import numpy as np
import pytest


def jets(rows: int = 800, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = (rng.random(rows) < 0.5).astype(np.int64)
    mass = np.where(label == 1, rng.normal(80, 8, rows), rng.uniform(30, 250, rows))
    return {
        "pt": rng.exponential(60, rows) + 40 * label,
        "chi2": rng.chisquare(3, rows) + 1.5 * (1 - label),
        "tau21": rng.normal(0.55, 0.1, rows) - 0.15 * label + 0.001 * (mass - 80),
        "mass": mass,
        "weight": rng.uniform(0.5, 1.5, rows),
        "label": label,
    }


@pytest.fixture(scope="session")
def make_jets():
    """The table maker, for tests that need other sizes or seeds."""
    return jets


@pytest.fixture(scope="session")
def jet_columns() -> dict[str, np.ndarray]:
    return jets()
