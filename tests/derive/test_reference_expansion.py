r"""Sanity tests of the slow reference implementation ``tests/reference_expansion.py``.

Golden values: SME-2 of Li, Tai, E (ICML 2017; JMLR 2019), drift
:math:`-\nabla(f + \tfrac{\eta}{4}|\nabla f|^2)`, diffusion :math:`\eta\Sigma`; the HA-SME
closed form of Li, Shen, Zhang, He (arXiv 2405.18373) for quadratic f with constant noise,
:math:`b = -\psi(M)\nabla f`, :math:`\mathrm{vec}\, D = \psi(M\otimes M)\,\mathrm{vec}\,\Sigma`,
:math:`M = I - \eta H`, :math:`\psi(w) = \log(w)/(w - 1)`; Hairer-Lubich-Wanner's modified
equation of explicit Euler; Gaussian moments (Isserlis) and the complete Bell polynomials for
raw moments from cumulants.
"""

from functools import cache

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

try:  # pytest's default (prepend) import mode puts tests/ on sys.path
    import reference_expansion as ref
except ModuleNotFoundError:  # tests/ collected as a package
    from tests import reference_expansion as ref

ETA = ref.ETA
g0, g1, g2, s0, s1 = (ref.g(0), ref.g(1), ref.g(2), ref.s(0), ref.s(1))


@cache
def me_1d(order: int):
    return ref.explicit_modified_equation_1d(order)


def _zero(expr) -> bool:
    return sympy.expand(expr) == 0


def _zero_matrix(m: sympy.Matrix) -> bool:
    return all(_zero(e) for e in m)


def _quadratic_constant_noise(expr):
    """Specialise a 1-D jet polynomial to f quadratic, Sigma constant."""
    rep = {ref.g(k): 0 for k in range(2, 12)}
    rep.update({ref.s(k): 0 for k in range(1, 12)})
    return sympy.expand(expr.xreplace(rep))


# ---------------------------------------------------------------------------------------------
# 1-D, abstract f and Sigma


def test_1d_low_orders_sgf_and_sme2():
    b, D = me_1d(3)
    assert len(b) == len(D) == 4
    assert b[0] == -g0  # gradient flow
    assert D[0] == s0  # SGF diffusion
    assert _zero(b[1] + g0 * g1 / 2)  # SME-2: -(eta/4) (f'^2)' = -(eta/2) f' f''
    # Hand derivation: [eta^3] E(X - x)^2 = D1 + 2 b0 b1 + D0 b0' + b0 D0'/2 + b0^2 b0' = 0.
    assert _zero(D[1] - (g1 * s0 + g0 * s1 / 2))


def test_1d_gradient_descent_part_is_euler_modified_equation():
    # Noise-free part of b_2: Hairer-Lubich-Wanner's modified equation of explicit Euler for
    # y' = -f'(y):  f_2 = g''g g/12 + g'g'g/3 with g = -f'.
    b, _ = me_1d(3)
    noise_free = b[2].xreplace({ref.s(k): 0 for k in range(6)})
    assert _zero(noise_free - (-(g0**2) * g2 / 12 - g0 * g1**2 / 3))


def test_1d_quadratic_constant_noise_matches_closed_form():
    order = 3
    b, D = me_1d(order)
    u = sympy.Symbol("u")
    w = (1 - u) ** 2
    psi_series = sympy.series(sympy.log(w) / (w - 1), u, 0, order + 1).removeO()
    coeffs = [psi_series.coeff(u, k) for k in range(order + 1)]
    assert coeffs[:3] == [1, 1, sympy.Rational(5, 6)]
    for k in range(order + 1):
        assert _zero(_quadratic_constant_noise(b[k]) + g1**k * g0 / (k + 1))
        assert _zero(_quadratic_constant_noise(D[k]) - coeffs[k] * g1**k * s0)


def test_1d_noise_argument_does_not_change_coefficients():
    b, D = ref.explicit_modified_equation_1d(2, "general")
    b3, D3 = me_1d(3)
    assert b3[:3] == b
    assert D3[:3] == D
    with pytest.raises(ValueError):
        ref.explicit_modified_equation_1d(1, "laplace")


def test_1d_pruning_changes_nothing():
    assert ref.explicit_modified_equation_1d(1, prune=False) == me_1d(1)
    b, D = me_1d(2)
    for prune in (True, False):
        mm = ref.explicit_moment_mismatch_1d(b[:2], D[:1], 2, 3, "general", prune=prune)
        assert _zero(mm + ETA**3 * D[1])


def test_jets_round_trip():
    expr = g0**2 * g2 * s1 + ref.kappa(3, 1) * s0 - ETA * g1
    back = ref.to_jets(ref.from_jets(expr))
    assert _zero(back - expr)
    x = ref.X
    assert ref.from_jets(g1) == sympy.Derivative(ref.F(x), (x, 2))
    assert ref.from_jets(s0) == ref.SIGMA(x)
    with pytest.raises(ValueError):
        ref.to_jets(ref.F(x))


# ---------------------------------------------------------------------------------------------
# SGD moments and mismatch


def test_sgd_moments_from_cumulants():
    ks = [g0, s0] + [ref.kappa(j, 0) for j in range(3, 8)]
    for n in range(1, 8):
        bell = sum(sympy.bell(n, k, ks[: n - k + 1]) for k in range(1, n + 1))
        assert _zero(ref.sgd_moment_1d(n, "general") - (-ETA) ** n * bell)
    # Gaussian (Isserlis): E G^4 = m^4 + 6 m^2 v + 3 v^2.
    assert _zero(ref.sgd_moment_1d(4) - ETA**4 * (g0**4 + 6 * g0**2 * s0 + 3 * s0**2))
    assert _zero(ref.sgd_moment_1d(2) - ETA**2 * (g0**2 + s0))


def test_mismatch_of_me_k_starts_where_expected():
    b, D = me_1d(2)
    K = 2
    for n, first_nonzero in ((1, K + 2), (2, K + 3)):
        mm = ref.explicit_moment_mismatch_1d(b, D, n, first_nonzero)
        coeffs = ref.eta_coefficients(mm, first_nonzero)
        assert all(c == 0 for c in coeffs[:first_nonzero])
        assert coeffs[first_nonzero] != 0
    # First moment: the missing b_3 is exactly the leading mismatch (with opposite sign).
    b3 = me_1d(3)[0][3]
    mm1 = ref.explicit_moment_mismatch_1d(b, D, 1, K + 2)
    assert _zero(mm1 + ETA ** (K + 2) * b3)


def test_mismatch_third_moment_noise_effects():
    b, D = me_1d(2)
    # Gaussian state-dependent noise: third moment off at eta^4 by (3/2) Sigma Sigma'.
    mm = ref.explicit_moment_mismatch_1d(b, D, 3, 4)
    assert _zero(mm - sympy.Rational(3, 2) * ETA**4 * s0 * s1)
    # General noise: the skewness of G is missed at eta^3 (SGD has -eta^3 kappa_3).
    mm = ref.explicit_moment_mismatch_1d(b, D, 3, 3, "general")
    assert _zero(mm - ETA**3 * ref.kappa(3, 0))
    # Gaussian noise: ME-2 has local weak error O(eta^4); moments 1..4 agree through eta^3.
    for n in (1, 2, 3, 4):
        assert _zero(ref.explicit_moment_mismatch_1d(b, D, n, 3))
    # Constant noise (s1 = 0): the third moment also agrees at eta^4.
    mm = ref.explicit_moment_mismatch_1d(b, D, 3, 4)
    assert _zero(mm.xreplace({s1: 0}))


# ---------------------------------------------------------------------------------------------
# d-dimensional, concrete polynomial losses


def test_d2_quartic_sme2_drift():
    x = sympy.symbols("x0:2")
    loss = x[0] ** 4 / 4 + x[0] ** 2 * x[1] ** 2 / 2 + x[1] ** 3 / 3 - x[0] * x[1] + x[1]
    sigma = sympy.Matrix([[1 + x[0] ** 2, x[0] * x[1]], [x[0] * x[1], 2 + x[1] ** 2]])
    b, D = ref.explicit_modified_equation(loss, x, sigma, 1)
    grad = sympy.Matrix([sympy.diff(loss, xi) for xi in x])
    hess = sympy.hessian(loss, x)
    assert _zero_matrix(b[0] + grad)
    assert _zero_matrix(D[0] - sigma)
    assert _zero_matrix(b[1] + hess * grad / 2)
    sq = (grad.T * grad)[0]
    assert _zero_matrix(b[1] + sympy.Matrix([sympy.diff(sq, xi) for xi in x]) / 4)  # Li-Tai-E
    assert _zero_matrix(D[1] - D[1].T)


def test_d1_concrete_equals_1d_abstract():
    (x,) = xs = sympy.symbols("x0:1")
    loss = x**4 / 4 + x**3 / 3 - x**2 / 2 + 2 * x
    sigma = 1 + x**2 + x**3
    b1d, D1d = me_1d(2)
    rep = {ref.g(k): sympy.diff(loss, x, k + 1) for k in range(8)}
    rep.update({ref.s(k): sympy.diff(sigma, x, k) for k in range(8)})
    for backend in ("ring", "expr"):
        b, D = ref.explicit_modified_equation(loss, xs, sympy.Matrix([[sigma]]), 2, backend=backend)
        for k in range(3):
            assert _zero(b[k][0] - b1d[k].xreplace(rep))
            assert _zero(D[k][0, 0] - D1d[k].xreplace(rep))


def test_ring_and_expr_backends_and_pruning_agree():
    x = sympy.symbols("x0:2")
    loss = x[0] ** 3 * x[1] / 3 + x[1] ** 4 / 4 + x[0] ** 2
    sigma = sympy.Matrix([[1 + x[1], x[0]], [x[0], 1 + x[0] * x[1]]])
    ring = ref.explicit_modified_equation(loss, x, sigma, 1, backend="ring")
    for kwargs in ({"backend": "expr"}, {"backend": "ring", "prune": False}):
        other = ref.explicit_modified_equation(loss, x, sigma, 1, **kwargs)
        for a_list, b_list in zip(ring, other, strict=True):
            for a, b in zip(a_list, b_list, strict=True):
                assert _zero_matrix(a - b)


def test_rejects_bad_sigma():
    x = sympy.symbols("x0:2")
    with pytest.raises(ValueError):
        ref.explicit_modified_equation(x[0] ** 2, x, sympy.Matrix([[1, x[0]], [0, 1]]), 0)
    with pytest.raises(ValueError):
        ref.explicit_modified_equation(x[0] ** 2, x, sympy.eye(3), 0)


_small = st.integers(min_value=-3, max_value=3)


@settings(deadline=None, max_examples=12)
@given(
    h=st.tuples(_small, _small, _small),
    c=st.tuples(_small, _small),
    s=st.tuples(_small, _small, _small),
)
def test_d2_quadratic_constant_noise_matches_ha_sme_series(h, c, s):
    # f = x^T H x / 2 + c^T x, constant Sigma (H, Sigma need not commute).
    x = sympy.symbols("x0:2")
    xv = sympy.Matrix(x)
    H = sympy.Matrix([[h[0], h[1]], [h[1], h[2]]])
    S = sympy.Matrix([[s[0], s[1]], [s[1], s[2]]])
    loss = (xv.T * H * xv)[0] / 2 + (sympy.Matrix(c).T * xv)[0]
    b, D = ref.explicit_modified_equation(loss, x, S, 2)
    grad = H * xv + sympy.Matrix(c)
    # b = -psi(M) grad f = -sum_k H^k grad f / (k + 1)
    for k in range(3):
        assert _zero_matrix(b[k] + H**k * grad / (k + 1))
    # psi(M (x) M) = I + eta A/2 + eta^2 (A^2/3 - B/2) + ..., A = H(x)I + I(x)H, B = H(x)H.
    assert _zero_matrix(D[0] - S)
    assert _zero_matrix(D[1] - (H * S + S * H) / 2)
    assert _zero_matrix(D[2] - ((H**2 * S + S * H**2) / 3 + H * S * H / 6))
