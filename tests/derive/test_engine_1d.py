"""The 1-D stochastic backward-error-analysis engine (symsme.matching, dim = 1)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from symsme.algebra.jets import STRIDE, G, JetAlgebra, S, poly_from_sympy, poly_to_str
from symsme.derive import modified_equation
from symsme.derive.schemes.sgd import NOISE_MODELS, SGD
from symsme.errors import DimensionError, MomentsError, NoiseModelError, OrderError


def gradient_raw_moment(n, noise="gaussian"):
    return JetAlgebra().gradient_moment(n, NOISE_MODELS[noise])


def one_step_moments(n, noise="gaussian"):
    return SGD().one_step_moments(n, JetAlgebra(), noise)


P = poly_from_sympy


def test_literature_sgf_and_sme2():
    """SGF (b_0 = -f', D_0 = Sigma) and SME-2 of Li, Tai, E (ICML 2017, Thm. 1 / JMLR 2019):
    the order-1 drift correction is -(1/2) f'' f' = -(1/4) (f'^2)'."""
    me = modified_equation(1, cache=False)
    assert me.drift[0] == P("-g0")
    assert me.diffusion[0] == P("s0")
    assert me.drift[1] == P("-g0*g1/2")


def test_known_coefficients_order_2():
    """b_2, D_1, D_2 with state-dependent Sigma (also checked against the independent
    explicit-coordinate reference in test_engine_vs_reference)."""
    me = modified_equation(2, cache=False)
    assert me.diffusion[1] == P("g1*s0 + g0*s1/2")
    assert me.drift[2] == P("g2*s0/4 - g0**2*g2/12 - g0*g1**2/3")
    assert me.diffusion[2] == P("-s0*s2/4 + g0**2*s2/12 + g0*g1*s1 + g0*g2*s0/3 + 5*g1**2*s0/6")


@pytest.mark.parametrize("noise", ["gaussian", "general"])
@pytest.mark.parametrize("sigma", ["state", "constant"])
@given(K=st.integers(0, 6))
def test_first_two_moments_agree_through_K(K, noise, sigma):
    """The truncated model reproduces SGD's first moment through eta^{K+1} and its second
    through eta^{K+2}, and not one power further (b_{K+1}, D_{K+1} are non-zero)."""
    me = modified_equation(K, noise=noise, sigma=sigma, moments=2, cache=False)
    m1, m2 = me.mismatch
    assert m1.eta_power == K + 2
    assert m2.eta_power == K + 3
    nxt = modified_equation(K + 1, noise=noise, sigma=sigma, cache=False)
    # The first-moment mismatch is exactly minus the next drift coefficient.
    assert m1.coefficient == {k: -c for k, c in nxt.drift[K + 1].items()}


@given(K=st.integers(0, 6))
def test_coefficients_do_not_depend_on_noise_beyond_sigma(K):
    a = modified_equation(K, noise="gaussian", cache=False)
    b = modified_equation(K, noise="general", cache=False)
    assert a.drift == b.drift and a.diffusion == b.diffusion
    for coef in a.drift + a.diffusion:
        assert all(v % STRIDE in (0, 1) for m in coef for v in m)


def _weights(m):
    # f-degree (g: 1, s: 2) and x-scaling weight (g_k: k + 1, s_k: k + 2).
    deg = sum(1 if v % STRIDE == 0 else 2 for v in m)
    wx = sum(v // STRIDE + (1 if v % STRIDE == 0 else 2) for v in m)
    return deg, wx


@pytest.mark.parametrize("K", range(8))
def test_homogeneity(K):
    """Scaling f -> c f, eta -> eta/c leaves SGD unchanged, and x -> lambda x with eta ->
    lambda^2 eta too; hence b_k has f-degree k + 1 and x-weight 2k + 1, D_k has f-degree k + 2
    and x-weight 2k + 2 (a check that could fail: the engine never uses these gradings)."""
    me = modified_equation(K, cache=False)
    assert {_weights(m) for m in me.drift[K]} == {(K + 1, 2 * K + 1)}
    assert {_weights(m) for m in me.diffusion[K]} == {(K + 2, 2 * K + 2)}


@given(K=st.integers(0, 7))
def test_constant_sigma_is_the_projection(K):
    """Constant Sigma equals the state-dependent result with s_j = 0 for j >= 1."""
    state = modified_equation(K, cache=False)
    const = modified_equation(K, sigma="constant", cache=False)

    def drop(a):
        return {m: c for m, c in a.items() if not any(v % STRIDE == 1 and v > 1 for v in m)}

    assert tuple(map(drop, state.drift)) == const.drift
    assert tuple(map(drop, state.diffusion)) == const.diffusion


@given(n=st.integers(1, 8))
def test_sgd_gaussian_moments_against_sympy_stats(n):
    """E G^n for G ~ N(g0, s0): complete Bell polynomial vs sympy.stats (independent)."""
    from sympy.stats import E, Normal

    g0, s0 = sympy.symbols("g0 s0", positive=True)
    ref = sympy.expand(E(Normal("G", g0, sympy.sqrt(s0)) ** n))
    assert gradient_raw_moment(n) == P(ref)
    assert one_step_moments(n) == {n: {k: (-1) ** n * c for k, c in P(ref).items()}}


def test_sgd_general_moments():
    """Raw moments from cumulants (k1 = g0, k2 = s0, k3, k4): E G^4 = k4 + 4 k3 k1 + 3 k2^2
    + 6 k2 k1^2 + k1^4."""
    assert gradient_raw_moment(4, "general") == P("k4_0 + 4*k3_0*g0 + 3*s0**2 + 6*s0*g0**2 + g0**4")


def test_mismatch_state_dependent_noise_caps_weak_order_at_3():
    """Gaussian noise with state-dependent Sigma: whatever K, the third moment differs at
    eta^4 by (3/2) Sigma Sigma' (a Gaussian SDE's third cumulant), so no truncation of this
    ansatz has weak order 4; with constant Sigma the cap moves to eta^5 (g2 s0^2 / 2)."""
    for K in (2, 3, 4):
        me = modified_equation(K, moments=3, cache=False)
        assert me.mismatch[2].eta_power == 4
        assert me.mismatch[2].coefficient == P("3*s0*s1/2")
        const = modified_equation(K, moments=3, sigma="constant", cache=False)
        assert const.mismatch[2].eta_power == 5
        assert const.mismatch[2].coefficient == P("g2*s0**2/2")
    general = modified_equation(3, moments=3, noise="general", cache=False)
    assert general.mismatch[2].eta_power == 3
    assert general.mismatch[2].coefficient == P("k3_0")


def test_checked_through_default():
    me = modified_equation(2, moments=7, cache=False)
    assert me.checked_through == 8
    assert modified_equation(2, moments=2, cache=False).checked_through == 5


def test_strings_are_sympy_parseable():
    me = modified_equation(5, cache=False)
    for coef in me.drift + me.diffusion:
        assert P(sympy.sympify(poly_to_str(coef))) == coef
    assert all(isinstance(c, Fraction) for c in me.diffusion[5].values())


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"order": -1}, OrderError, "-1"),
        ({"order": 1.5}, OrderError, "1.5"),
        ({"order": True}, OrderError, "True"),
        ({"order": 2, "noise": "laplace"}, NoiseModelError, "laplace"),
        ({"order": 2, "sigma": "wobbly"}, NoiseModelError, "wobbly"),
        ({"order": 2, "moments": 0}, MomentsError, "0"),
        ({"order": 2, "moments": 2.0}, MomentsError, "2.0"),
        ({"order": 2, "dim": 0}, DimensionError, "0"),
        ({"order": 2, "dim": "x"}, DimensionError, "x"),
    ],
)
def test_bad_arguments(kwargs, exc, fragment):
    order = kwargs.pop("order")
    with pytest.raises(exc, match=fragment):
        modified_equation(order, cache=False, **kwargs)


def test_jet_ids():
    assert G(0) == 0 and S(0) == 1 and G(1) == STRIDE


def test_derived_series_as_numeric_functions():
    """Engine output -> numpy and mpmath functions for a concrete f and Sigma: the ME-3 drift
    sum_k eta^k b_k equals direct SymPy evaluation of the substituted derivatives."""
    import mpmath
    import numpy as np

    from symsme.numeric.lambdify import lambdify_1d

    eta = sympy.Rational(1, 20)
    me = modified_equation(3, cache=False)
    series = sum(eta**k * sympy.sympify(poly_to_str(b)) for k, b in enumerate(me.drift))
    loss, sigma = "x**4/4 + x**2/2", "1 + x**2/2"
    fn = lambdify_1d(series, loss, sigma, eta=eta)
    fm = lambdify_1d(series, loss, sigma, eta=eta, backend="mpmath")
    x = sympy.Symbol("x")
    f, s = sympy.sympify(loss), sympy.sympify(sigma)
    subs = {sympy.Symbol(f"g{k}"): sympy.diff(f, x, k + 1) for k in range(6)}
    subs |= {sympy.Symbol(f"s{k}"): sympy.diff(s, x, k) for k in range(6)}
    exact = sympy.expand(series.subs(subs))
    pts = np.array([-1.5, -0.2, 0.0, 0.7, 2.0])
    ref = [float(exact.subs(x, sympy.Rational(str(p)))) for p in pts]
    np.testing.assert_allclose(fn(pts), ref, rtol=1e-13, atol=1e-15)
    with mpmath.workdps(40):
        v = fm(mpmath.mpf("0.7"))
        assert abs(v - exact.subs(x, sympy.Rational(7, 10)).evalf(40)) < mpmath.mpf(10) ** -35
