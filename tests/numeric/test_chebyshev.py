"""Chebyshev grids (symsme.numeric.chebyshev) and the Pade exponential
(symsme.numeric.exponential): spectral accuracy, exact derivatives of polynomials, clamping,
the filter, the cutoff, and e^{TL} against mpmath's matrix exponential."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from symsme.errors import ShapeError
from symsme.numeric.chebyshev import ChebyshevGrid, smooth_cutoff
from symsme.numeric.exponential import pade_partial_fractions, step_matrix


def test_interpolation_is_spectrally_accurate():
    grid = ChebyshevGrid(40, -2.0, 3.0)
    points = np.linspace(-2, 3, 101)
    np.testing.assert_allclose(
        grid.interpolate(np.cos(grid.nodes), points), np.cos(points), atol=1e-14
    )
    e = grid.evaluation_matrix(points)
    np.testing.assert_allclose(e @ np.exp(grid.nodes), np.exp(points), rtol=1e-13)


def test_evaluation_clamps_outside_the_interval():
    grid = ChebyshevGrid(16, 0.0, 1.0)
    u = grid.nodes**3
    np.testing.assert_allclose(grid.interpolate(u, [-5.0, 7.0]), [0.0, 1.0], atol=1e-14)


def test_derivatives_exact_on_polynomials():
    grid = ChebyshevGrid(12, -1.5, 0.5)
    x = grid.nodes
    u = 3 * x**5 - x**2 + 2
    np.testing.assert_allclose(grid.derivative_matrix(1) @ u, 15 * x**4 - 2 * x, atol=1e-11)
    np.testing.assert_allclose(grid.derivative_matrix(2) @ u, 60 * x**3 - 2, atol=1e-10)


def test_filter_keeps_resolved_functions_and_damps_grid_modes():
    grid = ChebyshevGrid(64, -1.0, 1.0)
    f = grid.filter_matrix()
    smooth = np.exp(np.sin(grid.nodes))
    np.testing.assert_allclose(f @ smooth, smooth, atol=1e-14)
    top = np.cos(64 * np.arccos(grid.reference))  # T_64 at the nodes
    assert np.max(np.abs(f @ top)) < 1e-14


def test_cutoff():
    x = np.linspace(-3, 3, 601)
    chi = smooth_cutoff(x, (-1.0, 1.0), (-2.0, 2.0))
    assert np.all(chi[np.abs(x) <= 1] == 1) and np.all(chi[np.abs(x) >= 2] == 0)
    assert np.all((chi >= 0) & (chi <= 1))
    with pytest.raises(ShapeError):
        smooth_cutoff(x, (-3.0, 1.0), (-2.0, 2.0))


@pytest.mark.parametrize("bad", [(3, 0, 1), (10, 1, 1), (10, 0, float("nan"))])
def test_bad_grids(bad):
    with pytest.raises(ShapeError):
        ChebyshevGrid(*bad)


def test_pade_poles_in_right_half_plane_and_l_stable():
    for m in (2, 4, 6):
        poles = pade_partial_fractions(m)
        assert all(p.real > 0 for p, _ in poles)
        for z in (-1e-3, -0.1, -0.5):
            r = sum((c / (z - p)).real * (1 if abs(p.imag) < 1e-30 else 2) for p, c in poles)
            assert r == pytest.approx(np.exp(z), rel=1e-2 if m == 2 else 1e-7)
        big = sum((c / (-1e9 - p)).real * 2 for p, c in poles)
        assert abs(big) < 1e-6  # L-stable: r(-inf) = 0


def test_step_matrix_against_mpmath_expm():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6)) - 4 * np.eye(6)
    v = rng.normal(size=6)
    u = v.copy()
    step = step_matrix(a, 0.05)
    for _ in range(20):
        u = step @ u
    with mpmath.workdps(30):
        exact = mpmath.expm(mpmath.matrix(a.tolist())) * mpmath.matrix(v.tolist())
        np.testing.assert_allclose(u, [float(e) for e in exact], rtol=1e-12, atol=1e-13)
