"""The Liquid dialect of triggerlab: rendering, static analysis and payload contracts.

Modules: ``dialect`` (the Environment subclass, abort tag, json filter, missing-key modes, limits),
``compiler`` (parse once, positions for every syntax error), ``timeout`` (the 1 s deadline), ``render``
(per-channel messages), ``plan`` (can rendering be skipped), ``analysis`` / ``campaign_analysis`` (paths,
defaults, unknown filters and tags), ``schema`` (payload JSON Schema) and ``payload`` (checking a payload).
"""

from __future__ import annotations

from triggerlab.templates.analysis import Problem, TemplateAnalysis, TemplatePath, Use, analyze_template
from triggerlab.templates.campaign_analysis import (
    CampaignAnalysis,
    analyze_campaign,
    campaign_template_findings,
)
from triggerlab.templates.dialect import Dialect, dialect
from triggerlab.templates.payload import payload_size, validate_payload
from triggerlab.templates.plan import RenderPlan, plan_rendering
from triggerlab.templates.render import RenderedMessage, render
from triggerlab.templates.schema import payload_schema

__all__ = [
    "CampaignAnalysis",
    "CampaignPath",
    "Dialect",
    "Problem",
    "RenderPlan",
    "RenderedMessage",
    "TemplateAnalysis",
    "TemplatePath",
    "Use",
    "analyze_campaign",
    "analyze_template",
    "campaign_template_findings",
    "dialect",
    "payload_schema",
    "payload_size",
    "plan_rendering",
    "render",
    "validate_payload",
]
