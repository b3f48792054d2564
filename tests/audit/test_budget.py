"""Physics budgets: their widths, and budgets that allow nothing or are not numbers."""

import math

import pytest
import torch

from robusthep.audit.budget import Budget
from robusthep.errors import ConfigError


def test_the_constituent_budget_keeps_pt_within_two_percent():
    budget = Budget.constituents()
    log_width = budget.widths[0]
    assert 0.98 <= math.exp(-log_width) and math.exp(log_width) <= 1.02 + 1e-12
    assert budget.widths[1:] == (0.02, 0.02)


def test_the_jet_budget_moves_pt_mass_and_eta_and_holds_the_ratios():
    budget = Budget.jets()
    assert budget.widths[0] == budget.widths[1] == pytest.approx(math.log(1.02))
    assert budget.widths[2:] == (0.02, 0.0, 0.0)


@pytest.mark.parametrize("bad", [0.0, -0.01, float("nan"), float("inf")])
def test_a_budget_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(ConfigError, match="budget"):
        Budget.constituents(pt_fraction=bad)
    with pytest.raises(ConfigError, match="budget"):
        Budget.constituents(eta=bad)
    with pytest.raises(ConfigError, match="budget"):
        Budget((bad, bad), ("a", "b"))


def test_a_budget_must_match_the_input():
    with pytest.raises(ConfigError, match="has 3 features"):
        Budget.constituents().check_input(torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="2 budget widths for 1"):
        Budget((0.1, 0.1), ("a",))
