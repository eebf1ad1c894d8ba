"""Parsing field templates once, with syntax errors that always carry a line and column.

python-liquid reports some errors without a position (a missing ``endfor``/``endif``, ``{{ a | }}``); for
those we find the culprit ourselves: the innermost unclosed opening tag of the kind the parser expected, else
the first statement that fails to parse on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from liquid import RenderContext
from liquid.ast import Node
from liquid.builtin.expressions.filtered import Filter, FilteredExpression, TernaryFilteredExpression
from liquid.builtin.expressions.path import Path
from liquid.exceptions import LiquidError
from liquid.expression import Expression
from liquid.token import TOKEN_OUTPUT, TOKEN_TAG

from triggerlab.errors import TemplateSyntaxError
from triggerlab.templates.dialect import (
    DISABLED_TAGS,
    Dialect,
    DialectTemplate,
    MissingKeys,
    dialect,
    path_text,
)

__all__ = ["compile_source", "line_col", "walk_expressions", "walk_filters"]

_EXPECTED_END = re.compile(r"expected tag end(\w+)")


def line_col(source: str, index: int) -> tuple[int, int]:
    """1-based line and 0-based column of ``index`` in ``source``."""
    return source.count("\n", 0, index) + 1, index - (source.rfind("\n", 0, index) + 1)


def _unclosed(env: Dialect, source: str, tag: str) -> int | None:
    spans = env.analyze_tags_from_string(source).unclosed_tags.get(tag)
    return max(span.index for span in spans) if spans else None


def _first_failing_statement(env: Dialect, source: str) -> int | None:
    for token in env.tokenizer()(source):
        if token.kind == TOKEN_OUTPUT:
            snippet = f"{{{{ {token.value} }}}}"
        elif token.kind == TOKEN_TAG and token.value in env.tags:
            tag = env.tags[token.value]
            snippet = f"{{% {token.value} {_expression_after(token.source, token.start_index)} %}}"
            end = str(getattr(tag, "end", ""))
            if tag.block and end:
                snippet += f"{{% {end} %}}"
        else:
            continue
        try:
            env.from_string(snippet)
        except LiquidError:
            return token.start_index
    return None


def _expression_after(source: str, index: int) -> str:
    end = source.find("%}", index)
    body = source[index : end if end >= 0 else len(source)]
    return body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""


def _syntax_error(env: Dialect, source: str, err: LiquidError) -> TemplateSyntaxError:
    message = str(err.message)
    if err.token is not None and err.token.start_index >= 0:
        index: int | None = err.token.start_index
    else:
        expected = _EXPECTED_END.search(message)
        index = _unclosed(env, source, expected.group(1)) if expected else None
        if expected and index is not None:
            message = f"{{% {expected.group(1)} %}} is never closed (no {{% end{expected.group(1)} %}})"
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
