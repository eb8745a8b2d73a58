r"""Checks of the plain arguments every stage takes: integers, orders, dimensions, step sizes.

One function per kind of argument, each returning the value in canonical form or raising the
:class:`~symsme.errors.SymsmeError` subclass that names it.  Integers may be Python or numpy
integers (never ``bool`` or floats).  Arrays, points and backends are checked by
:mod:`symsme.numeric.backend`; expressions by :mod:`symsme.expressions`.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from symsme.errors import DimensionError, MomentsError, OrderError, StepSizeError, SymsmeError

if TYPE_CHECKING:
    import sympy as sp

# numpy, sympy and mpmath are imported where they are needed: `symsme derive` never loads them.

__all__ = [
    "check_choice",
    "check_dim",
    "check_integer",
    "check_moments",
    "check_order",
    "check_step_size",
    "format_number",
]


def check_integer(
    value: Any,
    name: str,
    minimum: int | None = None,
    *,
    error: type[SymsmeError] = SymsmeError,
) -> int:
    """``value`` as an ``int`` if it is a (numpy) integer ``>= minimum``, else raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        bound = "" if minimum is None else f" >= {minimum}"
        raise error(f"{name} must be an integer{bound}, got {value!r}")
    if minimum is not None and value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_order(order: Any, name: str = "order", minimum: int = 0) -> int:
    """An expansion or derivative order: an integer ``>= minimum`` (:class:`OrderError`)."""
    return check_integer(order, name, minimum, error=OrderError)


def check_moments(moments: Any) -> int | None:
    """The number of moments of a mismatch report (``None`` or an integer >= 1)."""
    if moments is None:
        return None
    return check_integer(moments, "moments", 1, error=MomentsError)


def check_dim(dim: Any) -> int | str:
    """``1`` for the 1-D engine, ``"d"`` for the coordinate-free one (also for integers >= 2).

    Raises :class:`~symsme.errors.DimensionError` otherwise.
    """
    if isinstance(dim, str) and dim == "d":
        return "d"
    if not isinstance(dim, bool) and isinstance(dim, Integral) and int(dim) >= 1:
        return 1 if dim == 1 else "d"
    raise DimensionError(f"dimension must be 1, an integer >= 2 or 'd', got {dim!r}")


def check_choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``choices``, else a :class:`SymsmeError` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise SymsmeError(f"unknown {what} {value!r} (known: {', '.join(choices)})")
    return value


def check_step_size(eta: Any) -> sp.Number:
    r"""Validate a learning rate :math:`\eta` and return it as an exact SymPy number.

    Accepts Python ``int``/``float``/:class:`fractions.Fraction`, numpy scalars, ``mpmath.mpf``
    and SymPy numbers; a float stays the exact binary value it denotes (no decimal rounding).

    Raises
    ------
    StepSizeError
        If :math:`\eta` is not a finite real number :math:`> 0` (the message names it).
    """
    import mpmath
    import numpy as np
    import sympy as sp

    if isinstance(eta, bool) or not isinstance(
        eta, (Real, Fraction, np.number, mpmath.mpf, sp.Number)
    ):
        raise StepSizeError(f"eta must be a finite number > 0, got eta={eta!r}")
    if isinstance(eta, Fraction):
        value: Any = sp.Rational(eta.numerator, eta.denominator)
    elif isinstance(eta, mpmath.mpf):
        value = sp.Float(eta, precision=max(mpmath.mp.prec, 53))
    elif isinstance(eta, np.number):
        value = sp.sympify(eta.item())
    else:
        value = sp.sympify(eta)
    if not (value.is_real and value.is_finite and value.is_positive):
        raise StepSizeError(f"eta must be a finite number > 0, got eta={eta!r}")
    return value


def format_number(value: Any) -> str:
    """Format an exact or floating number for a message (rationals stay exact)."""
    import mpmath
    import sympy as sp

    if isinstance(value, (sp.Rational, int, Fraction)):
        return str(value)
    if isinstance(value, mpmath.mpf):
        return mpmath.nstr(value, 17)
    return repr(float(value))
