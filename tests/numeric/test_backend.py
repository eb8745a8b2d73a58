"""Backend objects: numpy and mpmath give the same numbers through the same methods, and the
mpmath precision is a context, never a global change."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symsme.errors import NonFiniteError, NotPositiveSemidefiniteError, ShapeError, SymsmeError
from symsme.numeric.backend import MpmathBackend, NumpyBackend, get_backend
from symsme.numeric.psd import enforce_psd

NP, MP = NumpyBackend(), MpmathBackend()


def test_get_backend():
    assert get_backend("numpy").name == "numpy" and get_backend("mpmath").name == "mpmath"
    backend = MpmathBackend(dps=30)
    assert get_backend(backend) is backend
    with pytest.raises(SymsmeError, match="unknown backend 'jax'"):
        get_backend("jax")
    with pytest.raises(SymsmeError, match="precision"):
        MpmathBackend(dps=0)


def test_precision_is_a_context():
    before = mpmath.mp.dps
    backend = MpmathBackend(dps=50)
    with backend.context():
        assert mpmath.mp.dps == 50
        third = backend.number(sp.Rational(1, 3))
    assert mpmath.mp.dps == before
    assert abs(third - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -15
    with mpmath.workdps(60):
        assert abs(third * 3 - 1) < mpmath.mpf(10) ** -48  # computed at 50 digits


symmetric = st.lists(st.floats(-3, 3, allow_nan=False), min_size=6, max_size=6).map(
    lambda v: np.array([[v[0], v[1], v[2]], [v[1], v[3], v[4]], [v[2], v[4], v[5]]])
)


@given(symmetric)
def test_linear_algebra_agrees(a):
    lam, v = NP.eigh(a)
    with mpmath.workdps(30):
        mlam, mv = MP.eigh(MP.asarray(a))
        np.testing.assert_allclose(np.sort(mlam.astype(float)), lam, atol=1e-12)
        # eigenvectors reconstruct the matrix in both backends
        rebuilt = MP.matmul(mv * mlam[None, :], np.swapaxes(mv, -1, -2)).astype(float)
        np.testing.assert_allclose(rebuilt, a, atol=1e-12)
        np.testing.assert_allclose(MP.eigvalsh(MP.asarray(a)).astype(float), lam, atol=1e-12)
        assert float(MP.norm(MP.asarray(a))) == pytest.approx(float(NP.norm(a)), rel=1e-14)
        np.testing.assert_allclose(
            MP.matmul(MP.asarray(a), MP.asarray(a)).astype(float), a @ a, rtol=1e-13, atol=1e-13
        )
    np.testing.assert_allclose(v * lam[None, :] @ v.T, a, atol=1e-12)


def test_elementwise_functions_agree():
    x = np.array([-0.5, -1e-9, 0.0, 1e-12, 0.3, 4.0])
    for f in ("psi_shifted", "exp", "expm1"):
        ref = getattr(NP, f)(x)
        with mpmath.workdps(30):
            got = getattr(MP, f)(MP.asarray(x)).astype(float)
        np.testing.assert_allclose(got, ref, rtol=2e-16 * 8)


def test_conversion_and_checks():
    assert MP.convert(Fraction(1, 4)) == mpmath.mpf("0.25") and NP.number(Fraction(1, 4)) == 0.25
    assert MP.format_point(MP.asarray(["0.5", "1"])) == "[0.5, 1.0]"
    assert NP.format_point(np.array([0.5, 1.0])) == "[0.5, 1.0]"
    for bk in (NP, MP):
        with pytest.raises(NonFiniteError, match="x0"):
            bk.check_finite_array([1.0, float("nan")], "x0")
        with pytest.raises(ShapeError):
            bk.asarray([[1.0], "a"], "x0")
    assert MP.real(mpmath.mpc(2, 0)) == 2 and mpmath.isnan(MP.real(mpmath.mpc(2, 1)))


@pytest.mark.parametrize("backend", [NP, MP])
def test_psd_policy_is_shared(backend):
    d = backend.asarray(np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]))
    points = backend.asarray(np.array([[0.0, 0.0], [0.5, -1.0]]))
    with pytest.raises(NotPositiveSemidefiniteError) as info:
        enforce_psd(d, "raise", None, "test", points, backend)
    message = str(info.value)
    assert "x = [0.5, -1.0]" in message and "eigenvalue -1" in message and "1 of 2" in message
    assert enforce_psd(d, "ignore", None, "test", points, backend) is d
    clipped = np.asarray(enforce_psd(d, "clip", None, "test", points, backend), dtype=float)
    np.testing.assert_allclose(clipped[1], [[1.5, 1.5], [1.5, 1.5]], atol=1e-14)
    np.testing.assert_array_equal(clipped[0], np.eye(2))
