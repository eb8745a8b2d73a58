"""Hessian-aware selection and the HA-SME closed form in 1-D (Li, Shen, Zhang, He,
arXiv 2405.18373): the engine's selected coefficients against the closed forms' Taylor
series, computed independently by SymPy ``series``."""

from __future__ import annotations

import pytest
import sympy

from symsme.derive import modified_equation
from symsme.derive.hessian_aware import (
    DIFFUSION_CLOSED_FORM,
    DRIFT_CLOSED_FORM,
    diffusion_taylor_coefficients,
    drift_taylor_coefficients,
    hessian_aware_series,
    identify_hessian_aware,
)

ORDER = 8


@pytest.fixture(scope="module")
def me8():
    return modified_equation(ORDER, cache=False)


def test_selected_coefficients_match_closed_form_taylor(me8):
    cs, ds = hessian_aware_series(me8)
    assert cs == drift_taylor_coefficients(ORDER)
    assert ds == diffusion_taylor_coefficients(ORDER)
    # The first few by hand: -psi(1-u) = -(1 + u/2 + u^2/3 + ...),
    # psi((1-u)^2) = 1 + u + (5/6) u^2 + (2/3) u^3 + ...
    assert [str(c) for c in cs[:4]] == ["-1", "-1/2", "-1/3", "-1/4"]
    assert [str(d) for d in ds[:4]] == ["1", "1", "5/6", "2/3"]


def test_identification_through_order(me8):
    ha = identify_hessian_aware(me8)
    assert ha.identified_through == ORDER
    eta, g0, g1, s0, u = sympy.symbols("eta g0 g1 s0 u")
    drift = sympy.sympify(DRIFT_CLOSED_FORM).subs(eta, u / g1)
    diff = sympy.sympify(DIFFUSION_CLOSED_FORM).subs(eta, u / g1)
    sd = sympy.series(drift, u, 0, ORDER + 1).removeO()
    sD = sympy.series(diff, u, 0, ORDER + 1).removeO()
    for k in range(ORDER + 1):
        assert sd.coeff(u, k) == sympy.Rational(str(ha.drift_coefficients[k])) * g0
        assert sD.coeff(u, k) == sympy.Rational(str(ha.diffusion_coefficients[k])) * s0


def test_identification_rejects_wrong_series(me8):
    """The identification is a check that can fail: perturb one derived coefficient."""
    from symsme.algebra.jets import G, S

    key = tuple(sorted((G(1),) * 3 + (S(0),)))
    bad = me8.diffusion[3] + {key: 1}
    with pytest.raises(AssertionError, match="diffusion"):
        identify_hessian_aware(_perturbed(me8, "diffusion", 3, bad))
    with pytest.raises(AssertionError, match="drift"):
        identify_hessian_aware(_perturbed(me8, "drift", 2, me8.drift[2] + me8.drift[2]))


def _perturbed(me, family, k, series):
    """``me`` with its k-th coefficient of ``family`` replaced by ``series``."""
    from dataclasses import replace

    changed = list(me.coefficients[family])
    changed[k] = series
    return replace(me, coefficients={**me.coefficients, family: tuple(changed)})


def test_quadratic_constant_noise_keeps_only_selected_terms():
    """For a quadratic loss with constant noise every g_{j>=2}, s_{j>=1} vanishes, so the
    whole derived series is the Hessian-aware one."""
    me = modified_equation(6, sigma="constant", cache=False)
    from symsme.algebra.jets import STRIDE

    for k, (b, D) in enumerate(zip(me.drift, me.diffusion, strict=True)):
        b2 = {m: c for m, c in b.items() if all(v in (0, STRIDE, 1) for v in m)}
        D2 = {m: c for m, c in D.items() if all(v in (0, STRIDE, 1) for v in m)}
        cs, ds = hessian_aware_series(me)
        assert sum(b2.values()) == cs[k] and sum(D2.values()) == ds[k]


@pytest.mark.parametrize("K", [0, 1, 2])
def test_identification_checks_the_last_coefficient(K):
    """The drift check must involve c_K itself (e^{u c(u)} through u^{K+1})."""
    me = modified_equation(K, cache=False)
    assert identify_hessian_aware(me).identified_through == K
    with pytest.raises(AssertionError, match="drift"):
        identify_hessian_aware(_perturbed(me, "drift", K, me.drift[K] + me.drift[K]))
