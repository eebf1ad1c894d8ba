"""The result of a real simulation (the sample data, DuckDB engine) agrees with its own outcome rows.

The engines mark each row ``converted``; the result recomputes conversion per user from the goal events. The
two are independent routes to the same figures, so they must agree, as must the counts and the cap.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import SAMPLE, simulate_sample
from triggerlab.results import SimulationResult
from triggerlab.statuses import STATUSES

pytestmark = pytest.mark.slow

CAMPAIGNS = [
    SAMPLE / "campaigns" / f"{name}.yaml"
    for name in ("order_confirmation", "fitness_milestone", "subscription_upgrade")
]
FITNESS_CAP = 2000


@pytest.fixture(scope="module")
def forecast() -> SimulationResult:
    return simulate_sample(
        CAMPAIGNS,
        progress=False,
    )


def _users(forecast: SimulationResult, campaign_id: str, status: str, *, converted: bool = False) -> int:
    rows = forecast.outcomes.filter((pl.col("campaign_id") == campaign_id) & (pl.col("status") == status))
    if converted:
        rows = rows.filter(pl.col("converted"))
    return rows["identity"].n_unique()


def test_uplift_agrees_with_the_engine_converted_column(forecast: SimulationResult) -> None:
    uplift = forecast.summary()["uplift"]
    assert sorted(uplift) == ["1695721550", "1750575722"]
    for campaign_id, figures in uplift.items():
        assert figures["users_test"] == _users(forecast, campaign_id, "sent")
        assert figures["converted_test"] == _users(forecast, campaign_id, "sent", converted=True)
        assert figures["users_control"] == _users(forecast, campaign_id, "control")
        assert figures["converted_control"] == _users(forecast, campaign_id, "control", converted=True)
        assert figures["converted_test"] > 0 and figures["converted_control"] > 0


def test_revenue_follows_the_clevertap_definition(forecast: SimulationResult) -> None:
    order = forecast.summary()["uplift"]["1695721550"]
    expected = (order["arpu_test"] - order["arpu_control"]) * order["users_test"]
    assert order["incremental_revenue"] == pytest.approx(expected, rel=1e-12)
    assert order["revenue_non_numeric"] == 0
    assert forecast.summary()["uplift"]["1750575722"]["arpu_test"] is None  # no revenue_property


def test_counts_add_up(forecast: SimulationResult) -> None:
    summary = forecast.summary()
    assert sum(summary["statuses"].values()) == summary["recipients"] == forecast.outcomes.height
    by_campaign = forecast.funnel(by_campaign=True)
    assert by_campaign["total"].to_list() == [summary["statuses"][s] for s in STATUSES]
    for campaign_id, figures in summary["campaigns"].items():
        assert by_campaign[campaign_id].to_list() == [figures["statuses"][s] for s in STATUSES]
        assert figures["users_allotted"] >= figures["users_sent"] + figures["allotted_not_delivered"]
    assert summary["users_sent"] == sum(c["users_sent"] for c in summary["campaigns"].values())


def test_a_capped_campaign_allots_exactly_its_cap(forecast: SimulationResult) -> None:
    fitness = forecast.summary()["campaigns"]["1750575722"]
    assert fitness["statuses"]["target_capped"] > 0
    assert fitness["users_allotted"] == FITNESS_CAP
