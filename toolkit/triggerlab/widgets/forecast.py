"""The builder's forecast panel: replay a trigger batch against profile (and event, history) tables with
:func:`triggerlab.simulate` and show the funnel of the campaign being built.

A draft has no id yet, while the batch's requests name one: the panel simulates the draft under the id
given in "Campaign id in batch" (the campaign's own id once published).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as w

from triggerlab.campaign import Campaign
from triggerlab.errors import TriggerlabError
from triggerlab.widgets._field import Field

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

__all__ = ["ForecastPanel"]

_PATH = w.Layout(width="420px")


class ForecastPanel(w.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Inputs for a simulation of one campaign, a Run button, and the funnel it forecasts."""

    def __init__(
        self,
        campaign: Callable[[], Campaign | None],
        *,
        triggers: str | Path = "",
        profiles: str | Path = "",
        events: str | Path = "",
        history: str | Path = "",
        settings: str | Path = "",
    ) -> None:
        super().__init__()
        self.add_class("tl-forecast")
        self._campaign = campaign
        self.result: SimulationResult | None = None

        def path(label: str, value: str | Path, hint: str) -> Field:
            return Field(label, w.Text(value=str(value), placeholder=hint, layout=_PATH))

        self.triggers = path("Trigger batch", triggers, "JSONL, Parquet or CSV of trigger requests")
        self.profiles = path("Profiles", profiles, "CSV, Parquet or JSONL with an identity column")
        self.events = path("Events", events, "optional")
        self.history = path("History", history, "optional: prior deliveries")
        self.settings = path("Settings", settings, "optional: triggerlab.yaml")
        self.campaign_id = Field(
            "Campaign id in batch", w.Text(placeholder="the campaign's id", layout=w.Layout(width="200px"))
        )
        self.run_button = w.Button(
            description="Run forecast", icon="line-chart", button_style="info", layout=w.Layout(width="auto")
        )
        self.run_button.on_click(lambda _button: self._run_clicked())
        self.output = w.HTML("")
        self.report_button = w.Button(
            description="Open the full report", icon="table", disabled=True, layout=w.Layout(width="auto")
        )
        self.report_button.on_click(lambda _button: self.open_report())
        self.report = w.VBox([])
        self.children = [
            self.triggers.box,
            self.profiles.box,
            self.events.box,
            self.history.box,
            self.settings.box,
            self.campaign_id.box,
            w.HBox([self.run_button, self.report_button]),
            self.output,
            self.report,
        ]

    def __repr__(self) -> str:
        return (
            f"ForecastPanel(triggers={self.triggers.input.value!r}, profiles={self.profiles.input.value!r})"
        )

    def run(self) -> SimulationResult:
        """Simulate the campaign on the chosen tables; raise TriggerlabError when it cannot."""
        from triggerlab.simulation import simulate

        campaign = self._campaign()
        if campaign is None:
            raise TriggerlabError("the campaign has errors; fix them before forecasting")
        campaign_id = self.campaign_id.input.value.strip() or campaign.id
        if not campaign_id:
            raise TriggerlabError("a draft has no id yet: give the campaign id its trigger requests use")
        if not self.triggers.input.value.strip() or not self.profiles.input.value.strip():
            raise TriggerlabError("choose a trigger batch and a profile table")

        def optional(field: Field) -> str | None:
            text: str = field.input.value.strip()
            return text or None

        self.result = simulate(
            [campaign.model_copy(update={"id": campaign_id})],
            triggers=self.triggers.input.value.strip(),
            profiles=self.profiles.input.value.strip(),
            events=optional(self.events),
            history=optional(self.history),
            settings=optional(self.settings),
            render="sample",  # a few rendered messages per campaign for the full report
            progress=False,
        )
        return self.result

    def _run_clicked(self) -> None:
        self.output.value = "<div class='tl-status warn'>Running the forecast…</div>"
        self.report.children = []
        self.report_button.disabled = True
        try:
            result = self.run()
        except TriggerlabError as exc:
            self.output.value = f"<div class='tl-status bad'>Cannot forecast: {html.escape(str(exc))}</div>"
            return
        self.output.value = _forecast_html(result)
        self.report_button.disabled = False

    def open_report(self) -> None:
        """Show the last forecast as a full SimulationReport under the funnel."""
        from triggerlab.widgets.report import SimulationReport

        if self.result is not None:
            self.report.children = [SimulationReport(self.result)]


def _forecast_html(result: SimulationResult) -> str:
    """The simulated campaign's own funnel; rows of other campaigns in the batch are only counted."""
    from triggerlab.widgets.report import funnel_html

    summary = result.summary()
    campaign_id = result.campaign_ids[0]
    mine = summary["campaigns"][campaign_id]
    others = summary["recipients"] - sum(mine["statuses"].values())
    head = (
        f"<div class='tl-status ok'>{mine['users_sent']:,} users reached"
        f" ({mine['statuses']['sent']:,} messages)"
        f" from {summary['requests']:,} requests; {mine['users_allotted']:,} users allotted.</div>"
    )
    rows = "1 row of the batch names" if others == 1 else f"{others:,} rows of the batch name"
    note = f"<div class='tl-note'>{rows} other campaigns.</div>"
    return head + funnel_html(result, campaign_id=campaign_id) + (note if others else "")
