"""A small, safe arithmetic language for spec fields: `width * 4`, `depths[2]`, `stride != 1`.

Parsed with Python's `ast` and walked by hand over a closed set of node types: no attribute
access, no calls beyond FUNCTIONS, no exponent, no eval.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from archcalc.errors import SpecError, did_you_mean
from archcalc.limits import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH, MAX_MAGNITUDE

FUNCTIONS = {"min": min, "max": max, "ceil": math.ceil, "floor": math.floor}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_HINT = "expressions use numbers, names of parameters, + - * / // %, comparisons, " \
        "and/or/not, 'a if cond else b', lists, indexing and min/max/ceil/floor"


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """Parse once per distinct text; raise SpecError for syntax outside the language."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise SpecError(f"the expression {_quoted(text)} is longer than {MAX_EXPRESSION_CHARS:,} characters",
                        hint="split it into parameters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):
        raise SpecError(f"cannot read the expression {_quoted(text)}", hint=_HINT) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            raise SpecError(f"operator not allowed in {_quoted(text)}", hint=_HINT)
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords
        ):
            raise SpecError(f"only min, max, ceil and floor may be called in {_quoted(text)}", hint=_HINT)
        if not isinstance(node, _ALLOWED):
            raise SpecError(f"'{ast.unparse(node)}' is not allowed in an expression", hint=_HINT)
    if _depth(tree) > MAX_EXPRESSION_DEPTH:
        raise SpecError(f"{_quoted(text)} nests more than {MAX_EXPRESSION_DEPTH} operations",
                        hint="split it into parameters")
    return tree


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """The value of `text` with `names` bound; SpecError for anything wrong."""
    try:
        return compiled(text)(names)
    except ZeroDivisionError:
        raise SpecError(f"division by zero in {_quoted(text)}") from None
    except (TypeError, IndexError, ValueError, OverflowError) as exc:
        raise SpecError(f"cannot evaluate {_quoted(text)}: {exc}") from None


@lru_cache(maxsize=4096)
def compiled(text: str) -> Callable[[Mapping[str, Any]], Any]:
    """`text` as a function of the names bound, made once per distinct text (a model evaluates
    the same few expressions in every block instance)."""
    return _Compiler(text).compile(parse(text))


def _depth(tree: ast.expr) -> int:
    """How deep the expression nests (without recursion: the tree may be deep)."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                       if isinstance(child, ast.expr))
    return deepest


def _quoted(text: str, limit: int = 60) -> str:
    """'text' for a message, shortened in the middle when long."""
    text = text.strip()
    if len(text) > limit:
        text = f"{text[:limit // 2]}…{text[-limit // 2:]}"
    return f"'{text}'"


class _Compiler:
    """Turns a checked tree into nested closures: each node a function of the names bound."""

    def __init__(self, text: str) -> None:
        self.text = text

    def compile(self, node: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
        inner = getattr(self, "compile_" + type(node).__name__)(node)
        text = self.text

        def bounded(names: Mapping[str, Any]) -> Any:
            value = inner(names)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
                raise SpecError(f"{_quoted(text)} gives {value:.3g}, beyond the limit of {MAX_MAGNITUDE:.0e}")
            return value
        return bounded

    def compile_Constant(self, node: ast.Constant) -> Callable:
        value, text = node.value, self.text

        def constant(names: Mapping[str, Any]) -> Any:
            if not isinstance(value, (int, float, str, bool)):
                raise SpecError(f"constant {value!r} is not allowed in {_quoted(text)}")
            return value
        return constant

    def compile_Name(self, node: ast.Name) -> Callable:
        name, text = node.id, self.text
        fallback = {"true": True, "True": True, "false": False, "False": False}.get(name)

        def lookup(names: Mapping[str, Any]) -> Any:
            if name in names:
                return names[name]
            if fallback is not None:
                return fallback
            raise SpecError(
                f"unknown name {_quoted(name, 40)} in {_quoted(text)}{did_you_mean(name, names)}",
                hint="names in expressions are the parameters of the model or of the enclosing block",
            )
        return lookup

    def compile_BinOp(self, node: ast.BinOp) -> Callable:
        left, right, apply, text = self.compile(node.left), self.compile(node.right), _BINARY[type(node.op)], self.text

        def binary(names: Mapping[str, Any]) -> Any:
            a, b = left(names), right(names)
            if not (_is_number(a) and _is_number(b)):
                raise SpecError(f"arithmetic on something that is not a number in {_quoted(text)}",
                                hint="+ - * / // % work on numbers only")
            return apply(a, b)
        return binary

    def compile_UnaryOp(self, node: ast.UnaryOp) -> Callable:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda names: not operand(names)
        if isinstance(node.op, ast.USub):
            return lambda names: -operand(names)
        return lambda names: +operand(names)

    def compile_BoolOp(self, node: ast.BoolOp) -> Callable:
        values = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda names: all(value(names) for value in values)
        return lambda names: any(value(names) for value in values)

    def compile_Compare(self, node: ast.Compare) -> Callable:
        first = self.compile(node.left)
        steps = [(_COMPARE[type(op)], self.compile(comparator)) for op, comparator in zip(node.ops, node.comparators)]

        def compare(names: Mapping[str, Any]) -> bool:
            left = first(names)
            for holds, comparator in steps:
                right = comparator(names)
                if not holds(left, right):
                    return False
                left = right
            return True
        return compare

    def compile_IfExp(self, node: ast.IfExp) -> Callable:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda names: body(names) if test(names) else orelse(names)

    def compile_Subscript(self, node: ast.Subscript) -> Callable:
        container, index, text = self.compile(node.value), self.compile(node.slice), self.text

        def subscript(names: Mapping[str, Any]) -> Any:
            items, at = container(names), index(names)
            if not isinstance(items, (list, tuple)) or not isinstance(at, int) or isinstance(at, bool):
                raise SpecError(f"only lists can be indexed, by whole numbers, in {_quoted(text)}")
            return items[at]
        return subscript

    def compile_List(self, node: ast.List) -> Callable:
        items = [self.compile(item) for item in node.elts]
        return lambda names: [item(names) for item in items]

    compile_Tuple = compile_List

    def compile_Call(self, node: ast.Call) -> Callable:
        function, arguments = FUNCTIONS[node.func.id], [self.compile(argument) for argument in node.args]
        return lambda names: function(*(argument(names) for argument in arguments))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_ALLOWED = (
    ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Subscript, ast.List, ast.Tuple, ast.Call,
    *_BINARY, *_COMPARE, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
)
