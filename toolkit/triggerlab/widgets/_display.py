"""Show every SimulationResult as a SimulationReport in IPython (JupyterLab, VS Code, Voila).

``results.py`` stays free of widgets: the display is registered on IPython's mimebundle formatter for
the class, so only sessions that import :mod:`triggerlab.widgets` get the widget; others keep the
result's static ``_repr_html_``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

__all__ = ["install_display_hook"]


def _mimebundle(result: SimulationResult, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    from triggerlab.widgets.report import SimulationReport

    bundle: dict[str, Any] = SimulationReport(result)._repr_mimebundle_(include=include, exclude=exclude)
    return bundle


def install_display_hook() -> bool:
    """Display every SimulationResult as a SimulationReport from now on; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.mimebundle_formatter
    # by name, so registering does not import polars and the results module before a result exists
    formatter.for_type_by_name("triggerlab.results", "SimulationResult", _mimebundle)
    return True
