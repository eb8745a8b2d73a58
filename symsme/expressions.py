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

Decimal literals in text are exact rationals (``"0.1"`` is :math:`1/10`); ``^`` means power.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import (
    convert_xor,
    parse_expr,
    rationalize,
    standard_transformations,
)

from symsme.errors import ExpressionError, ShapeError

__all__ = [
    "check_expression",
    "matrix_rows",
    "parse_expression",
    "parse_text",
    "parse_variables",
    "to_expression",
]

_TRANSFORMATIONS = (*standard_transformations, convert_xor, rationalize)


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
            raise ExpressionError(f"variables {variables!r} are not names or symbols") from exc
    if not names:
        raise ShapeError("a problem needs at least one variable (got none)")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ExpressionError(f"variable {name!r} is not a valid name")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ExpressionError(f"variable(s) {', '.join(duplicates)} given more than once")
    return tuple(sp.Symbol(n, real=True) for n in names)


def parse_text(text: str, names: Mapping[str, Any], what: str) -> Any:
    """Parse ``text`` with the names bound to ``names`` (symbols or functions).

    Returns an expression, or nested lists of expressions for matrix text.  Raises
    :class:`~symsme.errors.ExpressionError` naming ``what`` when the text does not parse.
    """
    if not text.strip():
        raise ExpressionError(f"{what} is empty")
    try:
        return parse_expr(text, local_dict=dict(names), transformations=_TRANSFORMATIONS)
    except Exception as exc:  # parse_expr raises many types: report them all the same way
        raise ExpressionError(f"cannot parse {what} {text!r}: {type(exc).__name__}: {exc}") from exc


def check_expression(value: Any, text: Any, names: Mapping[str, sp.Symbol], what: str) -> sp.Expr:
    """Check that ``value`` is a finite real scalar expression in ``names``; return it exact.

    Floats become the rationals they denote; symbols are matched to ``names`` by name (so a
    symbol with other assumptions becomes the declared variable).  ``text`` is what the user
    wrote, quoted in error messages.
    """
    if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool):
        value = sp.Rational(value) if not isinstance(value, Fraction) else sp.Rational(str(value))
    if not isinstance(value, sp.Expr) or isinstance(value, (sp.Lambda, sp.MatrixBase)):
        raise ExpressionError(f"{what} {text!r} is not a scalar expression (got {value!r})")
    undefined = sorted({str(a.func) for a in value.atoms(AppliedUndef)})
    if undefined:
        raise ExpressionError(
            f"{what} {text!r} uses unknown function(s) {', '.join(undefined)}; "
            "use SymPy's functions (exp, log, sin, ...)"
        )
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError(f"{what} {text!r} is not finite (it simplifies to {value})")
    if value.has(sp.I):
        raise ExpressionError(f"{what} {text!r} is not real (it contains the imaginary unit I)")
    # Floats denote their exact binary values; keep symbolic results free of floats.
    floats = value.atoms(sp.Float)
    if floats:
        value = value.xreplace({f: sp.Rational(f) for f in floats})
    rename = {s: names[s.name] for s in value.free_symbols if s.name in names}
    if rename:
        value = value.xreplace(rename)
    extra = sorted(s.name for s in value.free_symbols if s.name not in names)
    if extra:
        allowed = ", ".join(names) or "(none)"
        raise ExpressionError(
            f"{what} {text!r} contains symbol(s) {', '.join(extra)} that are not among the "
            f"variables {allowed}"
        )
    return value


def to_expression(value: Any, names: Mapping[str, sp.Symbol], what: str) -> sp.Expr:
    """Any scalar entry (text, number, numpy scalar, Fraction, SymPy) as a checked expression.

    Floats (also numpy floats) are kept as the exact binary values they denote.
    """
    text = value
    if isinstance(value, str):
        value = parse_text(value, names, what)
    elif isinstance(value, (float, np.floating)):
        value = sp.Rational(float(value))
    elif isinstance(value, np.integer):
        value = sp.Integer(int(value))
    elif isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
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
            raise ShapeError(f"{what} {value!r} mixes rows and scalars")
        if len(value) == 1:
            return [list(value)]
        raise ShapeError(
            f"{what} must be a square matrix (a list of rows), got the flat list {value!r}"
        )
    return None
