"""The triggerlab Liquid dialect: one python-liquid ``Environment`` subclass and what it registers.

* globals ``Profile`` and ``ExternalTrigger`` (passed per render; bracket access for names with spaces);
* ``{% abort %}`` / ``{% abort "reason" %}`` suppresses the message;
* the standard filter set (``default`` as Liquid's), plus ``json`` (a missing key renders ``null`` under
  ``missing_keys: blank`` and fails under ``error``);
* ``missing_keys: blank`` renders a missing key as "" and records its path; ``error`` uses
  ``FalsyStrictUndefined`` semantics, so ``default`` and ``{% if %}`` still work;
* limits: 10,000 loop iterations, 1,000,000 code points of output, python-liquid's context depth (30);
* ``include`` and ``render`` are not registered: a template cannot load files.

Every render gets its own :class:`DialectContext` (:func:`new_context`), so the missing keys and defaults
used are collected per render, with no global state.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, partial
from io import StringIO
from typing import Any, ClassVar, Literal, TextIO

from liquid import BoundTemplate, Environment, FalsyStrictUndefined, RenderContext, Undefined
from liquid.ast import Node
from liquid.builtin.filters.misc import default as liquid_default
from liquid.exceptions import FilterValueError, LiquidSyntaxError, OutputStreamLimitError
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.token import TOKEN_EOF, TOKEN_EXPRESSION, TOKEN_STRING, Token
from liquid.undefined import UNDEFINED

__all__ = [
    "DISABLED_TAGS",
    "LOOP_ITERATION_LIMIT",
    "OUTPUT_LIMIT",
    "Abort",
    "AbortNode",
    "Dialect",
    "MissingKeys",
    "dialect",
    "new_context",
    "path_text",
    "register",
    "render_template",
]

MissingKeys = Literal["blank", "error"]

LOOP_ITERATION_LIMIT = 10_000
OUTPUT_LIMIT = 1_000_000
#: assign/capture values (python-liquid's sys.getsizeof measure): stops ``append`` doubling a string in a loop
#: from exhausting memory before the loop limit or the timeout can act
LOCAL_NAMESPACE_LIMIT = 8_000_000

#: tags the dialect removes from python-liquid's standard set (they load other files)
DISABLED_TAGS = ("include", "render")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Abort(Exception):  # noqa: N818 (a signal, not an error: the template asked not to send)
    """Raised by ``{% abort %}``; not a LiquidError, so nothing in python-liquid swallows it."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason)
        self.reason = reason


def path_text(segments: Sequence[object]) -> str:
    """A path as the template wrote it: ``Profile.name``, ``Profile["Customer Type"]``, ``items[0].sku``."""
    out = [str(segments[0])]
    for seg in segments[1:]:
        if isinstance(seg, str):
            out.append(
                f".{seg}" if _IDENTIFIER.fullmatch(seg) else f"[{json.dumps(seg, ensure_ascii=False)}]"
            )
        else:
            out.append(f"[{seg}]")
    return "".join(out)


class BlankMissing(Undefined):
    """``missing_keys: blank``: renders "" like Liquid's Undefined, recording its path when it does."""

    __slots__ = ("path", "sink")

    def __init__(
        self, name: str, *, token: Token | None = None, obj: object = UNDEFINED, hint: str | None = None
    ):
        super().__init__(name, token=token, obj=obj, hint=hint)
        self.path = name
        self.sink: dict[str, None] | None = None

    def __str__(self) -> str:
        if self.sink is not None:
            self.sink[self.path] = None
        return ""


class StrictMissing(FalsyStrictUndefined):
    """``missing_keys: error``: falsy for ``if``, empty for ``default``, an error when output or looped."""

    allowed_properties = FalsyStrictUndefined.allowed_properties | {"sink", "record"}

    def __init__(self, name: str, *, token: Token | None, obj: object = UNDEFINED, hint: str | None = None):
        super().__init__(name, token=token, obj=obj, hint=hint)
        self.path = name
        self.sink: dict[str, None] | None = None

    def record(self) -> None:
        sink = self.sink
        if sink is not None:
            sink[self.path] = None

    # every use that fails records the key first, so missing_keys names it
    def __getattribute__(self, name: str) -> Any:
        if name not in type(self).allowed_properties:
            object.__getattribute__(self, "record")()
        return super().__getattribute__(name)

    def __str__(self) -> str:
        self.record()
        return super().__str__()

    def __iter__(self) -> Iterator[Any]:
        self.record()
        return super().__iter__()

    def __len__(self) -> int:
        self.record()
        return super().__len__()

    def __contains__(self, item: object) -> bool:
        self.record()
        return super().__contains__(item)

    def __getitem__(self, key: str) -> object:
        self.record()
        return super().__getitem__(key)

    def __int__(self) -> int:
        self.record()
        return super().__int__()

    def __hash__(self) -> int:
        self.record()
        return super().__hash__()


class DialectContext(RenderContext):
    """A render context that tells each missing value its full path and where to record it."""

    __slots__ = ("defaults", "missing")

    def __init__(self, template: BoundTemplate, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        self.missing: dict[str, None] = {}
        self.defaults: dict[str, None] = {}

    def get(self, path: list[object], *, token: Token | None, default: object = UNDEFINED) -> object:
        obj = super().get(path, token=token, default=default)
        # exact type checks: isinstance against these Mapping subclasses goes through the slow ABC machinery
        kind = type(obj)
        if kind is BlankMissing and len(path) > 1:
            obj.path = path_text(path)  # type: ignore[attr-defined]
            obj.sink = self.missing  # type: ignore[attr-defined]
        elif kind is StrictMissing and len(path) > 1:
            text = path_text(path)
            obj.path = text  # type: ignore[attr-defined]
            obj.sink = self.missing  # type: ignore[attr-defined]
            obj.msg = f"missing key {text} (missing_keys: error)"  # type: ignore[attr-defined]
        # a one-segment miss is an unknown variable (Profile and ExternalTrigger always exist), not a key
        return obj

    def filter(self, name: str, token: Token | None) -> Any:
        if name == "default":
            return partial(_tracked_default, self, token)
        found = super().filter(name, token)
        return partial(_strict_filter, found) if self.env.undefined is StrictMissing else found

    def get_buffer(self, buf: TextIO | None = None) -> StringIO:
        limit = self.env.output_stream_limit
        if limit is None:
            return StringIO()
        carry = buf.size if isinstance(buf, CodePointIO) else 0
        return CodePointIO(limit - carry)


def _strict_filter(function: Any, obj: object, *args: object, **kwargs: object) -> Any:
    """A filter under ``missing_keys: error``: a missing key given to it fails, as any other use of one does.
    Without this, the filters that read a missing value as zero or nothing without touching it (``plus``,
    ``times``, ``round``, ``date``...) would render ``{{ ExternalTrigger.qty | plus: 1 }}`` as ``1``."""
    for value in (obj, *args, *kwargs.values()):
        if type(value) is StrictMissing:
            str(value)  # raises UndefinedError with the key's path (and records it)
    return function(obj, *args, **kwargs)


def _tracked_default(
    context: DialectContext,
    token: Token | None,
    obj: Any,
    default_: object = "",
    *,
    allow_false: bool = False,
) -> Any:
    result = liquid_default(obj, default_, allow_false=allow_false)
    if result is default_ and result is not obj:
        kind = type(obj)
        if kind is BlankMissing or kind is StrictMissing:
            context.defaults[obj.path] = None
        elif token is not None:
            template = context.template
            where = getattr(template, "default_paths", {}).get(token.start_index)
            if where is not None:
                context.defaults[where] = None
    return result


class CodePointIO(StringIO):
    """The output buffer: counts code points (the spec's unit), not UTF-8 bytes as python-liquid does.

    A StringIO with slots rather than a ``LimitedStringIO`` (which has an instance dict): python-liquid writes
    each output node separately, and attribute access through the dict made the buffer a tenth of a render.
    """

    __slots__ = ("limit", "size")

    def __init__(self, limit: int) -> None:
        # newline="\n" as StringIO's own default: LimitedStringIO's None would turn CR LF into LF
        super().__init__(newline="\n")
        self.limit = limit
        self.size = 0

    def write(self, s: str) -> int:
        size = self.size + len(s)
        self.size = size
        if size > self.limit:
            raise OutputStreamLimitError("output stream limit reached", token=None)
        return _write(self, s)


_write = StringIO.write


class DialectTemplate(BoundTemplate):
    """A compiled field template; ``default_paths`` maps a ``default`` filter's position to its input path."""

    context_class = DialectContext
    default_paths: dict[int, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_paths = {}

    def _get_buffer(self) -> StringIO:
        limit = self.env.output_stream_limit
        return StringIO() if limit is None else CodePointIO(limit)


def _json_value(value: object) -> object:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        # NaN and infinite decimals become floats that json.dumps(allow_nan=False) refuses
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    if isinstance(value, Undefined):
        return None
    return str(value)


def json_filter(obj: object) -> str:
    """``| json``: the value as RFC 8259 JSON text (a missing key is ``null``, and under ``missing_keys:
    error`` fails as given to any filter; NaN/Infinity fail)."""
    if isinstance(obj, Undefined):
        return "null"
    if isinstance(obj, float) and not math.isfinite(obj):
        raise FilterValueError(f"json: {obj} is not a JSON number", token=None)
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, default=_json_value)
    except ValueError as exc:
        raise FilterValueError(f"json: {exc}", token=None) from None


class AbortNode(Node):
    __slots__ = ("reason",)

    def __init__(self, token: Token, reason: str | None) -> None:
        super().__init__(token)
        self.reason = reason
        # not blank: a block holding only an abort must still run it
        self.blank = False

    def __str__(self) -> str:
        return "{% abort %}" if self.reason is None else f"{{% abort {json.dumps(self.reason)} %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        raise Abort(self.reason)


class AbortTag(Tag):
    """``{% abort %}`` or ``{% abort "reason" %}``: the reason is a string literal."""

    name = "abort"
    block = False

    def parse(self, stream: TokenStream) -> Node:
        # the parser moves past the current token after us: leave it on the tag's last token
        token = stream.current
        if stream.peek.kind != TOKEN_EXPRESSION:
            return AbortNode(token, None)
        next(stream)
        inner = stream.into_inner(tag=token, eat=False)
        if inner.current.kind != TOKEN_STRING:
            raise LiquidSyntaxError("abort takes an optional string literal reason", token=inner.current)
        reason = inner.current.value
        next(inner)
        if inner.current.kind != TOKEN_EOF:
            raise LiquidSyntaxError("abort takes one string literal reason", token=inner.current)
        return AbortNode(token, reason)


def register(env: Environment) -> None:
    """Turn a standard python-liquid environment into the triggerlab dialect."""
    for name in DISABLED_TAGS:
        env.tags.pop(name, None)
    env.add_tag(AbortTag)
    env.add_filter("json", json_filter)


class Dialect(Environment):
    """The triggerlab Liquid environment (one class; one instance per missing-key mode and escaping)."""

    loop_iteration_limit: ClassVar[int | None] = LOOP_ITERATION_LIMIT
    output_stream_limit: ClassVar[int | None] = OUTPUT_LIMIT
    local_namespace_limit: ClassVar[int | None] = LOCAL_NAMESPACE_LIMIT
    template_class = DialectTemplate

    def __init__(self, *, missing_keys: MissingKeys = "blank", autoescape: bool = False) -> None:
        super().__init__(
            undefined=BlankMissing if missing_keys == "blank" else StrictMissing, autoescape=autoescape
        )
        self.missing_keys: MissingKeys = missing_keys
        register(self)


@cache
def dialect(missing_keys: MissingKeys = "blank", *, autoescape: bool = False) -> Dialect:
    """The shared environment for a mode (environments are stateless between renders)."""
    return Dialect(missing_keys=missing_keys, autoescape=autoescape)


def new_context(
    template: BoundTemplate, profile: Mapping[str, Any], payload: Mapping[str, Any]
) -> DialectContext:
    """A context with ``Profile``/``ExternalTrigger``; it collects the missing keys and defaults used."""
    return DialectContext(template, globals={"Profile": profile, "ExternalTrigger": payload})


def render_template(template: DialectTemplate, context: DialectContext) -> str:
    """Render into a code-point-limited buffer (what the missing keys were is left in ``context``)."""
    buffer = template._get_buffer()
    template.render_with_context(context, buffer)
    return buffer.getvalue()
