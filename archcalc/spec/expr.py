"""A small, safe arithmetic language for spec fields: `width * 4`, `depths[2]`, `stride != 1`.

Parsed with Python's `ast` and walked by hand over a closed set of node types: no attribute
access, no calls beyond FUNCTIONS, no exponent, no eval.
"""

from __future__ import annotations

import ast
import math
import operator
from functools import lru_cache
from typing import Any, Mapping

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
    tree = parse(text)
    try:
        return _Evaluator(text, names).visit(tree)
    except ZeroDivisionError:
        raise SpecError(f"division by zero in {_quoted(text)}") from None
    except (TypeError, IndexError, ValueError, OverflowError) as exc:
        raise SpecError(f"cannot evaluate {_quoted(text)}: {exc}") from None


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


class _Evaluator:
    def __init__(self, text: str, names: Mapping[str, Any]) -> None:
        self.text = text
        self.names = names

    def visit(self, node: ast.expr) -> Any:
        value = getattr(self, "visit_" + type(node).__name__)(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
            raise SpecError(f"{_quoted(self.text)} gives {value:.3g}, beyond the limit of {MAX_MAGNITUDE:.0e}")
        return value

    def visit_Constant(self, node: ast.Constant) -> Any:
        if not isinstance(node.value, (int, float, str, bool)):
            raise SpecError(f"constant {node.value!r} is not allowed in {_quoted(self.text)}")
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        raise SpecError(
            f"unknown name {_quoted(node.id, 40)} in {_quoted(self.text)}{did_you_mean(node.id, self.names)}",
            hint="names in expressions are the parameters of the model or of the enclosing block",
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if not (_is_number(left) and _is_number(right)):
            raise SpecError(f"arithmetic on something that is not a number in {_quoted(self.text)}",
                            hint="+ - * / // % work on numbers only")
        return _BINARY[type(node.op)](left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            return all(self.visit(v) for v in node.values)
        return any(self.visit(v) for v in node.values)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        container, index = self.visit(node.value), self.visit(node.slice)
        if not isinstance(container, (list, tuple)) or not isinstance(index, int) or isinstance(index, bool):
            raise SpecError(f"only lists can be indexed, by whole numbers, in {_quoted(self.text)}")
        return container[index]

    def visit_List(self, node: ast.List) -> list:
        return [self.visit(e) for e in node.elts]

    visit_Tuple = visit_List

    def visit_Call(self, node: ast.Call) -> Any:
        return FUNCTIONS[node.func.id](*(self.visit(a) for a in node.args))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_ALLOWED = (
    ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Subscript, ast.List, ast.Tuple, ast.Call,
    *_BINARY, *_COMPARE, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
)
