"""Jupyter widgets (ipywidgets 8): the analyst's face of triggerlab.

``CampaignBuilder`` designs and publishes a campaign, ``TemplateEditor`` writes its Liquid message with a
live preview, ``SimulationReport`` shows a forecast. They are thin views over the plain-Python model
(``Campaign``, ``render``, ``SimulationResult``); ``import triggerlab`` never imports this package.
Importing it in IPython makes every ``SimulationResult`` display as a ``SimulationReport``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from triggerlab.widgets._display import install_display_hook

if TYPE_CHECKING:
    from triggerlab.widgets.builder import CampaignBuilder
    from triggerlab.widgets.editor import TemplateEditor
    from triggerlab.widgets.forecast import ForecastPanel
    from triggerlab.widgets.report import SimulationReport

#: public name -> its module, imported on first use (the report pulls in altair, the editor liquid)
_LAZY: dict[str, str] = {
    "CampaignBuilder": "triggerlab.widgets.builder",
    "ForecastPanel": "triggerlab.widgets.forecast",
    "SimulationReport": "triggerlab.widgets.report",
    "TemplateEditor": "triggerlab.widgets.editor",
}

__all__ = ["CampaignBuilder", "ForecastPanel", "SimulationReport", "TemplateEditor", "install_display_hook"]

install_display_hook()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'triggerlab.widgets' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
