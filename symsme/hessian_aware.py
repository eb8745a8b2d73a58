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

from symsme.algebra.jets import G, S, is_hessian_aware_monomial
from symsme.errors import SymsmeError
from symsme.matching import ModifiedEquation

__all__ = [
    "HessianAware",
    "hessian_aware_projection",
    "hessian_aware_series",
    "identify_hessian_aware",
    "DRIFT_CLOSED_FORM",
    "DIFFUSION_CLOSED_FORM",
    "drift_taylor_coefficients",
    "diffusion_taylor_coefficients",
]

DRIFT_CLOSED_FORM = "g0*log(1 - eta*g1)/(eta*g1)"
r"""The HA-SME drift :math:`-\psi(1 - \eta g_1)\, g_0` (removable singularity at g1 = 0)."""

DIFFUSION_CLOSED_FORM = "s0*log((1 - eta*g1)**2)/((1 - eta*g1)**2 - 1)"
r"""The HA-SME diffusion :math:`\psi((1 - \eta g_1)^2)\, s_0`."""


@dataclass(frozen=True)
class HessianAware:
    """The Hessian-aware selection of a modified equation and its identified closed form."""

    drift: tuple[dict, ...]
    diffusion: tuple[dict, ...]
    drift_coefficients: tuple[Fraction, ...]
    """c_k: coefficient of g0*g1**k in b_k."""
    diffusion_coefficients: tuple[Fraction, ...]
    """d_k: coefficient of g1**k*s0 in D_k."""
    drift_closed_form: str
    diffusion_closed_form: str
    identified_through: int


def hessian_aware_projection(me: ModifiedEquation) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    r"""Project each :math:`b_k, D_k` onto the monomials in :math:`g_0, g_1, s_0` only."""
    if me.dim != 1:
        from symsme.algebra.contractions import hessian_aware_exponents

        def keep(a: dict) -> dict:
            return {k: c for k, c in a.items() if hessian_aware_exponents(k) is not None}
    else:

        def keep(a: dict) -> dict:
            return {m: c for m, c in a.items() if is_hessian_aware_monomial(m)}

    return tuple(keep(b) for b in me.drift), tuple(keep(D) for D in me.diffusion)


def hessian_aware_series(me: ModifiedEquation) -> tuple[list[Fraction], list[Fraction]]:
    """The sequences c_k, d_k of a 1-D derivation (checks that nothing else is selected)."""
    if me.dim != 1:
        raise SymsmeError("hessian_aware_series reads 1-D derivations; use the d-dim API")
    drift, diffusion = hessian_aware_projection(me)
    cs, ds = [], []
    for k, (b, D) in enumerate(zip(drift, diffusion)):
        bk = (G(0),) + (G(1),) * k
        dk = tuple(sorted((G(1),) * k + (S(0),)))
        extra = (set(b) - {bk}) | (set(D) - {dk})
        if extra:
            raise AssertionError(f"unexpected Hessian-aware monomials at order {k}: {extra}")
        cs.append(Fraction(b.get(bk, 0)))
        ds.append(Fraction(D.get(dk, 0)))
    return cs, ds


def _ring():
    from sympy import QQ
    from sympy.polys.rings import ring

    R, u = ring("u", QQ)
    return R, u


def identify_hessian_aware(me: ModifiedEquation) -> HessianAware:
    """Recover the HA-SME closed forms from a 1-D derivation (see the module docstring).

    Raises ``AssertionError`` if the derived series do not satisfy the functional equations
    (that would be an engine bug), so a successful return *is* the identification through
    ``me.order``.
    """
    from sympy.polys.ring_series import rs_exp

    cs, ds = hessian_aware_series(me)
    K = me.order
    R, u = _ring()
    c = sum((R(x) * u**k for k, x in enumerate(cs)), R(0))
    d = sum((R(x) * u**k for k, x in enumerate(ds)), R(0))
    a = -u * c  # a(u) = -u c(u), the OU rate times eta
    prec = K + 1
    flow = rs_exp(-a, u, prec)  # e^{-a}, must be the polynomial 1 - u
    if flow != R(1) - u:
        raise AssertionError(f"drift series is not -psi(1 - eta g1) g0 through order {K}: {flow}")
    if K >= 1:
        # (1 - e^{-2a}) / (2a), divided by u once (a = u + O(u^2)) to stay a power series.
        num = R(1) - rs_exp(-2 * a, u, prec + 1)
        quot = (num.quo(u)) * _inverse(2 * a.quo(u), u, prec)
        check = _truncate(d * quot, prec)
        if check != R(1):
            raise AssertionError(
                f"diffusion series is not psi((1 - eta g1)^2) s0 through order {K}: {check}"
            )
    elif ds[0] != 1:
        raise AssertionError(f"D_0 Hessian-aware part is {ds[0]}, not s0")
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


def _truncate(p, prec: int):
    return p.ring.from_dict({m: c for m, c in p.items() if m[0] < prec})


def _inverse(p, u, prec: int):
    from sympy.polys.ring_series import rs_series_inversion

    return rs_series_inversion(p, u, prec)


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
