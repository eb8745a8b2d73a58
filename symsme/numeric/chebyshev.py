r"""Chebyshev grids on an interval: values at the nodes stand for a smooth function.

A smooth function :math:`u` on :math:`[a, b]` is represented by its values at the
:math:`N + 1` Chebyshev points of the second kind :math:`x_j = \tfrac{a+b}2 +
\tfrac{b-a}2\cos(j\pi/N)`; its interpolant :math:`p_N` converges geometrically for analytic
:math:`u` (Trefethen, *Approximation Theory and Approximation Practice*, ch. 8).  A
:class:`ChebyshevGrid` gives, as matrices acting on node values,

- evaluation of :math:`p_N` at arbitrary points (points outside :math:`[a, b]` are clamped to
  the nearest end: :math:`p_N` is never extrapolated, so the operator stays bounded);
- the first and second derivatives of :math:`p_N` at the nodes (collocation).

The matrices are built from numpy's Chebyshev series (:mod:`numpy.polynomial.chebyshev`):
values to coefficients by the inverse of the (well-conditioned) Chebyshev-Vandermonde matrix at
the nodes, then differentiation or evaluation of the series.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import numpy.typing as npt
from numpy.polynomial import chebyshev

from symsme.errors import ShapeError
from symsme.validate import check_integer

__all__ = ["ChebyshevGrid", "analytic_cutoff", "polynomial_cutoff", "smooth_cutoff"]


class ChebyshevGrid:
    """:math:`N + 1` Chebyshev points of the second kind on ``[a, b]`` (:math:`N \\ge 4`)."""

    def __init__(self, size: int, a: float, b: float) -> None:
        self.size = check_integer(size, "the grid size N", 4, error=ShapeError)
        a, b = float(a), float(b)
        if not (np.isfinite(a) and np.isfinite(b) and a < b):
            raise ShapeError(f"a Chebyshev grid needs a finite interval a < b, got [{a}, {b}]")
        self.a, self.b = a, b
        self.reference = np.cos(np.pi * np.arange(self.size + 1) / self.size)
        self.nodes = (a + b) / 2 + (b - a) / 2 * self.reference

    def __repr__(self) -> str:
        return f"ChebyshevGrid({self.size}, {self.a:.6g}, {self.b:.6g})"

    @cached_property
    def to_coefficients(self) -> np.ndarray:
        """The matrix taking node values to Chebyshev coefficients of the interpolant."""
        return np.linalg.inv(chebyshev.chebvander(self.reference, self.size))

    def to_reference(self, points: npt.ArrayLike) -> np.ndarray:
        """Points mapped to ``[-1, 1]``, clamped to the interval."""
        x = np.asarray(points, dtype=np.float64)
        return np.clip((2 * x - (self.a + self.b)) / (self.b - self.a), -1.0, 1.0)

    def evaluation_matrix(self, points: npt.ArrayLike) -> np.ndarray:
        """``E`` with ``E @ u`` the interpolant at ``points`` (flattened; clamped to the ends)."""
        t = self.to_reference(np.ravel(points))
        return chebyshev.chebvander(t, self.size) @ self.to_coefficients

    def averaging_matrix(self, points: npt.ArrayLike, weights: npt.ArrayLike) -> np.ndarray:
        """``A`` with ``(A @ u)[i] = sum_q weights[q] p(points[i, q])`` for the interpolant
        ``p`` of node values ``u`` (points clamped): a quadrature of the interpolant, formed at
        the cost of one evaluation matrix per node set, not per point."""
        pts = np.asarray(points, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if pts.ndim != 2 or w.shape != (pts.shape[1],):
            raise ShapeError(f"points must be (m, q) with q weights, got {pts.shape}, {w.shape}")
        rows = np.zeros((pts.shape[0], self.size + 1))
        for q in range(pts.shape[1]):
            rows += w[q] * chebyshev.chebvander(self.to_reference(pts[:, q]), self.size)
        return rows @ self.to_coefficients

    def interpolate(self, values: npt.ArrayLike, points: npt.ArrayLike) -> np.ndarray:
        """The interpolant of node ``values`` at ``points`` (same shape as ``points``)."""
        coefficients = self.to_coefficients @ np.asarray(values, dtype=np.float64)
        shape = np.shape(points)
        return np.asarray(
            chebyshev.chebval(self.to_reference(np.ravel(points)), coefficients)
        ).reshape(shape)

    def filter_matrix(self, strength: float = 36.0, power: int = 16) -> np.ndarray:
        r"""The exponential filter :math:`F`: Chebyshev coefficient :math:`k` of the interpolant
        times :math:`e^{-\alpha (k/N)^{p}}` (:math:`\alpha` = ``strength``, :math:`p` = ``power``).

        It leaves resolved functions unchanged to rounding (their top coefficients are already
        at rounding level) and damps the grid-scale modes through which rounding errors
        otherwise grow when an operator is applied many times (Hesthaven, Gottlieb, Gottlieb,
        *Spectral Methods for Time-Dependent Problems*, ch. 10).
        """
        k = np.arange(self.size + 1) / self.size
        sigma = np.exp(-strength * k**power)
        vander = chebyshev.chebvander(self.reference, self.size)
        return vander @ (sigma[:, None] * self.to_coefficients)

    def derivative_matrix(self, order: int) -> np.ndarray:
        """``D`` with ``D @ u`` the ``order``-th derivative of the interpolant at the nodes."""
        order = check_integer(order, "the derivative order", 1, error=ShapeError)
        scale = 2.0 / (self.b - self.a)
        series = chebyshev.chebder(np.eye(self.size + 1), order, scl=scale)
        return (
            chebyshev.chebvander(self.reference, self.size - order) @ series @ self.to_coefficients
        )


def smooth_cutoff(
    points: npt.ArrayLike, inner: tuple[float, float], outer: tuple[float, float]
) -> np.ndarray:
    r"""1 on ``inner``, 0 outside ``outer``, a :math:`C^5` polynomial ramp between.

    The ramp is the degree-11 smoothstep :math:`s^6(462 - 1980 s + 3465 s^2 - 3080 s^3 +
    1386 s^4 - 252 s^5)`, whose first five derivatives vanish at both ends.
    """
    x = np.asarray(points, dtype=np.float64)
    (lo, hi), (a, b) = inner, outer
    if not a <= lo < hi <= b:
        raise ShapeError(f"the cutoff needs [{lo}, {hi}] inside [{a}, {b}]")

    def ramp(s: np.ndarray) -> np.ndarray:
        s = np.clip(s, 0.0, 1.0)
        return s**6 * (462 - 1980 * s + 3465 * s**2 - 3080 * s**3 + 1386 * s**4 - 252 * s**5)

    left = ramp((x - a) / (lo - a)) if lo > a else np.ones_like(x)
    right = ramp((b - x) / (b - hi)) if b > hi else np.ones_like(x)
    return left * right


def polynomial_cutoff(
    points: npt.ArrayLike, inner: tuple[float, float], outer: tuple[float, float]
) -> np.ndarray:
    r"""The polynomial :math:`\chi = 1 - t^{2p}`, :math:`t` the position in ``outer`` mapped to
    :math:`[-1, 1]`: 0 at the ends of ``outer`` and 1 on ``inner`` to :math:`10^{-16}`
    (:math:`p` the least with :math:`|t|^{2p} \le 10^{-16}` at both ends of ``inner``).

    Unlike :func:`smooth_cutoff`, whose ramp is only :math:`C^5`, it is a polynomial of degree
    :math:`2p`: a function multiplied by it keeps geometrically decaying Chebyshev coefficients,
    so its high derivatives stay accurate.

    Raises
    ------
    ShapeError
        ``inner`` not strictly inside ``outer``, or so close to its ends that :math:`p > 200`.
    """
    x = np.asarray(points, dtype=np.float64)
    (lo, hi), (a, b) = inner, outer
    if not a < lo < hi < b:
        raise ShapeError(f"the cutoff needs [{lo}, {hi}] strictly inside [{a}, {b}]")
    edge = max(abs(2 * lo - a - b), abs(2 * hi - a - b)) / (b - a)
    power = math.ceil(math.log(1e-16) / (2 * math.log(edge)))
    if power > 200:
        raise ShapeError(f"[{lo}, {hi}] is too close to the ends of [{a}, {b}] for a cutoff")
    t = (2 * x - (a + b)) / (b - a)
    return np.asarray(1.0 - t ** (2 * power))


def analytic_cutoff(
    points: npt.ArrayLike,
    inner: tuple[float, float],
    outer: tuple[float, float],
    widths: float = 12.0,
) -> np.ndarray:
    r"""1 on ``inner`` and 0 at the ends of ``outer`` to about :math:`10^{-17}`, an entire
    function between: the product of two error-function steps,

    .. math::

        \chi(x) = \tfrac14\big(1 + \operatorname{erf}\tfrac{x - m_-}{w_-}\big)
                  \big(1 - \operatorname{erf}\tfrac{x - m_+}{w_+}\big),

    centred in each ramp (:math:`m_\pm`) with width :math:`w_\pm` the ramp over ``widths``
    (12: :math:`\tfrac12\operatorname{erfc}(6) < 10^{-16}` at both ends of a ramp; 8:
    :math:`\tfrac12\operatorname{erfc}(4) < 10^{-8}`, a gentler ramp).  Unlike :func:`smooth_cutoff`
    (:math:`C^5`), a function multiplied by it keeps geometrically decaying Chebyshev
    coefficients, so its high derivatives stay accurate.
    """
    x = np.asarray(points, dtype=np.float64)
    (lo, hi), (a, b) = inner, outer
    if not a < lo < hi < b:
        raise ShapeError(f"the cutoff needs [{lo}, {hi}] strictly inside [{a}, {b}]")
    step = np.vectorize(math.erf, otypes=[np.float64])
    left = 0.5 * (1 + step((x - (a + lo) / 2) / ((lo - a) / widths)))
    right = 0.5 * (1 - step((x - (hi + b) / 2) / ((b - hi) / widths)))
    return np.asarray(left * right)
