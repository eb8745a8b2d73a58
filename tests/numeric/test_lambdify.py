"""numpy and mpmath backends of lambdify_1d against direct SymPy evaluation."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symsme.errors import ExpressionError, HessianConditionError, NonFiniteError, StepSizeError
from symsme.numeric.lambdify import lambdify_1d, stabilise_psi
from symsme.numeric.psi import Psi, PsiShifted

LOSS = "x**4/4 - x**2/2 + sin(x)/3"
SIGMA = "1 + x**2/(1 + x**2)"
KAPPA3 = "x/5 + x**3/7"

ETA, X = sp.Symbol("eta"), sp.Symbol("x", real=True)
G = sp.symbols("g0:5")
S = sp.symbols("s0:3")
K3 = sp.symbols("k3_0:2")
JETS = (ETA, *G[:4], *S, *K3)

points = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)


def _jet_values(x0: sp.Rational, eta: sp.Rational) -> dict[sp.Symbol, sp.Expr]:
    """The jets at x0 by an independent route: differentiate, then substitute the point."""
    f = sp.sympify(LOSS, locals={"x": X})
    sigma = sp.sympify(SIGMA, locals={"x": X})
    kappa = sp.sympify(KAPPA3, locals={"x": X})
    values: dict[sp.Symbol, sp.Expr] = {ETA: eta}
    values.update({g: sp.diff(f, X, k + 1).subs(X, x0) for k, g in enumerate(G)})
    values.update({s: sp.diff(sigma, X, k).subs(X, x0) for k, s in enumerate(S)})
    values.update({c: sp.diff(kappa, X, j).subs(X, x0) for j, c in enumerate(K3)})
    return values


def _check_backends(expr: sp.Expr, x0: float, eta: sp.Rational, scale_expr: sp.Expr) -> None:
    values = _jet_values(sp.Rational(x0), eta)
    reference = expr.subs(values).evalf(40)
    scale = float(abs(scale_expr.subs({k: abs(v) for k, v in values.items()}).evalf(20))) + 1e-300
    kwargs = {"eta": eta, "cumulants": {3: KAPPA3}}
    numeric = lambdify_1d(expr, LOSS, SIGMA, **kwargs)(np.array([x0]))
    assert abs(numeric[0] - float(reference)) <= 1e-13 * scale
    with mpmath.workdps(30):
        precise = lambdify_1d(expr, LOSS, SIGMA, backend="mpmath", **kwargs)(x0)
        assert abs(precise - mpmath.mpf(sp.Float(reference, 40))) <= mpmath.mpf("1e-27") * scale


@settings(deadline=None, max_examples=25)
@given(points)
def test_sme2_drift_term(x0: float) -> None:
    # b_1 = -(1/2) f' f'' (Li, Tai, E, JMLR 2019).
    expr = -G[0] * G[1] / 2
    _check_backends(expr, x0, sp.Rational(1, 10), expr)


monomials = st.lists(
    st.tuples(
        st.integers(-9, 9).filter(bool),
        st.lists(st.integers(0, 2), min_size=len(JETS), max_size=len(JETS)),
    ),
    min_size=1,
    max_size=8,
)


@settings(deadline=None, max_examples=25)
@given(points, monomials)
def test_random_polynomial_in_jets(x0: float, terms: list) -> None:
    monomial = [sp.Mul(*[j**e for j, e in zip(JETS, exps, strict=True)]) for _, exps in terms]
    expr = sp.Add(*[c * m for (c, _), m in zip(terms, monomial, strict=True)])
    scale = sp.Add(*[abs(c) * m for (c, _), m in zip(terms, monomial, strict=True)])
    _check_backends(expr, x0, sp.Rational(1, 20), scale)


@settings(deadline=None, max_examples=25)
@given(points, st.sampled_from([sp.Rational(1, 10**12), sp.Rational(1, 100), sp.Rational(1, 7)]))
def test_hasme_closed_form_1d(x0: float, eta: sp.Rational) -> None:
    # HA-SME in 1-D: b = -psi(1 - eta f'') f', D = psi((1 - eta f'')^2) Sigma (arXiv 2405.18373).
    values = _jet_values(sp.Rational(x0), eta)
    if eta * values[G[1]] >= 1:
        return
    for expr in (-Psi(1 - ETA * G[1]) * G[0], Psi((1 - ETA * G[1]) ** 2) * S[0]):
        _check_backends(expr, x0, eta, expr)


def test_stabilise_psi_forms_delta_without_cancellation() -> None:
    u = ETA * G[1]
    assert stabilise_psi(Psi(1 - u)) == PsiShifted(-u)
    # psi(m^2) = psi(m) * 2/(1 + m): no argument near 1 is formed as a difference
    assert sp.simplify(stabilise_psi(Psi((1 - u) ** 2)) - PsiShifted(-u) * 2 / (2 - u)) == 0
    # At eta*f'' = 1e-13 the naive (1 - u)^2 - 1 loses ~3 digits; the shifted form keeps all.
    f = lambdify_1d(Psi((1 - ETA * G[1]) ** 2) * S[0], "x**2/2", "1", eta=1e-13)
    assert f(np.array([0.0]))[0] == pytest.approx(1 + 1e-13, rel=1e-16)


@pytest.mark.parametrize("gap", [1e-4, 1e-6, 1e-8, 1e-10, 1e-12])
def test_hasme_diffusion_keeps_its_digits_as_eta_f2_tends_to_one(gap: float) -> None:
    """Relative error of psi((1 - eta f'')^2) at eta f'' = 1 - gap, float64 against 50-digit
    mpmath: a few ulps (the argument u is exact; the old u^2 - 2u form lost 2.8e-3 at 1e-8)."""
    eta = 1 - gap  # f = x^2/2: f'' = 1, so u = eta exactly
    f = lambdify_1d(Psi((1 - ETA * G[1]) ** 2) * S[0], "x**2/2", "1", eta=eta)
    with mpmath.workdps(50):
        m = 1 - mpmath.mpf(eta)
        exact = mpmath.log(m**2) / (m**2 - 1)
        assert abs(f(np.array([0.0]))[0] - exact) / exact < 4e-16


def test_shapes_and_constants() -> None:
    f = lambdify_1d("eta*s0", "x**2", "2", eta=sp.Rational(1, 4))
    out = f(np.zeros((2, 3)))
    assert out.shape == (2, 3) and np.all(out == 0.5)
    assert f(1.0).shape == ()
    g = lambdify_1d("g1", "x**2", eta=1, backend="mpmath")
    assert g(0.3) == 2 and isinstance(g(0.3), mpmath.mpf)
    assert g([0.1, 0.2]).shape == (2,)
    # 1 x 1 matrix notation for Sigma, symbols with assumptions matched by name.
    h = lambdify_1d(sp.Symbol("s1", real=True), "x", "[[1 + x**2]]", eta=0.1)
    assert h(np.array([3.0]))[0] == 6.0


@pytest.mark.parametrize("eta", [0, -0.1, float("nan"), float("inf"), "0.1", True, None])
def test_bad_step_size(eta: object) -> None:
    with pytest.raises(StepSizeError, match="eta"):
        lambdify_1d("g0", "x**2", eta=eta)


@pytest.mark.parametrize(
    ("expr", "loss", "sigma", "needle"),
    [
        ("g0*y", "x**2", None, "y"),
        ("g0", "x**2 + z", None, "z"),
        ("g0", "x**2 +", None, "x\\*\\*2 \\+"),
        ("g0", "f(x)", None, "f"),
        ("s0", "x**2", None, "s0"),
        ("k3_0", "x**2", "1", "k3_0"),
        ("g0", "x**2", "1 + w", "w"),
    ],
)
def test_expression_errors(expr: str, loss: str, sigma: str | None, needle: str) -> None:
    with pytest.raises(ExpressionError, match=needle):
        lambdify_1d(expr, loss, sigma, eta=0.1)


def test_nonfinite_values_are_reported() -> None:
    f = lambdify_1d("-Psi(1 - eta*g1)*g0", "x**4", eta=0.5)
    with pytest.raises(HessianConditionError, match="x = 2.0"):
        f(np.array([0.0, 2.0]))  # eta f''(2) = 24 > 1: psi undefined
    with pytest.raises(NonFiniteError):
        f(np.array([np.nan]))
    with pytest.raises(HessianConditionError, match="not positive"):
        lambdify_1d("-Psi(1 - eta*g1)*g0", "x**4", eta=0.5, backend="mpmath")(2.0)
    # psi(m^2) is a number for m < 0, but HA-SME's closed form needs m = 1 - eta f'' > 0.
    diffusion = lambdify_1d("Psi((1 - eta*g1)**2)*s0", "x**4", "1", eta=0.5)
    with pytest.raises(HessianConditionError, match="eta\\*f''\\(x\\) < 1"):
        diffusion(np.array([0.1, 1.0]))
    with pytest.raises(HessianConditionError):
        lambdify_1d("g0*log(1 - eta*g1)/(eta*g1)", "x**4", eta=0.5)(np.array([2.0]))
    # a log that is not HA-SME's keeps the NonFiniteError/real-value path
    assert lambdify_1d("log(1 + g0**2)", "x**4", eta=0.5)(np.array([1.0])) > 0
