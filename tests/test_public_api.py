"""The front door: what `triggerlab` exports, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import triggerlab

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert triggerlab.__all__ == EXPECTED
    assert sorted(triggerlab.__all__) == triggerlab.__all__


def test_every_public_name_resolves() -> None:
    for name in triggerlab.__all__:
        assert getattr(triggerlab, name) is not None, name


def test_import_is_light() -> None:
    code = (
        "import sys, triggerlab; heavy = ('ipywidgets', 'httpx', 'aiohttp', 'jupyter', 'jupyter_client', 'ipykernel',"
        " 'duckdb', 'polars', 'altair'); print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
