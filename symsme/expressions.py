r"""User text and user expressions, read into checked SymPy expressions: the one parser.

Every expression a user gives symsme (a loss, the entries of :math:`\Sigma(x)`, per-sample
losses, 1-D jet expressions) comes through here, in the command line and in Python:

- :func:`parse_variables` reads variable names (``"x1 x2"``, ``"x1,x2"``, a list);
- :func:`parse_text` reads text into an expression, or nested lists of expressions for a
  matrix such as ``"[[1 + x1**2, 0], [0, 1]]"``;
- :func:`check_expression` checks an expression: a finite real scalar in the declared
  variables, with known functions only, and floats replaced by the exact binary rationals they
  denote;
- :func:`to_expression` does both for any entry (text, int, float, Fraction, numpy scalar, SymPy);
- :func:`matrix_rows` turns nested sequences, numpy arrays and SymPy matrices into rows.

The expression language
-----------------------
symsme never executes user text: no ``eval``/``exec``, no SymPy ``parse_expr``/``sympify`` of
strings.  :func:`parse_text` turns the text into a Python syntax tree with
``ast.parse(text, mode="eval")`` (parsing runs nothing), checks the whole tree against the
allow-list below, and only then builds SymPy objects from it, node by node.  Accepted:

- numbers: integer literals, and decimal literals read as the exact rational of their decimal
  text (``0.1`` is :math:`1/10`, ``1e-3`` is :math:`1/1000`, ``2.5E2`` is 250);
- names: those the caller binds (the variables, or SymPy function classes such as ``Psi``),
  the constants ``pi`` and ``E``; any other name is a plain symbol (which
  :func:`check_expression` then reports as not among the variables);
- ``+ - * / **``, unary ``+ -``, ``^`` as a synonym of ``**`` (with the precedence of ``**``),
  parentheses;
- calls with positional arguments of the smooth functions in :data:`FUNCTIONS` (``exp``,
  ``log`` with 1 or 2 arguments, ``sqrt``, ``cbrt``, the trigonometric and hyperbolic
  functions and their inverses, ``atan2``), or of a function class the caller binds;
- list and tuple displays, nested, for matrices (returned as nested lists).

Refused, each with one line naming the construct (:class:`~symsme.errors.ExpressionError`):
names starting with ``_`` or containing ``__``; attribute access, subscripts, keyword or
starred arguments, calls of anything but a known function name; strings, bytes, f-strings,
``True``/``False``/``None``, complex literals (``1j``), the names ``I``, ``oo``, ``zoo``,
``nan``; lambdas, comprehensions, comparisons, boolean and bitwise operators, ``//``, ``%``,
``@``, conditional expressions, ``:=``, dicts and sets; lists inside arithmetic; unknown
functions (``factorial``, ``Integral``, ``Sum``, ``open``, ...); and the non-smooth functions
in :data:`NOT_SMOOTH` (``Abs``, ``sign``, ``Max``, ``floor``, ``Piecewise``, ...), because the
models need derivatives of the loss and noise, which these do not have everywhere.

The work is bounded, and every limit is checked before anything expensive is built:

- at most :data:`MAX_TEXT_LENGTH` characters; a syntax tree at most :data:`MAX_DEPTH` deep (a
  chain ``a + b - c + ...`` or ``a * b / c ...`` counts as one level; Python's own parser gives
  up on chains of a few thousand operations, refused as nested too deeply);
- numbers of at most :data:`MAX_DIGITS` digits, decimal exponents of magnitude at most
  :data:`MAX_DECIMAL_EXPONENT`, and no number in the result over :data:`MAX_NUMBER_BITS` bits
  (Python prints no integer over 4300 digits);
- SymPy evaluates powers of numbers eagerly (``2**10**10`` would not finish): all numeric
  powers of one text together may cost at most :data:`MAX_POWER_BITS` bits, estimated before
  they are built as :math:`|b| \log_2 |a|` for :math:`a^b` with an integer :math:`b`, and as
  :math:`\max(|p|, q) \log_2 |a|` for :math:`a^{p/q}` (SymPy goes through :math:`p`-th and
  :math:`q`-th powers); ``exp(c*log(a))`` and ``E**(c*log(a))`` count as :math:`a^c`;
- numeric roots, which SymPy factors, act on at most :data:`MAX_ROOT_BITS` bits of bases in all;
- a power of a base that is not a rational number (``x1**n``, ``(1 + sqrt(2))**n``) has an
  exponent of magnitude at most :data:`MAX_SYMBOLIC_EXPONENT`;
- SymPy evaluates numbers to decide signs and periods (``sin(exp(10**300))`` would need
  :math:`10^{300}` digits of :math:`\pi`), so a number under ``exp``, ``sinh``, ``cosh`` (or
  :math:`b \log|a|` in a power :math:`a^b` of numbers) has magnitude at most
  :data:`MAX_EXP_ARGUMENT`.

Error messages are one line and quote at most about 80 characters of the user's text.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef, FunctionClass

from symsme.errors import ExpressionError, ShapeError

__all__ = [
    "FUNCTIONS",
    "NOT_SMOOTH",
    "check_expression",
    "matrix_rows",
    "parse_expression",
    "parse_text",
    "parse_variables",
    "to_expression",
]

#: The functions text may call, by name: smooth where defined, and evaluated by both numeric
#: backends (numpy and mpmath).  ``log`` takes 1 or 2 arguments, ``atan2`` 2, the others 1.
#: (``erf``, ``gamma`` are left out: the numpy backend cannot evaluate them on arrays.)
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "cbrt": sp.cbrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "cot": sp.cot,
    "sec": sp.sec,
    "csc": sp.csc,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "acot": sp.acot,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "coth": sp.coth,
    "sech": sp.sech,
    "csch": sp.csch,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
}
_ARITY: dict[str, tuple[int, ...]] = {"log": (1, 2), "atan2": (2,)}

#: Functions refused because they are not smooth (no derivative at some points).
NOT_SMOOTH: frozenset[str] = frozenset(
    {
        "Abs",
        "abs",
        "sign",
        "Heaviside",
        "Max",
        "Min",
        "max",
        "min",
        "floor",
        "ceiling",
        "frac",
        "round",
        "Mod",
        "DiracDelta",
        "Piecewise",
        "re",
        "im",
        "arg",
    }
)

#: Names that never become symbols: SymPy's imaginary unit and infinities.
_REFUSED_NAMES: dict[str, str] = {
    "I": "the imaginary unit I; symsme expressions are real",
    "oo": "oo (infinity); symsme expressions are finite",
    "zoo": "zoo (complex infinity); symsme expressions are finite",
    "nan": "nan; symsme expressions are finite numbers",
}

MAX_TEXT_LENGTH = 10_000  #: characters of text
MAX_DEPTH = 100  #: depth of the syntax tree (chains of + - or * / count once)
MAX_DIGITS = 1000  #: digits of an integer or decimal literal
MAX_DECIMAL_EXPONENT = 1000  #: magnitude of the exponent of a decimal literal (``1e1000``)
MAX_POWER_BITS = 10_000  #: estimated bits of all numeric powers of one text together
MAX_ROOT_BITS = 1000  #: bits of all bases of numeric roots of one text together
MAX_SYMBOLIC_EXPONENT = 1000  #: magnitude of the exponent of a base that is not rational
MAX_EXP_ARGUMENT = 10_000  #: magnitude of a number under exp, sinh, cosh, or log(a)*b in a**b
MAX_NUMBER_BITS = 13_000  #: bits of any number in a parsed result (about 3900 digits)
_QUOTE_LENGTH = 80
_FOLD_LIMIT = 64  # chains up to this length are folded left to right, like Python would

_CONSTANTS: dict[str, Any] = {"pi": sp.pi, "E": sp.E}
_DECIMAL = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?\Z")
_DIGIT_RUN = re.compile(r"[0-9][0-9_]*")
_CONSTRUCTS: dict[type, str] = {
    ast.Attribute: "attribute access (.name)",
    ast.Subscript: "subscripts ([...] after a value)",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators (and/or)",
    ast.IfExp: "conditional expressions (... if ... else ...)",
    ast.NamedExpr: "assignments (:=)",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "starred arguments (*...)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}
_OPERATORS: dict[type, str] = {
    ast.FloorDiv: "the operator //",
    ast.Mod: "the operator %",
    ast.MatMult: "the operator @",
    ast.LShift: "the operator <<",
    ast.RShift: "the operator >>",
    ast.BitOr: "the operator |",
    ast.BitAnd: "the operator &",
    ast.Not: "the operator not",
    ast.Invert: "the operator ~",
}


def _quote(value: Any, *, bare: bool = False) -> str:
    """``value`` for a one-line message: at most about 80 characters, quoted unless ``bare``.

    Strings are quoted with ``repr`` (so newlines show as ``\\n``); other values are shown by
    ``repr`` with runs of whitespace collapsed.  Longer text is cut and ends in ``...``.
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = " ".join(repr(value).split())
        except Exception:  # e.g. integers too long to print
            text = f"<{type(value).__name__}>"
    if len(text) > _QUOTE_LENGTH:
        text = text[: _QUOTE_LENGTH - 3] + "..."
    return text if bare or not isinstance(value, str) else repr(text)


def parse_variables(
    variables: str | sp.Symbol | Sequence[str | sp.Symbol],
) -> tuple[sp.Symbol, ...]:
    """Variables as real SymPy symbols, in order; names from a string split on commas/spaces.

    Raises :class:`~symsme.errors.ExpressionError` for names that are not identifiers or are
    repeated, :class:`~symsme.errors.ShapeError` for no names at all.
    """
    if isinstance(variables, str):
        names = [n for n in re.split(r"[,\s]+", variables.strip()) if n]
    elif isinstance(variables, sp.Symbol):
        names = [variables.name]
    else:
        try:
            names = [v.name if isinstance(v, sp.Symbol) else v for v in variables]
        except TypeError as exc:
            raise ExpressionError(
                f"variables {_quote(variables)} are not names or symbols"
            ) from exc
    if not names:
        raise ShapeError("a problem needs at least one variable (got none)")
    # Python reads identifiers in NFKC form (a fullwidth x is x), and so does parse_text
    names = [unicodedata.normalize("NFKC", n) if isinstance(n, str) else n for n in names]
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ExpressionError(f"variable {_quote(name)} is not a valid name")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ExpressionError(
            f"variable(s) {_quote(', '.join(duplicates), bare=True)} given more than once"
        )
    return tuple(sp.Symbol(n, real=True) for n in names)


def parse_text(text: str, names: Mapping[str, Any], what: str) -> Any:
    """Read ``text`` (see the module notes) with the names bound to ``names``.

    ``names`` maps identifiers to SymPy expressions (usually symbols) or to SymPy function
    classes, which the text may then call.  Returns an expression, or nested lists of
    expressions for matrix text.  Nothing in ``text`` is executed.

    Raises :class:`~symsme.errors.ExpressionError` naming ``what`` when the text does not
    parse or uses anything outside the language.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{what} {_quote(text)} is not text")
    if not text.strip():
        raise ExpressionError(f"{what} is empty")
    return _Reader(text, names, what).read()


class _Reader:
    """One reading of one text: the checks on the syntax tree, then the building."""

    def __init__(self, text: str, names: Mapping[str, Any], what: str) -> None:
        self.text = text
        self.names = names
        self.what = what
        self.power_bits = 0.0
        self.root_bits = 0

    def fail(self, reason: str) -> ExpressionError:
        return ExpressionError(f"{self.what} {_quote(self.text)} {reason}")

    def cannot_parse(self, reason: str) -> ExpressionError:
        return ExpressionError(f"cannot parse {self.what} {_quote(self.text)}: {reason}")

    # -- reading and checking the tree -------------------------------------------------------

    def read(self) -> Any:
        text = self.text
        if len(text) > MAX_TEXT_LENGTH:
            raise self.fail(f"is too long ({len(text)} characters; at most {MAX_TEXT_LENGTH})")
        for run in _DIGIT_RUN.finditer(text):
            if len(run.group()) - run.group().count("_") > MAX_DIGITS:
                raise self.fail(f"has a number with more than {MAX_DIGITS} digits")
        # ``^`` is power with the precedence of ``**`` (SymPy's convert_xor); strings, where a
        # replaced ``^`` would matter, are refused anyway.
        source = text.strip().replace("\r\n", "\n").replace("\r", "\n").replace("^", "**")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. invalid escapes in (refused) strings
                tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise self.cannot_parse(_quote(exc.msg, bare=True)) from None
        except (RecursionError, MemoryError):
            raise self.cannot_parse(
                "it is nested too deeply, or chains too many operations, for Python's parser"
            ) from None
        except ValueError as exc:  # null bytes, surrogates
            raise self.cannot_parse(_quote(str(exc), bare=True)) from None
        self.source = source.encode("utf-8")
        self.line_starts = [0]
        for line in self.source.split(b"\n")[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
        self.check_tree(tree.body)
        try:
            value = self.build(tree.body)
        except ExpressionError:
            raise
        except (RecursionError, MemoryError):
            raise self.cannot_parse("it is too large to build") from None
        except Exception as exc:  # SymPy raises many types, e.g. a wrong number of arguments
            message = _quote(f"{type(exc).__name__}: {exc}", bare=True)
            raise self.cannot_parse(message) from None
        self.check_numbers(value)
        return value

    def check_tree(self, root: ast.expr) -> None:
        """Refuse every construct outside the language, before anything is built."""
        unknown: list[str] = []
        stack: list[tuple[ast.AST, int, bool]] = [(root, 1, True)]
        while stack:
            node, depth, list_allowed = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(f"is nested too deeply (more than {MAX_DEPTH} levels)")
            children: list[ast.AST] = []
            if isinstance(node, (ast.List, ast.Tuple)):
                if not list_allowed:
                    raise self.fail("uses a list inside arithmetic or a function call")
                stack.extend((e, depth + 1, True) for e in node.elts)
                continue
            if isinstance(node, ast.BinOp):
                if type(node.op) in _OPERATORS:
                    raise self.fail(f"uses {_OPERATORS[type(node.op)]}")
                # the left operand of a chain of + - (or * /) continues the same level
                kind = _chain_class(node)
                same = kind is not None and _chain_class(node.left) == kind
                stack.append((node.left, depth if same else depth + 1, False))
                stack.append((node.right, depth + 1, False))
            elif isinstance(node, ast.UnaryOp):
                if type(node.op) in _OPERATORS:
                    raise self.fail(f"uses {_OPERATORS[type(node.op)]}")
                stack.append((node.operand, depth + 1, False))
            elif isinstance(node, ast.Constant):
                self.check_constant(node)
            elif isinstance(node, ast.Name):
                self.check_name(node.id)
            elif isinstance(node, ast.Call):
                name = self.check_call(node)
                if name is not None:
                    unknown.append(name)
                children = list(node.args)
            else:
                construct = _CONSTRUCTS.get(type(node), type(node).__name__)
                raise self.fail(f"uses {construct}, which symsme does not evaluate")
            stack.extend((c, depth + 1, False) for c in children)
        if unknown:
            found = _quote(", ".join(sorted(set(unknown))), bare=True)
            raise self.fail(
                f"uses unknown function(s) {found}; known: exp, log, sqrt, sin, cos, ... "
                "(symsme.expressions.FUNCTIONS)"
            )

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"uses {value!r}, which is not a number")
        if isinstance(value, complex):
            raise self.fail("uses a complex number (...j); symsme expressions are real")
        if isinstance(value, (str, bytes)):
            kind = "strings" if isinstance(value, str) else "bytes"
            raise self.fail(f"uses {kind}, which symsme does not evaluate")
        if isinstance(value, int):
            if abs(value) >= 10**MAX_DIGITS:
                raise self.fail(f"has a number with more than {MAX_DIGITS} digits")
        elif not isinstance(value, float):
            raise self.fail(f"uses a constant of type {type(value).__name__}")

    def check_name(self, name: str) -> None:
        if name.startswith("_") or "__" in name:
            raise self.fail(
                f"uses the name {_quote(name, bare=True)}; "
                "names starting with _ or containing __ are not allowed"
            )
        if name in self.names:
            if isinstance(self.names[name], FunctionClass):
                raise self.fail(f"uses the function {name} without calling it")
            return
        if name in _REFUSED_NAMES:
            raise self.fail(f"uses {_REFUSED_NAMES[name]}")
        if name in FUNCTIONS:
            raise self.fail(f"uses the function {name} without calling it")
        if name in NOT_SMOOTH:
            raise self.fail(self.not_smooth(name))

    def not_smooth(self, name: str) -> str:
        return (
            f"uses {name}, which is not smooth: symsme needs derivatives of the loss and "
            f"noise, which {name} does not have everywhere"
        )

    def check_call(self, node: ast.Call) -> str | None:
        """Check a call; return the name of an unknown function, or ``None``."""
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.fail("uses attribute access (.name), which symsme does not evaluate")
            raise self.fail("calls something that is not a function name")
        name = node.func.id
        if name.startswith("_") or "__" in name:
            self.check_name(name)
        if node.keywords:
            raise self.fail(f"calls {name} with keyword arguments (name=...)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"calls {name} with starred arguments (*...)")
        if name in self.names:
            if not isinstance(self.names[name], FunctionClass):
                raise self.fail(f"calls {name}, which is not a function")
            return None
        if name in NOT_SMOOTH:
            raise self.fail(self.not_smooth(name))
        if name in FUNCTIONS:
            arity = _ARITY.get(name, (1,))
            if len(node.args) not in arity:
                expected = " or ".join(str(n) for n in arity)
                raise self.fail(f"calls {name} with {len(node.args)} argument(s), not {expected}")
            return None
        return name

    def check_numbers(self, value: Any) -> None:
        """Refuse results holding numbers too long to print or to work with."""
        items = list(value) if isinstance(value, list) else [value]
        while items:
            item = items.pop()
            if isinstance(item, list):
                items.extend(item)
                continue
            for number in sp.preorder_traversal(item):
                if isinstance(number, sp.Rational) and (
                    _bits(number.p) > MAX_NUMBER_BITS or _bits(number.q) > MAX_NUMBER_BITS
                ):
                    raise self.fail(f"has a number with more than {MAX_NUMBER_BITS} bits")

    # -- building -----------------------------------------------------------------------------

    def build(self, node: ast.AST) -> Any:
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.build(e) for e in node.elts]
        if isinstance(node, ast.BinOp):
            kind = _chain_class(node)
            if kind is not None:
                return self.chain(node, kind)
            return self.real(self.power(self.build(node.left), self.build(node.right)))
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return self.real(self.call(node.func.id, [self.build(a) for a in node.args]))
        raise self.fail(f"uses {type(node).__name__}")  # pragma: no cover - checked before

    def real(self, value: Any) -> Any:
        """Refuse a complex number where it first appears (``acos(2)``, ``(-8)**(1/3)``).

        SymPy's assumptions about expressions holding complex numbers can take minutes
        (``0*atan2(acos(10**300), 3)``); real numbers keep them fast.
        """
        if _complex_valued(value):
            raise self.fail(
                f"is not real ({_quote(value, bare=True)} is not a real number; symsme "
                "expressions are real)"
            )
        return value

    def chain(self, node: ast.BinOp, kind: str) -> Any:
        """A chain ``a + b - c ...`` or ``a * b / c ...``, walked without recursion."""
        operands: list[tuple[type, ast.AST]] = []
        left: ast.AST = node
        while isinstance(left, ast.BinOp) and _chain_class(left) == kind:
            operands.append((type(left.op), left.right))
            left = left.left
        first = self.build(left)
        items = [(op, self.build(right)) for op, right in reversed(operands)]
        if len(items) < _FOLD_LIMIT:  # Python's own left-to-right evaluation
            value = first
            for op, item in items:
                if op is ast.Add:
                    value = value + item
                elif op is ast.Sub:
                    value = value - item
                elif op is ast.Mult:
                    value = value * item
                else:
                    value = value / item
            return value
        if kind == "sum":  # long chains in one step (folding would be quadratic)
            return sp.Add(first, *(item if op is ast.Add else -item for op, item in items))
        return sp.Mul(first, *(item if op is ast.Mult else sp.Pow(item, -1) for op, item in items))

    def number(self, node: ast.Constant) -> sp.Rational:
        if isinstance(node.value, int):
            return sp.Integer(node.value)
        start = self.line_starts[node.lineno - 1] + node.col_offset
        end_line = node.end_lineno if node.end_lineno is not None else node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        literal = self.source[start : self.line_starts[end_line - 1] + end_col].decode("utf-8")
        match = _DECIMAL.match(literal.replace("_", ""))
        if match is None:  # pragma: no cover - Python's float literals all match
            raise self.fail(f"has a number {_quote(literal)} that symsme cannot read")
        whole, fraction, exponent = match.group("int"), match.group("frac") or "", match["exp"]
        if len(whole) + len(fraction) > MAX_DIGITS:
            raise self.fail(f"has a number with more than {MAX_DIGITS} digits")
        shift = 0
        if exponent is not None:
            if len(exponent.lstrip("+-").lstrip("0")) > 4 or abs(int(exponent)) > (
                MAX_DECIMAL_EXPONENT
            ):
                raise self.fail(
                    f"has a decimal exponent of magnitude over {MAX_DECIMAL_EXPONENT} "
                    f"in {_quote(literal)}"
                )
            shift = int(exponent)
        mantissa = int(whole + fraction or "0")
        shift -= len(fraction)
        if shift >= 0:
            return sp.Rational(mantissa * 10**shift)
        return sp.Rational(mantissa, 10**-shift)

    def name(self, name: str) -> Any:
        if name in self.names:
            value = self.names[name]
            if not isinstance(value, sp.Basic):
                raise self.fail(f"uses {name}, which is bound to a {type(value).__name__}")
            return value
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        return sp.Symbol(name)

    def call(self, name: str, args: list[Any]) -> Any:
        for arg in args:
            if isinstance(arg, list):  # pragma: no cover - checked before
                raise self.fail("uses a list inside a function call")
        if name in self.names:
            return self.names[name](*args)
        if name == "exp":
            return self.exp(args[0])
        if name in ("sinh", "cosh"):
            self.check_growth(args[0], name)
        if name == "sqrt":
            return self.power(args[0], sp.Rational(1, 2))
        if name == "cbrt":
            return self.power(args[0], sp.Rational(1, 3))
        return FUNCTIONS[name](*args)

    # -- bounding SymPy's eager arithmetic -------------------------------------------------------

    def exp(self, arg: Any) -> Any:
        """``exp(arg)``; SymPy turns ``exp(c*log(a))`` into ``a**c``, which is checked first."""
        self.check_exp(arg)
        self.check_growth(arg, "exp")
        return sp.exp(arg)

    def check_exp(self, arg: Any) -> None:
        for term in sp.Add.make_args(arg):
            coeff, rest = term.as_coeff_Mul()
            coeffs, log_arg = [coeff], None
            for factor in sp.Mul.make_args(rest):
                combined = sp.logcombine(factor)
                if isinstance(combined, sp.log):
                    if log_arg is not None:
                        break
                    log_arg = combined.args[0]
                elif factor.is_comparable:
                    coeffs.append(factor)
                else:
                    break
            else:
                if log_arg is not None:
                    self.check_power(log_arg, sp.Mul(*coeffs))

    def power(self, base: Any, exponent: Any) -> Any:
        if isinstance(base, list) or isinstance(exponent, list):  # pragma: no cover
            raise self.fail("uses a list inside arithmetic")
        if base == sp.E:
            return self.exp(exponent)
        self.check_power(base, exponent)
        if base.is_number and exponent.is_number and not isinstance(exponent, sp.Rational):
            self.check_growth(exponent * sp.log(sp.Abs(base)), "a power")
        value = sp.Pow(base, exponent)
        if (
            isinstance(value, sp.Pow)
            and isinstance(value.exp, sp.Rational)
            and abs(value.exp) > MAX_SYMBOLIC_EXPONENT
            and not isinstance(value.base, sp.Rational)
        ):
            raise self.fail(
                f"has a power with exponent {_quote(value.exp)} (at most "
                f"{MAX_SYMBOLIC_EXPONENT} in magnitude for a base that is not a rational number)"
            )
        return value

    def check_growth(self, arg: Any, function: str) -> None:
        r"""Refuse ``exp``-like growth from a number ``arg`` over :data:`MAX_EXP_ARGUMENT`.

        SymPy evaluates numbers to decide signs and periods: ``sin(exp(10**300))`` would need
        :math:`10^{300}` digits of :math:`\pi`.
        """
        if _magnitude(arg) > MAX_EXP_ARGUMENT:
            raise self.fail(
                f"has {function} of a number too large (magnitude over {MAX_EXP_ARGUMENT} in "
                "the exponent)"
            )

    def check_power(self, base: Any, exponent: Any) -> None:
        """Charge ``base**exponent`` to the budgets before SymPy evaluates it.

        SymPy multiplies out the numeric factors of the base: ``(2*x)**n`` holds ``2**n``,
        ``(2**(1/3))**n`` holds ``2**(n/3)``, ``exp(a)**n`` is ``exp(n*a)``.  Other bases
        (symbols, sums, functions) take exponents up to :data:`MAX_SYMBOLIC_EXPONENT`: SymPy
        expands e.g. ``(a + b*I)**n`` to find real and imaginary parts.
        """
        other = False
        for factor in sp.Mul.make_args(base):
            if isinstance(factor, sp.Rational):
                self.charge(factor, exponent)
            elif isinstance(factor, sp.Pow) and isinstance(factor.base, sp.Rational):
                self.charge(factor.base, factor.exp * exponent)
            elif isinstance(factor, sp.exp):
                self.check_exp(factor.args[0] * exponent)
                self.check_growth(factor.args[0] * exponent, "exp")
            else:
                other = True
        if other and _magnitude(exponent) > MAX_SYMBOLIC_EXPONENT:
            raise self.fail(
                f"has a power with exponent {_quote(exponent)} (at most "
                f"{MAX_SYMBOLIC_EXPONENT} in magnitude for a base that is not a rational number)"
            )

    def charge(self, base: sp.Rational, exponent: Any) -> None:
        """Charge ``base**exponent`` (numbers) to the power budget, before SymPy evaluates it.

        SymPy computes ``a**(p/q)`` through integer powers of the prime factors of ``a`` with
        exponents up to ``p`` or ``q`` (``(1/8)**(1/q)`` is ``2**((q - 1)/q)/2``), so the work
        of a non-integer exponent is ``max(|p|, q)`` times the bits of ``a``.
        """
        if not isinstance(exponent, sp.Rational) or base in (0, 1, -1):
            return  # SymPy keeps a**pi, a**x unevaluated
        size = math.log2(abs(base.p)) + math.log2(base.q)
        work = abs(exponent.p) if exponent.q == 1 else max(abs(exponent.p), exponent.q)
        if work > MAX_POWER_BITS or work * size > MAX_POWER_BITS:
            raise self.fail(
                f"has a numeric power {_quote(base)}**{_quote(exponent)} too costly to "
                f"evaluate (over {MAX_POWER_BITS} bits)"
            )
        self.power_bits += work * size
        if self.power_bits > MAX_POWER_BITS:
            raise self.fail(f"has numeric powers too large together (over {MAX_POWER_BITS} bits)")
        if not isinstance(exponent, sp.Integer):
            self.root_bits += _bits(base.p) + _bits(base.q) - 1
            if self.root_bits > MAX_ROOT_BITS:
                raise self.fail(
                    f"takes roots of numbers too large (over {MAX_ROOT_BITS} bits together)"
                )


def _chain_class(node: ast.AST) -> str | None:
    """``"sum"`` for ``+ -``, ``"product"`` for ``* /``, else ``None``."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return "sum"
        if isinstance(node.op, (ast.Mult, ast.Div)):
            return "product"
    return None


def _magnitude(value: Any) -> float:
    """``|value|`` for a number (``inf`` if too large for a float); 0 for anything else."""
    if not (isinstance(value, sp.Basic) and value.is_number):
        return 0.0
    try:
        return abs(complex(value.evalf(15)))
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):  # no finite value (zoo, nan): check_expression tells
        return 0.0


def _complex_valued(value: Any) -> bool:
    """Whether ``value`` is a number with an imaginary part, judged numerically.

    (SymPy's ``is_extended_real`` can take minutes on such numbers.)
    """
    if not (isinstance(value, sp.Expr) and value.is_number):
        return False
    if value.has(sp.I):
        return True
    try:
        real, imaginary = value.evalf(15).as_real_imag()
        return bool(imaginary != 0 and abs(imaginary) > 1e-10 * abs(real))
    except Exception:  # no numeric value (zoo, nan): check_expression reports those
        return False


def _bits(n: int) -> int:
    return abs(int(n)).bit_length()


def _number(value: Any, text: Any, what: str) -> Any:
    """Python and numpy numbers as exact SymPy numbers; other values unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (complex, np.complexfloating)):
        raise ExpressionError(f"{what} {_quote(text)} is not real (it is a complex number)")
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ExpressionError(f"{what} {_quote(text)} is not finite")
        numerator, denominator = value.as_integer_ratio()  # exact, also for long doubles
        return sp.Rational(numerator, denominator)
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    return value


def check_expression(value: Any, text: Any, names: Mapping[str, sp.Symbol], what: str) -> sp.Expr:
    """Check that ``value`` is a finite real scalar expression in ``names``; return it exact.

    Floats become the rationals they denote; symbols are matched to ``names`` by name (so a
    symbol with other assumptions becomes the declared variable).  ``text`` is what the user
    wrote, quoted in error messages.
    """
    value = _number(value, text, what)
    quoted = _quote(text)
    if not isinstance(value, sp.Expr) or isinstance(value, (sp.Lambda, sp.MatrixBase)):
        raise ExpressionError(f"{what} {quoted} is not a scalar expression (got {_quote(value)})")
    undefined = sorted({str(a.func) for a in value.atoms(AppliedUndef)})
    if undefined:
        raise ExpressionError(
            f"{what} {quoted} uses unknown function(s) {_quote(', '.join(undefined), bare=True)}; "
            "use SymPy's functions (exp, log, sin, ...)"
        )
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError(
            f"{what} {quoted} is not finite (it simplifies to {_quote(value, bare=True)})"
        )
    if value.has(sp.I):
        raise ExpressionError(f"{what} {quoted} is not real (it contains the imaginary unit I)")
    if _complex_valued(value):
        raise ExpressionError(
            f"{what} {quoted} is not real (it is about {_quote(value.evalf(15), bare=True)})"
        )
    # Floats denote their exact binary values; keep symbolic results free of floats.
    floats = value.atoms(sp.Float)
    if floats:
        for f in floats:
            if not f.is_finite:  # pragma: no cover - SymPy makes these oo or nan
                raise ExpressionError(f"{what} {quoted} is not finite")
            if abs(f._mpf_[2]) + f._mpf_[3] > MAX_NUMBER_BITS:
                raise ExpressionError(
                    f"{what} {quoted} has the float {_quote(f, bare=True)}, too large or too "
                    "small to hold exactly"
                )
        value = value.xreplace({f: sp.Rational(f) for f in floats})
    _check_nodes(value, names, what, quoted)
    rename = {s: names[s.name] for s in value.free_symbols if s.name in names}
    for s in rename:
        _check_assumptions(s, what, quoted)
    if rename:
        value = value.xreplace(rename)
    extra = sorted(s.name for s in value.free_symbols if s.name not in names)
    if extra:
        allowed = ", ".join(names) or "(none)"
        raise ExpressionError(
            f"{what} {quoted} contains symbol(s) {_quote(', '.join(extra), bare=True)} that are "
            f"not among the variables {_quote(allowed, bare=True)}"
        )
    return value


# The assumptions a symbol may carry: symsme's variables are real, nothing more.
_HONOURED = frozenset(
    {
        "real",
        "extended_real",
        "complex",
        "commutative",
        "hermitian",
        "finite",
        "infinite",
        "imaginary",
        "extended_nonreal",
        "nonreal",
        "antihermitian",
        "transcendental",
    }
)


def _check_assumptions(symbol: sp.Symbol, what: str, quoted: str) -> None:
    """Refuse symbols with assumptions beyond real: SymPy simplifies under them (with
    ``positive=True``, ``sqrt(x**2)`` is ``x``), which is wrong at the other points."""
    extra = sorted(
        (k for k, v in symbol.assumptions0.items() if v and k not in _HONOURED),
        key=lambda k: (k.startswith("extended"), k),
    )
    if extra:
        raise ExpressionError(
            f"{what} {quoted} uses the symbol {symbol.name} declared {', '.join(extra[:3])}; "
            "symsme's variables are real: build it from sympy.Symbol(name, real=True)"
        )


def _check_nodes(value: sp.Expr, names: Mapping[str, Any], what: str, quoted: str) -> None:
    """Every node is arithmetic, a number, a symbol or an allowed smooth function (also for
    SymPy input, and after SymPy's own rewriting: ``sqrt(x**2)`` becomes ``Abs(x)``)."""
    allowed = {f for f in FUNCTIONS.values() if isinstance(f, FunctionClass)}
    allowed |= {v for v in names.values() if isinstance(v, FunctionClass)}
    for node in sp.preorder_traversal(value):
        if isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Number, sp.NumberSymbol)):
            continue
        if isinstance(node, sp.Function) and type(node) in allowed:
            continue
        name = type(node).__name__
        if name in NOT_SMOOTH or isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
            raise ExpressionError(
                f"{what} {quoted} uses {name}, which is not smooth: symsme needs derivatives "
                f"of the loss and noise, which {name} does not have everywhere"
            )
        raise ExpressionError(
            f"{what} {quoted} uses {name}, which symsme does not evaluate (allowed: "
            f"{', '.join(FUNCTIONS)[:60]}, ...)"
        )


def to_expression(value: Any, names: Mapping[str, sp.Symbol], what: str) -> sp.Expr:
    """Any scalar entry (text, number, numpy scalar, Fraction, SymPy) as a checked expression.

    Floats (also numpy floats) are kept as the exact binary values they denote; NaN, infinite
    and complex numbers are refused.
    """
    text = value
    if isinstance(value, str):
        value = parse_text(value, names, what)
    return check_expression(value, text, names, what)


def parse_expression(
    expr: str | sp.Expr | float | int,
    variables: Sequence[sp.Symbol],
    *,
    what: str = "expression",
) -> sp.Expr:
    r"""Parse a scalar expression in the given variables, exactly (see the module notes).

    Raises
    ------
    ExpressionError
        If the text does not parse, is not a finite real scalar expression, uses an undefined
        function, or contains symbols that are not among ``variables``.
    """
    return to_expression(expr, {v.name: v for v in variables}, what)


def matrix_rows(value: Any, what: str) -> list[list[Any]] | None:
    """A 2-D nested structure as a list of rows; ``None`` if ``value`` is a scalar.

    A flat list is accepted only as the 1 x 1 matrix ``[s]``.
    """
    if isinstance(value, sp.MatrixBase):
        return [list(value.row(i)) for i in range(value.rows)]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return None
        value = value.tolist()
    if isinstance(value, sp.NDimArray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if all(isinstance(r, (list, tuple)) for r in value):
            return [list(r) for r in value]
        if any(isinstance(r, (list, tuple)) for r in value):
            raise ShapeError(f"{what} {_quote(value)} mixes rows and scalars")
        if len(value) == 1:
            return [list(value)]
        raise ShapeError(
            f"{what} must be a square matrix (a list of rows), got the flat list {_quote(value)}"
        )
    return None
