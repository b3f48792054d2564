import pytest

from robusthep.errors import ConfigError
from robusthep.ot import compare_with_pot, prong_clouds


def test_prong_clouds_are_seeded():
    first, second = prong_clouds(10, seed=4), prong_clouds(10, seed=4)
    for a, b in zip(first, second, strict=True):
        assert (a == b).all()
    with pytest.raises(ConfigError, match="n must be"):
        prong_clouds(0)


def test_compare_with_pot_reports_every_method_against_exact():
    row = compare_with_pot(
        40, neemo=[{"steps": 60, "hidden": (8, 8), "refine": True}], sinkhorn_reg=0.05
    )
    assert row["n"] == 40 and row["exact"] > 0 and row["noise_floor"] > 0
    assert row["sinkhorn_rel"] == pytest.approx((row["sinkhorn"] - row["exact"]) / row["exact"])
    neemo = row["neemo"][0]
    assert neemo["critic_value"] <= neemo["value"] <= row["exact"] + 1e-9
    assert neemo["settings"]["hidden"] == [8, 8]
    assert "sinkhorn" not in compare_with_pot(20, neemo=[], sinkhorn_reg=None, noise_floor=False)
