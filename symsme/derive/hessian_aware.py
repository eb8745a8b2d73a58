r"""The Hessian-aware selection of a derived modified equation and its closed form.

Keep, at every order, only the terms built from :math:`\nabla f`, :math:`\nabla^2 f` and
:math:`\Sigma` (no third or higher derivatives of :math:`f`, no derivatives of
:math:`\Sigma`): exactly the terms that survive for a quadratic objective with constant noise.
In 1-D these are :math:`b_k \ni c_k\, g_1^k g_0` and :math:`D_k \ni d_k\, g_1^k s_0` (a scaling
argument leaves no other monomials; :func:`hessian_aware_series` checks it).  Their series sum
in closed form (Li, Shen, Zhang, He, *A Hessian-Aware Stochastic Differential Equation for
Modelling SGD*, arXiv 2405.18373): with :math:`u = \eta g_1`, :math:`m = 1 - u` (SGD's one-step
multiplier) and :math:`\psi(w) = \log(w)/(w - 1)`,

.. math::

    b = -\psi(m)\, g_0, \qquad D = \psi(m^2)\, s_0 .

:func:`identify_hessian_aware` does not assume these: it *recovers* them from the derived
coefficients through two functional equations of the linear (Ornstein-Uhlenbeck) flow that
the selected terms describe.  With :math:`c(u) = \sum_k c_k u^k` and :math:`d(u) = \sum_k d_k
u^k`, the drift is :math:`-\,(a/\eta)\,(x - x^*)` with :math:`a(u) = -u\,c(u)` and the
one-step maps of flow and SGD agree iff

.. math::

    e^{-a(u)} = 1 - u \quad\Longrightarrow\quad c(u) = \frac{\log(1-u)}{u} = -\psi(m),

a polynomial identity that we test on the truncated series; the OU variance after one step,
:math:`\eta^2 d(u)\,(1 - e^{-2a})/(2a)`, equals SGD's :math:`\eta^2 s_0` iff

.. math::

    d(u)\, \frac{1 - e^{-2a(u)}}{2 a(u)} = 1 \quad\Longrightarrow\quad
    d(u) = \frac{2a}{1 - e^{-2a}} = \frac{\log m^2}{m^2 - 1} = \psi(m^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from symsme.algebra.jets import G, S
from symsme.algebra.series import Series
from symsme.derive.matching import ModifiedEquation
from symsme.errors import SymsmeError

__all__ = [
    "HessianAware",
    "hessian_aware_projection",
    "hessian_aware_series",
    "identify_hessian_aware",
    "DRIFT_CLOSED_FORM",
    "DIFFUSION_CLOSED_FORM",
    "drift_taylor_coefficients",
    "diffusion_taylor_coefficients",
    "HessianAwareD",
    "psi_product_taylor_coefficients",
    "DD_DRIFT_CLOSED_FORM",
    "DD_DIFFUSION_CLOSED_FORM",
]

DD_DRIFT_CLOSED_FORM = "-psi(I - eta*H) g"
r"""The d-dimensional HA-SME drift :math:`-\psi(M)\nabla f`, :math:`M = I - \eta H`."""

DD_DIFFUSION_CLOSED_FORM = (
    "V [(V^T Sigma V)_ij psi(m_i m_j)] V^T,  H = V diag(lambda) V^T,  m_i = 1 - eta*lambda_i"
)
r"""The d-dimensional HA-SME diffusion, :math:`\operatorname{vec} D = \psi(M\otimes M)
\operatorname{vec}\Sigma`."""

DD_DRIFT_CLOSED_FORM_LATEX = r"-\psi(I - \eta H)\, \nabla f"
DD_DIFFUSION_CLOSED_FORM_LATEX = (
    r"V\big[(V^\top \Sigma V)_{ij}\, \psi(m_i m_j)\big] V^\top,\ "
    r"H = V \operatorname{diag}(\lambda) V^\top,\ m_i = 1 - \eta\lambda_i"
)
DRIFT_CLOSED_FORM_LATEX = r"-\psi(1 - \eta g_1)\, g_0"
DIFFUSION_CLOSED_FORM_LATEX = r"\psi\big((1 - \eta g_1)^2\big)\, s_0"

DRIFT_CLOSED_FORM = "g0*log(1 - eta*g1)/(eta*g1)"
r"""The HA-SME drift :math:`-\psi(1 - \eta g_1)\, g_0` (removable singularity at g1 = 0)."""

DIFFUSION_CLOSED_FORM = "s0*log((1 - eta*g1)**2)/((1 - eta*g1)**2 - 1)"
r"""The HA-SME diffusion :math:`\psi((1 - \eta g_1)^2)\, s_0`."""


@dataclass(frozen=True)
class HessianAware:
    """The Hessian-aware selection of a modified equation and its identified closed form."""

    drift: tuple[Series, ...]
    diffusion: tuple[Series, ...]
    drift_coefficients: tuple[Fraction, ...]
    """c_k: coefficient of g0*g1**k in b_k."""
    diffusion_coefficients: tuple[Fraction, ...]
    """d_k: coefficient of g1**k*s0 in D_k."""
    drift_closed_form: str
    diffusion_closed_form: str
    identified_through: int
    drift_closed_form_latex: str = DRIFT_CLOSED_FORM_LATEX
    diffusion_closed_form_latex: str = DIFFUSION_CLOSED_FORM_LATEX


def hessian_aware_projection(
    me: ModifiedEquation,
) -> tuple[tuple[Series, ...], tuple[Series, ...]]:
    r"""Project each :math:`b_k, D_k` onto the Hessian-aware terms: monomials in
    :math:`g_0, g_1, s_0` (1-D), :math:`H^a g` and :math:`H^a\Sigma H^b` (coordinate-free)."""
    if not isinstance(me, ModifiedEquation):
        raise SymsmeError(f"expected a ModifiedEquation from modified_equation(), got {me!r:.80}")
    if me.ansatz != "sde":
        raise SymsmeError(
            f"the Hessian-aware identification is of the SDE ansatz's b_k, D_k, not of the "
            f"{me.ansatz!r} ansatz (use --ansatz sde)"
        )
    keep = me.drift[0].basis.is_hessian_aware
    return tuple(b.select(keep) for b in me.drift), tuple(D.select(keep) for D in me.diffusion)


def hessian_aware_series(me: ModifiedEquation) -> tuple[list[Fraction], list[Fraction]]:
    """The sequences c_k, d_k of a 1-D derivation (checks that nothing else is selected)."""
    if me.dim != 1:
        raise SymsmeError("hessian_aware_series reads 1-D derivations; use the d-dim API")
    drift, diffusion = hessian_aware_projection(me)
    cs, ds = [], []
    for k, (b, D) in enumerate(zip(drift, diffusion, strict=True)):
        bk = (G(0),) + (G(1),) * k
        dk = tuple(sorted((G(1),) * k + (S(0),)))
        extra = (set(b) - {bk}) | (set(D) - {dk})
        if extra:
            raise AssertionError(f"unexpected Hessian-aware monomials at order {k}: {extra}")
        cs.append(Fraction(b.get(bk, 0)))
        ds.append(Fraction(D.get(dk, 0)))
    return cs, ds


def _check_drift_series(cs: list[Fraction], K: int, closed_form: str) -> None:
    r"""Check :math:`e^{u c(u)} = 1 - u` through :math:`u^{K+1}` (the flow's one-step map is SGD's).

    The coefficient of :math:`u^{K+1}` is the first to involve :math:`c_K`, so every derived
    coefficient :math:`c_0..c_K` is checked.
    """
    from sympy import QQ
    from sympy.polys.ring_series import rs_exp
    from sympy.polys.rings import ring

    R, t = ring("t", QQ)
    c = sum((R(x) * t**k for k, x in enumerate(cs)), R(0))
    flow = rs_exp(t * c, t, K + 2)
    if flow != R(1) - t:
        raise AssertionError(f"drift series is not {closed_form} through order {K}: {flow}")


def _check_diffusion_series(R, rates: list, d, K: int, closed_form: str) -> None:  # noqa: ANN001
    r"""Check :math:`d \cdot (1 - e^{-S})/S = 1` through total degree :math:`K`, with
    :math:`S` the sum of the OU ``rates`` (elements of the polynomial ring ``R``) and
    :math:`(1 - e^{-S})/S = \sum_{n\ge0} (-S)^n/(n+1)!` (:math:`S` has no constant term)."""
    from math import factorial

    from sympy import QQ

    def trunc(p):  # noqa: ANN001, ANN202
        return R.from_dict({m: x for m, x in p.items() if sum(m) <= K})

    S = trunc(sum(rates, R(0)))
    q, power = R(0), R(1)
    for n in range(K + 1):
        q += R(QQ((-1) ** n, factorial(n + 1))) * power
        power = trunc(power * S)
    check = trunc(d * q)
    if check != R(1):
        raise AssertionError(f"diffusion series is not {closed_form} through order {K}: {check}")


def identify_hessian_aware(me: ModifiedEquation) -> HessianAware | HessianAwareD:
    """Recover the HA-SME closed forms from a derivation (see the module docstring).

    Raises ``AssertionError`` if the derived series do not satisfy the functional equations
    (that would be an engine bug), so a successful return *is* the identification through
    ``me.order``.  Coordinate-free derivations are identified by :func:`_identify_dd`.
    Anything but a :class:`~symsme.derive.matching.ModifiedEquation` is a
    :class:`~symsme.errors.SymsmeError`.
    """
    if not isinstance(me, ModifiedEquation):
        raise SymsmeError(f"expected a ModifiedEquation from modified_equation(), got {me!r:.80}")
    if me.dim != 1:
        return _identify_dd(me)
    from sympy import QQ
    from sympy.polys.rings import ring

    cs, ds = hessian_aware_series(me)
    K = me.order
    _check_drift_series(cs, K, "-psi(1 - eta g1) g0")
    R, u = ring("u", QQ)
    a = sum((-R(x) * u ** (k + 1) for k, x in enumerate(cs)), R(0))  # a(u) = -u c(u)
    d = sum((R(x) * u**k for k, x in enumerate(ds)), R(0))
    _check_diffusion_series(R, [a, a], d, K, "psi((1 - eta g1)^2) s0")
    drift, diffusion = hessian_aware_projection(me)
    return HessianAware(
        drift=drift,
        diffusion=diffusion,
        drift_coefficients=tuple(cs),
        diffusion_coefficients=tuple(ds),
        drift_closed_form=DRIFT_CLOSED_FORM,
        diffusion_closed_form=DIFFUSION_CLOSED_FORM,
        identified_through=K,
    )


def drift_taylor_coefficients(n: int) -> list[Fraction]:
    r"""Taylor coefficients of :math:`-\psi(1 - u)` at :math:`u = 0`, by SymPy ``series``."""
    return _taylor("log(1 - u)/u", n)


def diffusion_taylor_coefficients(n: int) -> list[Fraction]:
    r"""Taylor coefficients of :math:`\psi((1 - u)^2)` at :math:`u = 0`, by SymPy ``series``."""
    return _taylor("log((1 - u)**2)/((1 - u)**2 - 1)", n)


def _taylor(expr: str, n: int) -> list[Fraction]:
    import sympy

    u = sympy.Symbol("u")
    s = sympy.series(sympy.sympify(expr), u, 0, n + 1).removeO()
    out = []
    for k in range(n + 1):
        c = sympy.Rational(s.coeff(u, k))
        out.append(Fraction(int(c.p), int(c.q)))
    return out


@dataclass(frozen=True)
class HessianAwareD:
    r"""Hessian-aware selection of a coordinate-free derivation (``dim="d"``).

    ``drift_coefficients[a]`` is the coefficient of :math:`H^a\nabla f` in :math:`b_a`;
    ``diffusion_coefficients[(a, b)]`` that of :math:`H^a \Sigma H^b` in :math:`D_{a+b}`
    (:math:`H` and :math:`\Sigma` are *not* assumed to commute).
    """

    drift: tuple[Series, ...]
    diffusion: tuple[Series, ...]
    drift_coefficients: tuple[Fraction, ...]
    diffusion_coefficients: dict
    drift_closed_form: str
    diffusion_closed_form: str
    identified_through: int
    drift_closed_form_latex: str = DD_DRIFT_CLOSED_FORM_LATEX
    diffusion_closed_form_latex: str = DD_DIFFUSION_CLOSED_FORM_LATEX


def hessian_aware_series_dd(me: ModifiedEquation) -> tuple[list[Fraction], dict]:
    """c_a and d_ab of a coordinate-free derivation (checks nothing else is selected)."""
    from symsme.algebra.contractions import hessian_aware_exponents

    drift, diffusion = hessian_aware_projection(me)
    cs: list[Fraction] = []
    ds: dict = {}
    for k, (b, D) in enumerate(zip(drift, diffusion, strict=True)):
        c = Fraction(0)
        for key, v in b.items():
            exps = hessian_aware_exponents(key)
            if exps != (k,):
                raise AssertionError(f"unexpected Hessian-aware drift term at order {k}: {exps}")
            c += v
        cs.append(c)
        for a in range(k + 1):
            ds[(a, k - a)] = Fraction(0)
        for key, v in D.items():
            exps = hessian_aware_exponents(key)
            if exps is None or len(exps) != 2 or sum(exps) != k:
                raise AssertionError(
                    f"unexpected Hessian-aware diffusion term at order {k}: {exps}"
                )
            ds[exps] += v
    return cs, ds


def _identify_dd(me: ModifiedEquation) -> HessianAwareD:
    r"""The bivariate version of the identification in the module docstring.

    In the eigenbasis of :math:`H` (eigenvalues :math:`\lambda_i`, :math:`u = \eta\lambda_i`,
    :math:`v = \eta\lambda_j`) the selected diffusion is :math:`d(u, v)\,\tilde\Sigma_{ij}`
    with :math:`d(u,v) = \sum d_{ab} u^a v^b`, and the OU covariance after one step equals
    SGD's :math:`\eta^2\tilde\Sigma_{ij}` iff
    :math:`d(u,v)\,(1 - e^{-(a(u) + a(v))})/(a(u) + a(v)) = 1`, whose solution is
    :math:`\psi(m_i m_j)`.  This is checked on the truncated bivariate series (total degree
    :math:`\le K`), without assuming that :math:`H` and :math:`\Sigma` commute.
    """
    from sympy import QQ
    from sympy.polys.rings import ring

    cs, ds = hessian_aware_series_dd(me)
    K = me.order
    _check_drift_series(cs, K, "-psi(I - eta H) g")
    R, u, v = ring("u,v", QQ)
    rates = [sum((-R(x) * w ** (k + 1) for k, x in enumerate(cs)), R(0)) for w in (u, v)]
    d = sum((R(x) * u**a * v**b for (a, b), x in ds.items()), R(0))
    _check_diffusion_series(R, rates, d, K, "psi(m_i m_j) in the eigenbasis")
    drift, diffusion = hessian_aware_projection(me)
    return HessianAwareD(
        drift=drift,
        diffusion=diffusion,
        drift_coefficients=tuple(cs),
        diffusion_coefficients=ds,
        drift_closed_form=DD_DRIFT_CLOSED_FORM,
        diffusion_closed_form=DD_DIFFUSION_CLOSED_FORM,
        identified_through=K,
    )


def psi_product_taylor_coefficients(n: int) -> dict:
    r"""Coefficients of :math:`x^a y^b` (:math:`a + b \le n`) in the Taylor series of
    :math:`\psi((1-x)(1-y))` at 0, by SymPy ``series`` (an independent route)."""
    import sympy

    x, y, t = sympy.symbols("x y t")
    w = (1 - t * x) * (1 - t * y)
    s = sympy.series(sympy.log(w) / (w - 1), t, 0, n + 1).removeO()
    out = {}
    for k in range(n + 1):
        poly = sympy.Poly(sympy.cancel(s.coeff(t, k)), x, y)
        for a in range(k + 1):
            c = sympy.Rational(poly.coeff_monomial(x**a * y ** (k - a)))
            out[(a, k - a)] = Fraction(int(c.p), int(c.q))
    return out
