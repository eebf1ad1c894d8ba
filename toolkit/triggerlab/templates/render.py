"""Rendering one campaign message for one recipient (rule 9 of spec/semantics.md).

Each campaign's field templates are compiled once per (message text, missing-key mode) and kept: the
simulator renders millions of rows. ``render`` never raises for template or payload problems; they come back
as ``render_error`` or ``aborted`` in the result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from liquid.builtin.content import ContentNode
from liquid.builtin.tags.for_tag import ForNode
from liquid.builtin.tags.tablerow_tag import TablerowNode
from liquid.exceptions import LiquidError

from triggerlab.campaign import Campaign
from triggerlab.errors import TemplateSyntaxError
from triggerlab.messages import WebhookMessage, message_class
from triggerlab.settings import Settings
from triggerlab.templates.compiler import compile_source, walk_nodes
from triggerlab.templates.dialect import Abort, DialectTemplate, MissingKeys, new_context, render_template
from triggerlab.templates.timeout import RenderTimeout, deadline

__all__ = ["HEADER_FIELDS", "CompiledField", "RenderedMessage", "compile_message", "message_key", "render"]

Status = Literal["ok", "aborted", "render_error"]

#: fields that become mail headers: CR or LF in them is header injection
HEADER_FIELDS = frozenset({"from_name", "from_email", "reply_to", "subject"})

_DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class RenderedMessage:
    """One recipient's message: status, why it failed or aborted, and the rendered fields."""

    status: Status
    reason: str | None
    fields: dict[str, Any]
    missing_keys: tuple[str, ...] = ()
    defaults_used: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class CompiledField:
    """One template to render: ``field`` is the message field, ``key`` the header name or parameter index."""

    field: str
    key: str | int | None
    source: str
    template: DialectTemplate | None
    error: TemplateSyntaxError | None
    #: the text of a template without tags or output statements (rendered without a context)
    constant: str | None = None
    #: has a loop: the only way a field's render time grows past its data, so only these arm the deadline
    timed: bool = False

    @property
    def label(self) -> str:
        if self.key is None:
            return f"message.{self.field}"
        return (
            f"message.{self.field}[{json.dumps(self.key)}]"
            if isinstance(self.key, str)
            else f"message.{self.field}[{self.key}]"
        )


@dataclass(frozen=True)
class CompiledMessage:
    channel: str
    fields: tuple[CompiledField, ...]
    required: frozenset[str]
    json_body: bool
    literal: dict[str, Any]

    @property
    def timed(self) -> bool:
        return any(f.timed for f in self.fields)


_CACHE: dict[tuple[Any, ...], CompiledMessage] = {}
_CACHE_SIZE = 1024


def _content_type(campaign: Campaign) -> str | None:
    # only webhooks have one; getattr with a default on a pydantic model raises and catches internally (slow)
    message = campaign.message
    return message.content_type if isinstance(message, WebhookMessage) else None


def message_key(campaign: Campaign) -> tuple[Any, ...]:
    """The channel and every field's text: what a compiled message depends on."""
    message = campaign.message
    cls = message_class(campaign.channel)
    parts: list[Any] = [campaign.channel]
    for name in cls.fields:
        value = getattr(message, name)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = tuple(value.items())
        parts.append(value)
    parts.append(_content_type(campaign))
    return tuple(parts)


def _compile(
    source: str, missing_keys: MissingKeys, autoescape: bool
) -> tuple[DialectTemplate | None, TemplateSyntaxError | None]:
    try:
        return compile_source(source, missing_keys, autoescape), None
    except TemplateSyntaxError as err:
        return None, err


def _shape(template: DialectTemplate | None) -> tuple[str | None, bool]:
    if template is None:
        return None, False
    nodes = list(walk_nodes(template.nodes, template.env))  # type: ignore[arg-type]
    if all(isinstance(node, ContentNode) for node in template.nodes):
        return "".join(node.text for node in template.nodes if isinstance(node, ContentNode)), False
    return None, any(isinstance(node, (ForNode, TablerowNode)) for node in nodes)


def compile_message(campaign: Campaign, missing_keys: MissingKeys = "blank") -> CompiledMessage:
    """The campaign's field templates in render order, compiled once and cached by their text."""
    key = (*message_key(campaign), missing_keys)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    cls = message_class(campaign.channel)
    message = campaign.message
    fields: list[CompiledField] = []
    literal: dict[str, Any] = {}
    for name in cls.fields:
        value = getattr(message, name)
        if value is None:
            continue
        if name == "method":
            # a fixed choice (GET, POST, ...), not Liquid
            literal[name] = value
            continue
        items: list[tuple[str | int | None, str]]
        if isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, dict):
            items = list(value.items())
        else:
            items = [(None, value)]
        for item_key, source in items:
            template, error = _compile(source, missing_keys, autoescape=name == "html")
            constant, timed = _shape(template)
            fields.append(CompiledField(name, item_key, source, template, error, constant, timed))
    compiled = CompiledMessage(
        channel=campaign.channel,
        fields=tuple(fields),
        required=frozenset(cls.required),
        json_body=_content_type(campaign) == "json",
        literal=literal,
    )
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = compiled
    return compiled


def _check(field: CompiledField, text: str, compiled: CompiledMessage) -> str | None:
    """Why a rendered field fails the channel's rules, or None."""
    if field.field in HEADER_FIELDS and ("\r" in text or "\n" in text):
        return f"{field.label} contains a line break (CR/LF is not allowed in a mail header)"
    if field.field in compiled.required and not text.strip():
        return f"{field.label} rendered blank and is required"
    if field.field == "body" and compiled.json_body:
        if not text.strip():
            return "message.body rendered empty; content_type json needs a JSON document"
        try:
            json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            return f"message.body is not valid JSON: {exc}"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON (RFC 8259)")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LiquidError):
        return str(exc.message)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return f"{type(exc).__name__}: {exc}"


def _place(fields: dict[str, Any], field: CompiledField, text: str) -> None:
    if field.key is None:
        fields[field.field] = text
    elif isinstance(field.key, int):
        fields.setdefault(field.field, []).append(text)
    else:
        fields.setdefault(field.field, {})[field.key] = text


def render(
    campaign: Campaign,
    profile: Mapping[str, Any],
    payload: Mapping[str, Any],
    *,
    settings: Settings | None = None,
) -> RenderedMessage:
    """Render the campaign's message for one profile and trigger payload (spec/semantics.md rule 9)."""
    mode: MissingKeys = (settings or _DEFAULT_SETTINGS).missing_keys
    compiled = compile_message(campaign, mode)
    fields: dict[str, Any] = {}
    missing: dict[str, None] = {}
    defaults: dict[str, None] = {}
    failure: str | None = None
    aborted: Abort | None = None
    with deadline(enabled=compiled.timed) as timer:
        for field in compiled.fields:
            if field.template is None:
                error = field.error
                where = f":{error.line}:{error.column}" if error and error.line is not None else ""
                failure = failure or f"{field.label}{where}: {error.message if error else 'does not parse'}"
                continue
            if field.constant is not None:
                failure = failure or _check(field, field.constant, compiled)
                _place(fields, field, field.constant)
                continue
            context = new_context(field.template, profile, payload)
            text: str | None = None
            try:
                if field.timed:
                    timer.arm()
                text = render_template(field.template, context)
            except Abort as signal:
                aborted = signal
            except RenderTimeout:
                failure = failure or f"{field.label}: timeout"
            except Exception as exc:  # python-liquid filters can raise plain Python errors on odd data
                failure = failure or f"{field.label}: {_describe(exc)}"
            finally:
                if field.timed:
                    timer.disarm()
            missing.update(context.missing)
            defaults.update(context.defaults)
            if aborted is not None:
                return RenderedMessage("aborted", aborted.reason, fields, tuple(missing), tuple(defaults))
            if text is not None:
                failure = failure or _check(field, text, compiled)
                _place(fields, field, text)
    fields.update(compiled.literal)
    status: Status = "render_error" if failure else "ok"
    return RenderedMessage(status, failure, _ordered(fields, campaign), tuple(missing), tuple(defaults))


def _ordered(fields: dict[str, Any], campaign: Campaign) -> dict[str, Any]:
    order = message_class(campaign.channel).fields
    return {name: fields[name] for name in order if name in fields}
