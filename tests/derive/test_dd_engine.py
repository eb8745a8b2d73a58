"""The coordinate-free d-dimensional engine (``modified_equation(K, dim="d")``)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy

from symsme.algebra.contractions import (
    ContractionAlgebra,
    evaluate_sympy,
    hessian_aware_exponents,
    hessian_power_gradient,
    hessian_sandwich,
    is_hessian_only,
    set_partitions,
    sympy_jets,
    to_jets,
    transpose,
)
from symsme.algebra.jets import JetAlgebra
from symsme.algebra.lincomb import add_into
from symsme.derive import modified_equation
from symsme.derive.ansatz.sde import GeneratorExpansion
from symsme.derive.schemes.sgd import SGD
from symsme.errors import DimensionError, MomentsError
from symsme.validate import check_dim


def one_step_moments(n, noise="gaussian"):
    return SGD().one_step_moments(n, JetAlgebra(), noise)


def one_step_moments_tensor(n, noise="gaussian"):
    return SGD().one_step_moments(n, ContractionAlgebra(), noise)


# ---------------------------------------------------------------------------------------------
# d = 1 specialisation equals the 1-D engine


@pytest.mark.parametrize("K", [0, 1, 2, 3, 4])
def test_d1_specialisation_equals_1d_engine(K):
    """Drift, diffusion and the mismatch report (moments 1..3, general noise)."""
    dd = modified_equation(K, dim="d", noise="general", moments=3, cache=False)
    one = modified_equation(K, noise="general", moments=3, cache=False)
    assert [to_jets(b) for b in dd.drift] == list(one.drift)
    assert [to_jets(D) for D in dd.diffusion] == list(one.diffusion)
    assert dd.checked_through == one.checked_through
    for m_dd, m_one in zip(dd.mismatch, one.mismatch, strict=True):
        assert (m_dd.moment, m_dd.eta_power) == (m_one.moment, m_one.eta_power)
        assert to_jets(m_dd.coefficient) == m_one.coefficient


@pytest.mark.parametrize("K", [2, 4])
def test_d1_specialisation_constant_sigma(K):
    dd = modified_equation(K, dim="d", sigma="constant", cache=False)
    one = modified_equation(K, sigma="constant", cache=False)
    assert [to_jets(b) for b in dd.drift] == list(one.drift)
    assert [to_jets(D) for D in dd.diffusion] == list(one.diffusion)


@pytest.mark.parametrize("noise", ["gaussian", "general"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_sgd_tensor_moments_specialise_to_1d(n, noise):
    tensor = one_step_moments_tensor(n, noise)
    assert {p: to_jets(c) for p, c in tensor.items()} == one_step_moments(n, noise)


def test_sgd_tensor_moments_structure():
    """E (x_1 - x)^{(x) 2} = eta^2 (g g^T + Sigma): two terms with labelled legs; the number
    of Gaussian terms of the n-th moment is the number of partitions into blocks of size <= 2."""
    (second,) = one_step_moments_tensor(2).values()
    assert sorted(second.values()) == [1, 1] and len(second) == 2
    assert hessian_sandwich(0, 0) in second
    for n in range(1, 7):
        pairs = sum(1 for p in set_partitions(n) if all(len(b) <= 2 for b in p))
        (m,) = one_step_moments_tensor(n).values()
        assert sum(abs(c) for c in m.values()) == pairs
        assert all(c == (-1) ** n for c in m.values())
    assert sum(1 for _ in set_partitions(5)) == 52  # Bell number
    with pytest.raises(MomentsError):
        one_step_moments_tensor(0)


def test_check_dim():
    assert check_dim("d") == "d"
    assert check_dim(2) == "d" and check_dim(17) == "d" and check_dim(1) == 1
    for bad in (0, -3, 1.0, True, 2.0, "D", "2", None):
        with pytest.raises(DimensionError, match=repr(bad)):
            check_dim(bad)
    with pytest.raises(DimensionError):
        modified_equation(1, dim=0, cache=False)
    assert (
        modified_equation(2, dim=3, cache=False).drift
        == modified_equation(2, dim="d", cache=False).drift
    )


# ---------------------------------------------------------------------------------------------
# literature and structure


def test_sme2():
    """SME-2 (Li, Tai, E, ICML 2017; JMLR 2019): b_0 = -grad f, b_1 = -(1/2) H g
    (= -(1/4) grad |grad f|^2), D_0 = Sigma."""
    me = modified_equation(1, dim="d", cache=False)
    assert me.drift[0] == {hessian_power_gradient(0): -1}
    assert me.drift[1] == {hessian_power_gradient(1): Fraction(-1, 2)}
    assert me.diffusion[0] == {hessian_sandwich(0, 0): 1}


def test_diffusion_is_symmetric():
    me = modified_equation(5, dim="d", cache=False)
    for D in me.diffusion:
        assert transpose(D) == D


# ---------------------------------------------------------------------------------------------
# Hessian-aware terms against the HA-SME closed form (Li, Shen, Zhang, He, arXiv 2405.18373)

ETA, LI, LJ = sympy.symbols("eta lambda_i lambda_j")


def psi_coefficients(N: int) -> dict[tuple[int, int], Fraction]:
    r"""Coefficients of :math:`\eta^{a+b}\lambda_i^a\lambda_j^b` in :math:`\psi(m_i m_j)`,
    :math:`m = 1 - \eta\lambda`, :math:`\psi(w) = \log(w)/(w - 1)`, by SymPy's series."""
    w = (1 - ETA * LI) * (1 - ETA * LJ)
    series = sympy.expand(sympy.series(sympy.log(w) / (w - 1), ETA, 0, N + 1).removeO())
    out = {}
    for k in range(N + 1):
        poly = sympy.Poly(sympy.cancel(series.coeff(ETA, k)), LI, LJ)
        for (a, b), c in poly.as_dict().items():
            assert a + b == k
            out[(a, b)] = Fraction(int(c.p), int(c.q))
    return out


def drift_psi_coefficients(N: int) -> list[Fraction]:
    r"""Coefficients of :math:`\eta^k\lambda^k` in :math:`\psi(1 - \eta\lambda)`."""
    series = sympy.series(sympy.log(1 - ETA * LI) / (-ETA * LI), ETA, 0, N + 1).removeO()
    return [
        Fraction(sympy.Rational(sympy.expand(series).coeff(ETA, k).coeff(LI, k)))
        for k in range(N + 1)
    ]


def hessian_aware_part(c: dict) -> dict:
    return {k: v for k, v in c.items() if is_hessian_only(k)}


def check_hessian_aware(drift, diffusion, N):
    psi2 = psi_coefficients(N)
    psi1 = drift_psi_coefficients(N)
    for k in range(N + 1):
        assert hessian_aware_part(drift[k]) == {hessian_power_gradient(k): -psi1[k]}
        expected = {hessian_sandwich(a, k - a): psi2[(a, k - a)] for a in range(k + 1)}
        assert hessian_aware_part(diffusion[k]) == expected


def test_hessian_only_terms_are_ha_sme_terms():
    """In the full derivation (K <= 4) every term built from g, H, Sigma alone is H^a g or
    H^a Sigma H^b, with the HA-SME coefficients (non-commuting H and Sigma)."""
    K = 4
    me = modified_equation(K, dim="d", cache=False)
    for c in me.drift + me.diffusion:
        for key in hessian_aware_part(c):
            assert hessian_aware_exponents(key) is not None
    check_hessian_aware(me.drift, me.diffusion, K)
    assert psi_coefficients(2)[(1, 1)] == Fraction(1, 6)
    assert drift_psi_coefficients(3)[3] == Fraction(1, 4)


def test_hessian_aware_series_to_order_7():
    """The quadratic, constant-noise algebra (exactly the Hessian-aware selection, since no
    derivative turns a T or grad Sigma back into g, H, Sigma) reproduces psi through eta^7."""
    N = 7
    alg = ContractionAlgebra("constant", quadratic=True)
    drift: list[dict] = []
    diffusion: list[dict] = []
    first = GeneratorExpansion(alg, 1, drift, diffusion, max_power=N + 1)
    second = GeneratorExpansion(alg, 2, drift, diffusion, max_power=N + 2)
    (sgd1,), (sgd2,) = one_step_moments_tensor(1).values(), one_step_moments_tensor(2).values()
    for k in range(N + 1):
        b = dict(sgd1) if k == 0 else {}
        add_into(b, first.coefficient(k + 1, skip_first=True), -1)
        drift.append(b)
        D = dict(sgd2) if k == 0 else {}
        add_into(D, second.coefficient(k + 2, skip_first=True), -1)
        diffusion.append(D)
    check_hessian_aware(drift, diffusion, N)
    # nothing else survives for a quadratic objective with constant noise
    assert all(len(b) == 1 for b in drift)
    assert [len(D) for D in diffusion] == [k + 1 for k in range(N + 1)]
    # and the full engine agrees where both exist
    me = modified_equation(3, dim="d", sigma="constant", cache=False)
    for k in range(4):
        assert hessian_aware_part(me.drift[k]) == drift[k]
        assert hessian_aware_part(me.diffusion[k]) == diffusion[k]


# ---------------------------------------------------------------------------------------------
# brute force in coordinates (tests/reference_expansion.py, an independent SymPy derivation)

X = sympy.symbols("x0:3")
x, y, w = X
CASES = {
    "d2": (
        [x, y],
        x**3 / 3 + x * y**2 - x * y / 2 + y**2 / 2,
        sympy.Matrix([[1 + x**2, x * y], [x * y, 2 + y]]),
    ),
    "d3": (
        [x, y, w],
        x**2 * y + y * w**2 + x * w + w**2 / 2 + x**4 / 24,
        sympy.Matrix([[1 + x * w, y, 0], [y, 2 + w, x], [0, x, 1 + y**2 + x**3]]),
    ),
    "d2-quintic": (
        [x, y],
        x**5 / 60 + x**2 * y + y**3 / 3 + y**4 / 12,
        sympy.Matrix([[1 + x**2, y], [y, 2 + x * y + y**4]]),
    ),
}


@pytest.mark.parametrize(
    "case, order",
    [("d2", 2), ("d3", 3), pytest.param("d2-quintic", 4, marks=pytest.mark.slow)],
)
def test_against_explicit_coordinates(case, order):
    """b_k, D_k evaluated in coordinates equal a direct explicit-coordinate SymPy generator
    expansion (tests/reference_expansion.py), symbolically in x: polynomial losses whose
    derivatives up to grad^5 f and Sigma(x) with grad^3 Sigma non-zero."""
    from reference_expansion import explicit_modified_equation

    xs, loss, sigma = CASES[case]
    drifts, diffusions = explicit_modified_equation(loss, xs, sigma, order)
    me = modified_equation(order, dim=len(xs), cache=False)
    f_derivs, sigma_derivs = sympy_jets(loss, xs, sigma, order + 2)
    d = len(xs)
    for k in range(order + 1):
        b = evaluate_sympy(me.drift[k], f_derivs, sigma_derivs)
        D = evaluate_sympy(me.diffusion[k], f_derivs, sigma_derivs)
        assert sympy.expand(b - drifts[k]) == sympy.zeros(d, 1), k
        assert sympy.expand(D - diffusions[k]) == sympy.zeros(d, d), k
