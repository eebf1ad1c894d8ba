"""Uplift statistics against hand-computed values, and every edge of spec/semantics.md ("Statistics")."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from triggerlab.stats import Group, Proportions, Revenue, compare, rate, revenue_uplift, two_proportions

# The worked example: 1000 test users, 120 converted; 1000 control users, 100 converted.
# Reference values below were computed by hand with 40-digit decimals:
#   Wald SE  = sqrt(.12 * .88 / 1000 + .10 * .90 / 1000) = sqrt(.0001956) = 0.013985706989637670798...
#   ci95     = .02 -/+ 1.959964 * SE = [-0.007411482214238207808, 0.047411482214238207808]
#   pooled   = .11; SE = sqrt(.11 * .89 * (2 / 1000)) = sqrt(.0001958); z = 1.429300849823232172360...
#   p-value  = 2 * (1 - Phi(z)) = 0.152917781863946
#   MDE      = (1.959964 + .841621) * sqrt(.10 * .90 * (2 / 1000)) = 0.037587207028462489899...
WORKED = two_proportions(120, 1000, 100, 1000)


def test_worked_example_difference_and_relative_uplift() -> None:
    assert WORKED.uplift_abs == pytest.approx(0.02, abs=1e-12)
    assert WORKED.uplift_rel == pytest.approx(0.2, abs=1e-12)


def test_worked_example_wald_interval() -> None:
    assert WORKED.ci95 is not None
    low, high = WORKED.ci95
    assert low == pytest.approx(-0.007411482214238207808, abs=1e-12)
    assert high == pytest.approx(0.047411482214238207808, abs=1e-12)


def test_worked_example_pooled_z_test() -> None:
    z = 0.02 / math.sqrt(0.11 * 0.89 * 0.002)
    assert z == pytest.approx(1.429300849823232172360, abs=1e-12)
    assert WORKED.p_value == pytest.approx(0.152917781863946, abs=1e-12)
    # An independent route to the same number: the standard library's normal distribution.
    assert WORKED.p_value == pytest.approx(2 * (1 - NormalDist().cdf(z)), abs=1e-12)


def test_worked_example_minimum_detectable_effect() -> None:
    assert WORKED.mde == pytest.approx(0.037587207028462489899, abs=1e-12)


def test_groups_of_different_sizes_each_weigh_their_own_rate() -> None:
    # 30 of 100 test users, 20 of 400 control users:
    #   Wald SE = sqrt(.3 * .7 / 100 + .05 * .95 / 400) = sqrt(.00221875)
    #   pooled  = 50 / 500 = .1; SE = sqrt(.1 * .9 * (1/100 + 1/400)) = sqrt(.001125)
    #   MDE     = (1.959964 + .841621) * sqrt(.05 * .95 * (1/100 + 1/400))
    result = two_proportions(30, 100, 20, 400)
    assert result.uplift_abs == pytest.approx(0.25, abs=1e-12)
    assert result.uplift_rel == pytest.approx(5.0, abs=1e-12)
    se = math.sqrt(0.00221875)
    assert result.ci95 == pytest.approx((0.25 - 1.959964 * se, 0.25 + 1.959964 * se), abs=1e-12)
    assert result.p_value == pytest.approx(math.erfc(0.25 / math.sqrt(0.001125) / math.sqrt(2)), abs=1e-12)
    assert result.mde == pytest.approx((1.959964 + 0.841621) * math.sqrt(0.05 * 0.95 * 0.0125), abs=1e-12)


def test_rates_are_per_user_and_null_for_an_empty_group() -> None:
    assert rate(120, 1000) == 0.12
    assert rate(0, 0) is None


@pytest.mark.parametrize(
    "counts", [(5, 10, 0, 0), (0, 0, 5, 10), (0, 0, 0, 0)], ids=["control empty", "test empty", "both empty"]
)
def test_an_empty_group_makes_every_comparison_null(counts: tuple[int, int, int, int]) -> None:
    assert two_proportions(*counts) == Proportions(None, None, None, None, None)


def test_an_empty_group_still_reports_the_other_group_rate_and_arpu() -> None:
    uplift = compare(Group(10, 4, 80.0), Group(0, 0, 0.0), revenue_non_numeric=0)
    assert (uplift.rate_test, uplift.rate_control) == (0.4, None)
    assert (uplift.arpu_test, uplift.arpu_control) == (8.0, None)
    assert (uplift.uplift_abs, uplift.ci95, uplift.p_value, uplift.mde) == (None, None, None, None)
    assert (uplift.incremental_revenue, uplift.revenue_boost_pct) == (None, None)


def test_control_rate_zero_has_no_relative_uplift_and_zero_mde() -> None:
    result = two_proportions(10, 100, 0, 100)
    assert result.uplift_abs == pytest.approx(0.1, abs=1e-12)
    assert result.uplift_rel is None
    assert result.mde == 0.0
    # Wald SE = sqrt(.1 * .9 / 100) = .03; pooled .05, SE = sqrt(.05 * .95 * .02), z = .1 / that
    assert result.ci95 == pytest.approx((0.1 - 1.959964 * 0.03, 0.1 + 1.959964 * 0.03), abs=1e-12)
    z = 0.1 / math.sqrt(0.05 * 0.95 * 0.02)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "relative"),
    [((0, 50, 0, 40), None), ((50, 50, 20, 20), 0.0)],
    ids=["nobody converted", "everybody converted"],
)
def test_pooled_standard_error_zero_gives_a_null_p_value(
    counts: tuple[int, int, int, int], relative: float | None
) -> None:
    result = two_proportions(*counts)
    assert result.p_value is None
    assert result.uplift_abs == 0.0
    assert result.uplift_rel == relative
    assert result.ci95 == (0.0, 0.0)
    assert result.mde == 0.0


def test_revenue_per_user_incremental_revenue_and_boost() -> None:
    money = revenue_uplift(Group(1000, 120, 1500.0), Group(1000, 100, 1000.0))
    assert money == Revenue(
        arpu_test=1.5, arpu_control=1.0, incremental_revenue=500.0, revenue_boost_pct=50.0
    )


def test_incremental_revenue_scales_by_users_sent_not_control_size() -> None:
    # ARPU 2.5 vs 2.0 over 400 users sent: (2.5 - 2.0) x 400 = 200; boost 25%.
    money = revenue_uplift(Group(400, 40, 1000.0), Group(100, 8, 200.0))
    assert money == Revenue(2.5, 2.0, 200.0, 25.0)


def test_boost_is_null_when_control_arpu_is_zero() -> None:
    money = revenue_uplift(Group(100, 10, 250.0), Group(100, 0, 0.0))
    assert money == Revenue(
        arpu_test=2.5, arpu_control=0.0, incremental_revenue=250.0, revenue_boost_pct=None
    )


def test_without_a_revenue_property_every_revenue_figure_is_null() -> None:
    uplift = compare(Group(100, 10), Group(100, 5))
    assert (uplift.arpu_test, uplift.arpu_control, uplift.incremental_revenue) == (None, None, None)
    assert (uplift.revenue_boost_pct, uplift.revenue_non_numeric) == (None, None)


def test_as_dict_is_the_json_uplift_object_in_key_order() -> None:
    uplift = compare(Group(4, 2, 30.0), Group(2, 0, 0.0), revenue_non_numeric=1)
    data = uplift.as_dict()
    assert list(data) == [
        "users_test",
        "converted_test",
        "rate_test",
        "users_control",
        "converted_control",
        "rate_control",
        "uplift_abs",
        "uplift_rel",
        "ci95",
        "p_value",
        "mde",
        "arpu_test",
        "arpu_control",
        "incremental_revenue",
        "revenue_boost_pct",
        "revenue_non_numeric",
    ]
    # Wald SE = sqrt(.5 * .5 / 4) = .25; pooled 2/6, SE = sqrt(1/3 * 2/3 * (1/4 + 1/2)) = sqrt(1/6)
    assert data["ci95"] == pytest.approx([0.5 - 1.959964 * 0.25, 0.5 + 1.959964 * 0.25], abs=1e-12)
    assert data["p_value"] == pytest.approx(math.erfc(0.5 * math.sqrt(6) / math.sqrt(2)), abs=1e-12)
    assert {k: data[k] for k in ("rate_test", "rate_control", "uplift_abs", "uplift_rel", "mde")} == {
        "rate_test": 0.5,
        "rate_control": 0.0,
        "uplift_abs": 0.5,
        "uplift_rel": None,
        "mde": 0.0,
    }
    assert (data["arpu_test"], data["arpu_control"], data["incremental_revenue"]) == (7.5, 0.0, 30.0)
    assert (data["revenue_boost_pct"], data["revenue_non_numeric"]) == (None, 1)
