"""The fast 1-D engine against the independent, slow explicit SymPy expansion
(tests/reference_expansion.py: abstract f(x), Sigma(x) as SymPy Functions, Derivative objects,
no symsme code)."""

from __future__ import annotations

import pytest
import sympy

from symsme.algebra.jets import poly_from_sympy
from symsme.derive import modified_equation

try:
    import reference_expansion as ref
except ImportError:  # pragma: no cover - other import modes
    from tests import reference_expansion as ref

ORDER = 3


@pytest.fixture(scope="module")
def reference():
    return ref.explicit_modified_equation_1d(ORDER)


def test_coefficients_equal_reference(reference):
    drifts, diffusions = reference
    me = modified_equation(ORDER, cache=False)
    for k in range(ORDER + 1):
        assert me.drift[k] == poly_from_sympy(drifts[k]), f"b_{k}"
        assert me.diffusion[k] == poly_from_sympy(diffusions[k]), f"D_{k}"


@pytest.mark.parametrize("noise", ["gaussian", "general"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_mismatch_equals_reference(reference, noise, n):
    """Leading mismatch of the order-2 truncation, moment n, against the reference's
    E(X_eta - x)^n - E(x_1 - x)^n series."""
    K = 2
    drifts, diffusions = (list(c[: K + 1]) for c in reference)
    me = modified_equation(K, noise=noise, moments=4, cache=False)
    m = me.mismatch[n - 1]
    series = sympy.expand(
        ref.explicit_moment_mismatch_1d(drifts, diffusions, n, m.eta_power, noise)
    )
    eta = ref.ETA
    for p in range(1, m.eta_power):
        assert sympy.expand(series.coeff(eta, p)) == 0
    assert poly_from_sympy(series.coeff(eta, m.eta_power)) == m.coefficient
