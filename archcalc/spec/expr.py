"""A small, safe arithmetic language for spec fields: `width * 4`, `depths[2]`, `stride != 1`.

Parsed with Python's `ast` and walked by hand over a closed set of node types: no attribute
access, no calls beyond FUNCTIONS, no `**` (powers are `pow`, bounded), no eval.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from archcalc.errors import SpecError, did_you_mean, hidden
from archcalc.layers.base import quoted_value
from archcalc.limits import MAX_EXPONENT, MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH, MAX_MAGNITUDE

REPEAT_NAMES = ("index", "count")
"""The names a repeated item's fields see: which copy this is (from 0), and how many there are."""
LITERALS = {"true": True, "True": True, "false": False, "False": False}
"""The names an expression reads as true and false, whatever a parameter or a row is called."""


class _Refused(ValueError):
    """An argument that a function of the language does not take, and what to do about it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _number(function: str, value: Any) -> float:
    """`value`, refused unless it is a finite number (an argument of one of the functions below)."""
    if not _is_number(value) or not math.isfinite(value):
        raise _Refused(f"{function} takes numbers, got {_as_written(value)}", "give it a number: a parameter "
                       "that is a number, not text, a list, true/false, null or .nan")
    return value


def _as_written(value: Any, inside: bool = False) -> str:
    """A value as a spec writes it, not as Python does: true, false, null, .nan, .inf, 'text',
    [1, true]; a null alone said to be no value (quoted_value)."""
    if value is None:
        return "null" if inside else quoted_value(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_as_written(item, inside=True) for item in value) + "]"
    return repr(value)


def _round(value: Any) -> int:
    """The nearest whole number, a half to the even one (2.5 → 2, 3.5 → 4), as torch.round and
    numpy.round do."""
    return round(_number("round", value))


def _int(value: Any) -> int:
    """The whole part, towards 0 (int(-2.7) = -2), as Python's int()."""
    return int(_number("int", value))


def _pow(base: Any, exponent: Any) -> int | float:
    """base to the power exponent; the exponent at most MAX_EXPONENT in size, so that no power
    is large to compute (beyond MAX_MAGNITUDE it is refused where it is made)."""
    base, exponent = _number("pow", base), _number("pow", exponent)
    if abs(exponent) > MAX_EXPONENT:
        raise _Refused(f"pow takes an exponent from -{MAX_EXPONENT} to {MAX_EXPONENT}, got {exponent}",
                       "no layer needs a larger power: check the exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    if base < 0 and not float(exponent).is_integer():
        raise _Refused(f"a negative number to the power {exponent} is not a real number",
                       "a negative base takes whole exponents only")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        return base ** exponent  # exact: at most 64 factors of at most 10^15
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf  # refused as beyond MAX_MAGNITUDE


def _log(value: Any, base: Any = None) -> float:
    """The natural logarithm, or the one to `base`."""
    value = _number("log", value)
    if value <= 0:
        raise _Refused(f"log takes a number above 0, got {value}", "check what the logarithm is taken of")
    if base is None:
        return math.log(value)
    base = _number("log", base)
    if base <= 0 or base == 1:
        raise _Refused(f"the base of log must be above 0 and not 1, got {base}", "log(x, 2) is the base-2 logarithm")
    return math.log(value) / math.log(base)


def _extreme(function: str, chooses: Callable) -> Callable:
    """min or max of two numbers or more, or of one list of them; each a finite number."""
    def extreme(*values: Any) -> Any:
        items = values[0] if len(values) == 1 and isinstance(values[0], (list, tuple)) else values
        if len(values) == 1 and items is values or not items:
            raise _Refused(f"{function} takes two numbers or more, or one list of them, got {_listed(values)}",
                           f"give {function}(a, b) or {function}(a_list)")
        return chooses([_number(function, item) for item in items])
    return extreme


def _listed(values: tuple) -> str:
    return ", ".join(_as_written(value, inside=True) for value in values) or "nothing"


def _ceil(value: Any) -> int:
    return math.ceil(_number("ceil", value))


def _floor(value: Any) -> int:
    return math.floor(_number("floor", value))


FUNCTIONS = {"min": _extreme("min", min), "max": _extreme("max", max), "ceil": _ceil, "floor": _floor,
             "round": _round, "int": _int, "pow": _pow, "log": _log}
ARGUMENTS = {"ceil": (1, 1), "floor": (1, 1), "round": (1, 1), "int": (1, 1), "pow": (2, 2), "log": (1, 2)}
"""How many arguments the functions take (min and max: two or more, or one list, which they say themselves)."""
_CALLABLE = ", ".join([*FUNCTIONS][:-1]) + " and " + [*FUNCTIONS][-1]

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_HINT = "expressions use numbers, names of parameters, + - * / // %, comparisons, " \
        "and/or/not, 'a if cond else b', lists, indexing and " + "/".join(FUNCTIONS)


def _comment(text: str) -> bool:
    """Whether Python reads a comment in `text` (a '#' outside a string), which it leaves out."""
    import io
    import tokenize

    return any(token.type == tokenize.COMMENT for token in tokenize.generate_tokens(io.StringIO(text.strip()).readline))


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """Parse once per distinct text; raise SpecError for syntax outside the language."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise SpecError(f"the expression {_quoted(text)} is longer than {MAX_EXPRESSION_CHARS:,} characters",
                        hint="split it into parameters")
    try:
        with warnings.catch_warnings():  # Python's warning of '4if …' was a line of its own on stderr: refused
            warnings.simplefilter("error", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):
        raise SpecError(f"cannot read the expression {_quoted(text)}", hint=_HINT) from None
    if "#" in text and _comment(text):
        raise SpecError(f"the expression {_quoted(text)} ends in a comment ('#'), which would be left out unread",
                        hint="a comment goes after the YAML value, unquoted and after a space: out: w * 2  # why")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not text.isascii():  # Python reads 'ｗ' (fullwidth) as 'w': another name
            written = ast.get_source_segment(text.strip(), node)
            if written != node.id:
                raise SpecError(f"the name {_quoted(written or node.id)} in {_quoted(text)} is read as '{node.id}'",
                                hint=f"write '{node.id}', or give the parameter a name in ASCII letters, digits and _")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            raise SpecError(f"operator not allowed in {_quoted(text)}",
                            hint="a power is written pow(a, b)" if isinstance(node.op, ast.Pow) else _HINT)
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords
        ):
            raise SpecError(f"only {_CALLABLE} may be called in {_quoted(text)}", hint=_HINT)
        if isinstance(node, ast.Call) and node.func.id in ARGUMENTS:
            low, high = ARGUMENTS[node.func.id]
            if not low <= len(node.args) <= high:
                wanted = str(low) if low == high else f"{low} or {high}"
                raise SpecError(f"{node.func.id} takes {wanted} argument{'s' if high > 1 else ''}, "
                                f"got {len(node.args)} in {_quoted(text)}", hint=_HINT)
        if not isinstance(node, _ALLOWED):
            shown = ast.unparse(node) or _OPERATORS.get(type(node), type(node).__name__)
            raise SpecError(f"{_quoted(shown)} is not allowed in {_quoted(text)}", hint=_HINT)
    # each node of a tree spans more of the text than any node below it: a text no longer than
    # the bound cannot chain more operations than it
    if len(text) > MAX_EXPRESSION_DEPTH and _operations(tree) > MAX_EXPRESSION_DEPTH:
        raise SpecError(f"{_quoted(text)} chains or nests more than {MAX_EXPRESSION_DEPTH} operations, each "
                        f"working on the result of another", hint="a + b + c chains 2 (the second + adds c to "
                        "a + b): split a long sum or product, or a deep nesting, into parameters")
    return tree


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """The value of `text` with `names` bound; SpecError for anything wrong."""
    try:
        return compiled(text)(names)
    except ZeroDivisionError:
        raise SpecError(f"division by zero in {_quoted(text)}") from None
    except _Refused as exc:
        raise SpecError(f"cannot evaluate {_quoted(text)}: {exc}", hint=exc.hint) from None
    except (TypeError, IndexError, ValueError, OverflowError) as exc:
        said = str(exc).replace("'YList'", "'list'").replace("'YMap'", "'mapping'")  # the spec's types as YAML names them
        raise SpecError(f"cannot evaluate {_quoted(text)}: {said}", hint=_KINDS_HINT) from None


_KINDS_HINT = ("arithmetic and comparisons take numbers; min and max two numbers or more, or one list of them; "
               "ceil, floor, round and int a number; pow two; log one or two; indexing a list and a whole number")


@lru_cache(maxsize=4096)
def names_in(text: str, calls: bool = True) -> frozenset[str]:
    """The names `text` reads, with the functions it calls unless `calls` is false (none where it
    is no expression: evaluating it will say why)."""
    try:
        tree = parse(text)
    except SpecError:
        return frozenset()
    called = () if calls else {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called)


@lru_cache(maxsize=4096)
def compiled(text: str) -> Callable[[Mapping[str, Any]], Any]:
    """`text` as a function of the names bound, made once per distinct text (a model evaluates
    the same few expressions in every block instance)."""
    return _Compiler(text).compile(parse(text))


def _operations(tree: ast.expr) -> int:
    """The most operations in the expression each working on the result of another: how deep it
    nests, a flat sum of n terms n - 1 (without recursion: the tree may be deep)."""
    deepest, pending = 0, [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                       if isinstance(child, ast.expr))
    return deepest


def _quoted(text: str, limit: int = 60) -> str:
    """'text' for a message on one line: shortened in the middle when long, a hidden character
    (archcalc.errors.hidden: a line break, a NUL) written as its escape (\\n, \\x00)."""
    text = text.strip()
    if len(text) > limit:
        text = f"{text[:limit // 2]}…{text[-limit // 2:]}"
    return "'" + "".join(repr(c)[1:-1] if hidden(c) else c for c in text) + "'"


_OPERATORS = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.MatMult: "@",
              ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
              ast.Invert: "~", ast.Pow: "**"}
"""How an operator the language has not is written, for its error (ast.unparse gives '' for one alone)."""


class _Compiler:
    """Turns a checked tree into nested closures: each node a function of the names bound.

    The bound on magnitudes (MAX_MAGNITUDE) is checked where a number enters or is made: at a
    constant, a name, an index, an operator and a function. The other nodes pass on a value that
    was checked already (a branch of `if`, `-x`) or give true/false or a list, so each value is
    refused at the same node as if every node checked it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def compile(self, node: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
        return getattr(self, "compile_" + type(node).__name__)(node)

    def operand(self, node: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
        """`node` compiled as what an operation compares, tests, computes with or indexes: a null
        value (a parameter set to ~, passed on whole as a field's value where it means 'not
        given') is refused there, where `w == 3` was false and `4 if w else 8` was 8, silently.
        Only a name, an index or an `if` can give null: other nodes are compiled as they are."""
        value = self.compile(node)
        if not isinstance(node, (ast.Name, ast.Subscript, ast.IfExp)):
            return value
        text = self.text

        def present(names: Mapping[str, Any]) -> Any:
            found = value(names)
            if found is None:
                raise _null(text, node)
            return found
        return present

    def compile_Constant(self, node: ast.Constant) -> Callable:
        value, text = node.value, self.text
        if not isinstance(value, (int, float, str, bool)):
            def refused(names: Mapping[str, Any]) -> Any:
                raise SpecError(f"constant {value!r} is not allowed in {_quoted(text)}")
            return refused
        if _beyond_bound(value):
            def beyond(names: Mapping[str, Any]) -> Any:
                raise _beyond(text, value, node)
            return beyond
        return lambda names: value

    def compile_Name(self, node: ast.Name) -> Callable:
        name, text = node.id, self.text
        if name in LITERALS:  # a parameter or a row named 'true' read as 4 where a spec wrote true
            literal = LITERALS[name]
            return lambda names: literal

        def lookup(names: Mapping[str, Any]) -> Any:
            if name in names:
                value = names[name]
                if type(value) in _NUMBERS and abs(value) <= MAX_MAGNITUDE or isinstance(value, (str, list)):
                    return value
                return _bounded(value, text, node)
            what = f"{_quoted(name, 40)} is neither a number nor a known name" if text.strip() == name else \
                f"unknown name {_quoted(name, 40)} in {_quoted(text)}"
            raise SpecError(what + did_you_mean(name, names), spot=(node.col_offset, name), hint=(
                f"'{name}' is known in the fields of each copy of an item with 'repeat' or 'for_each' only, not in "
                "its 'when', 'repeat' or 'for_each' (worked out once, outside the copies) nor in a block's layers: "
                "pass it to a block as a parameter" if name in REPEAT_NAMES else _known_names(names)))
        return lookup

    def compile_BinOp(self, node: ast.BinOp) -> Callable:
        left, right, apply, text = self.operand(node.left), self.operand(node.right), _BINARY[type(node.op)], self.text

        def binary(names: Mapping[str, Any]) -> Any:
            a, b = left(names), right(names)
            if not (type(a) in _NUMBERS and type(b) in _NUMBERS or _is_number(a) and _is_number(b)):
                raise SpecError(f"arithmetic on something that is not a number in {_quoted(text)}",
                                hint="+ - * / // % work on numbers only")
            value = apply(a, b)
            if not abs(value) <= MAX_MAGNITUDE:
                raise _beyond(text, value)
            return value
        return binary

    def compile_UnaryOp(self, node: ast.UnaryOp) -> Callable:
        operand, text = self.operand(node.operand), self.text
        if isinstance(node.op, ast.Not):
            return lambda names: not operand(names)
        sign = -1 if isinstance(node.op, ast.USub) else 1

        def signed(names: Mapping[str, Any]) -> Any:
            value = operand(names)
            if not _is_number(value):  # -true was -1, as Python's bool is an int
                raise SpecError(f"arithmetic on something that is not a number in {_quoted(text)}",
                                hint="+ - * / // % work on numbers only")
            return sign * value
        return signed

    def compile_BoolOp(self, node: ast.BoolOp) -> Callable:
        values = [self.operand(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda names: all(value(names) for value in values)
        return lambda names: any(value(names) for value in values)

    def compile_Compare(self, node: ast.Compare) -> Callable:
        first = self.operand(node.left)
        steps = [(_COMPARE[type(op)], self.operand(comparator)) for op, comparator in zip(node.ops, node.comparators)]
        if len(steps) == 1:
            [(holds, second)] = steps
            return lambda names: holds(first(names), second(names))

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
        test, body, orelse = self.operand(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda names: body(names) if test(names) else orelse(names)

    def compile_Subscript(self, node: ast.Subscript) -> Callable:
        container, index, text = self.operand(node.value), self.operand(node.slice), self.text

        def subscript(names: Mapping[str, Any]) -> Any:
            items, at = container(names), index(names)
            if not isinstance(items, (list, tuple)) or not isinstance(at, int) or isinstance(at, bool):
                raise SpecError(f"only lists can be indexed, by whole numbers, in {_quoted(text)}")
            if not -len(items) <= at < len(items):
                listed = _quoted(ast.unparse(node.value), 40)
                raise SpecError(f"index {at} is beyond the end of {listed}, a list of {len(items)} item"
                                f"{'s' if len(items) != 1 else ''}" if items else f"index {at} of {listed}, an empty list",
                                spot=(node.col_offset, ast.unparse(node)),
                                hint=f"an index here is 0 to {len(items) - 1}" if items else "give the list its items")
            return _bounded(items[at], text)
        return subscript

    def compile_List(self, node: ast.List) -> Callable:
        items = [self.compile(item) for item in node.elts]
        return lambda names: [item(names) for item in items]

    compile_Tuple = compile_List

    def compile_Call(self, node: ast.Call) -> Callable:
        function, arguments, text = FUNCTIONS[node.func.id], [self.operand(argument) for argument in node.args], self.text
        return lambda names: _bounded(function(*[argument(names) for argument in arguments]), text)


_NUMBERS = {int, float}


def _known_names(names: Mapping[str, Any], shown: int = 8) -> str:
    """The hint of an unknown name: what a field takes, and the names known there."""
    known = sorted(name for name in names if name.isidentifier())
    listed = ", ".join(known[:shown]) + (f" and {len(known) - shown} more" if len(known) > shown else "")
    return ("a field takes a number, or an expression of the parameters known here: " + listed if known else
            "a field takes a number, or an expression of parameters (this spec declares none: add them under 'params')")


def _beyond_bound(value: Any) -> bool:
    """`value` is a number past MAX_MAGNITUDE (nan is not)."""
    return _is_number(value) and abs(value) > MAX_MAGNITUDE


def _bounded(value: Any, text: str, part: ast.expr | None = None) -> Any:
    """`value`, refused when it is a number past MAX_MAGNITUDE, or nan (which would make every
    comparison false, silently); `part` is the constant or name of `text` that gives it."""
    if (type(value) in _NUMBERS or _is_number(value)) and not abs(value) <= MAX_MAGNITUDE:
        raise _beyond(text, value, part)
    return value


def _beyond(text: str, value: float, part: ast.expr | None = None) -> SpecError:
    """The error for `value`, past MAX_MAGNITUDE, given by `text`, or by its `part` (a constant
    or a name in it): '1e308 * 10' was said to give 1e+308, refused at the constant before the
    product (inf) was made."""
    if isinstance(value, float) and math.isnan(value):
        return SpecError(f"a value in {_quoted(text)} is nan, not a number",
                         hint="give the parameter a number: .nan is none, and every comparison with it is false")
    limit = f"{MAX_MAGNITUDE:.0e}"
    shown = f"a whole number of {len(str(abs(value))):,} digits" if isinstance(value, int) and value.bit_length() > 1000 \
        else f"{value:.3g}"  # a float's .3g of a whole number past 1.8e308 is an OverflowError
    if shown.lstrip("-") == limit:  # just past it: "gives 1e+15, beyond the limit of 1e+15" said nothing
        shown = f"{value:,}"
    written = ast.get_source_segment(text.strip(), part) if part is not None else None
    if written and written != text.strip():
        return SpecError(f"{_quoted(written, 40)} in {_quoted(text)} gives {shown}, beyond the limit of {limit}",
                         spot=(part.col_offset, written))
    return SpecError(f"{_quoted(text)} gives {shown}, beyond the limit of {limit}")


def _null(text: str, part: ast.expr) -> SpecError:
    """The error for the null value that `part` of `text` gives, where it is compared, tested,
    computed with or indexed."""
    written = ast.get_source_segment(text.strip(), part) or ast.unparse(part)
    where = "" if written == text.strip() else f" in {_quoted(text)}"
    return SpecError(f"{_quoted(written, 40)} is null (~){where}: it has no value to compare, test or compute with",
                     spot=(part.col_offset, written),
                     hint="give the parameter a value (in params, a variant or --set); null passes on only as a "
                          "field's whole value, where it means not given (stride: s)")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_ALLOWED = (
    ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Subscript, ast.List, ast.Tuple, ast.Call,
    *_BINARY, *_COMPARE, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
)
