"""A sample profile and payload, and the campaign's message rendered for them as its recipient sees it.

Shared by the template editor and the builder's message section. Rendering is
:func:`triggerlab.templates.render`, exactly what the simulator runs, so an abort, a missing key or a body
that is not JSON shows here the way the forecast would count it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from triggerlab.campaign import Campaign
from triggerlab.errors import TriggerlabError
from triggerlab.settings import Settings
from triggerlab.templates import RenderedMessage, render, validate_payload
from triggerlab.widgets._field import Field
from triggerlab.widgets._samples import batch_payloads, profile_rows
from triggerlab.widgets.preview import message_preview

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TYPED", "SamplePreview"]

#: the picker's "use what is typed below" entry
TYPED = "__typed__"
_JSON_AREA = w.Layout(width="320px", height="150px")
_DEFAULT_PROFILE = {"name": "Asha"}


def _json_area(value: dict[str, Any]) -> w.Textarea:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    area = w.Textarea(value=text, continuous_update=True, layout=_JSON_AREA)
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


def _status_html(rendered: RenderedMessage) -> str:
    notes = []
    if rendered.missing_keys:
        notes.append("missing keys: " + ", ".join(rendered.missing_keys))
    if rendered.defaults_used:
        notes.append("defaults used: " + ", ".join(rendered.defaults_used))
    extra = f"<div class='tl-note'>{escape('; '.join(notes))}</div>" if notes else ""
    if rendered.status == "ok":
        return f"<div class='tl-status ok tl-render-ok'>Renders: this message would be sent.{extra}</div>"
    label = "Aborted" if rendered.status == "aborted" else "Render error"
    reason = f": {escape(rendered.reason)}" if rendered.reason else ""
    return f"<div class='tl-status bad tl-render-{rendered.status}'>{label}{reason}{extra}</div>"


class SamplePreview:
    """Sample inputs (``samples``) and the rendered message (``view``) for the campaign ``campaign()``
    returns; ``refresh()`` re-renders, and editing a sample re-renders by itself.

    The payload starts as ``payload``, else the first request of ``triggers`` for ``campaign_id``, else
    ``example``."""

    def __init__(
        self,
        campaign: Callable[[], Campaign | None],
        *,
        settings: Settings | None = None,
        profiles: str | Path | pl.DataFrame | None = None,
        triggers: str | Path | pl.DataFrame | None = None,
        profile: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
        example: dict[str, Any] | None = None,
        campaign_id: str | None = None,
    ) -> None:
        self._campaign = campaign
        self.settings = settings or Settings()
        self.rendered: RenderedMessage | None = None
        self.profiles = profile_rows(profiles) if profiles is not None else {}
        payloads = batch_payloads(triggers) if triggers is not None else []
        own = [p for p in payloads if campaign_id and p[0].endswith(f"campaign {campaign_id}")]
        self.payloads = dict(own or payloads)
        self.profile_pick = w.Dropdown(
            options=[("typed below", TYPED)] + [(identity, identity) for identity in self.profiles],
            value=TYPED,
            description="Profile",
        )
        self.payload_pick = w.Dropdown(
            options=[("typed below", TYPED)] + [(label, label) for label in self.payloads],
            value=TYPED,
            description="Payload",
        )
        first_profile = next(iter(self.profiles.values()), _DEFAULT_PROFILE)
        first_payload = next(iter(self.payloads.values()), example or {})
        self.profile = Field(None, _json_area(profile if profile is not None else first_profile))
        self.payload = Field(None, _json_area(payload if payload is not None else first_payload))
        self.profile_pick.observe(
            lambda change: self._pick(self.profile, self.profiles, change["new"]), "value"
        )
        self.payload_pick.observe(
            lambda change: self._pick(self.payload, self.payloads, change["new"]), "value"
        )
        for field in (self.profile, self.payload):
            field.input.observe(lambda _change: self.refresh(), names="value")
        self.status = w.HTML()
        self.preview = w.HTML()
        self.preview.add_class("tl-preview-box")
        self.samples = w.VBox(
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
        self.samples.add_class("tl-section")
        self.view = w.VBox(
            [w.HTML("<div class='tl-section-head'>Preview</div>"), self.status, self.preview],
            layout=w.Layout(flex="1"),
        )
        self.view.add_class("tl-section")
        self.box = w.HBox([self.samples, self.view], layout=w.Layout(align_items="flex-start"))

    def _pick(self, field: Field, options: dict[str, dict[str, Any]], key: str) -> None:
        if key != TYPED:
            field.input.value = json.dumps(options[key], indent=2, ensure_ascii=False)

    def _samples(self) -> dict[str, dict[str, Any]]:
        samples: dict[str, dict[str, Any]] = {}
        for name, field in (("profile", self.profile), ("payload", self.payload)):
            try:
                samples[name] = _object(field.input.value, f"the sample {name}")
                field.show(())
            except TriggerlabError as exc:
                where = f"line {exc.line}, column {exc.column}: " if exc.line else ""
                field.show([f"{where}{exc.message}"])
        return samples

    def refresh(self) -> None:
        samples = self._samples()
        campaign = self._campaign()
        self.rendered = None
        self.preview.value = ""
        if campaign is None:
            self.status.value = "<div class='tl-status bad'>Fix the errors shown under the fields.</div>"
            return
        if len(samples) < 2:
            self.status.value = "<div class='tl-status bad'>Fix the sample JSON to see the preview.</div>"
            return
        contract = validate_payload(campaign, samples["payload"], settings=self.settings)
        self.payload.show(str(f) for f in contract)
        self.rendered = render(campaign, samples["profile"], samples["payload"], settings=self.settings)
        self.status.value = _status_html(self.rendered)
        if self.rendered.fields:
            self.preview.value = message_preview(campaign.channel, self.rendered.fields)
