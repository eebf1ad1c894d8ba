"""Per-channel message fields. Every text field is Liquid; required fields are spec/semantics.md's."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from triggerlab._model import Model, broken, show

#: A field every message of the channel must have; checked even when absent.
Required = Annotated[str | None, Field(default=None, validate_default=True)]

__all__ = [
    "CHANNELS",
    "EmailMessage",
    "Message",
    "PushMessage",
    "WebhookAuth",
    "WebhookMessage",
    "WhatsAppMessage",
    "message_class",
]

CHANNELS: tuple[str, ...] = ("push", "email", "whatsapp", "webhook")
_CHANNEL_KEY = "__channel__"


class _MessageBase(Model):
    channel: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    #: Liquid text fields in the order they render (and in which an abort reason is taken).
    fields: ClassVar[tuple[str, ...]]

    @model_validator(mode="before")
    @classmethod
    def _drop_channel_tag(cls, data: Any) -> Any:
        if isinstance(data, dict) and _CHANNEL_KEY in data:
            data = {k: v for k, v in data.items() if k != _CHANNEL_KEY}
        return data

    @field_validator("*")
    @classmethod
    def _required_not_blank(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name in cls.required:
            if value is None:
                broken(f"required for {cls.channel} messages")
            if not str(value).strip():
                broken(f"required for {cls.channel} messages and must not be blank (got {show(value)})")
        return value


class PushMessage(_MessageBase):
    channel: ClassVar[str] = "push"
    required: ClassVar[tuple[str, ...]] = ("title", "body")
    fields: ClassVar[tuple[str, ...]] = ("title", "body", "deep_link", "image_url")

    title: Required
    body: Required
    deep_link: str | None = None
    image_url: str | None = None


class EmailMessage(_MessageBase):
    channel: ClassVar[str] = "email"
    required: ClassVar[tuple[str, ...]] = ("from_email", "subject")
    fields: ClassVar[tuple[str, ...]] = (
        "from_name",
        "from_email",
        "reply_to",
        "subject",
        "preheader",
        "html",
        "text",
    )

    from_name: str | None = None
    from_email: Required
    reply_to: str | None = None
    subject: Required
    preheader: str | None = None
    html: str | None = None
    text: str | None = None


class WhatsAppMessage(_MessageBase):
    channel: ClassVar[str] = "whatsapp"
    required: ClassVar[tuple[str, ...]] = ("template",)
    fields: ClassVar[tuple[str, ...]] = ("template", "language", "parameters")

    template: Required
    language: str = "en_US"
    parameters: list[str] = Field(default_factory=list)


class WebhookAuth(Model):
    """How to authenticate to the webhook. Secrets are read from the named environment variables at send
    time; a campaign file never holds a credential."""

    kind: Literal["none", "basic", "oauth2"] = "none"
    username_env: str | None = None
    password_env: str | None = None
    token_url: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    scope: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> WebhookAuth:
        need = {
            "none": (),
            "basic": ("username_env", "password_env"),
            "oauth2": ("token_url", "client_id_env", "client_secret_env"),
        }[self.kind]
        missing = [n for n in need if not getattr(self, n)]
        if missing:
            broken(f"{self.kind} auth needs {', '.join(missing)}")
        return self


class WebhookMessage(_MessageBase):
    channel: ClassVar[str] = "webhook"
    required: ClassVar[tuple[str, ...]] = ("url",)
    fields: ClassVar[tuple[str, ...]] = ("url", "method", "headers", "body")

    url: Required
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    content_type: Literal["json", "text"] = "json"
    body: str | None = None
    auth: WebhookAuth | None = None


_CLASSES: dict[str, type[_MessageBase]] = {
    c.channel: c for c in (PushMessage, EmailMessage, WhatsAppMessage, WebhookMessage)
}


def message_class(channel: str) -> type[_MessageBase]:
    return _CLASSES[channel]


def _message_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        channel = value.get(_CHANNEL_KEY)
        return _CLASSES[channel].__name__ if channel in _CLASSES else None
    return type(value).__name__


Message = Annotated[
    Annotated[PushMessage, Tag("PushMessage")]
    | Annotated[EmailMessage, Tag("EmailMessage")]
    | Annotated[WhatsAppMessage, Tag("WhatsAppMessage")]
    | Annotated[WebhookMessage, Tag("WebhookMessage")],
    Discriminator(_message_kind),
]


def tag_message(data: Any) -> Any:
    """Let the message union know the campaign's channel (it is a sibling key, not inside the message)."""
    if isinstance(data, dict) and isinstance(data.get("message"), dict) and data.get("channel") in _CLASSES:
        data = dict(data)
        data["message"] = {**data["message"], _CHANNEL_KEY: data["channel"]}
    return data
