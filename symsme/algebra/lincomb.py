r"""Exact linear combinations over a canonical basis, as plain dicts (the engine's working form).

Every symbolic quantity in symsme is a finite sum :math:`\sum_t c_t\, t` of canonical basis
terms :math:`t` (monomials in 1-D jet symbols, canonical contraction graphs in d dimensions)
with exact rational coefficients :math:`c_t`.  Inside the engine it is a plain ``dict`` from the
(hashable) canonical key to :class:`fractions.Fraction`, with no zero values: equal terms merge
because their keys are equal, so no ``simplify()`` is ever needed.  Results leave the engine as
:class:`~symsme.algebra.series.Series`, which also know their basis.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

__all__ = ["add_into", "coefficient_like"]


def add_into(acc: dict, other: Mapping, scale: Fraction | int = 1) -> dict:
    """Add ``scale * other`` into ``acc`` in place and return ``acc``."""
    if not scale:
        return acc
    get = acc.get
    for key, c in other.items():
        v = get(key, 0) + scale * c
        if v:
            acc[key] = v
        else:
            acc.pop(key, None)
    return acc


def coefficient_like(c: Fraction, value: Any) -> Any:
    """``c`` in the number type of ``value``: ``float`` for float arrays and numbers; for object
    arrays (exact evaluation) SymPy ``Rational``, ``mpmath.mpf`` or ``Fraction``, following the
    type of the first entry."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind != "O":
        return float(c)
    sample = value.flat[0] if dtype is not None and value.size else value
    if isinstance(sample, float):
        return float(c)
    module = type(sample).__module__
    if module.startswith("sympy"):
        import sympy

        return sympy.Rational(c.numerator, c.denominator)
    if module.startswith("mpmath"):
        import mpmath

        return mpmath.mpf(c.numerator) / c.denominator
    return Fraction(c)
