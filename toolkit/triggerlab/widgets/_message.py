"""The message section: the chosen channel's fields, every text field a Liquid template.

Each channel keeps its own inputs, so switching channel and back loses nothing. Webhook ``auth`` names
environment variables only; it is kept as loaded (edited in the campaign file, never in a notebook, so no
credential setting ever sits in notebook widget state).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import ipywidgets as w

from triggerlab.messages import CHANNELS, WebhookMessage, message_class
from triggerlab.widgets._field import Field

__all__ = ["MessageSection"]

_LONG = {"body", "html", "text", "parameters", "headers"}
_LABELS = {
    "title": "Title",
    "body": "Body",
    "deep_link": "Deep link",
    "image_url": "Image URL",
    "from_name": "From name",
    "from_email": "From email",
    "reply_to": "Reply-to",
    "subject": "Subject",
    "preheader": "Preheader",
    "html": "HTML body",
    "text": "Plain-text body",
    "template": "Template name",
    "language": "Language",
    "parameters": "Parameters",
    "url": "URL",
    "method": "Method",
    "headers": "Headers",
    "content_type": "Body type",
}
_HINTS = {
    "parameters": "one per line",
    "headers": "one per line: Name: value",
    "content_type": "json bodies must render to valid JSON",
}
_EDITABLE = {
    "push": ("title", "body", "deep_link", "image_url"),
    "email": ("from_name", "from_email", "reply_to", "subject", "preheader", "html", "text"),
    "whatsapp": ("template", "language", "parameters"),
    "webhook": ("url", "method", "headers", "content_type", "body"),
}


def _input(name: str) -> w.DOMWidget:
    if name == "method":
        return w.Dropdown(
            options=list(get_args(WebhookMessage.model_fields["method"].annotation)), value="POST"
        )
    if name == "content_type":
        return w.Dropdown(options=["json", "text"], value="json")
    if name in _LONG:
        rows = 10 if name in ("html", "body", "text") else 3
        area = w.Textarea(continuous_update=True, rows=rows, layout=w.Layout(width="620px"))
        area.add_class("tl-mono")
        return area
    return w.Text(continuous_update=True, layout=w.Layout(width="620px"))


class MessageSection:
    """One box of Liquid fields per channel; only the campaign's channel is shown."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.inputs: dict[str, dict[str, Field]] = {}
        self.boxes: dict[str, w.VBox] = {}
        self._auth: dict[str, Any] | None = None
        for channel in CHANNELS:
            fields = {
                name: Field(_LABELS[name], _input(name), hint=_HINTS.get(name)) for name in _EDITABLE[channel]
            }
            for field in fields.values():
                field.input.observe(lambda _change: changed(), names="value")
            self.inputs[channel] = fields
            box = w.VBox([f.box for f in fields.values()])
            box.add_class(f"tl-message-{channel}")
            self.boxes[channel] = box
        self.box = w.VBox([])
        self.channel = "push"

    def show(self, channel: str) -> None:
        self.channel = channel
        self.box.children = [self.boxes[channel]]

    def load(self, channel: str, message: dict[str, Any]) -> None:
        fields = self.inputs[channel]
        for name, field in fields.items():
            value = message.get(name)
            if name == "parameters":
                field.input.value = "\n".join(value or [])
            elif name == "headers":
                field.input.value = "\n".join(f"{k}: {v}" for k, v in (value or {}).items())
            elif name in ("method", "content_type"):
                field.input.value = value or ("json" if name == "content_type" else "POST")
            else:
                field.input.value = "" if value is None else str(value)
        self._auth = message.get("auth") if channel == "webhook" else self._auth

    def dump(self) -> dict[str, Any]:
        required = message_class(self.channel).required
        data: dict[str, Any] = {}
        for name, field in self.inputs[self.channel].items():
            value = field.input.value
            if name == "parameters":
                data[name] = [line for line in value.splitlines() if line.strip()]
            elif name == "headers":
                data[name] = _headers(value)
            elif name in ("method", "content_type"):
                data[name] = value
            elif value.strip() or name in required:
                # a blank required field is absent, so the error says it is required
                data[name] = value if value.strip() else None
        if self.channel == "webhook" and self._auth is not None:
            data["auth"] = self._auth
        return data

    def fields(self) -> dict[str, Field]:
        return {f"message.{name}": field for name, field in self.inputs[self.channel].items()}


def _headers(text: str) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        # a line without "Name: value" becomes a header without a value, which the model reports
        headers[name.strip()] = value.strip() if colon else None
    return headers
