"""CampaignBuilder: every section of an External Trigger campaign as a form, two-way bound to ``Campaign``.

The widget is a view: each change rebuilds the campaign data from the inputs and validates it with the
model's own rules (pydantic errors through :func:`triggerlab.files.findings_from_validation`) plus the rules
beyond the model (:func:`triggerlab.validation.campaign_findings`, template parsing). Findings show next to
the input they name; Publish stays disabled while any stands.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
from pydantic import ValidationError

from triggerlab.campaign import Campaign
from triggerlab.errors import Finding, TriggerlabError
from triggerlab.files import dump_document, findings_from_validation, load_settings, save_campaign
from triggerlab.validation import campaign_findings
from triggerlab.widgets._audience import AudienceSection
from triggerlab.widgets._field import Field, place_findings, section
from triggerlab.widgets._message import MessageSection
from triggerlab.widgets._sample_preview import SamplePreview
from triggerlab.widgets._samples import example_payload
from triggerlab.widgets._sections import (
    CapSection,
    ControlSection,
    DeliverySection,
    GoalSection,
    ScheduleSection,
    StartSection,
)
from triggerlab.widgets._style import stylesheet
from triggerlab.widgets._summary import campaign_summary
from triggerlab.widgets.forecast import ForecastPanel
from triggerlab.workspace import DEFAULT_WORKSPACE, PublishedCampaign, publish

__all__ = ["CampaignBuilder"]

_NEW = {"name": "", "channel": "push", "message": {}}


class CampaignBuilder(w.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Build, check and publish an External Trigger campaign.

    ``CampaignBuilder(campaign=...)`` loads a campaign; ``.campaign`` is the campaign the form describes
    (None while any rule is broken) and ``.errors`` the findings standing now. Publishing saves the
    campaign to ``file`` and stores it in the ``workspace`` DuckDB file, which assigns its id. The table
    paths (``triggers``, ``profiles``, ``events``, ``history``, ``settings``) fill in the forecast panel, and
    profiles and triggers offer samples to the message preview.
    """

    def __init__(
        self,
        campaign: Campaign | None = None,
        *,
        file: str | Path = "campaign.yaml",
        workspace: str | Path = DEFAULT_WORKSPACE,
        triggers: str | Path = "",
        profiles: str | Path = "",
        events: str | Path = "",
        history: str | Path = "",
        settings: str | Path = "",
    ) -> None:
        super().__init__()
        self.add_class("tl-app")
        self.add_class("tl-builder")
        self._campaign: Campaign | None = None
        self._errors: list[Finding] = []
        self._id: str | None = None
        self._loading = False
        changed = self._refresh
        self.start = StartSection(changed)
        self.goal = GoalSection(changed)
        self.audience = AudienceSection(changed)
        self.control = ControlSection(changed)
        self.cap = CapSection(changed)
        self.message = MessageSection(changed)
        self.schedule = ScheduleSection(changed)
        self.delivery = DeliverySection(changed)
        self._sections = (self.start, self.goal, self.control, self.cap, self.schedule, self.delivery)

        self.file = Field("Campaign file", w.Text(value=str(file), layout=w.Layout(width="420px")))
        self.workspace = Field("Workspace", w.Text(value=str(workspace), layout=w.Layout(width="420px")))
        self.publish_button = w.Button(
            description="Publish campaign",
            button_style="primary",
            icon="paper-plane",
            disabled=True,
            layout=w.Layout(width="auto"),
        )
        self.publish_button.add_class("tl-publish")
        self.publish_button.on_click(lambda _button: self._publish_clicked())
        self.status = w.HTML("")
        self.review = w.HTML("")
        self.review.add_class("tl-review")
        self.preview = SamplePreview(
            lambda: self._campaign,
            settings=load_settings(settings) if str(settings) else None,
            profiles=profiles if str(profiles) else None,
            triggers=triggers if str(triggers) else None,
            example=None if campaign is None else example_payload(campaign),
            campaign_id=None if campaign is None else campaign.id,
        )
        preview = w.Accordion(
            children=[self.preview.box],
            titles=("Preview with a sample profile and payload",),
            selected_index=None,
        )
        self.forecast = ForecastPanel(
            lambda: self._campaign,
            triggers=triggers,
            profiles=profiles,
            events=events,
            history=history,
            settings=settings,
        )
        self.children = [
            stylesheet(),
            w.HTML(
                "<div class='tl-title'>External Trigger campaign</div>"
                "<div class='tl-subtitle'>Design the campaign; your servers trigger it through the API.</div>"
            ),
            section(1, "Start", "Messaging channel and qualification criteria.", self.start.children),
            section(2, "Goal", "Optional: measure conversions after each trigger.", self.goal.children),
            section(
                3,
                "Audience",
                "Narrow the triggered users by past behaviour and user properties.",
                self.audience.children,
            ),
            section(
                4,
                "Control group",
                "Hold out a share of users to measure the campaign's effect.",
                self.control.children,
            ),
            section(
                5, "Targeting cap", "Limit the number of users who receive the message.", self.cap.children
            ),
            section(
                6,
                "Message",
                "Liquid: {{ Profile.name }} and {{ ExternalTrigger.<key> }} from the API payload.",
                [self.message.box, preview],
            ),
            section(7, "Schedule", "When the campaign accepts triggers.", self.schedule.children),
            section(
                8,
                "Delivery",
                "Global limits, Do Not Disturb hours and re-eligibility.",
                self.delivery.children,
            ),
            section(
                9,
                "Review and publish",
                "Publishing assigns the campaign id the API call needs.",
                [
                    self.review,
                    self.file.box,
                    self.workspace.box,
                    w.HBox([self.publish_button]),
                    self.status,
                ],
            ),
            section(
                10, "Forecast", "Replay a batch of trigger requests against your profiles.", [self.forecast]
            ),
        ]
        self.campaign = campaign

    def __repr__(self) -> str:
        name = self.start.name.input.value
        channel = self.start.channel.input.value
        return f"CampaignBuilder(name={name!r}, channel={channel!r}, errors={len(self._errors)})"

    # -- the model --------------------------------------------------------------------------------
    @property
    def campaign(self) -> Campaign | None:
        """The campaign the form describes, or None while any rule is broken."""
        return self._campaign

    @campaign.setter
    def campaign(self, campaign: Campaign | None) -> None:
        data: dict[str, Any] = _NEW if campaign is None else campaign.model_dump(mode="json")
        self._loading = True
        try:
            self._id = data.get("id")
            for part in self._sections:
                part.load(data)
            self.audience.load(data.get("audience") or {})
            self.message.show(data["channel"])
            self.message.load(data["channel"], data.get("message") or {})
        finally:
            self._loading = False
        self.status.value = ""
        self._refresh()

    @property
    def errors(self) -> list[Finding]:
        """Every finding standing now (empty when the campaign is valid)."""
        return list(self._errors)

    def data(self) -> dict[str, Any]:
        """The campaign as plain data, exactly as the inputs say (before validation)."""
        data: dict[str, Any] = {} if self._id is None else {"id": self._id}
        for part in self._sections:
            part.dump(data)
        data["audience"] = self.audience.dump()
        data["message"] = self.message.dump()
        # model order, so a saved file reads like a hand-written one
        order = list(Campaign.model_fields)
        return {key: data[key] for key in sorted(data, key=order.index)}

    def fields(self) -> dict[str, Field]:
        found: dict[str, Field] = {}
        for part in self._sections:
            found.update(part.fields())
        found.update(self.audience.fields())
        found.update(self.message.fields())
        return found

    def _refresh(self) -> None:
        if self._loading:
            return
        if self.message.channel != self.start.channel.input.value:
            self.message.show(self.start.channel.input.value)
        try:
            campaign: Campaign | None = Campaign.model_validate(self.data())
        except ValidationError as exc:
            campaign, findings = None, findings_from_validation(exc)
        else:
            assert campaign is not None
            findings = campaign_findings(campaign)
        self._errors = findings
        self._campaign = None if findings else campaign
        unplaced = place_findings(findings, self.fields())
        self.publish_button.disabled = bool(findings)
        self.review.value = _review(self._campaign, findings, unplaced, self._id)
        self.preview.refresh()

    # -- publishing -------------------------------------------------------------------------------
    def publish(self) -> PublishedCampaign:
        """Save the campaign to ``file``, publish it to ``workspace`` and show its id."""
        campaign = self._campaign
        if campaign is None:
            raise TriggerlabError("the campaign has errors; fix them before publishing")
        path = Path(self.file.input.value)
        save_campaign(campaign, path)
        published = publish(path, workspace=self.workspace.input.value)
        self._id = published.id
        self._refresh()
        self.status.value = (
            f"<div class='tl-status ok'>Published campaign <b class='tl-campaign-id'>{published.id}</b>"
            f" (version {published.version}) to {html.escape(self.workspace.input.value)}; saved"
            f' {html.escape(str(path))}. Trigger it with <code>"campaign_id": "{published.id}"</code>.</div>'
        )
        return published

    def _publish_clicked(self) -> None:
        try:
            self.publish()
        except TriggerlabError as exc:
            self.status.value = f"<div class='tl-status bad'>Not published: {html.escape(str(exc))}</div>"
        except OSError as exc:  # the campaign file cannot be written there
            reason = f"cannot write {exc.filename}: {exc.strerror}"
            self.status.value = f"<div class='tl-status bad'>Not published: {html.escape(reason)}</div>"


def _review(
    campaign: Campaign | None, findings: list[Finding], unplaced: list[Finding], campaign_id: str | None
) -> str:
    ident = (
        f"Campaign id <b>{campaign_id}</b>" if campaign_id else "Draft: publishing assigns the campaign id"
    )
    if findings:
        items = "".join(f"<li>{html.escape(str(f))}</li>" for f in findings)
        note = " (shown next to their fields)" if not unplaced else ""
        head = f"{len(findings)} problem{'s' if len(findings) > 1 else ''} to fix before publishing{note}"
        problems = f"<div class='tl-status bad'>{head}<ul style='margin:4px 0'>{items}</ul></div>"
        return f"{problems}<div class='tl-note'>{ident}</div>"
    assert campaign is not None
    document = html.escape(dump_document(campaign))
    overview = "".join(
        f"<tr><th>{section}</th><td>{html.escape(text)}</td></tr>"
        for section, text in campaign_summary(campaign)
    )
    return (
        f"<div class='tl-status ok'>Ready to publish. {ident}.</div>"
        f"<table class='tl-table tl-overview'>{overview}</table>"
        "<details><summary class='tl-label'>Campaign file</summary>"
        f"<div class='tl-code'>{document}</div></details>"
    )
