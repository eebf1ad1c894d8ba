"""Whole-campaign checks: the model's rules plus the rules that need more than the model (templates).

``validate_file`` is what ``triggerlab validate`` runs; ``check_campaign`` is what publish and simulate run
before they accept a campaign.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from triggerlab.campaign import Campaign
from triggerlab.errors import CampaignError, Finding
from triggerlab.files import load_campaign
from triggerlab.templates.campaign_analysis import campaign_template_findings

__all__ = ["campaign_findings", "check_campaign", "validate_file"]


def campaign_findings(campaign: Campaign, *, source: str | None = None) -> list[Finding]:
    """Rules beyond the model's own: every template parses and uses only the dialect's filters and tags."""
    return [replace(f, source=source) for f in campaign_template_findings(campaign)]


def check_campaign(campaign: Campaign, *, source: str | None = None) -> None:
    """Raise CampaignError with every finding, or return."""
    findings = campaign_findings(campaign, source=source)
    if findings:
        raise CampaignError(findings, campaign_id=campaign.id)


def validate_file(path: str | Path) -> list[Finding]:
    """Every finding for one campaign file (an unreadable file raises InputError)."""
    try:
        campaign = load_campaign(path)
    except CampaignError as exc:
        return exc.findings
    return campaign_findings(campaign, source=str(path))
