"""Analysis over every Liquid field of a campaign's message, and the findings that make a campaign invalid."""

from __future__ import annotations

from dataclasses import dataclass

from triggerlab.campaign import Campaign
from triggerlab.errors import Finding
from triggerlab.templates.analysis import TemplateAnalysis, Use, analyze_template
from triggerlab.templates.render import compile_message

__all__ = ["CampaignAnalysis", "CampaignPath", "analyze_campaign", "campaign_template_findings"]


@dataclass(frozen=True, slots=True)
class CampaignPath:
    """A distinct path over all fields: the fields using it, and its default when every use has one (the
    first default written; ``None`` when some use has no default)."""

    path: str
    fields: tuple[str, ...]
    has_default: bool
    default: str | None


@dataclass(frozen=True)
class CampaignAnalysis:
    """Every field's analysis keyed by its label (``message.html``, ``message.headers["X-Id"]``), in render
    order, with the uses of all fields together."""

    fields: dict[str, TemplateAnalysis]

    @property
    def uses(self) -> tuple[tuple[str, Use], ...]:
        return tuple((label, use) for label, analysis in self.fields.items() for use in analysis.uses)

    @property
    def paths(self) -> tuple[CampaignPath, ...]:
        """Distinct paths in first-use order over all fields."""
        fields: dict[str, dict[str, None]] = {}
        defaults: dict[str, str | None] = {}
        defaulted: dict[str, bool] = {}
        for label, use in self.uses:
            fields.setdefault(use.path, {})[label] = None
            defaulted[use.path] = defaulted.get(use.path, True) and use.has_default
            if defaults.get(use.path) is None:
                defaults[use.path] = use.default
        return tuple(
            CampaignPath(p, tuple(f), defaulted[p], defaults[p] if defaulted[p] else None)
            for p, f in fields.items()
        )

    @property
    def has_abort(self) -> bool:
        return any(a.has_abort for a in self.fields.values())

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.fields.values())


def analyze_campaign(campaign: Campaign) -> CampaignAnalysis:
    """Analyse every Liquid field of the message in render order."""
    compiled = compile_message(campaign)
    return CampaignAnalysis({field.label: analyze_template(field.source) for field in compiled.fields})


def campaign_template_findings(campaign: Campaign) -> list[Finding]:
    """Syntax errors, unknown filters and tags, include/render, as
    ``message.html:3:5: unknown filter "upcasee"``.

    Lines are 1-based and columns 0-based, within the field's own text.
    """
    findings = []
    for label, analysis in analyze_campaign(campaign).fields.items():
        for problem in analysis.problems:
            findings.append(Finding(f"{label}:{problem.line}:{problem.column}", problem.message))
    return findings
