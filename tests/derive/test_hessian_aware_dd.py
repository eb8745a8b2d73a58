"""Hessian-aware identification in d dimensions, H and Sigma not assumed to commute."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from math import factorial

import pytest

from symsme.derive import modified_equation
from symsme.derive.hessian_aware import identify_hessian_aware, psi_product_taylor_coefficients

ORDER = 6


@pytest.fixture(scope="module")
def ha():
    return identify_hessian_aware(modified_equation(ORDER, dim="d", cache=False))


def test_against_two_variable_taylor_series_of_psi(ha):
    """Coefficient of H^a Sigma H^b = [x^a y^b] psi((1-x)(1-y)), by SymPy series (independent)."""
    assert ha.diffusion_coefficients == psi_product_taylor_coefficients(ORDER)
    assert list(ha.drift_coefficients) == [Fraction(-1, k + 1) for k in range(ORDER + 1)]


def test_beta_function_form(ha):
    """The derived coefficients are a! b! / (a + b + 1)! = B(a + 1, b + 1) (stated in README)."""
    for (a, b), c in ha.diffusion_coefficients.items():
        assert c == Fraction(factorial(a) * factorial(b), factorial(a + b + 1))


def test_identification_can_fail(ha):
    me = modified_equation(3, dim="d", cache=False)
    from symsme.algebra.contractions import hessian_sandwich

    bad = list(me.diffusion)
    bad[3] = bad[3] + {hessian_sandwich(1, 2): 1}
    with pytest.raises(AssertionError, match="diffusion"):
        identify_hessian_aware(replace(me, coefficients={**me.coefficients, "diffusion": bad}))
