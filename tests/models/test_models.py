"""symsme.models.sde_model: ME-K from the coordinate-free engine, across backends and routes."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from symsme.algebra.jets import poly_to_str
from symsme.derive import modified_equation
from symsme.errors import HessianConditionError
from symsme.models import sde_model
from symsme.numeric.lambdify import lambdify_1d
from symsme.problems import Problem

LOSS2 = "x1**4/4 + x1*x2/3 + x2**2/2 + x2**3/6"
SIGMA2 = "[[1 + x1**2/2, x1*x2/4], [x1*x2/4, 1 + x2**2/3]]"


def test_me_numpy_equals_mpmath():
    p = Problem(LOSS2, "x1 x2", SIGMA2)
    pts = np.array([[0.3, -0.4], [1.1, 0.2], [-0.5, 0.9]])
    bn, Dn = sde_model(p, "me", 0.03, order=3).drift_diffusion(pts)
    with mpmath.workdps(30):
        model = sde_model(p, "me", 0.03, order=3, backend="mpmath")
        bm, Dm = model.drift_diffusion(pts.astype(object))
    np.testing.assert_allclose(bn, np.asarray(bm, dtype=float), rtol=1e-13)
    np.testing.assert_allclose(Dn, np.asarray(Dm, dtype=float), rtol=1e-13)


def test_me_in_one_dimension_equals_the_1d_engine():
    """Two independent routes: coordinate-free terms evaluated on a 1-D problem's jets vs the
    1-D jet engine's coefficients lambdified for the same f and Sigma."""
    loss, sigma, eta, K = "x**4/4 + x**2/2", "1 + x**2/3", sympy.Rational(1, 25), 3
    p = Problem(loss, "x", f"[[{sigma}]]")
    pts = np.array([[-1.0], [0.2], [0.8]])
    b, D = sde_model(p, "me", eta, order=K).drift_diffusion(pts)
    me = modified_equation(K, cache=False)
    drift = sum(eta**k * sympy.sympify(poly_to_str(c)) for k, c in enumerate(me.drift))
    diff = sum(eta**k * sympy.sympify(poly_to_str(c)) for k, c in enumerate(me.diffusion))
    np.testing.assert_allclose(
        b[:, 0], lambdify_1d(drift, loss, sigma, eta=eta)(pts[:, 0]), rtol=1e-13
    )
    np.testing.assert_allclose(
        D[:, 0, 0], lambdify_1d(diff, loss, sigma, eta=eta)(pts[:, 0]), rtol=1e-13
    )


def test_ha_sme_condition_in_one_dimension():
    p = Problem("x**4/4", "x", "[[1]]")
    model = sde_model(p, "ha-sme", 0.5)
    model.drift(np.array([[0.5]]))  # eta f'' = 0.375 < 1
    with pytest.raises(HessianConditionError, match="eta\\*lambda_max = 6"):
        model.drift(np.array([[2.0]]))
