"""Widgets stay out of the way: nothing heavy loads until a widget is asked for."""

from __future__ import annotations

import subprocess
import sys

import triggerlab.widgets


def _modules_after(code: str) -> str:
    probe = (
        f"import sys\n{code}\n"
        "heavy = ('ipywidgets', 'altair', 'polars', 'duckdb', 'liquid')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_importing_the_package_loads_no_widget_library() -> None:
    assert _modules_after("import triggerlab.widgets") == "[]"


def test_a_widget_loads_on_first_use() -> None:
    assert (
        _modules_after("from triggerlab.widgets import CampaignBuilder")
        == "['duckdb', 'ipywidgets', 'liquid']"
    )


def test_public_names() -> None:
    assert triggerlab.widgets.__all__ == [
        "CampaignBuilder",
        "ForecastPanel",
        "SimulationReport",
        "TemplateEditor",
        "install_display_hook",
    ]
    assert all(getattr(triggerlab.widgets, name) is not None for name in triggerlab.widgets.__all__)
