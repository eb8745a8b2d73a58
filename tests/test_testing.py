"""The public hypothesis strategies of symsme.testing draw what they promise."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from symsme import Problem
from symsme.testing import polynomial_losses, psd_matrices, quadratics, symmetric_matrices


@given(psd_matrices(3))
def test_psd_matrices_are_symmetric_positive_definite(s):
    assert np.array_equal(s, s.T) and np.linalg.eigvalsh(s)[0] > 0


@given(psd_matrices(4, rank=2))
def test_singular_noise(s):
    lam = np.linalg.eigvalsh(s)
    assert abs(lam[0]) < 1e-12 and abs(lam[1]) < 1e-12 and lam[2] >= 0.05 - 1e-12


@given(symmetric_matrices(3, -3.0, 5.0))
def test_indefinite_hessians_stay_in_range(a):
    lam = np.linalg.eigvalsh(a)
    assert -3.0 - 1e-9 <= lam[0] and lam[-1] <= 5.0 + 1e-9


@given(quadratics(dim=(1, 4)))
def test_quadratics_satisfy_hasme_conditions(q):
    d = q.x0.shape[0]
    assert q.hessian.shape == q.sigma.shape == (d, d)
    assert 0 < q.eta * np.linalg.eigvalsh(q.hessian)[-1] <= 0.95 + 1e-12


@given(quadratics(dim=3, commuting=True))
def test_commuting_quadratics_commute(q):
    assert q.commuting


@given(quadratics(dim=3, commuting=False))
def test_non_commuting_is_the_generic_case(q):
    assert not q.commuting
    assert np.linalg.norm(q.hessian @ q.sigma - q.sigma @ q.hessian) > 1e-3


@given(polynomial_losses(("x1", "x2")))
def test_polynomial_losses_are_problems(text):
    assert Problem(text, "x1 x2", "[[1, 0], [0, 1]]").loss.is_polynomial()


@given(st.data())
def test_step_sizes_are_finite_and_bounded(data):
    from symsme.testing import step_sizes

    a = data.draw(symmetric_matrices(2, -3.0, 5.0))
    eta = data.draw(step_sizes(a))
    lam_max = np.linalg.eigvalsh(a)[-1]
    assert np.isfinite(eta) and eta > 0
    assert eta <= 1 or eta * lam_max <= 0.95 + 1e-12


def test_tiny_eigenvalues_do_not_make_huge_steps():
    from hypothesis import find

    from symsme.testing import step_sizes

    for h in ([[5e-324]], [[1e-300]], [[2.2e-313]]):
        eta = find(step_sizes(np.array(h)), lambda e: e > 0.5)
        assert eta <= 1.0
