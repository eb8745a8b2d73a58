"""The integrators' own weak orders, measured without Monte Carlo on SDEs with known moments.

dX = -X dt + (eta Sigma(X))^{1/2} dW with Sigma(x) = I + x x^T (the SGF model of
f = |x|^2/2): the generator maps polynomials of degree <= 4 to themselves, so E phi(X_t) for a
polynomial phi is the exponential of a small exact matrix (mpmath).  The 2-D noise is
non-commutative (the columns of the root of I + x x^T do not commute as vector fields).

- one step, exact expectation over the scheme's random numbers (Gauss-Hermite nodes fed in
  as "paths", both signs of V): local errors O(h^2) for Euler-Maruyama, O(h^3) for weak2;
- in 1-D, the global error at T = 1 by backward iteration of each scheme's transition operator
  on a Chebyshev grid (as SGD's in symsme.exact.backward), against the backward Kolmogorov
  solution, on a non-quadratic loss with Sigma = 1 + sin(x)/2: slopes 1 and 2.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from symsme.exact.backward import sde_expectation
from symsme.models import sde_model
from symsme.numeric.chebyshev import ChebyshevGrid
from symsme.problems import Problem
from symsme.simulate import simulate
from symsme.simulate.processes import EulerMaruyama, PlatenWeak2
from symsme.verify import fit_slope

ETA = 0.5


class QuadratureRandom:
    """Stands in for PathsRandom: 'paths' are quadrature nodes."""

    def __init__(self, normal: np.ndarray, uniform: np.ndarray) -> None:
        self.normal, self.uniform = normal, uniform

    def standard_normal(self, shape):
        assert shape == self.normal.shape
        return self.normal

    def random(self, shape):
        return self.uniform


def exact_expectation(variables, phi, x0, t, eta=ETA):
    """E phi(X_t) from the generator on the polynomials of degree <= 4 (exact, 40 digits)."""
    d = len(variables)
    sigma = sp.eye(d) + sp.Matrix(variables) * sp.Matrix(variables).T
    monomials = sorted(
        sp.itermonomials(variables, 4), key=lambda m: sp.Poly(m, *variables).monoms()[0]
    )

    def generator(f):
        drift = sum(-v * sp.diff(f, v) for v in variables)
        diffusion = sum(
            sigma[i, j] * sp.diff(f, variables[i], variables[j]) for i in range(d) for j in range(d)
        )
        return sp.expand(drift + sp.Rational(eta) / 2 * diffusion)

    def coefficients(f):
        poly = sp.Poly(f, *variables)
        return [poly.coeff_monomial(m) for m in monomials]

    matrix = sp.Matrix([coefficients(generator(m)) for m in monomials]).T
    with mpmath.workdps(40):
        c = mpmath.expm(mpmath.matrix(matrix.tolist()) * t) * mpmath.matrix(
            coefficients(sp.expand(phi))
        )
        values = [m.subs(dict(zip(variables, x0, strict=True))) for m in monomials]
        return float(sum(c[k] * values[k] for k in range(len(monomials))))


def test_local_orders_with_non_commutative_noise():
    p = Problem("(x1**2 + x2**2)/2", "x1 x2", "[[1 + x1**2, x1*x2], [x1*x2, 1 + x2**2]]")
    model = sde_model(p, "sgf", ETA)
    x1, x2 = p.variables
    phi = x1**2 * x2 + x2**4 / 3 + x1 * x2
    f = sp.lambdify((x1, x2), phi)
    x0 = (0.7, -0.4)
    t, w = np.polynomial.hermite.hermgauss(24)
    w = w / np.sqrt(np.pi)
    index = np.array([(a, b, s) for a in range(24) for b in range(24) for s in (0, 1)])
    normal = np.sqrt(2) * np.stack([t[index[:, 0]], t[index[:, 1]]], axis=1)
    weights = w[index[:, 0]] * w[index[:, 1]] / 2
    uniform = np.zeros((len(index), 2, 2))
    uniform[:, 0, 1] = np.where(index[:, 2] == 0, 0.25, 0.75)  # V = +h and -h
    hs = [0.1, 0.05, 0.025, 0.0125]
    for scheme, local in ((EulerMaruyama, 2), (PlatenWeak2, 3)):
        errors = []
        for h in hs:
            y = scheme(model, h).step(
                np.tile(x0, (len(index), 1)), QuadratureRandom(normal, uniform)
            )
            errors.append(
                abs(weights @ f(y[:, 0], y[:, 1]) - exact_expectation((x1, x2), phi, x0, h))
            )
        assert fit_slope(hs, errors) == pytest.approx(local, abs=0.15), (scheme, errors)


def test_global_orders_in_one_dimension():
    """Reference: the backward Kolmogorov solution (symsme.exact.backward, ~1e-10), on a
    non-quadratic loss with bounded state-dependent noise."""
    p = Problem("x**2/2 + log(cosh(x))", "x", "1 + sin(x)/2")
    model = sde_model(p, "sgf", ETA)
    cos = Problem("cos(x)", "x")
    x0, horizon = 0.7, 1.0
    exact = sde_expectation(model, cos, x0, horizon)
    grid = ChebyshevGrid(120, -7.0, 7.0)
    t, w = np.polynomial.hermite.hermgauss(30)
    w = w / np.sqrt(np.pi)
    nodes = grid.nodes
    normal = np.tile(np.sqrt(2) * t, len(nodes))[:, None]
    start = np.repeat(nodes, len(t))[:, None]
    for scheme, order in ((EulerMaruyama, 1), (PlatenWeak2, 2)):
        errors, hs = [], [0.25, 0.125, 0.0625, 0.03125]
        for h in hs:
            y = scheme(model, h).step(start, QuadratureRandom(normal, np.zeros((len(start), 1, 1))))
            step = np.einsum(
                "q,iqj->ij",
                w,
                grid.evaluation_matrix(y[:, 0]).reshape(len(nodes), len(t), len(nodes)),
            )
            u = np.cos(nodes)
            for _ in range(round(horizon / h)):
                u = step @ u
            errors.append(abs(float(grid.interpolate(u, x0)) - exact.value))
        assert min(errors) > 1e3 * exact.error_bound
        assert fit_slope(hs, errors) == pytest.approx(order, abs=0.15), (scheme, errors)


def test_weak2_through_simulate_matches_the_exact_law_on_a_quadratic():
    p = Problem("x1**2 + x2**2/2 + x1*x2/2", "x1 x2", "[[1, 0.3], [0.3, 0.5]]")
    from symsme.exact.quadratic import ou_law

    run = simulate("sgf", p, [1.0, -1.0], eta=0.1, steps=10, paths=20000, seed=3, scheme="weak2")
    mean, cov = ou_law("sgf", [[2, 0.5], [0.5, 1]], [[1, 0.3], [0.3, 0.5]], 0.1, [1, -1], 1.0)
    z = (run.mean - mean) / run.stderr_mean
    assert np.all(np.abs(z) < 4), z  # seed 3, 4 standard errors
    again = simulate("sgf", p, [1.0, -1.0], eta=0.1, steps=10, paths=300, seed=3, scheme="weak2")
    np.testing.assert_array_equal(again.samples, run.samples[:300])  # batch-independent
