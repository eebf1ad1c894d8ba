"""Parsing field templates once, with syntax errors that always carry a line and column.

python-liquid reports some errors without a position (a missing ``endfor``/``endif``, ``{{ a | }}``); for
those we find the culprit ourselves: the innermost unclosed opening tag of the kind the parser expected, else
the first statement that fails to parse on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from liquid import RenderContext, TagAnalysis
from liquid.ast import Node
from liquid.builtin.expressions.filtered import Filter, FilteredExpression, TernaryFilteredExpression
from liquid.builtin.expressions.path import Path
from liquid.exceptions import LiquidError
from liquid.expression import Expression
from liquid.token import TOKEN_EXPRESSION, TOKEN_OUTPUT, TOKEN_TAG

from triggerlab.errors import TemplateSyntaxError
from triggerlab.templates.dialect import (
    DISABLED_TAGS,
    Dialect,
    DialectTemplate,
    MissingKeys,
    dialect,
    path_text,
)

__all__ = [
    "Statement",
    "compile_source",
    "line_col",
    "statements",
    "tag_audit",
    "walk_expressions",
    "walk_filters",
    "walk_nodes",
]

_EXPECTED_END = re.compile(r"expected tag end(\w+)")
_STRAY_END = re.compile(r"unexpected tag 'end\w+'")
#: python-liquid's message when the template ends inside a block that names no end tag (an unclosed ``case``)
_END_OF_SOURCE = "unexpected tag 'end of expression'"


def line_col(source: str, index: int) -> tuple[int, int]:
    """1-based line and 0-based column of ``index`` in ``source``."""
    return source.count("\n", 0, index) + 1, index - (source.rfind("\n", 0, index) + 1)


def tag_audit(env: Dialect, source: str) -> TagAnalysis | None:
    """python-liquid's tag audit, or None where it breaks (2.3.6 raises IndexError on a stray end tag)."""
    try:
        return env.analyze_tags_from_string(source)
    except (IndexError, LiquidError):
        return None


def _unclosed(
    env: Dialect, source: str, tag: str | None, before: int | None = None
) -> tuple[str, int] | None:
    """The innermost unclosed block tag (of one kind, or any kind) opened before ``before``."""
    audit = tag_audit(env, source)
    if audit is None:
        return None
    spans = [
        (name, span.index)
        for name, found in audit.unclosed_tags.items()
        for span in found
        if (tag is None or name == tag) and (before is None or span.index < before)
    ]
    return max(spans, key=lambda s: s[1]) if spans else None


@dataclass(frozen=True, slots=True)
class Statement:
    """One output statement or tag, alone: ``offset`` maps a position in ``snippet`` back to the source."""

    index: int
    snippet: str
    offset: int


def statements(env: Dialect, source: str) -> Iterator[Statement]:
    """Every output statement and registered tag of a template, each as a template of its own."""
    try:
        tokens = list(env.tokenizer()(source))
    except LiquidError:
        return
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        expression = following if following is not None and following.kind == TOKEN_EXPRESSION else None
        if token.kind == TOKEN_OUTPUT and expression is not None:
            prefix, suffix = "{{ ", " }}"
        elif token.kind == TOKEN_TAG and token.value in env.tags and token.value != "liquid":
            prefix, suffix = f"{{% {token.value} ", " %}"
            tag = env.tags[token.value]
            end = str(getattr(tag, "end", ""))
            if tag.block and end:
                suffix += f"{{% {end} %}}"
        else:
            continue
        text = expression.value if expression is not None else ""
        offset = expression.start_index - len(prefix) if expression is not None else token.start_index
        yield Statement(token.start_index, f"{prefix}{text}{suffix}", offset)


def _first_failing_statement(env: Dialect, source: str) -> int | None:
    for statement in statements(env, source):
        try:
            env.from_string(statement.snippet)
        except LiquidError:
            return statement.index
    return None


def _syntax_error(env: Dialect, source: str, err: LiquidError) -> TemplateSyntaxError:
    message = str(err.message)
    index: int | None = (
        err.token.start_index if err.token is not None and err.token.start_index >= 0 else None
    )
    expected = _EXPECTED_END.search(message)
    stray_end = _STRAY_END.fullmatch(message)
    unclosed = None
    if expected and index is None:
        unclosed = _unclosed(env, source, expected.group(1))
    elif message == _END_OF_SOURCE and index is None:
        unclosed = _unclosed(env, source, None)
    elif stray_end:
        # an end tag that closes nothing open here: the real mistake is the block left open before it
        unclosed = _unclosed(env, source, None, before=index)
    if unclosed is not None:
        name, index = unclosed
        message = f"{{% {name} %}} is never closed (no {{% end{name} %}})"
    elif index is None:
        index = _first_failing_statement(env, source)
    for name in DISABLED_TAGS:
        if message == f"unexpected tag '{name}'":
            message = f"{name} is not available: a triggerlab template cannot load other templates"
    line, column = line_col(source, index) if index is not None else (1, 0)
    return TemplateSyntaxError(message, line=line, column=column)


def walk_expressions(expression: Expression) -> Iterator[Expression]:
    yield expression
    for child in expression.children():
        yield from walk_expressions(child)


def walk_filters(expression: Expression) -> Iterator[tuple[Expression | None, Filter]]:
    """Every filter applied in an expression tree, with the expression it filters (when there is one)."""
    for expr in walk_expressions(expression):
        if isinstance(expr, TernaryFilteredExpression):
            for f in (expr.filters or []) + (expr.tail_filters or []):
                yield None, f
        elif isinstance(expr, FilteredExpression) and expr.filters:
            for f in expr.filters:
                yield expr.left, f


def walk_nodes(nodes: list[Node], env: Dialect) -> Iterator[Node]:
    if not nodes:
        return
    static = RenderContext(DialectTemplate(env, nodes))
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(node.children(static, include_partials=False))))


@lru_cache(maxsize=4096)
def compile_source(
    source: str, missing_keys: MissingKeys = "blank", autoescape: bool = False
) -> DialectTemplate:
    """Parse once per (source, mode); raise TemplateSyntaxError with line and column."""
    env = dialect(missing_keys, autoescape=autoescape)
    try:
        template = env.from_string(source)
    except LiquidError as err:
        raise _syntax_error(env, source, err) from None
    except RecursionError:
        raise TemplateSyntaxError("nested too deeply to parse", line=1, column=0) from None
    assert isinstance(template, DialectTemplate)
    for node in walk_nodes(template.nodes, env):
        for expr in node.expressions():
            for left, f in walk_filters(expr):
                if f.name == "default" and isinstance(left, Path) and f.token is not None:
                    template.default_paths[f.token.start_index] = path_text(left.path)
    return template
