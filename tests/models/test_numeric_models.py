r"""Numeric SGF, SME-2 and HA-SME drift/diffusion (symsme.models).

HA-SME: Li, Shen, Zhang, He, arXiv 2405.18373 (closed form with psi(w) = log(w)/(w - 1)).
SME-2: Li, Tai, E, ICML 2017 / JMLR 2019 (b = -grad f - (eta/2) H grad f, D = Sigma).
"""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symsme.errors import (
    HessianConditionError,
    NotPositiveSemidefiniteError,
    OrderError,
    SymsmeError,
)
from symsme.models import get_model, hasme_closed_form, sde_model
from symsme.numeric.lambdify import lambdify_1d
from symsme.problems import Problem

LOSS_2D = "x1**4/4 + x1*x2 + x2**2 + cos(x1 + 2*x2)/5"
SIGMA_2D = "[[1 + x1**2, x1*x2/2], [x1*x2/2, 1 + x2**2/3]]"
LOSS_3D = "x1**4/4 + x2**4/8 + x1*x2 + x2*x3 + x3**2 + x1**2*x3/2"
SIGMA_3D = "[[1 + x1**2, x1*x2/3, 0], [x1*x2/3, 2, x3/4], [0, x3/4, 1 + x2**2]]"


@pytest.fixture(scope="module")
def problem2() -> Problem:
    return Problem.from_strings(LOSS_2D, "x1 x2", SIGMA_2D)


@pytest.fixture(scope="module")
def problem3() -> Problem:
    return Problem.from_strings(LOSS_3D, "x1 x2 x3", SIGMA_3D)


def _spd(rng: np.random.Generator, d: int, lam: np.ndarray | None = None) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = rng.uniform(0.2, 2.0, size=d) if lam is None else lam
    a = q @ np.diag(lam) @ q.T
    return (a + a.T) / 2


def _hasme_by_logm(h: np.ndarray, sigma: np.ndarray, eta: float) -> tuple:
    r"""Independent route via scipy.linalg.logm: psi(M) = (M - I)^{-1} log(M) (so b = -psi(M) g)
    and vec D = (W - I)^{-1} log(W) vec Sigma with W = M (x) M."""
    d = h.shape[0]
    m = np.eye(d) - eta * h
    drift_op = np.linalg.solve(m - np.eye(d), scipy.linalg.logm(m).real)
    w = np.kron(m, m)
    vec_d = np.linalg.solve(w - np.eye(d * d), scipy.linalg.logm(w).real @ sigma.reshape(-1))
    return drift_op, vec_d.reshape(d, d)


# ---------------------------------------------------------------------------- closed form
@settings(deadline=None, max_examples=30)
@given(st.integers(2, 3), st.integers(0, 2**32 - 1), st.floats(0.05, 0.9))
def test_hasme_noncommuting_matches_logm(d: int, seed: int, eta_lam_max: float) -> None:
    rng = np.random.default_rng(seed)
    eta = 0.1
    # Hessian with eta*lambda in [-0.5, eta_lam_max] (indefinite allowed, M positive definite),
    # away from the removable singularities of the logm route (lambda = 0, m_i m_j = 1).
    lam = np.sort(rng.uniform(-5.0, eta_lam_max / eta, size=d))
    lam[-1] = eta_lam_max / eta
    m = 1 - eta * lam
    assume(np.abs(lam).min() > 0.2 and np.abs(np.outer(m, m) - 1).min() > 0.02)
    h = _spd(rng, d, lam)
    sigma = _spd(rng, d)
    assume(np.linalg.norm(h @ sigma - sigma @ h) > 1e-3)  # genuinely non-commuting
    g = rng.normal(size=d)
    b, dm = hasme_closed_form(g, h, sigma, eta, psd="ignore")
    drift_op, d_ref = _hasme_by_logm(h, sigma, eta)
    np.testing.assert_allclose(b, -drift_op @ g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dm, d_ref, rtol=1e-10, atol=1e-11 * np.abs(d_ref).max())
    np.testing.assert_array_equal(dm, dm.T)


def test_hasme_taylor_series_in_eta() -> None:
    r"""b = -g - (eta/2) H g - (eta^2/3) H^2 g - ..., and
    D = Sigma + (eta/2)(H S + S H) + eta^2 ((H^2 S + S H^2)/3 + H S H/6) + O(eta^3),
    the series of psi(1 - u) = 1 + u/2 + u^2/3 and psi(m_i m_j)
    (symsme/DESIGN.md, "The Hessian-aware selection")."""
    rng = np.random.default_rng(7)
    d = 3
    h = _spd(rng, d, np.array([-1.0, 0.5, 2.0]))
    s = _spd(rng, d)
    g = rng.normal(size=d)
    d1 = (h @ s + s @ h) / 2
    d2 = (h @ h @ s + s @ h @ h) / 3 + h @ s @ h / 6
    ratios_b, ratios_d = [], []
    for eta in (1e-2, 5e-3, 2.5e-3):
        b, dm = hasme_closed_form(g, h, s, eta)
        sme2 = -g - eta / 2 * h @ g
        ratios_b.append(np.linalg.norm(b - sme2) / eta**2)
        ratios_d.append(np.linalg.norm(dm - s - eta * d1 - eta**2 * d2) / eta**3)
    # b - b_SME2 = -(eta^2/3) H^2 g + O(eta^3): the scaled error converges to |H^2 g|/3.
    assert ratios_b[-1] == pytest.approx(np.linalg.norm(h @ h @ g) / 3, rel=0.02)
    # The D remainder is O(eta^3): bounded scaled errors.
    assert max(ratios_d) < 2 * min(ratios_d) + 1e-6


@pytest.mark.parametrize("model", ["sgf", "sme2", "ha-sme"])
def test_eta_to_zero_gives_gradient_flow(problem3: Problem, model: str) -> None:
    pts = np.random.default_rng(1).uniform(-1, 1, size=(6, 3))
    sgf_b, sgf_d = sde_model(problem3, "sgf", 1.0).drift_diffusion(pts)
    errors = []
    for eta in (1e-3, 1e-4, 1e-5):
        b, dm = sde_model(problem3, model, eta).drift_diffusion(pts)
        errors.append(max(np.abs(b - sgf_b).max(), np.abs(dm - sgf_d).max()))
    if model == "sgf":
        assert max(errors) == 0
    else:
        # O(eta): each factor 10 in eta gives a factor ~10 in the difference.
        assert errors[-1] < 1e-4
        assert errors[0] / errors[1] == pytest.approx(10, rel=0.05)


def test_sme2_is_the_first_two_hasme_drift_terms(problem2: Problem) -> None:
    pts = np.random.default_rng(2).uniform(-1, 1, size=(5, 2))
    gaps = []
    for eta in (4e-3, 2e-3, 1e-3):
        b_ha = sde_model(problem2, "ha-sme", eta).drift(pts)
        b_2 = sde_model(problem2, "sme2", eta).drift(pts)
        gaps.append(np.abs(b_ha - b_2).max())
    assert gaps[0] / gaps[1] == pytest.approx(4, rel=0.05)  # O(eta^2)
    assert gaps[1] / gaps[2] == pytest.approx(4, rel=0.05)


# ---------------------------------------------------------------------------- backends
@pytest.mark.parametrize("model", ["sgf", "sme2", "ha-sme"])
@pytest.mark.parametrize("which", ["problem2", "problem3"])
def test_numpy_matches_mpmath(model: str, which: str, request: pytest.FixtureRequest) -> None:
    problem = request.getfixturevalue(which)
    pts = np.random.default_rng(3).uniform(-1, 1, size=(4, problem.dim))
    b, dm = sde_model(problem, model, 0.1).drift_diffusion(pts)
    with mpmath.workdps(30):
        bm, dmm = sde_model(problem, model, 0.1, backend="mpmath").drift_diffusion(pts)
        assert isinstance(bm[0, 0], mpmath.mpf)
    np.testing.assert_allclose(b, bm.astype(float), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dm, dmm.astype(float), rtol=1e-12, atol=1e-13)


def test_shapes_and_entry_points_agree(problem2: Problem) -> None:
    model = sde_model(problem2, "HA-SME", 0.05)
    pts = np.random.default_rng(4).uniform(-1, 1, size=(3, 4, 2))
    b, dm = model.drift_diffusion(pts)
    assert b.shape == (3, 4, 2) and dm.shape == (3, 4, 2, 2)
    np.testing.assert_array_equal(model.drift(pts), b)
    np.testing.assert_array_equal(model.diffusion(pts), dm)
    np.testing.assert_array_equal(model.drift(pts[1, 2]), b[1, 2])
    jets = problem2.jets(pts, 2, 0)
    b_j, d_j = model.from_jets(jets)
    np.testing.assert_array_equal(b_j, b)
    np.testing.assert_array_equal(d_j, dm)
    with pytest.raises(SymsmeError, match=r"grad\^2 f"):
        model.from_jets(problem2.jets(pts, 1, 0))


def test_one_dimensional_models_match_lambdified_closed_forms() -> None:
    loss, sigma = "x**4/4 + x**2/2 + sin(x)/4", "1 + x**2/2"
    problem = Problem.from_strings(loss, "x", sigma)
    xs = np.linspace(-1.2, 1.2, 9)
    eta = sp.Rational(1, 10)
    for model in ("sgf", "sme2", "ha-sme"):
        b_expr, d_expr = get_model(model).closed_form_1d()
        b, dm = sde_model(problem, model, eta).drift_diffusion(xs[:, None])
        np.testing.assert_allclose(
            b[:, 0], lambdify_1d(b_expr, loss, sigma, eta=eta)(xs), rtol=1e-14
        )
        np.testing.assert_allclose(
            dm[:, 0, 0], lambdify_1d(d_expr, loss, sigma, eta=eta)(xs), rtol=1e-14
        )


# ---------------------------------------------------------------------------- conditions
def test_hessian_condition_error_names_eta_lambda_and_point(problem2: Problem) -> None:
    pts = np.array([[0.1, 0.2], [3.0, 0.5], [0.0, 0.0]])
    lam_max = np.linalg.eigvalsh(problem2.jets(pts[1], 2).hessian)[-1]  # about 9.0
    model = sde_model(problem2, "ha-sme", 0.25)
    for call in (model.drift, model.diffusion):
        with pytest.raises(HessianConditionError) as info:
            call(pts)
        message = str(info.value)
        assert "x = [3.0, 0.5]" in message
        assert f"eta*lambda_max = {0.25 * lam_max:.10g}" in message
        assert f"(lambda_max = {lam_max:.10g}" in message and "1 of 3" in message
    with pytest.raises(HessianConditionError, match=r"x = \[3\.0"):
        sde_model(problem2, "ha-sme", 0.25, backend="mpmath").drift(pts)
    # eta*lambda_max exactly 1 is excluded too (M singular): f = x^2, eta = 1/2.
    with pytest.raises(HessianConditionError, match="eta\\*lambda_max = 1"):
        sde_model(Problem("x**2", "x", 1), "ha-sme", 0.5).drift(np.zeros((1, 1)))
    # SGF and SME-2 have no such condition.
    assert np.all(np.isfinite(sde_model(problem2, "sme2", 0.25).drift(pts)))


def _indefinite_problem(eta: sp.Rational) -> tuple[Problem, np.ndarray]:
    # H = diag(0.95/eta, 0) and Sigma = [[1, 1], [1, 1]] (PSD): in H's eigenbasis
    # D = [[psi(m1^2), psi(m1)], [psi(m1), 1]] with m1 = 0.05, whose determinant
    # psi(m1^2) - psi(m1)^2 < 0 (1/(s + xy) is not a positive kernel).
    lam = sp.Rational(95, 100) / eta
    problem = Problem(lam * sp.Symbol("x1") ** 2 / 2, "x1 x2", [[1, 1], [1, 1]])
    m1 = 0.05
    psi = lambda w: np.log(w) / (w - 1)  # noqa: E731  (reference only, away from w = 1)
    expected = np.array([[psi(m1 * m1), psi(m1)], [psi(m1), 1.0]])
    return problem, expected


def test_indefinite_diffusion_raises_or_clips() -> None:
    eta = sp.Rational(1, 10)
    problem, expected = _indefinite_problem(eta)
    smallest = np.linalg.eigvalsh(expected)[0]
    assert smallest < -0.3
    pts = np.array([[0.0, 0.0], [0.5, -1.0]])
    with pytest.raises(NotPositiveSemidefiniteError) as info:
        sde_model(problem, "ha-sme", eta).diffusion(pts)
    message = str(info.value)
    assert re.search(r"most negative eigenvalue -0\.\d+", message)
    found = float(re.search(r"eigenvalue (-[\d.e+-]+)", message).group(1))
    assert found == pytest.approx(smallest, rel=1e-8)
    assert "x = [0.0, 0.0]" in message and "psd='clip'" in message
    with pytest.raises(NotPositiveSemidefiniteError, match="most negative eigenvalue -0"):
        sde_model(problem, "ha-sme", eta, backend="mpmath").diffusion(pts)
    raw = sde_model(problem, "ha-sme", eta, psd="ignore").diffusion(pts)
    np.testing.assert_allclose(raw[0], expected, rtol=1e-13)
    clipped = sde_model(problem, "ha-sme", eta, psd="clip").diffusion(pts)
    mu, w = np.linalg.eigh(expected)
    np.testing.assert_allclose(clipped[1], w @ np.diag(np.maximum(mu, 0)) @ w.T, atol=1e-13)
    assert np.linalg.eigvalsh(clipped)[..., 0].min() > -1e-14
    clipped_mp = sde_model(problem, "ha-sme", eta, psd="clip", backend="mpmath").diffusion(pts)
    np.testing.assert_allclose(clipped_mp.astype(float), clipped, atol=1e-13)


def test_state_dependent_sigma_checked_for_sgf() -> None:
    problem = Problem("x1**2/2 + x2**2/2", "x1 x2", "[[1, x1], [x1, 1]]")
    model = sde_model(problem, "sgf", 0.1)
    assert model.diffusion(np.array([[0.5, 0.0]])).shape == (1, 2, 2)
    with pytest.raises(NotPositiveSemidefiniteError, match=r"x = \[3\.0, 0\.0\].*eigenvalue -2"):
        model.diffusion(np.array([[0.5, 0.0], [3.0, 0.0], [2.0, 0.0]]))


def test_singular_sigma_psd_within_tolerance_but_hasme_indefinite() -> None:
    # A finite sum with n = 2 samples in d = 2 has a rank-1 Sigma.  SGF/SME-2 use D = Sigma:
    # singular, PSD, computed eigenvalues ~ +-1e-16 that the tolerance accepts.  HA-SME's D is
    # the Schur product of Sigma (in H's eigenbasis) with [psi(m_i m_j)], which is indefinite
    # for m_1 != m_2, so with a singular Sigma and non-commuting H it is genuinely indefinite
    # (here about -1.5e-4, confirmed by the logm route): the check must catch it.
    problem = Problem.finite_sum(["(x1 - 1)**2/2 + x2**2", "(x2 + 1)**2/2 + x1**2/4"], "x1 x2", 1)
    pts = np.random.default_rng(5).uniform(-1, 1, size=(50, 2))
    for model in ("sgf", "sme2"):
        dm = sde_model(problem, model, 0.1).diffusion(pts)
        assert np.all(np.isfinite(dm)) and np.linalg.eigvalsh(dm)[:, 0].min() > -1e-15
    with pytest.raises(NotPositiveSemidefiniteError, match="HA-SME"):
        sde_model(problem, "ha-sme", 0.1).diffusion(pts)
    raw = sde_model(problem, "ha-sme", 0.1, psd="ignore").diffusion(pts[0])
    jets = problem.jets(pts[0], 2, 0)
    _, d_ref = _hasme_by_logm(jets.hessian, jets.sigma, 0.1)
    np.testing.assert_allclose(raw, d_ref, rtol=1e-10)
    assert np.linalg.eigvalsh(d_ref)[0] < -1e-5


# ---------------------------------------------------------------------------- API
def test_model_options_are_validated(problem2: Problem) -> None:
    with pytest.raises(SymsmeError, match="unknown model"):
        sde_model(problem2, "sde", 0.1)
    with pytest.raises(SymsmeError, match="psd"):
        sde_model(problem2, "sgf", 0.1, psd="project")
    with pytest.raises(SymsmeError, match="backend"):
        sde_model(problem2, "sgf", 0.1, backend="jax")  # type: ignore[arg-type]
    with pytest.raises(OrderError):
        sde_model(problem2, "sgf", 0.1, order=2)
    # without terms= the model "me" is the engine's derived series (default K = 2)
    x = np.array([0.3, -0.2])
    b, D = sde_model(problem2, "me", 0.1).drift_diffusion(x)
    b2, D2 = sde_model(problem2, "me", 0.1, order=2).drift_diffusion(x)
    np.testing.assert_array_equal(b, b2)
    np.testing.assert_array_equal(D, D2)


def test_me_hook_sums_the_given_terms(problem2: Problem) -> None:
    # With b_0 = -g, b_1 = -(1/2) H g, D_0 = Sigma, D_1 = 0 the eta^1 truncation is SME-2.
    def b0(x: np.ndarray) -> np.ndarray:
        return -problem2.jets(x, 1).gradient

    def b1(x: np.ndarray) -> np.ndarray:
        j = problem2.jets(x, 2)
        return -0.5 * np.einsum("...ij,...j->...i", j.hessian, j.gradient)

    def d0(x: np.ndarray) -> np.ndarray:
        return problem2.jets(x, None, 0).sigma

    def d1(x: np.ndarray) -> np.ndarray:
        return np.zeros((*x.shape, x.shape[-1]))

    pts = np.random.default_rng(6).uniform(-1, 1, size=(5, 2))
    me = sde_model(problem2, "me", 0.1, terms=([b0, b1, b1], [d0, d1, d1]), order=1)
    sme2 = sde_model(problem2, "sme2", 0.1)
    np.testing.assert_allclose(me.drift(pts), sme2.drift(pts), rtol=1e-15)
    np.testing.assert_allclose(me.diffusion(pts), sme2.diffusion(pts), rtol=1e-15)
    with pytest.raises(OrderError):
        sde_model(problem2, "me", 0.1, terms=([b0], [d0]), order=1)


@pytest.mark.parametrize("gap", [1e-6, 1e-8, 1e-10])
def test_hasme_keeps_its_digits_as_eta_lambda_max_tends_to_one(gap: float) -> None:
    """H with exact eigenvalues (diagonal), eta*lambda_max = 1 - gap, non-commuting Sigma: the
    float64 diffusion agrees with 50-digit mpmath to ~1e-15 relative (the old argument
    u^2 - 2u lost 8e-7 at gap 1e-6 and 2.8e-3 at 1e-8)."""
    eta = 0.5
    h = np.diag([(1 - gap) / eta, 0.7, -0.4])
    sigma = np.array([[1.0, 0.2, 0.1], [0.2, 0.5, 0.05], [0.1, 0.05, 0.3]])
    _, d64 = hasme_closed_form(None, h, sigma, eta, psd="ignore")
    with mpmath.workdps(50):
        _, d50 = hasme_closed_form(None, h, sigma, eta, psd="ignore", backend="mpmath")
        ref = np.array(d50.tolist(), dtype=object)
        err = max(abs(d64[i, j] - ref[i, j]) / abs(ref[i, j]) for i in range(3) for j in range(3))
    assert err < 1e-14
