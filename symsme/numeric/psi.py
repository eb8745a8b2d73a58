r"""The function :math:`\psi(w) = \log(w)/(w - 1)` of the HA-SME closed form, evaluated stably.

HA-SME (Li, Shen, Zhang, He, "A Hessian-Aware Stochastic Differential Equation for Modelling
SGD", arXiv 2405.18373) writes its drift and diffusion with

.. math::

    \psi(w) = \frac{\log w}{w - 1}, \qquad \psi(1) = 1, \qquad
    \psi(1 + \delta) = \frac{\operatorname{log1p}(\delta)}{\delta}
                     = \sum_{n \ge 0} \frac{(-\delta)^n}{n + 1},

evaluated at :math:`w = m_i = 1 - \eta\lambda_i` and :math:`w = m_i m_j`.  The arguments sit
next to 1 when :math:`\eta\lambda` is small, where ``log(w) / (w - 1)`` loses all its digits to
cancellation.  This module gives

- :func:`psi` and :func:`psi_shifted` for numpy arrays (float64, any shape, a few ulps),
- :func:`mp_psi` and :func:`mp_psi_shifted` for mpmath numbers at the working precision,
- :class:`Psi` and :class:`PsiShifted`, SymPy functions for exact expressions, which
  :func:`symsme.numeric.lambdify.lambdify_1d` maps to the stable numeric versions.

:math:`\psi` is undefined for :math:`w \le 0` (SGD's one-step multiplier is not positive); the
numeric building blocks here return NaN there and the public model functions
(:mod:`symsme.numeric.models`) check the condition first and raise.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import numpy.typing as npt
import sympy as sp

__all__ = [
    "psi",
    "psi_shifted",
    "psi_product",
    "mp_psi",
    "mp_psi_shifted",
    "mp_psi_product",
    "Psi",
    "PsiShifted",
]


def psi_shifted(d: npt.ArrayLike) -> np.ndarray:
    r"""Evaluate :math:`\psi(1 + \delta) = \operatorname{log1p}(\delta)/\delta` elementwise.

    .. math::

        \psi(1 + \delta) = \frac{\operatorname{log1p}(\delta)}{\delta}, \qquad
        \psi(1) = 1, \qquad \psi(\infty) = 0.

    For callers that can form :math:`\delta = w - 1` without cancellation, e.g.
    :math:`\delta = -\eta\lambda` for :math:`w = 1 - \eta\lambda`, or
    :math:`\delta = \eta\lambda(\eta\lambda - 2)` for :math:`w = (1 - \eta\lambda)^2`.
    The result is accurate to a few ulps in :math:`\delta` (one rounding in ``log1p``, one in
    the division).  Returns NaN for :math:`\delta \le -1` (:math:`w \le 0`) and for NaN input:
    this is a building block, the public models check their conditions before calling it.

    Parameters
    ----------
    d:
        Array-like of :math:`\delta`, any shape.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape (0-d for a scalar).
    """
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = np.log1p(d) / d
    out = np.where(d == 0.0, 1.0, out)
    out = np.where(d <= -1.0, np.nan, out)
    return np.where(np.isposinf(d), 0.0, out)


def psi(w: npt.ArrayLike) -> np.ndarray:
    r"""Evaluate :math:`\psi(w) = \log(w)/(w - 1)` elementwise for :math:`w > 0`.

    .. math::

        \psi(w) = \begin{cases}
            \operatorname{log1p}(w - 1)/(w - 1), & \tfrac12 \le w \le 2
                \quad (w - 1 \text{ exact by Sterbenz's lemma}),\\
            \log(w)/(w - 1), & \text{otherwise},
        \end{cases}

    with :math:`\psi(1) = 1` exactly and :math:`\psi(+\infty) = 0`.  Accurate to a few ulps
    for every float64 :math:`w > 0` (see ``tests/test_psi.py`` for the measured maximum).
    Returns NaN for :math:`w \le 0` and NaN input (a building block: see the module notes).
    When :math:`w - 1` can be formed without cancellation, :func:`psi_shifted` is better.

    Parameters
    ----------
    w:
        Array-like, any shape.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape (0-d for a scalar).
    """
    w = np.asarray(w, dtype=np.float64)
    d = w - 1.0
    near = (w >= 0.5) & (w <= 2.0)
    with np.errstate(all="ignore"):
        # Far from 1, w - 1 is rounded but its relative error is one half ulp and log(w) is
        # well conditioned; close to 1, w - 1 is exact and log1p keeps every digit.
        far_value = np.log(w) / d
    out = np.where(near, psi_shifted(np.where(near, d, 0.0)), far_value)
    out = np.where(w <= 0.0, np.nan, out)
    return np.where(np.isposinf(w), 0.0, out)


def psi_product(u: npt.ArrayLike, v: npt.ArrayLike) -> np.ndarray:
    r"""Evaluate :math:`\psi(m_u m_v)`, :math:`m_u = 1 - u`, :math:`m_v = 1 - v`, elementwise.

    HA-SME's diffusion needs :math:`\psi(m_i m_j)` at :math:`u = \eta\lambda_i`,
    :math:`v = \eta\lambda_j`.  With :math:`\delta = m_u m_v - 1 = uv - u - v` (formed from
    :math:`u, v`, never from numbers near 1):

    .. math::

        \psi(m_u m_v) = \begin{cases}
            \operatorname{log1p}(\delta)/\delta, & |\delta| \le \tfrac12,\\
            \big(\operatorname{log1p}(-u) + \operatorname{log1p}(-v)\big)/\delta,
                & \text{otherwise},
        \end{cases}

    so that as :math:`u \to 1` (:math:`m_u \to 0`, where :math:`1 + \delta` underflows
    relative to 1) the logarithm of the small factor is taken of :math:`-u` itself: the error
    stays near what the conditioning forces (a few ulps times :math:`u/(m_u|\log m_u|)`).
    NaN where :math:`u \ge 1` or :math:`v \ge 1` (building block: callers check first).
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    delta = u * v - u - v
    near = np.abs(delta) <= 0.5
    with np.errstate(all="ignore"):
        far_value = (np.log1p(-u) + np.log1p(-v)) / delta
    out = np.where(near, psi_shifted(np.where(near, delta, 0.0)), far_value)
    return np.where((u >= 1) | (v >= 1), np.nan, out)


def mp_psi_product(u: Any, v: Any) -> mpmath.mpf:
    r""":func:`psi_product` with mpmath at the current precision."""
    u, v = mpmath.mpf(u), mpmath.mpf(v)
    if mpmath.isnan(u) or mpmath.isnan(v) or u >= 1 or v >= 1:
        return mpmath.mpf("nan")
    delta = u * v - u - v
    if abs(delta) <= mpmath.mpf(1) / 2:
        return mp_psi_shifted(delta)
    return (mpmath.log1p(-u) + mpmath.log1p(-v)) / delta


def mp_psi_shifted(d: Any) -> mpmath.mpf:
    r"""Evaluate :math:`\psi(1 + \delta) = \operatorname{log1p}(\delta)/\delta` with mpmath.

    Works at the current mpmath precision, with :math:`\psi(1) = 1` and ``mpmath.log1p`` near
    :math:`\delta = 0`.  ``d`` may be an ``mpf``, a Python number or a decimal string.
    Returns ``nan`` for :math:`\delta \le -1` (building block, see the module notes) and
    ``0`` for :math:`\delta = +\infty`.
    """
    d = mpmath.mpf(d)
    if mpmath.isnan(d) or d <= -1:
        return mpmath.mpf("nan")
    if d == 0:
        return mpmath.mpf(1)
    if mpmath.isinf(d):
        return mpmath.mpf(0)
    return mpmath.log1p(d) / d


def mp_psi(w: Any) -> mpmath.mpf:
    r"""Evaluate :math:`\psi(w) = \log(w)/(w - 1)` with mpmath at the current precision.

    For :math:`|w - 1| < 1/2` the difference :math:`w - 1` is exact (Sterbenz) and
    :func:`mp_psi_shifted` is used; elsewhere :math:`\log(w)/(w - 1)`.  ``w`` may be an ``mpf``,
    a Python number or a decimal string.  Returns ``nan`` for :math:`w \le 0`.
    """
    w = mpmath.mpf(w)
    if mpmath.isnan(w) or w <= 0:
        return mpmath.mpf("nan")
    if mpmath.isinf(w):
        return mpmath.mpf(0)
    d = w - 1
    if abs(d) <= mpmath.mpf(1) / 2:
        return mp_psi_shifted(d)
    return mpmath.log(w) / d


def _psi_series(arg: sp.Expr, x: sp.Symbol, n: int, logx: Any, cdir: Any) -> sp.Expr | None:
    r"""Series of :math:`\psi(1 + \delta(x))` when :math:`\delta(0) = 0` (else ``None``)."""
    delta = sp.expand(arg)
    if delta.subs(x, 0) != 0:
        return None
    # psi(1 + delta) = sum_{m >= 0} (-delta)^m / (m + 1); delta = O(x) so n terms suffice.
    total = sp.Add(*[(-delta) ** m / (m + 1) for m in range(n + 1)])
    return sp.expand(total).nseries(x, n=n, logx=logx, cdir=cdir)


class Psi(sp.Function):
    r"""SymPy function :math:`\psi(w) = \log(w)/(w - 1)`, :math:`\psi(1) = 1`.

    Stays unevaluated except at :math:`w = 1` (and :math:`w = \infty`), so that exact
    expressions can carry the HA-SME closed form (Li, Shen, Zhang, He, arXiv 2405.18373)

    .. math::

        b = -\psi(1 - \eta f'')\, f', \qquad D = \psi\big((1 - \eta f'')^2\big)\,\Sigma .

    ``expr.rewrite(sympy.log)`` gives :math:`\log(w)/(w - 1)`; ``series`` in a variable in
    which :math:`w \to 1` uses :math:`\psi(1 + \delta) = \sum_m (-\delta)^m/(m + 1)`;
    ``evalf`` uses :func:`mp_psi`; :func:`symsme.numeric.lambdify.lambdify_1d` evaluates it with
    :func:`psi_shifted` (never the cancelling ``log(w)/(w - 1)``).
    """

    nargs = 1

    @classmethod
    def eval(cls, w: sp.Expr) -> sp.Expr | None:
        if w is sp.S.One:
            return sp.S.One
        if w is sp.S.Infinity:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_log(self, w: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(w) / (w - 1)

    def _eval_rewrite_as_PsiShifted(self, w: sp.Expr, **kwargs: Any) -> sp.Expr:
        return PsiShifted(w - 1)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # psi'(w) = (1/w - psi(w)) / (w - 1); removable singularity at w = 1 (value -1/2).
        (w,) = self.args
        return (1 / w - Psi(w)) / (w - 1)

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_positive else None

    def _eval_is_real(self) -> bool | None:
        return True if self.args[0].is_positive else None

    def _eval_nseries(self, x: Any, n: Any, logx: Any, cdir: Any = 0) -> sp.Expr:
        series = _psi_series(self.args[0] - 1, x, n, logx, cdir)
        if series is None:
            return super()._eval_nseries(x, n, logx, cdir)
        return series

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        w = self.args[0].evalf(mpmath.libmp.prec_to_dps(prec) + 5)
        if not (w.is_Number and w.is_positive):
            return None
        with mpmath.workprec(prec + 10):
            value = mp_psi(w._to_mpmath(prec + 10))
        return sp.Float(value, precision=prec)


class PsiShifted(sp.Function):
    r"""SymPy function :math:`\psi(1 + \delta) = \operatorname{log1p}(\delta)/\delta`.

    The shifted form of :class:`Psi` (``Psi(w).rewrite(PsiShifted) == PsiShifted(w - 1)``),
    used where :math:`\delta` is available without cancellation; lambdified to
    :func:`psi_shifted` / :func:`mp_psi_shifted`.
    """

    nargs = 1

    @classmethod
    def eval(cls, d: sp.Expr) -> sp.Expr | None:
        if d is sp.S.Zero:
            return sp.S.One
        if d is sp.S.Infinity:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_log(self, d: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + d) / d

    def _eval_rewrite_as_Psi(self, d: sp.Expr, **kwargs: Any) -> sp.Expr:
        return Psi(1 + d)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        (d,) = self.args
        return (1 / (1 + d) - PsiShifted(d)) / d

    def _eval_is_positive(self) -> bool | None:
        return True if (1 + self.args[0]).is_positive else None

    def _eval_is_real(self) -> bool | None:
        return True if (1 + self.args[0]).is_positive else None

    def _eval_nseries(self, x: Any, n: Any, logx: Any, cdir: Any = 0) -> sp.Expr:
        series = _psi_series(self.args[0], x, n, logx, cdir)
        if series is None:
            return super()._eval_nseries(x, n, logx, cdir)
        return series

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        d = self.args[0].evalf(mpmath.libmp.prec_to_dps(prec) + 5)
        if not (d.is_Number and (1 + d).is_positive):
            return None
        with mpmath.workprec(prec + 10):
            value = mp_psi_shifted(d._to_mpmath(prec + 10))
        return sp.Float(value, precision=prec)
