"""TemplateEditor: write a campaign's Liquid message with a live preview on a sample profile and payload.

A view over the templates API (:mod:`triggerlab.templates`): every keystroke re-validates the message,
re-renders it with :func:`~triggerlab.templates.render` and re-derives the template paths and the payload
schema. Syntax errors show under their field with line and column; render problems (abort, missing keys,
invalid JSON bodies) show above the preview exactly as the simulator would report them.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from pydantic import ValidationError

from triggerlab.campaign import Campaign
from triggerlab.errors import Finding
from triggerlab.files import findings_from_validation
from triggerlab.settings import Settings
from triggerlab.templates import RenderedMessage, analyze_campaign, campaign_template_findings, payload_schema
from triggerlab.widgets._field import place_findings
from triggerlab.widgets._message import MessageSection
from triggerlab.widgets._sample_preview import SamplePreview
from triggerlab.widgets._samples import example_payload
from triggerlab.widgets._style import stylesheet

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TemplateEditor"]


class TemplateEditor(w.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Edit the message of ``campaign`` and see it rendered for a sample profile and payload.

    ``profiles`` (a table path or polars frame) and ``triggers`` (a batch file or frame) offer samples;
    both can also be typed as JSON. ``.campaign`` is the campaign with the edited message (None while the
    message breaks a rule); ``.rendered`` the latest :class:`RenderedMessage`.
    """

    def __init__(
        self,
        campaign: Campaign,
        *,
        settings: Settings | None = None,
        profiles: str | Path | pl.DataFrame | None = None,
        triggers: str | Path | pl.DataFrame | None = None,
        profile: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.add_class("tl-app")
        self.add_class("tl-editor")
        self.settings = settings or Settings()
        self._base = campaign
        self._campaign: Campaign | None = None
        self._ready = False  # inputs fire while they are being filled in; render once all exist
        self.message = MessageSection(self._refresh)
        self.message.show(campaign.channel)
        self.message.load(campaign.channel, campaign.model_dump(mode="json")["message"])
        self.sample = SamplePreview(
            lambda: self._campaign,
            settings=self.settings,
            profiles=profiles,
            triggers=triggers,
            profile=profile,
            payload=payload,
            example=example_payload(campaign),
            campaign_id=campaign.id,
        )
        # the sample inputs and the preview, by the names a notebook reaches for
        self.profile, self.payload = self.sample.profile, self.sample.payload
        self.profile_pick, self.payload_pick = self.sample.profile_pick, self.sample.payload_pick
        self.status, self.preview = self.sample.status, self.sample.preview
        self.paths = w.HTML()
        self.schema = w.HTML()
        source = w.VBox(
            [w.HTML("<div class='tl-section-head'>Message template (Liquid)</div>"), self.message.box]
        )
        source.add_class("tl-section")
        details = w.Accordion(
            children=[self.paths, self.schema], titles=("Template paths", "Payload schema"), selected_index=0
        )
        self.children = [
            stylesheet(),
            w.HTML(
                f"<div class='tl-title'>Message: {escape(campaign.name)}</div>"
                f"<div class='tl-subtitle'>{escape(campaign.channel)} · the preview follows your typing</div>"
            ),
            source,
            self.sample.box,
            details,
        ]
        self._ready = True
        self._refresh()

    def __repr__(self) -> str:
        status = None if self.rendered is None else self.rendered.status
        return (
            f"TemplateEditor(campaign={self._base.name!r}, channel={self._base.channel!r}, render={status!r})"
        )

    @property
    def campaign(self) -> Campaign | None:
        """The campaign with the edited message, or None while the message breaks a rule."""
        return self._campaign

    @property
    def rendered(self) -> RenderedMessage | None:
        """The message rendered for the samples, or None while the template or the samples are broken."""
        return self.sample.rendered

    def _candidate(self) -> tuple[Campaign | None, list[Finding]]:
        data = self._base.model_dump(mode="json", exclude_unset=True)
        data["message"] = self.message.dump()
        try:
            campaign = Campaign.model_validate(data)
        except ValidationError as exc:
            return None, findings_from_validation(exc)
        findings = campaign_template_findings(campaign)
        return (None if findings else campaign), findings

    def _refresh(self) -> None:
        if not self._ready:
            return
        campaign, findings = self._candidate()
        self._campaign = campaign
        place_findings(findings, self.message.fields())
        if campaign is not None:
            self.paths.value = _paths_html(campaign)
            schema = json.dumps(payload_schema(campaign), indent=2)
            self.schema.value = f"<div class='tl-code'>{escape(schema)}</div>"
        self.sample.refresh()


def _paths_html(campaign: Campaign) -> str:
    analysis = analyze_campaign(campaign)
    used_in: dict[str, list[str]] = {}
    for label, use in analysis.uses:
        fields = used_in.setdefault(use.path, [])
        if label.removeprefix("message.") not in fields:
            fields.append(label.removeprefix("message."))
    rows = "".join(
        f"<tr><td><code>{escape(path.path)}</code></td>"
        f"<td>{escape(', '.join(used_in.get(path.path, [])))}</td>"
        + (
            "<td class='tl-ok'>has a default</td>"
            if path.has_default
            else "<td class='tl-bad'>no default</td>"
        )
        + "</tr>"
        for path in sorted(analysis.paths, key=lambda p: p.path)
    )
    if not rows:
        return "<div class='tl-note'>The message uses no Profile or ExternalTrigger values.</div>"
    head = "<tr><th>path</th><th>used in</th><th>default</th></tr>"
    return f"<table class='tl-table tl-paths'>{head}{rows}</table>"
