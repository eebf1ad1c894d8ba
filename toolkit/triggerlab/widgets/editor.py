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
from triggerlab.errors import Finding, TriggerlabError
from triggerlab.files import findings_from_validation
from triggerlab.settings import Settings
from triggerlab.templates import (
    RenderedMessage,
    analyze_campaign,
    campaign_template_findings,
    payload_schema,
    render,
    validate_payload,
)
from triggerlab.widgets._field import Field, place_findings
from triggerlab.widgets._message import MessageSection
from triggerlab.widgets._samples import batch_payloads, profile_rows
from triggerlab.widgets._style import stylesheet
from triggerlab.widgets.preview import message_preview

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TemplateEditor"]

_TYPED = "__typed__"
_JSON_AREA = w.Layout(width="330px", height="150px")


def _json_area(value: dict[str, Any]) -> w.Textarea:
    area = w.Textarea(
        value=json.dumps(value, indent=2, ensure_ascii=False), continuous_update=True, layout=_JSON_AREA
    )
    area.add_class("tl-mono")
    return area


def _object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise TriggerlabError(
            f"{what} is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    if not isinstance(value, dict):
        raise TriggerlabError(f"{what} must be a JSON object")
    return value


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
        self.rendered: RenderedMessage | None = None
        self._ready = False  # inputs fire while they are being filled in; render once all exist
        self.message = MessageSection(self._refresh)
        self.message.show(campaign.channel)
        self.message.load(campaign.channel, campaign.model_dump(mode="json")["message"])

        self._profiles = profile_rows(profiles) if profiles is not None else {}
        self.profile_pick = w.Dropdown(
            options=[("typed below", _TYPED)] + [(identity, identity) for identity in self._profiles],
            value=_TYPED,
            description="Profile",
        )
        first_profile = next(iter(self._profiles.values()), {"name": "Asha"})
        self.profile = Field(None, _json_area(profile if profile is not None else first_profile))
        payloads = batch_payloads(triggers) if triggers is not None else []
        own = [p for p in payloads if p[0].endswith(f"campaign {campaign.id}")]
        self._payloads = dict(own or payloads)
        self.payload_pick = w.Dropdown(
            options=[("typed below", _TYPED)] + [(label, label) for label in self._payloads],
            value=_TYPED,
            description="Payload",
        )
        first_payload = next(iter(self._payloads.values()), {})
        self.payload = Field(None, _json_area(payload if payload is not None else first_payload))
        self.profile_pick.observe(
            lambda change: self._pick(self.profile, self._profiles, change["new"]), names="value"
        )
        self.payload_pick.observe(
            lambda change: self._pick(self.payload, self._payloads, change["new"]), names="value"
        )
        for field in (self.profile, self.payload):
            field.input.observe(lambda _change: self._refresh(), names="value")

        self.status = w.HTML()
        self.preview = w.HTML()
        self.preview.add_class("tl-preview-box")
        self.paths = w.HTML()
        self.schema = w.HTML()
        samples = w.VBox(
            [
                w.HTML("<div class='tl-section-head'>Sample profile</div>"),
                self.profile_pick,
                self.profile.box,
                w.HTML("<div class='tl-section-head'>Sample payload <code>ExternalTrigger</code></div>"),
                self.payload_pick,
                self.payload.box,
            ],
            layout=w.Layout(width="360px", margin="8px 12px 8px 0"),
        )
        samples.add_class("tl-section")
        preview = w.VBox(
            [w.HTML("<div class='tl-section-head'>Preview</div>"), self.status, self.preview],
            layout=w.Layout(flex="1"),
        )
        preview.add_class("tl-section")
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
            w.HBox([samples, preview], layout=w.Layout(align_items="flex-start")),
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

    def _pick(self, field: Field, options: dict[str, dict[str, Any]], key: str) -> None:
        if key != _TYPED:
            field.input.value = json.dumps(options[key], indent=2, ensure_ascii=False)

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
        samples: dict[str, dict[str, Any]] = {}
        for name, field in (("profile", self.profile), ("payload", self.payload)):
            try:
                samples[name] = _object(field.input.value, f"the sample {name}")
                field.show(())
            except TriggerlabError as exc:
                field.show(
                    [f"line {exc.line}, column {exc.column}: {exc.message}" if exc.line else exc.message]
                )
        if campaign is None:
            self.rendered = None
            self.status.value = (
                "<div class='tl-status bad'>Fix the template errors shown under the fields.</div>"
            )
            self.preview.value = ""
            return
        self.paths.value = _paths_html(campaign)
        self.schema.value = (
            f"<div class='tl-code'>{escape(json.dumps(payload_schema(campaign), indent=2))}</div>"
        )
        if len(samples) < 2:
            self.status.value = "<div class='tl-status bad'>Fix the sample JSON to see the preview.</div>"
            return
        contract = validate_payload(campaign, samples["payload"], settings=self.settings)
        self.payload.show(str(f) for f in contract)
        self.rendered = render(campaign, samples["profile"], samples["payload"], settings=self.settings)
        self.status.value = _status_html(self.rendered)
        self.preview.value = (
            message_preview(campaign.channel, self.rendered.fields) if self.rendered.fields else ""
        )


def _status_html(rendered: RenderedMessage) -> str:
    notes = []
    if rendered.missing_keys:
        notes.append("missing keys: " + ", ".join(escape(k) for k in rendered.missing_keys))
    if rendered.defaults_used:
        notes.append("defaults used: " + ", ".join(escape(k) for k in rendered.defaults_used))
    extra = f"<div class='tl-note'>{'; '.join(notes)}</div>" if notes else ""
    if rendered.status == "ok":
        return f"<div class='tl-status ok tl-render-ok'>Renders: this message would be sent.{extra}</div>"
    label = "Aborted" if rendered.status == "aborted" else "Render error"
    reason = f": {escape(rendered.reason)}" if rendered.reason else ""
    return f"<div class='tl-status bad tl-render-{rendered.status}'>{label}{reason}{extra}</div>"


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
