"""triggerlab: design, forecast and send External Trigger campaigns.

Public names load on first use (PEP 562), so ``import triggerlab`` stays light: it never imports
ipywidgets, httpx or jupyter, and DuckDB and polars only when a name that needs them is touched.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from triggerlab.errors import (
    CampaignError,
    DeliveryRejected,
    Finding,
    InputError,
    PayloadError,
    SendError,
    SimulationError,
    TemplateError,
    TemplateSyntaxError,
    TransportError,
    TriggerlabError,
)

if TYPE_CHECKING:
    from triggerlab.batch_check import check_batch
    from triggerlab.campaign import Campaign
    from triggerlab.delivery import (
        CleverTapTransport,
        DryRunTransport,
        FcmTransport,
        SmtpTransport,
        Transport,
        WebhookTransport,
        WhatsAppTransport,
    )
    from triggerlab.delivery.api import send
    from triggerlab.files import load_campaign, load_settings, save_campaign
    from triggerlab.results import SimulationResult
    from triggerlab.settings import Settings
    from triggerlab.simulation import simulate
    from triggerlab.templates import (
        RenderedMessage,
        TemplateAnalysis,
        analyze_campaign,
        analyze_template,
        render,
        validate_payload,
    )
    from triggerlab.triggers import load_triggers
    from triggerlab.validation import validate_file
    from triggerlab.workspace import Workspace, publish

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "Campaign": "triggerlab.campaign",
    "CleverTapTransport": "triggerlab.delivery",
    "DryRunTransport": "triggerlab.delivery",
    "FcmTransport": "triggerlab.delivery",
    "RenderedMessage": "triggerlab.templates",
    "Settings": "triggerlab.settings",
    "SimulationResult": "triggerlab.results",
    "SmtpTransport": "triggerlab.delivery",
    "TemplateAnalysis": "triggerlab.templates",
    "Transport": "triggerlab.delivery",
    "WebhookTransport": "triggerlab.delivery",
    "WhatsAppTransport": "triggerlab.delivery",
    "Workspace": "triggerlab.workspace",
    "analyze_campaign": "triggerlab.templates",
    "analyze_template": "triggerlab.templates",
    "check_batch": "triggerlab.batch_check",
    "load_campaign": "triggerlab.files",
    "load_settings": "triggerlab.files",
    "load_triggers": "triggerlab.triggers",
    "publish": "triggerlab.workspace",
    "render": "triggerlab.templates",
    "save_campaign": "triggerlab.files",
    "send": "triggerlab.delivery.api",
    "simulate": "triggerlab.simulation",
    "validate_file": "triggerlab.validation",
    "validate_payload": "triggerlab.templates",
}

__all__ = [
    "Campaign",
    "CampaignError",
    "CleverTapTransport",
    "DeliveryRejected",
    "DryRunTransport",
    "FcmTransport",
    "Finding",
    "InputError",
    "PayloadError",
    "RenderedMessage",
    "SendError",
    "Settings",
    "SimulationError",
    "SimulationResult",
    "SmtpTransport",
    "TemplateAnalysis",
    "TemplateError",
    "TemplateSyntaxError",
    "Transport",
    "TransportError",
    "TriggerlabError",
    "WebhookTransport",
    "WhatsAppTransport",
    "Workspace",
    "analyze_campaign",
    "analyze_template",
    "check_batch",
    "load_campaign",
    "load_settings",
    "load_triggers",
    "publish",
    "render",
    "save_campaign",
    "send",
    "simulate",
    "validate_file",
    "validate_payload",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'triggerlab' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
