r"""Accuracy and identities of :math:`\psi(w) = \log(w)/(w - 1)` (symsme.numeric.psi).

:math:`\psi` is the function of the HA-SME closed form (Li, Shen, Zhang, He, arXiv 2405.18373).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symsme.numeric.psi import Psi, PsiShifted, mp_psi, mp_psi_shifted, psi, psi_shifted

N_POINTS = 50_000  # per function: 10^5 points in all
# Measured maximum error against mpmath at 50 digits: 1.0 ulp for both psi and psi_shifted
# (numpy 2.4, glibc/SIMD log, log1p).  The bound allows for other libm implementations.
MAX_ULP = 4.0

positive_w = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


def _ulp_error(got: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.abs(got - reference) / np.spacing(np.abs(reference))


def _reference_shifted(d: np.ndarray) -> np.ndarray:
    with mpmath.workdps(50):
        return np.array([float(mpmath.log1p(mpmath.mpf(x)) / mpmath.mpf(x)) for x in d])


def _reference(w: np.ndarray) -> np.ndarray:
    with mpmath.workdps(50):
        return np.array(
            [1.0 if x == 1 else float(mpmath.log(mpmath.mpf(x)) / (mpmath.mpf(x) - 1)) for x in w]
        )


def test_psi_shifted_ulp_accuracy() -> None:
    # delta in +-[1e-300, 1e3], delta > -1 (w = 1 + delta > 0), log-spaced.
    half = N_POINTS // 2
    d = np.concatenate(
        [np.logspace(-300, 3, half), -np.logspace(-300, np.log10(1 - 2**-53), N_POINTS - half)]
    )
    err = _ulp_error(psi_shifted(d), _reference_shifted(d))
    assert err.max() <= MAX_ULP, (err.max(), d[err.argmax()])


def test_psi_ulp_accuracy() -> None:
    # w in (0, 10]: log-spaced from 1e-300, plus dense clusters on both sides of w = 1.
    quarter = N_POINTS // 4
    w = np.concatenate(
        [
            np.logspace(-300, 1, quarter),
            np.linspace(0.5, 2.0, quarter),
            1 + np.logspace(-16, -0.31, quarter),
            1 - np.logspace(-16, -0.31, N_POINTS - 3 * quarter),
        ]
    )
    err = _ulp_error(psi(w), _reference(w))
    assert err.max() <= MAX_ULP, (err.max(), w[err.argmax()])


def test_special_values() -> None:
    assert psi(1.0) == 1.0 and psi_shifted(0.0) == 1.0
    assert psi(np.inf) == 0.0 and psi_shifted(np.inf) == 0.0
    assert np.isnan(psi(0.0)) and np.isnan(psi(-1.0)) and np.isnan(psi(np.nan))
    assert np.isnan(psi_shifted(-1.0)) and np.isnan(psi_shifted(-2.0))
    assert psi_shifted(5e-324) == 1.0  # subnormal delta
    out = psi(np.ones((2, 3, 4)))
    assert out.shape == (2, 3, 4) and np.all(out == 1.0)
    assert psi(2.0) == pytest.approx(np.log(2.0), rel=1e-16)


@settings(deadline=None, max_examples=200)
@given(positive_w, positive_w)
def test_psi_is_decreasing(w1: float, w2: float) -> None:
    lo, hi = min(w1, w2), max(w1, w2)
    # Monotone up to the rounding of the two values (a few ulp).
    assert psi(lo) >= psi(hi) * (1 - 8 * np.finfo(float).eps)


@settings(deadline=None, max_examples=200)
@given(st.floats(min_value=1e-150, max_value=1e150))
def test_psi_inversion_identity(w: float) -> None:
    # psi(1/w) = w psi(w)  (log(1/w)/(1/w - 1) = w log(w)/(w - 1)); 1/w is rounded, so allow
    # psi's condition number (at most ~1) times half an ulp, plus the evaluation errors.
    assert psi(1 / w) == pytest.approx(w * psi(w), rel=12 * np.finfo(float).eps)


@settings(deadline=None, max_examples=200)
@given(positive_w)
def test_psi_between_logarithmic_mean_bounds(w: float) -> None:
    # 1/psi(w) = (w - 1)/log w is the logarithmic mean of 1 and w: between sqrt(w) and (1 + w)/2.
    value = float(psi(w))
    tol = 8 * np.finfo(float).eps
    assert value >= 2 / (1 + w) * (1 - tol)
    assert value <= 1 / np.sqrt(w) * (1 + tol)


@settings(deadline=None, max_examples=100)
@given(st.floats(min_value=-0.999, max_value=1e3, allow_nan=False))
def test_mpmath_versions_match_numpy(d: float) -> None:
    with mpmath.workdps(30):
        assert float(mp_psi_shifted(d)) == pytest.approx(float(psi_shifted(d)), rel=4e-16)
        assert float(mp_psi(1 + d)) == pytest.approx(float(psi(1 + d)), rel=4e-16)


def test_mpmath_near_one_and_special_values() -> None:
    with mpmath.workdps(60):
        # psi(1 + d) = 1 - d/2 + d^2/3 - ...; to the working precision (1e-60 relative).
        for tiny in (mpmath.mpf("1e-40"), mpmath.mpf("1e-70"), mpmath.mpf("1e-400")):
            assert abs(mp_psi_shifted(tiny) - (1 - tiny / 2)) < mpmath.mpf("1e-59")
            assert abs(mp_psi_shifted(-tiny) - (1 + tiny / 2)) < mpmath.mpf("1e-59")
        # w - 1 is exact next to 1 (Sterbenz), so mp_psi keeps the first-order term.
        w = 1 - mpmath.mpf(2) ** -150
        assert abs((mp_psi(w) - 1) / mpmath.mpf(2) ** -151 - 1) < mpmath.mpf("1e-14")
        assert mp_psi(1) == 1 and mp_psi_shifted(0) == 1
        assert mpmath.isnan(mp_psi(0)) and mpmath.isnan(mp_psi_shifted(-1))
        assert abs(mp_psi(2) - mpmath.log(2)) < mpmath.mpf("1e-59")


def test_sympy_function() -> None:
    w, eta, g1 = sp.symbols("w eta g1")
    assert Psi(1) == 1 and PsiShifted(0) == 1
    assert Psi(w).rewrite(sp.log) == sp.log(w) / (w - 1)
    assert Psi(w).rewrite(PsiShifted) == PsiShifted(w - 1)
    # Taylor series quoted in symsme/DESIGN.md: psi(1 - u) = 1 + u/2 + u^2/3 + ..., and
    # psi((1 - u)^2) = 1 + u + (5/6) u^2 + ...
    u = eta * g1
    series = sp.series(Psi(1 - u), eta, 0, 4).removeO()
    assert sp.expand(series - (1 + u / 2 + u**2 / 3 + u**3 / 4)) == 0
    series2 = sp.series(Psi((1 - u) ** 2), eta, 0, 3).removeO()
    assert sp.expand(series2 - (1 + u + sp.Rational(5, 6) * u**2)) == 0
    # evalf goes through mp_psi: accurate next to 1.
    value = Psi(1 + sp.Rational(1, 10**30)).evalf(50)
    assert abs(value - (1 - sp.Rational(1, 2 * 10**30))) < sp.Rational(1, 10**55)
    # The derivative agrees with differentiating log(w)/(w - 1).
    at = sp.Rational(3, 2)
    expected = sp.diff(sp.log(w) / (w - 1), w).subs(w, at)
    assert abs(sp.N(sp.diff(Psi(w), w).subs(w, at) - expected, 30)) < 1e-25


def test_lambdify_uses_stable_versions() -> None:
    eta = sp.Symbol("eta")
    f = sp.lambdify(eta, Psi(1 - eta), modules=[{"Psi": psi}, "numpy"])
    assert f(np.array([0.0]))[0] == 1.0
    assert f(np.array([1e-12]))[0] == pytest.approx(1 + 0.5e-12, rel=1e-16)


@pytest.mark.parametrize("gap", [1e-3, 1e-6, 1e-8, 1e-10, 1e-13])
def test_psi_product_near_the_edge(gap: float) -> None:
    """psi(m_u m_v) from u, v (exact floats) keeps its digits as u -> 1: relative error against
    50-digit mpmath within a few ulps, where log1p(u v - u - v)/(u v - u - v) loses
    digits like 1/m_u^2."""
    from symsme.numeric.psi import mp_psi_product, psi_product

    for v in (1 - gap, 0.5, 0.0, -3.0, 1 - 2 * gap):
        u = 1 - gap
        got = float(psi_product(u, v))
        with mpmath.workdps(50):
            w = (1 - mpmath.mpf(u)) * (1 - mpmath.mpf(v))
            exact = mpmath.log(w) / (w - 1)
            assert abs(got - exact) / exact < 8e-16
            assert abs(mp_psi_product(u, v) - exact) / exact < mpmath.mpf(10) ** -45


@settings(deadline=None, max_examples=200)
@given(
    st.floats(-50, 1 - 1e-15, allow_nan=False),
    st.floats(-50, 1 - 1e-15, allow_nan=False),
)
def test_psi_product_against_mpmath(u: float, v: float) -> None:
    """Budget: 200 examples over u, v in [-50, 1): float64 within 16 ulps of 40-digit mpmath."""
    from symsme.numeric.psi import psi_product

    with mpmath.workdps(40):
        w = (1 - mpmath.mpf(u)) * (1 - mpmath.mpf(v))
        exact = mpmath.mpf(1) if w == 1 else mpmath.log(w) / (w - 1)
        assert abs(float(psi_product(u, v)) - exact) / exact < 16 * 2.0**-52
