r"""Turn exact 1-D jet expressions into numeric functions of :math:`x` (numpy or mpmath).

The 1-D algebra of symsme writes every drift and diffusion term as a polynomial in the jet
symbols (``symsme/DESIGN.md``, "Conventions")

.. math::

    \eta, \qquad g_k = f^{(k+1)}(x), \qquad s_k = \Sigma^{(k)}(x), \qquad
    \kappa_{n,j} = \kappa_n^{(j)}(x) \ (\text{symbol } ``k{n}_{j}``),

possibly inside the closed-form function :class:`~symsme.numeric.psi.Psi` of HA-SME
(Li, Shen, Zhang, He, arXiv 2405.18373), e.g. :math:`b = -\psi(1 - \eta g_1) g_0`, or the
SME-2 drift :math:`b_0 + \eta b_1 = -g_0 - \tfrac{\eta}{2} g_0 g_1` of Li, Tai, E (ICML 2017;
JMLR 2019).  :func:`lambdify_1d` substitutes a user's :math:`f(x)` and :math:`\Sigma(x)` for the
jets and returns a numeric function of :math:`x` with the same signature for both backends
(:mod:`symsme.numeric.backend`).  User text is read by :mod:`symsme.expressions`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import mpmath
import numpy as np
import numpy.typing as npt
import sympy as sp
from sympy.core.function import AppliedUndef

from symsme.algebra.jets import parse_var
from symsme.errors import ExpressionError, HessianConditionError, NonFiniteError, ShapeError
from symsme.expressions import check_expression, parse_expression, parse_text
from symsme.numeric.backend import Backend, BackendName, get_backend
from symsme.numeric.psi import Psi, PsiShifted
from symsme.validate import check_integer, check_step_size, format_number

__all__ = [
    "Lambdified1D",
    "jet_symbol",
    "lambdify_1d",
    "stabilise_psi",
]


def jet_symbol(symbol: sp.Symbol) -> tuple[str, int, int] | None:
    r"""Classify a 1-D jet symbol by its name.

    Returns ``("eta", 0, 0)``, ``("g", k, 0)`` for :math:`g_k = f^{(k+1)}`,
    ``("s", k, 0)`` for :math:`s_k = \Sigma^{(k)}`, ``("k", n, j)`` for
    :math:`\kappa_n^{(j)}`, or ``None`` for any other symbol.  Matching is by name only, so
    symbols created with assumptions (``real=True``) are recognised too.
    """
    if symbol.name == "eta":
        return ("eta", 0, 0)
    from symsme.algebra.jets import STRIDE

    try:
        v = parse_var(symbol.name)
    except ValueError:
        return None
    k, family = divmod(v, STRIDE)
    if family == 0:
        return ("g", k, 0)
    if family == 1:
        return ("s", k, 0)
    return ("k", family + 1, k)


def stabilise_psi(expr: sp.Expr) -> sp.Expr:
    r"""Rewrite every :math:`\psi(w)` so that no argument is a difference of numbers near 1.

    :math:`\psi(w) \to \psi_{\rm shifted}(\delta)`, :math:`\delta = w - 1` simplified exactly
    (expanded and factored), and for a power :math:`w = m^n` (HA-SME's :math:`\psi(m^2)`)

    .. math::

        \psi(m^n) = \frac{n \log m}{m^n - 1}
                  = \psi_{\rm shifted}(m - 1)\,\frac{n}{1 + m + \dots + m^{n-1}},

    which stays accurate as :math:`m \to 0` (:math:`\eta f'' \to 1`), where :math:`m^2 - 1`
    would lose the digits of :math:`m^2`.
    """

    def delta(w: sp.Expr) -> sp.Expr:
        d = sp.expand(w - 1)
        with contextlib.suppress(sp.PolynomialError, NotImplementedError, ValueError):
            d = sp.factor(d)
        return d

    def shifted(w: sp.Expr) -> sp.Expr:
        if w.is_Pow and w.exp.is_Integer and w.exp > 1 and w.base.free_symbols:
            m, n = w.base, int(w.exp)
            return PsiShifted(delta(m)) * n / sp.Add(*[m**k for k in range(n)])
        return PsiShifted(delta(w))

    return expr.replace(Psi, shifted)


class Lambdified1D:
    r"""A numeric function :math:`x \mapsto e(x)` made by :func:`lambdify_1d`.

    Call it with points :math:`x`.  ``numpy``: any array-like, returns a float64 array of the
    same shape.  ``mpmath``: an ``mpf``/Python number/decimal string returns an ``mpf``
    computed at the current ``mpmath.mp`` precision; a sequence or array returns a numpy
    object array of ``mpf`` of the same shape.

    Attributes
    ----------
    expr:
        The SymPy expression in :attr:`variable` and the symbol ``eta`` that is evaluated.
    eta:
        The learning rate, an exact SymPy number.
    backend:
        ``"numpy"`` or ``"mpmath"``.

    Raises
    ------
    NonFiniteError
        On call, if a point is NaN/infinite or the value at a finite point is not finite and real.
    HessianConditionError
        On call, if an argument of :math:`\psi` or :math:`\log` is not positive at a point
        (for the HA-SME closed form: :math:`\eta f''(x) \ge 1`), naming the point and value.
    """

    def __init__(
        self,
        expr: sp.Expr,
        variable: sp.Symbol,
        eta_symbol: sp.Symbol,
        eta: sp.Number,
        backend: str | Backend,
    ) -> None:
        self.expr = expr
        self.variable = variable
        self.eta = eta
        self._backend = get_backend(backend)
        self.backend = self._backend.name
        modules = self._backend.lambdify_modules
        self._call = self._call_numpy if self._backend.vectorised else self._call_each
        self._backend.check_constants([expr], "the expression")
        try:
            self._func = sp.lambdify((variable, eta_symbol), stabilise_psi(expr), modules=modules)
        except Exception as exc:  # the printers raise various types for unsupported functions
            raise ExpressionError(
                f"cannot turn {expr} into {backend} code: {type(exc).__name__}: {exc}"
            ) from exc
        self._eta_float = float(eta)
        # psi(w) and log(w) need w > 0: for the HA-SME closed form, w = m = 1 - eta f'' or
        # w = m^2, and the closed form (log of SGD's multiplier m) needs m > 0, i.e.
        # eta f''(x) < 1.  So for w = m**n we require m > 0, otherwise w > 0.  Checked before
        # evaluating, so that a point outside the domain raises HessianConditionError instead
        # of returning NaN (or, for psi(m^2), a meaningless number).
        args = set()
        for a in expr.atoms(Psi, sp.log):
            w = a.args[0]
            if w.is_Pow and w.exp.is_Integer and w.exp > 0:
                w = w.base
            if w.free_symbols:
                args.add(w)
        self._domain = [
            (w, sp.lambdify((variable, eta_symbol), w, modules=modules))
            for w in sorted(args, key=sp.default_sort_key)
        ]

    def _check_domain(self, x: Any, eta: Any) -> None:
        for w, fw in self._domain:
            with np.errstate(all="ignore"):
                vals = np.asarray(fw(x, eta))
            vals = np.broadcast_to(vals, np.shape(x)) if np.ndim(x) else vals
            bad = ~(vals > 0)
            if np.any(bad):
                index = tuple(np.argwhere(bad)[0]) if np.ndim(bad) else ()
                xv = np.asarray(x)[index] if np.ndim(x) else x
                raise HessianConditionError(
                    f"{self.expr} is undefined at x = {xv}: the argument {w} = "
                    f"{np.asarray(vals)[index] if np.ndim(vals) else vals} of psi/log is not "
                    f"positive (the HA-SME closed form needs eta*f''(x) < 1; "
                    f"eta = {format_number(self.eta)})"
                )

    def __repr__(self) -> str:
        return f"Lambdified1D({self.expr}, eta={self.eta}, backend={self.backend!r})"

    def __call__(self, x: Any) -> Any:
        return self._call(x)

    def _call_each(self, x: Any) -> Any:
        if isinstance(x, (list, tuple, np.ndarray)):
            points = np.asarray(x, dtype=object)
            out = np.empty(points.shape, dtype=object)
            for index in np.ndindex(points.shape):
                out[index] = self._call_mpmath(points[index])
            return out
        return self._call_mpmath(x)

    def _call_numpy(self, x: npt.ArrayLike) -> np.ndarray:
        xs = self._backend.asarray(x, "points x")
        if not np.all(np.isfinite(xs)):
            bad = xs[~np.isfinite(xs)].flat[0]
            raise NonFiniteError(f"point x = {float(bad)!r} is not finite")
        self._check_domain(xs, self._eta_float)
        try:
            with np.errstate(all="ignore"):
                value = self._func(xs, self._eta_float)
        except NameError as exc:
            raise ExpressionError(f"numpy cannot evaluate {self.expr}: {exc}") from exc
        except OverflowError:
            raise NonFiniteError(
                f"{str(self.expr)[:80]} overflows float64 (eta = {format_number(self.eta)}); "
                "the mpmath backend goes further"
            ) from None
        if np.iscomplexobj(value):
            value = np.where(np.imag(value) == 0, np.real(value), np.nan)
        out = np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), xs.shape))
        finite = np.isfinite(out)
        if not np.all(finite):
            where = np.argwhere(~finite)[0] if out.ndim else ()
            raise NonFiniteError(
                f"{self.expr} is not finite at x = {float(xs[tuple(where)])!r} "
                f"(value {float(out[tuple(where)])!r}, eta = {format_number(self.eta)})"
            )
        return out

    def _call_mpmath(self, x: Any) -> mpmath.mpf:
        try:
            xm = self._backend.convert(x)
        except (TypeError, ValueError) as exc:
            raise ShapeError(f"point x = {str(x)[:40]!r} is not a real number") from exc
        if not mpmath.isfinite(xm):
            raise NonFiniteError(f"point x = {x!r} is not finite")
        eta = self._backend.number(self.eta)
        for w, fw in self._domain:
            wv = mpmath.mpmathify(fw(xm, eta))
            if isinstance(wv, mpmath.mpc) or not wv > 0:
                raise HessianConditionError(
                    f"{self.expr} is undefined at x = {xm}: the argument {w} = {wv} of psi/log "
                    f"is not positive (the HA-SME closed form needs eta*f''(x) < 1; "
                    f"eta = {format_number(self.eta)})"
                )
        value = mpmath.mpmathify(self._func(xm, eta))
        if isinstance(value, mpmath.mpc):
            if value.imag != 0:
                raise NonFiniteError(f"{self.expr} is not real at x = {xm} (value {value})")
            value = value.real
        if not mpmath.isfinite(value):
            raise NonFiniteError(f"{self.expr} is not finite at x = {xm} (value {value})")
        return value


def _as_scalar_sigma(sigma: Any) -> Any:
    """Unwrap a 1 x 1 matrix/list (``[[1 + x**2]]``) to its entry."""
    if isinstance(sigma, sp.MatrixBase):
        if sigma.shape != (1, 1):
            raise ExpressionError(f"a 1-D Sigma must be a scalar or 1 x 1, got shape {sigma.shape}")
        return sigma[0, 0]
    if isinstance(sigma, (list, tuple)):
        inner = sigma
        while isinstance(inner, (list, tuple)) and len(inner) == 1:
            inner = inner[0]
        if isinstance(inner, (list, tuple)):
            raise ExpressionError(f"a 1-D Sigma must be a scalar or 1 x 1, got {sigma!r}")
        return inner
    return sigma


def lambdify_1d(
    expr: Any,
    loss: sp.Expr | str,
    sigma: sp.Expr | str | float | int | None = None,
    *,
    var: str | sp.Symbol = "x",
    eta: Any,
    backend: BackendName | Backend = "numpy",
    cumulants: Mapping[int, sp.Expr | str] | None = None,
) -> Lambdified1D:
    r"""Evaluate a 1-D jet expression for a concrete objective :math:`f(x)` and noise
    :math:`\Sigma(x)`.

    Substitutes

    .. math::

        g_k \mapsto \frac{d^{k+1} f}{dx^{k+1}}, \qquad
        s_k \mapsto \frac{d^k \Sigma}{dx^k}, \qquad
        \kappa_{n,j} \mapsto \frac{d^j \kappa_n}{dx^j}, \qquad \eta \mapsto \eta,

    exactly, then lambdifies.  :math:`\psi` (:class:`~symsme.numeric.psi.Psi`) is evaluated by
    :func:`~symsme.numeric.psi.psi_shifted` after :func:`stabilise_psi`.  For example the HA-SME
    closed form of Li, Shen, Zhang, He (arXiv 2405.18373) in 1-D,
    :math:`b = -\psi(1 - \eta g_1) g_0`, :math:`D = \psi((1 - \eta g_1)^2) s_0`, or the SME-2
    drift correction :math:`b_1 = -\tfrac12 g_0 g_1` of Li, Tai, E (ICML 2017; JMLR 2019).

    Parameters
    ----------
    expr:
        Expression in ``eta``, ``g0, g1, ...``, ``s0, s1, ...``, ``k{n}_{j}`` (a SymPy expression,
        a string, or a 1-D :class:`~symsme.algebra.series.Series` such as
        ``modified_equation(3).drift[2]``); jets up to order :data:`MAX_JET`.
    loss, sigma:
        :math:`f` and :math:`\Sigma` as SymPy expressions or strings in ``var``; ``sigma`` may
        also be written as a 1 x 1 matrix ``"[[1 + x**2]]"``.  ``sigma`` is only needed if
        ``expr`` contains ``s_k``.
    var:
        Name (or symbol) of the variable, default ``"x"``.
    eta:
        Learning rate, a finite number :math:`> 0` (kept exact; see :func:`check_step_size`).
    backend:
        ``"numpy"`` (vectorised over arrays of points, always returns an array of the input's
        shape) or ``"mpmath"`` (scalars at ``mpmath.mp`` precision).
    cumulants:
        Optional ``{n: kappa_n(x)}`` for the cumulant symbols ``k{n}_{j}``.

    Returns
    -------
    Lambdified1D
        Callable ``f(x)``; see :class:`Lambdified1D`.

    Raises
    ------
    StepSizeError
        If ``eta`` is not a finite number :math:`> 0`.
    ExpressionError
        If a string does not parse, ``expr`` has symbols other than jets, ``loss``/``sigma`` have
        symbols other than ``var``, or a jet has no source (``s_k`` without ``sigma``,
        ``k{n}_{j}`` without ``cumulants[n]``).
    """
    eta_value = check_step_size(eta)
    backend = get_backend(backend)
    name = var.name if isinstance(var, sp.Symbol) else str(var)
    if not name.isidentifier() or jet_symbol(sp.Symbol(name)) is not None:
        raise ExpressionError(f"variable name {name!r} is not an identifier or clashes with a jet")
    x = sp.Symbol(name, real=True)

    jets = _parse_jet_expression(expr)
    f = parse_expression(loss, [x], what="loss")
    sources: dict[str, sp.Expr] = {"g": f}
    if sigma is not None:
        parsed = parse_text(sigma, {name: x}, "Sigma") if isinstance(sigma, str) else sigma
        sources["s"] = check_expression(_as_scalar_sigma(parsed), sigma, {name: x}, "Sigma")
    kappas = {}
    for n, kappa in (cumulants or {}).items():
        n = check_integer(n, "cumulant order", 3, error=ExpressionError)
        kappas[n] = parse_expression(kappa, [x], what=f"cumulant kappa_{n}")

    eta_symbol = sp.Symbol("eta")
    mapping: dict[sp.Symbol, sp.Expr] = {}
    for symbol in jets.free_symbols:
        kind, k, j = jet_symbol(symbol)  # type: ignore[misc]  # checked by the parser
        if kind == "eta":
            mapping[symbol] = eta_symbol
        elif kind == "g":
            mapping[symbol] = sp.diff(f, x, k + 1)
        elif kind == "s":
            if "s" not in sources:
                raise ExpressionError(f"{expr} contains {symbol} but no sigma was given")
            mapping[symbol] = sp.diff(sources["s"], x, k)
        else:
            if k not in kappas:
                raise ExpressionError(
                    f"{expr} contains {symbol} but no cumulant kappa_{k} was given (cumulants=)"
                )
            mapping[symbol] = sp.diff(kappas[k], x, j)
    return Lambdified1D(jets.xreplace(mapping), x, eta_symbol, eta_value, backend)


MAX_JET = 12
"""Highest derivative index of a jet symbol (``g12``, ``s12``, ``k3_12``) that
:func:`lambdify_1d` substitutes: symbolic derivatives swell (the 14th of ``tan`` takes seconds),
and the 1-D engine's default limits need no more."""


def _parse_jet_expression(expr: Any) -> sp.Expr:
    from symsme.algebra.series import Series

    if isinstance(expr, Series):  # a coefficient of modified_equation(...) in 1-D jets
        if expr.basis.dim != 1:
            raise ExpressionError("lambdify_1d takes 1-D series; evaluate d-dim series on jets")
        expr = expr.text() if expr else "0"
    if isinstance(expr, str):
        names = re.findall(r"[A-Za-z_]\w*", expr)
        local = {n: sp.Symbol(n) for n in names if jet_symbol(sp.Symbol(n)) is not None}
        local["Psi"] = Psi
        local["PsiShifted"] = PsiShifted
        value = parse_text(expr, local, "expression")
    else:
        value = expr
    if not isinstance(value, sp.Expr):
        raise ExpressionError(f"expression {expr!r} is not a scalar expression")
    extra = sorted(s.name for s in value.free_symbols if jet_symbol(s) is None)
    if extra:
        raise ExpressionError(
            f"expression {expr!r} contains symbol(s) {', '.join(extra)} that are not jets "
            "(eta, g0, g1, ..., s0, s1, ..., k3_0, ...)"
        )
    undefined = sorted(
        {str(a.func) for a in value.atoms(AppliedUndef) if a.func not in (Psi, PsiShifted)}
    )
    if undefined:
        raise ExpressionError(f"expression {expr!r} uses unknown function(s) {undefined}")
    for symbol in value.free_symbols:
        kind, k, j = jet_symbol(symbol) or ("", 0, 0)
        if max(k if kind in "gs" else j, 0) > MAX_JET:
            raise ExpressionError(
                f"expression uses the jet {symbol.name}: derivatives beyond order {MAX_JET} "
                "are not substituted (symbolic derivatives swell)"
            )
    return value
