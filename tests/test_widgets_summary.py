"""The overview the builder shows before publishing: each section of a campaign in plain words."""

from __future__ import annotations

from pathlib import Path

from triggerlab.files import load_campaign
from triggerlab.widgets._summary import campaign_summary
from triggerlab.widgets.builder import CampaignBuilder


def test_every_section_of_each_sample_in_words(sample_dir: Path) -> None:
    def summary(name: str) -> list[tuple[str, str]]:
        return campaign_summary(load_campaign(sample_dir / "campaigns" / f"{name}.yaml"))

    assert summary("fitness_milestone") == [
        ("Channel", "Push notification, triggered by API (External Trigger)"),
        ("Goal", "Steps Logged within 2d"),
        ("Audience", "did App Launched (at least 3 times) in the last 30d and plan does not equal churned"),
        ("Control group", "20% held out; system control group applies"),
        ("Targeting cap", "at most 2,000 users"),
        ("Schedule", "2026-11-01 00:00 (workspace time zone) until 2027-03-01 00:00 (workspace time zone)"),
        (
            "Delivery",
            "global limits apply; DND 21:00-09:00 (delay); expires after 12h delay; at most one per 1d",
        ),
    ]
    assert summary("order_confirmation") == [
        ("Channel", "Email, triggered by API (External Trigger)"),
        ("Goal", "Charged within 24h, revenue from Amount"),
        ("Audience", "Customer Type equals Gold"),
        ("Control group", "10% held out; no system control group"),
        ("Targeting cap", "no limit"),
        ("Schedule", "2026-11-01 00:00 +05:30 until 2027-01-01 00:00 +05:30"),
        ("Delivery", "global limits do not apply; every trigger delivers"),
    ]
    assert summary("subscription_upgrade")[2:] == [
        ("Audience", "did Charged with sum of Amount ≥ 100 in the last 90d or plan is one of pro, team"),
        ("Control group", "5% held out; system control group applies"),
        ("Targeting cap", "no limit"),
        ("Schedule", "2026-11-01 00:00 +00:00 until stopped"),
        ("Delivery", "global limits do not apply; every trigger delivers"),
    ]


def test_the_builder_shows_the_overview_once_the_campaign_is_valid(sample_dir: Path) -> None:
    builder = CampaignBuilder(campaign=load_campaign(sample_dir / "campaigns" / "order_confirmation.yaml"))
    assert "<tr><th>Audience</th><td>Customer Type equals Gold</td></tr>" in builder.review.value
    builder.control.percent.input.value = "100"
    assert "tl-overview" not in builder.review.value
