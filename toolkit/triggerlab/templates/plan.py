"""Can a campaign's message ever fail to render? The simulator skips rendering when it cannot.

``always_ok`` is True only when no profile and no payload can make a row ``aborted`` or ``render_error``:
every template parses, no ``{% abort %}``, ``missing_keys: blank``, only filters that cannot fail on data,
no loops (a payload array could pass the loop limit), no output in mail header fields (a value could carry
CR/LF), required fields with literal non-blank text outside any tag, and no JSON-checked webhook body.
Output size: every output statement is bounded by ``max_payload_bytes`` (times the paths it could combine);
the one assumption is that a single profile value is not itself near the 1,000,000-code-point limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from liquid.ast import BlockNode, Node
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions.path import Path
from liquid.builtin.output import OutputNode

from triggerlab.campaign import Campaign
from triggerlab.errors import TemplateSyntaxError
from triggerlab.messages import message_class
from triggerlab.settings import Settings
from triggerlab.templates.analysis import analyze_template
from triggerlab.templates.compiler import compile_source, walk_expressions, walk_nodes
from triggerlab.templates.dialect import OUTPUT_LIMIT, dialect
from triggerlab.templates.render import HEADER_FIELDS, compile_message

__all__ = ["SAFE_FILTERS", "RenderPlan", "plan_rendering"]

#: filters that accept any value without raising (string functions over Liquid's soft string form)
SAFE_FILTERS = frozenset(
    {
        "default", "json", "safe", "upcase", "downcase", "capitalize", "append", "prepend", "strip", "lstrip",
        "rstrip", "strip_html", "strip_newlines", "newline_to_br", "escape", "escape_once", "url_encode",
        "size", "squish",
    }
)  # fmt: skip

#: tags that cannot fail on data (loops can: the iteration limit)
#: (assign and capture are left out: a local printed many times multiplies a value past the output bound)
SAFE_TAGS = frozenset({"if", "unless", "case", "comment", "raw", "echo", "liquid", "#"})


@dataclass(frozen=True)
class RenderPlan:
    """``always_ok``: rendering can be skipped; ``reasons``: why not, one line each."""

    always_ok: bool
    reasons: tuple[str, ...] = ()


def _literal_text(nodes: list[Node]) -> str:
    """Text written outside any tag at the top level (always output)."""
    return "".join(node.text for node in nodes if isinstance(node, ContentNode))


def _statements(nodes: list[Node]) -> list[Node]:
    """Every output statement or tag, at any depth."""
    return [n for n in walk_nodes(nodes, dialect("blank")) if not isinstance(n, (ContentNode, BlockNode))]


def _values(node: OutputNode) -> int:
    """How many data values one output statement can combine (each at most max_payload_bytes)."""
    return max(1, sum(isinstance(e, Path) for e in walk_expressions(node.expression)))


def plan_rendering(campaign: Campaign, settings: Settings) -> RenderPlan:
    """Decide whether every row of this campaign renders ``ok`` whatever the data."""
    reasons: list[str] = []
    if settings.missing_keys != "blank":
        reasons.append("missing_keys: error (a missing key fails the render)")
    compiled = compile_message(campaign)
    cls = message_class(campaign.channel)
    if compiled.json_body and any(f.field == "body" for f in compiled.fields):
        reasons.append("message.body is checked as JSON (content_type: json)")
    rendered = {f.field for f in compiled.fields}
    for name in cls.required:
        if name not in rendered:
            reasons.append(f"message.{name} is required and missing")
    for field in compiled.fields:
        try:
            template = compile_source(field.source)
        except TemplateSyntaxError as err:
            reasons.append(f"{field.label} does not parse: {err.message}")
            continue
        analysis = analyze_template(field.source)
        if analysis.has_abort:
            reasons.append(f"{field.label} can abort")
        risky_filters = sorted(set(analysis.filters) - SAFE_FILTERS)
        if risky_filters:
            reasons.append(f"{field.label} uses filters that can fail on data: {', '.join(risky_filters)}")
        risky_tags = sorted(set(analysis.tags) - SAFE_TAGS - {"abort"})
        if risky_tags:
            reasons.append(f"{field.label} uses tags that can fail on data: {', '.join(risky_tags)}")
        statements = _statements(template.nodes)
        if field.field in HEADER_FIELDS and statements:
            reasons.append(f"{field.label} outputs values into a mail header (a line break would fail it)")
        values = sum(_values(n) for n in statements if isinstance(n, OutputNode))
        if values * settings.max_payload_bytes + len(field.source) >= OUTPUT_LIMIT:
            reasons.append(f"{field.label} could reach the output limit with max_payload_bytes of data")
        if field.field in cls.required and not _literal_text(template.nodes).strip():
            reasons.append(
                f"{field.label} is required and has no literal text outside tags (may render blank)"
            )
    return RenderPlan(always_ok=not reasons, reasons=tuple(reasons))
