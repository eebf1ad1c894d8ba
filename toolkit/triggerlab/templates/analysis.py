"""Static analysis of field templates: the payload and profile paths they use, unknown filters and tags.

Loop variables are resolved to the path they iterate (``product.productName`` inside
``{% for product in ExternalTrigger.productDetails %}`` is ``ExternalTrigger.productDetails.*.productName``),
with the alias map scoped by block, so two loops reusing one variable name resolve independently. A bare
``{% assign p = ExternalTrigger.plan %}`` is followed too.

Each use is classified the way rendering treats a missing key (spec/semantics.md "Edges"): a key consumed by
``default``, ``| json``, a condition or a loop is never reported missing; any other use is a ``value`` use.
``required`` marks value uses that run whenever the message does and print the value as text (no filter,
or only string filters): not inside an ``if``/``unless``/``case`` branch or a loop's ``else``, not after an
``{% abort %}``; inside a loop body this is relative to the loop (the item's key is required for each item).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from liquid import RenderContext
from liquid.ast import BlockNode, ConditionalBlockNode, Node
from liquid.builtin.expressions.filtered import FilteredExpression
from liquid.builtin.expressions.path import Path
from liquid.builtin.expressions.primitive import StringLiteral
from liquid.builtin.tags.assign_tag import AssignNode
from liquid.builtin.tags.capture_tag import CaptureNode
from liquid.builtin.tags.case_tag import CaseNode, MultiExpressionBlockNode
from liquid.builtin.tags.for_tag import ForNode
from liquid.builtin.tags.if_tag import IfNode
from liquid.builtin.tags.tablerow_tag import TablerowNode
from liquid.builtin.tags.unless_tag import UnlessNode
from liquid.exceptions import LiquidError
from liquid.expression import Expression

from triggerlab.errors import TemplateSyntaxError
from triggerlab.templates.compiler import (
    compile_source,
    line_col,
    statements,
    tag_audit,
    walk_filters,
    walk_nodes,
)
from triggerlab.templates.dialect import DISABLED_TAGS, AbortNode, Dialect, dialect, path_text

__all__ = ["GLOBALS", "ITEM", "Problem", "TemplateAnalysis", "TemplatePath", "Use", "analyze_template"]

#: the dialect's two objects
GLOBALS = ("Profile", "ExternalTrigger")
#: the segment that stands for "each item" of a looped array
ITEM = "*"

Segment = str | int
UseKind = Literal["value", "condition", "loop"]

_LOOP_NAMES = frozenset({"forloop", "tablerowloop"})

#: filters that stringify a missing value (so it is reported missing); size, join, date, plus... do not
STRING_FILTERS = frozenset(
    {"upcase", "downcase", "capitalize", "append", "prepend", "strip", "lstrip", "rstrip", "escape",
     "escape_once", "url_encode", "strip_html", "strip_newlines", "newline_to_br", "remove", "remove_first",
     "remove_last", "replace", "replace_first", "replace_last", "truncate", "truncatewords", "squish", "safe"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Use:
    """One use of a ``Profile``/``ExternalTrigger`` path in a template."""

    path: str
    segments: tuple[Segment, ...]
    written: str
    line: int
    column: int
    kind: UseKind
    has_default: bool
    json: bool
    required: bool
    #: filters applied to the value (``join`` or ``first`` say a leaf is an array, not a string)
    filters: tuple[str, ...] = ()
    #: the ``default`` filter's argument: the text of a string literal, else the expression as written
    default: str | None = None
    #: a dynamic segment (``items[idx]``) followed: nothing below ``segments`` is known
    dynamic: bool = False


@dataclass(frozen=True, slots=True)
class TemplatePath:
    """A distinct path: where it is first used and whether every use of it has a ``default``."""

    path: str
    has_default: bool
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Problem:
    """An unknown filter or tag, or a syntax error, at a 1-based line and 0-based column."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class TemplateAnalysis:
    """What one template uses. ``problems`` holds syntax errors, unknown filters and unknown tags."""

    paths: tuple[TemplatePath, ...] = ()
    uses: tuple[Use, ...] = ()
    filters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    unknown_variables: tuple[str, ...] = ()
    has_abort: bool = False
    problems: tuple[Problem, ...] = ()
    syntax_error: TemplateSyntaxError | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Scope:
    aliases: Mapping[str, tuple[Segment, ...]]
    conditional: bool


@dataclass
class _Walk:
    source: str
    static: RenderContext
    uses: list[Use] = field(default_factory=list)
    unknown: dict[str, None] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    assigned: dict[str, tuple[Segment, ...]] = field(default_factory=dict)
    after_abort: bool = False
    has_abort: bool = False

    def nodes(self, nodes: list[Node] | tuple[Node, ...], scope: _Scope) -> None:
        for node in nodes:
            self.node(node, scope)

    def node(self, node: Node, scope: _Scope) -> None:
        if isinstance(node, AbortNode):
            self.has_abort = True
            self.after_abort = True
            return
        if isinstance(node, (ForNode, TablerowNode)):
            loop = node.expression
            self.expression(loop.iterable, scope, "loop")
            for extra in (loop.limit, loop.offset, getattr(loop, "cols", None)):
                if extra is not None:
                    self.expression(extra, scope, "value")
            item = self.resolve_path(loop.iterable, scope)
            aliases = dict(scope.aliases)
            if item is not None:
                aliases[loop.identifier] = (*item, ITEM)
            else:
                self.locals.add(loop.identifier)
            self.nodes(list(node.block.nodes), _Scope(aliases, conditional=scope.conditional))
            if isinstance(node, ForNode) and node.default is not None:
                self.nodes(list(node.default.nodes), _Scope(scope.aliases, conditional=True))
            return
        branching = isinstance(
            node, (IfNode, UnlessNode, CaseNode, ConditionalBlockNode, MultiExpressionBlockNode)
        )
        # a bare ``{% assign p = ExternalTrigger.plan %}`` prints and touches nothing (a missing key is not
        # reported by it): its value is followed through ``p`` instead
        target = self.resolve_path(node.expression, scope) if isinstance(node, AssignNode) else None
        for expr in node.expressions():
            self.expression(expr, scope, "condition" if branching else "value", printed=target is None)
        if isinstance(node, AssignNode):
            self.locals.add(node.name)
            if target is not None:
                self.assigned[node.name] = target
            elif not scope.conditional:
                # reassigned to anything else on every path: the name no longer stands for a payload path
                self.assigned.pop(node.name, None)
        if isinstance(node, CaptureNode):
            self.locals.add(node.name)
            if not scope.conditional:
                self.assigned.pop(node.name, None)
        inner = _Scope(scope.aliases, conditional=scope.conditional or branching)
        for child in node.children(self.static, include_partials=False):
            self.node(child, inner)

    def resolve_path(self, expr: Expression, scope: _Scope) -> tuple[Segment, ...] | None:
        """The resolved segments of a bare path expression (no filters), if it names a dialect object."""
        if isinstance(expr, FilteredExpression) and not expr.filters:
            expr = expr.left
        if not isinstance(expr, Path):
            return None
        resolved, dynamic = self.resolve(expr, scope)
        return None if resolved is None or dynamic else resolved

    def resolve(self, path: Path, scope: _Scope) -> tuple[tuple[Segment, ...] | None, bool]:
        head = path.path[0]
        if not isinstance(head, str):
            return None, False
        base: tuple[Segment, ...]
        if head in scope.aliases:
            base = scope.aliases[head]
        elif head in self.assigned:
            base = self.assigned[head]
        elif head in GLOBALS:
            base = (head,)
        else:
            if head not in self.locals and head not in _LOOP_NAMES:
                self.unknown[head] = None
            return None, False
        out = list(base)
        for seg in path.path[1:]:
            if isinstance(seg, Path):
                return tuple(out), True
            out.append(seg)
        return tuple(out), False

    def expression(self, expr: Expression, scope: _Scope, kind: UseKind, *, printed: bool = True) -> None:
        for path, default, json, filters in _paths(expr, None, False):
            defaulted = default is not None
            for seg in path.path[1:]:
                if isinstance(seg, Path):
                    self.expression(seg, scope, "value")
            resolved, dynamic = self.resolve(path, scope)
            if resolved is None:
                continue
            line, column = line_col(self.source, path.token.start_index)
            stringified = all(name in STRING_FILTERS for name in filters)
            skipped = defaulted or json or scope.conditional or self.after_abort
            required = kind == "value" and printed and stringified and not skipped
            self.uses.append(
                Use(
                    path=resolved_text(resolved),
                    segments=resolved,
                    written=path_text(path.path),
                    line=line,
                    column=column,
                    kind=kind,
                    has_default=defaulted,
                    json=json,
                    required=required,
                    filters=filters,
                    default=default,
                    dynamic=dynamic,
                )
            )


def resolved_text(segments: tuple[Segment, ...]) -> str:
    """``ExternalTrigger.productDetails.*.pricingDetails.*.name``; odd keys in brackets, indexes ``[0]``."""
    return path_text(segments).replace(f'["{ITEM}"]', f".{ITEM}")


def _default_text(expr: FilteredExpression) -> str | None:
    for f in expr.filters or []:
        if f.name == "default":
            if not f.args:
                return ""
            value = f.args[0].value
            return value.value if isinstance(value, StringLiteral) else str(value)
    return None


def _paths(
    expr: Expression, defaulted: str | None, json: bool, filters: tuple[str, ...] = ()
) -> Iterator[tuple[Path, str | None, bool, tuple[str, ...]]]:
    """Each path in an expression, with its default, whether ``| json`` takes it, and its filters."""
    if isinstance(expr, Path):
        yield expr, defaulted, json, filters
        return
    if isinstance(expr, FilteredExpression):
        names = tuple(f.name for f in expr.filters or [])
        default = _default_text(expr)
        yield from _paths(
            expr.left, defaulted if default is None else default, json or "json" in names, names
        )
        for f in expr.filters or []:
            for arg in f.children():
                yield from _paths(arg, None, False)
        return
    for child in expr.children():
        yield from _paths(child, defaulted, json)


def _unknown_filters(template_nodes: list[Node], env: Dialect, source: str, offset: int = 0) -> list[Problem]:
    problems = []
    for node in walk_nodes(template_nodes, env):
        for expr in node.expressions():
            for _left, f in walk_filters(expr):
                if f.name not in env.filters:
                    line, column = line_col(source, f.token.start_index + offset)
                    problems.append(Problem(f'unknown filter "{f.name}"', line, column))
    return problems


def _statement_filter_problems(env: Dialect, source: str) -> list[Problem]:
    """Unknown filters in a template that does not parse as a whole: each statement is parsed alone."""
    problems = []
    for statement in statements(env, source):
        try:
            template = env.from_string(statement.snippet)
        except LiquidError:
            continue
        problems.extend(_unknown_filters(template.nodes, env, source, statement.offset))
    return problems


def _tag_problems(env: Dialect, source: str) -> list[Problem]:
    audit = tag_audit(env, source)
    if audit is None:
        return []
    problems = []
    for name, spans in audit.unknown_tags.items():
        for span in spans:
            line, column = line_col(source, span.index)
            if name in DISABLED_TAGS:
                text = f"{name} is not available: a triggerlab template cannot load other templates"
            else:
                text = f'unknown tag "{name}"'
            problems.append(Problem(text, line, column))
    return problems


def _tag_names(nodes: list[Node], env: Dialect) -> list[str]:
    names: dict[str, None] = {}
    for node in walk_nodes(nodes, env):
        if node.token.kind == "tag" and not isinstance(
            node, (BlockNode, ConditionalBlockNode, MultiExpressionBlockNode)
        ):
            names[str(node.token.value)] = None
    return list(names)


@lru_cache(maxsize=4096)
def analyze_template(source: str) -> TemplateAnalysis:
    """Every ``Profile``/``ExternalTrigger`` path (loop variables resolved), defaults, unknown filters and
    tags, and syntax errors, with 1-based lines and 0-based columns."""
    env = dialect("blank")
    tag_problems = _tag_problems(env, source)
    try:
        template = compile_source(source)
    except TemplateSyntaxError as err:
        problems = tag_problems or [Problem(err.message, err.line or 1, err.column or 0)]
        problems += _statement_filter_problems(env, source)
        return TemplateAnalysis(problems=tuple(sorted(set(problems), key=_where)), syntax_error=err)
    walk = _Walk(source, RenderContext(template))
    walk.nodes(template.nodes, _Scope({}, conditional=False))
    filters = {
        f.name: None
        for node in walk_nodes(template.nodes, env)
        for e in node.expressions()
        for _, f in walk_filters(e)
    }
    problems = tag_problems + _unknown_filters(template.nodes, env, source)
    return TemplateAnalysis(
        paths=_distinct(walk.uses),
        uses=tuple(walk.uses),
        filters=tuple(filters),
        tags=tuple(_tag_names(template.nodes, env)),
        unknown_variables=tuple(walk.unknown),
        has_abort=walk.has_abort,
        problems=tuple(sorted(problems, key=_where)),
    )


def _where(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


def _distinct(uses: list[Use]) -> tuple[TemplatePath, ...]:
    first: dict[str, Use] = {}
    defaulted: dict[str, bool] = {}
    for use in uses:
        first.setdefault(use.path, use)
        defaulted[use.path] = defaulted.get(use.path, True) and use.has_default
    return tuple(TemplatePath(p, defaulted[p], u.line, u.column) for p, u in first.items())
