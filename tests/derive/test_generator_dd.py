"""The coordinate-free modified generator (A_n as symmetric n-tensors) against independent
routes: the 1-D engine (its jets), the logarithm of SGD's transition operator in explicit
2-D coordinates (SymPy only), the mismatch report, and the exactness facts.

Reference (no symsme code): SGD's transition operator with Gaussian gradient noise
G ~ N(grad f, Sigma) is T h = E h(x - eta G) = sum_alpha (-eta)^|alpha| mu_alpha / alpha!
d^alpha h, mu_alpha the raw moments of G; eta L = log T = sum_m (-1)^(m+1) (T - I)^m / m by
composing differential operators (a d^alpha o b d^beta = sum_{gamma <= alpha} C(alpha, gamma)
a (d^gamma b) d^(alpha - gamma + beta)).  With L = sum_q (eta^(q-1)/q!) A_q : grad^q and A_q
symmetric, the coefficient of d^alpha is eta^(q-1) A_q[alpha] / alpha!.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy

from symsme.algebra.contractions import jet_orders
from symsme.derive import modified_equation
from symsme.errors import LimitError
from symsme.problems import Problem

X, Y = sympy.symbols("x y")
ETA = sympy.Symbol("eta")
LOSS = X**2 / 2 + X * Y / 3 + Y**4 / 4 + X**3 / 6
SIGMA = sympy.Matrix([[1 + X**2 / 2, X * Y / 4], [X * Y / 4, 1 + Y**2 / 3]])
POINT = {X: sympy.Rational(3, 10), Y: sympy.Rational(-7, 10)}


def _multi_indices(order: int) -> list[tuple[int, int]]:
    return [(a, order - a) for a in range(order + 1)]


def _raw_moments(top: int) -> dict[tuple[int, int], sympy.Expr]:
    """E G^alpha for G ~ N(grad f, Sigma), from the moment generating function."""
    t1, t2 = sympy.symbols("t1 t2")
    grad = [sympy.diff(LOSS, X), sympy.diff(LOSS, Y)]
    t = sympy.Matrix([t1, t2])
    exponent = grad[0] * t1 + grad[1] * t2 + (t.T * SIGMA * t)[0] / 2
    mgf = sympy.series(sympy.exp(sympy.Symbol("s") * exponent), sympy.Symbol("s"), 0, top + 1)
    mgf = sympy.expand(mgf.removeO().subs(sympy.Symbol("s"), 1))
    out = {}
    for q in range(1, top + 1):
        for a, b in _multi_indices(q):
            term = mgf.coeff(t1, a).coeff(t2, b)
            out[(a, b)] = sympy.expand(term * math.factorial(a) * math.factorial(b))
    return out


def _truncate(expr: sympy.Expr, power: int) -> sympy.Expr:
    expr = sympy.expand(expr)
    return sum(expr.coeff(ETA, p) * ETA**p for p in range(power + 1))


def _compose(a: dict, b: dict, power: int) -> dict:
    out: dict = {}
    for (a1, a2), ca in a.items():
        for beta, cb in b.items():
            for g1 in range(a1 + 1):
                for g2 in range(a2 + 1):
                    db = sympy.diff(cb, X, g1, Y, g2) if g1 or g2 else cb
                    c = math.comb(a1, g1) * math.comb(a2, g2) * ca * db
                    key = (a1 - g1 + beta[0], a2 - g2 + beta[1])
                    out[key] = out.get(key, 0) + c
    return {k: _truncate(v, power) for k, v in out.items() if _truncate(v, power) != 0}


def log_transition(power: int) -> dict[tuple[int, int], sympy.Expr]:
    """Coefficients of d^alpha in log T, through eta^power."""
    moments = _raw_moments(power)
    step = {
        alpha: (-ETA) ** sum(alpha) * mu / (math.factorial(alpha[0]) * math.factorial(alpha[1]))
        for alpha, mu in moments.items()
    }
    out: dict = {}
    term = dict(step)
    for m in range(1, power + 1):
        for k, v in term.items():
            out[k] = out.get(k, 0) + sympy.Rational((-1) ** (m + 1), m) * v
        term = _compose(term, step, power)
    return {k: _truncate(v, power) for k, v in out.items()}


@pytest.mark.parametrize("K", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_coordinate_free_generator_equals_the_log_in_two_dimensions(K):
    """Every A_{q,k} (q + k <= K + 1) evaluated in coordinates at a point equals the explicit
    2-D operator logarithm's, entry by entry (symmetric tensors); K = 3 takes about a minute."""
    me = modified_equation(K, dim="d", ansatz="generator", cache=False, progress=False)
    log = log_transition(K + 1)
    problem = Problem(str(LOSS), "x,y", str(SIGMA.tolist()))
    orders = [jet_orders(a) for family in me.kramers_moyal for a in family if a]
    jets = problem.jets(
        np.array([float(POINT[X]), float(POINT[Y])]),
        max(o[0] for o in orders),
        max(o[1] for o in orders),
    )
    for q, family in enumerate(me.kramers_moyal, start=1):
        for k, a in enumerate(family):
            tensor = np.asarray(a.evaluate(jets.tensors)) if a else np.zeros((2,) * q)
            assert tensor.shape == (2,) * q
            for index in itertools.product(range(2), repeat=q):
                assert tensor[index] == pytest.approx(tensor[tuple(sorted(index))], abs=1e-13)
            for alpha in _multi_indices(q):
                coefficient = log.get(alpha, 0)
                coefficient = sympy.expand(coefficient).coeff(ETA, q + k) if coefficient else 0
                expected = math.factorial(alpha[0]) * math.factorial(alpha[1]) * coefficient
                index = (0,) * alpha[0] + (1,) * alpha[1]
                value = float(sympy.sympify(expected).subs(POINT))
                assert tensor[index] == pytest.approx(value, abs=1e-12), (q, k, alpha)


def test_one_dimensional_case_is_the_jet_engine():
    """The coordinate-free A_{n,k} in d = 1 coordinates equal the 1-D engine's, evaluated on
    the same problem (two independent algebras)."""
    K = 4
    dd = modified_equation(K, dim="d", ansatz="generator", cache=False, progress=False)
    one = modified_equation(K, dim=1, ansatz="generator", cache=False, progress=False)
    problem = Problem("x**2/2 + log(cosh(x)) + x**3/5", "x", "1 + sin(x)/2 + x**2/4")
    jets = problem.jets(np.array([[-0.4], [0.3], [1.1]]), 2 * K + 2, 2 * K + 2)
    for family_d, family_1 in zip(dd.kramers_moyal, one.kramers_moyal, strict=True):
        assert len(family_d) == len(family_1)
        for a_d, a_1 in zip(family_d, family_1, strict=True):
            value_d = np.reshape(a_d.evaluate(jets.tensors), 3) if a_d else np.zeros(3)
            value_1 = np.reshape(a_1.evaluate(jets.tensors), 3) if a_1 else np.zeros(3)
            np.testing.assert_allclose(value_d, value_1, rtol=1e-12, atol=1e-12)


def test_coordinate_free_mismatch_report():
    """Every moment of the truncated coordinate-free generator agrees through eta^(K+1); the
    Gaussian SDE stops at the cap (third moment at eta^4)."""
    K = 3
    me = modified_equation(K, dim="d", ansatz="generator", moments=5, cache=False,
                           progress=False)  # fmt: skip
    assert all(m.eta_power is None or m.eta_power >= K + 2 for m in me.mismatch)
    sde = modified_equation(K, dim="d", moments=3, cache=False, progress=False)
    assert sde.mismatch[2].eta_power == 4


def test_coordinate_free_quadratic_constant_noise_has_no_higher_coefficients():
    """On a quadratic with constant Gaussian noise every A_n, n >= 3, vanishes in any
    dimension (SGD's step is Gaussian)."""
    me = modified_equation(4, dim="d", ansatz="generator", sigma="constant", cache=False,
                           progress=False)  # fmt: skip
    problem = Problem("x**2 + x*y/2 + 3*y**2/2 + z**2 - y*z/3", "x,y,z",
                      "[[1, 1/3, 0], [1/3, 2, 1/4], [0, 1/4, 1/2]]")  # fmt: skip
    jets = problem.jets(np.array([0.2, -0.5, 1.0]), 10, 0)
    for family in me.kramers_moyal[2:]:
        for a in family:
            if a:
                np.testing.assert_allclose(np.asarray(a.evaluate(jets.tensors)), 0, atol=1e-14)
    assert any(a for family in me.kramers_moyal[2:] for a in family)  # not trivially empty


def test_coordinate_free_limit():
    with pytest.raises(LimitError, match="coordinate-free limit 5"):
        modified_equation(6, dim="d", ansatz="generator", cache=False, progress=False)
