"""The policy's metric expressions: ``accuracy >= production.accuracy - 0.005``.

A small recursive-descent parser, never ``eval``: a policy file comes from a repository
anyone may send a pull request to, so it may name metrics and do arithmetic, nothing more.

Grammar (one comparison per expression)::

    comparison := sum OP sum               OP: < <= > >= == !=
    sum        := product (('+' | '-') product)*
    product    := unary (('*' | '/') unary)*
    unary      := '-' unary | atom
    atom       := NUMBER | ref | '(' sum ')'
    ref        := NAME                     a metric of the version being validated
                | NAME '.' NAME            ALIAS.metric (production.accuracy, latest.loss)
                | '@' VERSION '.' NAME     a version of the same model (@1.2.0.accuracy)
    NAME       := [A-Za-z_][A-Za-z0-9_]* | `any text but a backtick`
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<version>@\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.\d+)*)?(?:\+[0-9A-Za-z-]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)
  | (?P<op><=|>=|==|!=|<|>|[-+*/().])
""", re.VERBOSE)
MAX_LENGTH = 500  # an expression is one line of a policy; anything longer is a mistake
MAX_NESTING = 32  # parentheses and signs deep: bounded, so no input reaches a RecursionError


class ExpressionError(ValueError):
    """A malformed expression; ``position`` is the 1-based column of the problem."""

    def __init__(self, problem: str, position: int) -> None:
        super().__init__(f"{problem} at position {position}")
        self.problem = problem
        self.position = position


@dataclass(frozen=True)
class Ref:
    """A metric of a version: ``target`` None (the candidate), an alias, or ``@VERSION``."""

    metric: str
    target: str | None = None

    def __str__(self) -> str:
        return f"{self.target}.{self.metric}" if self.target else self.metric


@dataclass(frozen=True)
class Number:
    """A literal number."""

    value: float


@dataclass(frozen=True)
class Negate:
    """``-operand``."""

    operand: Node


@dataclass(frozen=True)
class Arithmetic:
    """``left op right`` with op one of + - * /."""

    op: str
    left: Node
    right: Node


Node = Union[Number, Ref, Negate, Arithmetic]  # noqa: UP007 (a runtime alias, read by mypy)


@dataclass(frozen=True)
class Comparison:
    """A parsed expression: ``left OP right``."""

    text: str
    op: str
    left: Node
    right: Node

    def refs(self) -> list[Ref]:
        """Every metric reference, in the order written."""
        found: list[Ref] = []
        for side in (self.left, self.right):
            _collect(side, found)
        return found

    def evaluate(self, value_of: Callable[[Ref], float]) -> tuple[bool, float, float]:
        """(holds, left value, right value). A NaN side never holds (a metric that diverged
        cannot pass); division by zero raises ZeroDivisionError."""
        left, right = _value(self.left, value_of), _value(self.right, value_of)
        holds = not (math.isnan(left) or math.isnan(right)) and COMPARISONS[self.op](left, right)
        return holds, left, right


def _collect(node: Node, found: list[Ref]) -> None:
    if isinstance(node, Ref):
        found.append(node)
    elif isinstance(node, Negate):
        _collect(node.operand, found)
    elif isinstance(node, Arithmetic):
        _collect(node.left, found)
        _collect(node.right, found)


def _value(node: Node, value_of: Callable[[Ref], float]) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        return value_of(node)
    if isinstance(node, Negate):
        return -_value(node.operand, value_of)
    return _ARITHMETIC[node.op](_value(node.left, value_of), _value(node.right, value_of))


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, 1-based position) of each token, ending with ("end", "", len + 1)."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(f"unexpected {text[pos]!r}", pos + 1)
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group(), pos + 1))
        pos = match.end()
    out.append(("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.at]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, wanted: str) -> ExpressionError:
        kind, text, position = self.peek()
        found = "end of expression" if kind == "end" else repr(text)
        return ExpressionError(f"expected {wanted}, found {found}", position)

    def sum(self) -> Node:
        node = self.product()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            node = Arithmetic(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            node = Arithmetic(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek()[:2] == ("op", "-"):
            self.take()
            return Negate(self.nested(self.unary))
        return self.atom()

    def nested(self, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"nested more than {MAX_NESTING} deep", self.peek()[2])
        node = parse()
        self.depth -= 1
        return node

    def atom(self) -> Node:
        kind, text, _ = self.peek()
        if kind == "number":
            self.take()
            return Number(float(text))
        if kind == "op" and text == "(":
            self.take()
            node = self.nested(self.sum)
            if self.peek()[:2] != ("op", ")"):
                raise self.fail("')'")
            self.take()
            return node
        if kind in ("name", "version"):
            self.take()
            first = text.strip("`") if kind == "name" else text
            if self.peek()[:2] != ("op", "."):
                if kind == "version":
                    raise self.fail(f"'.' and a metric name after {text}")
                return Ref(first)
            self.take()
            if self.peek()[0] != "name":
                raise self.fail("a metric name after '.'")
            return Ref(self.take()[1].strip("`"), first)
        raise self.fail("a number, a metric name or '('")


def parse_expression(text: str) -> Comparison:
    """Parse one policy expression; ExpressionError names the problem and its position."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    parser = _Parser(text)
    left = parser.sum()
    kind, op, _ = parser.peek()
    if kind != "op" or op not in COMPARISONS:
        raise parser.fail("a comparison (<, <=, >, >=, ==, !=)")
    parser.take()
    right = parser.sum()
    if parser.peek()[0] != "end":
        raise parser.fail("end of expression")
    return Comparison(text.strip(), op, left, right)
