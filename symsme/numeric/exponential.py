r"""The action of a matrix exponential, :math:`e^{T L} v`, for stiff :math:`L` (collocated
generators).

Time steps :math:`h = T/n` of the subdiagonal :math:`(m-1, m)` Padé approximant
:math:`r_m(z) \approx e^z`, which is L-stable and of order :math:`2m - 1` (Hairer, Wanner,
*Solving ODEs II*, sec. IV.4), applied through its partial fractions

.. math::

    r_m(z) = \sum_{i=1}^m \frac{c_i}{z - p_i}, \qquad
    r_m(hL)\,v = \sum_i c_i (hL - p_i I)^{-1} v,

one linear solve per pole (poles in conjugate pairs, in the right half plane; the solves stay
well conditioned however stiff :math:`L` is, unlike powers of :math:`hL`).  The poles
:math:`p_i` (roots of the Padé denominator) and residues :math:`c_i = P(p_i)/Q'(p_i)` are
computed once, at 60 digits, with mpmath.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import mpmath
import numpy as np

from symsme.errors import ShapeError
from symsme.validate import check_integer

__all__ = ["pade_partial_fractions", "step_matrix"]


@lru_cache(maxsize=8)
def pade_partial_fractions(m: int) -> tuple[tuple[complex, complex], ...]:
    r"""Poles and residues :math:`(p_i, c_i)` of the :math:`(m-1, m)` Padé approximant of
    :math:`e^z` (one of each conjugate pair: the one with :math:`\operatorname{Im} p \ge 0`;
    a real pole has weight one, a complex one stands for two)."""
    m = check_integer(m, "the Pade degree", 1, error=ShapeError)
    j, k = m - 1, m
    numerator = [
        mpmath.mpf(factorial(j + k - i) * factorial(j))
        / (factorial(j + k) * factorial(i) * factorial(j - i))
        for i in range(j + 1)
    ]
    denominator = [
        mpmath.mpf((-1) ** i * factorial(j + k - i) * factorial(k))
        / (factorial(j + k) * factorial(i) * factorial(k - i))
        for i in range(k + 1)
    ]
    out = []
    with mpmath.workdps(60):
        roots = mpmath.polyroots(denominator[::-1], maxsteps=500, extraprec=500)
        for root in roots:
            if mpmath.im(root) < -(mpmath.mpf(10) ** -40):
                continue
            p = mpmath.polyval(numerator[::-1], root)
            dq = mpmath.polyval([i * c for i, c in enumerate(denominator)][1:][::-1], root)
            out.append((complex(root), complex(p / dq)))
    return tuple(out)


def step_matrix(generator: np.ndarray, h: float, m: int = 6) -> np.ndarray:
    r"""The real matrix :math:`r_m(hL)` (one time step of length ``h``)."""
    n = generator.shape[0]
    identity = np.eye(n)
    total = np.zeros((n, n))
    for pole, residue in pade_partial_fractions(m):
        part = residue * np.linalg.solve(h * generator - pole * identity, identity)
        total += part.real if abs(pole.imag) < 1e-30 else 2 * part.real
    return total
