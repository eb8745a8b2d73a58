"""The model registry: names, orders, plug-in models, and every consumer reading it."""

from __future__ import annotations

from math import factorial

import numpy as np
import pytest
import sympy as sp

from symsme.errors import OrderError, SymsmeError
from symsme.exact.quadratic import diffusion_matrix, drift_matrix, ou_law, sgd_law
from symsme.models import _REGISTRY as REGISTRY
from symsme.models import MODELS, get_model, sde_model
from symsme.models.sgf import SGF
from symsme.problems import Problem


def test_registered_names():
    assert MODELS == ("sgf", "sme2", "me", "ha-sme", "ha-me")
    for name in MODELS:
        assert get_model(name).name == name
    assert get_model("HA_SME").name == "ha-sme" and get_model("hasme").name == "ha-sme"


def test_orders_of_me():
    assert get_model("me").order == 2  # type: ignore[attr-defined]
    assert get_model("me5").order == 5  # type: ignore[attr-defined]
    assert get_model("ME-3").order == 3  # type: ignore[attr-defined]
    assert get_model("me", order=4).order == 4  # type: ignore[attr-defined]
    assert get_model("me3", order=3).order == 3  # type: ignore[attr-defined]
    with pytest.raises(OrderError, match="has order 3"):
        get_model("me3", order=4)
    with pytest.raises(OrderError, match="only applies to models 'me' and 'ha-me'"):
        get_model("sgf", order=1)
    with pytest.raises(SymsmeError, match="unknown model 'sgf2'"):
        get_model("sgf2")
    with pytest.raises(OrderError):
        get_model("me", order=-1)


def test_me_k_on_a_quadratic_is_the_truncated_closed_form():
    r"""On :math:`f = x^\top A x/2` with constant noise only the Hessian-aware terms survive, so
    ME-K's drift matrix is :math:`\sum_{k\le K} \eta^k A^{k+1}/(k+1)` (the Taylor series of
    :math:`\psi(I - \eta A) A`) and its diffusion
    :math:`\sum_{a+b\le K} \eta^{a+b} \frac{a!\,b!}{(a+b+1)!} A^a \Sigma A^b`."""
    rng = np.random.default_rng(11)
    q = rng.normal(size=(3, 3))
    a = q @ q.T / 3
    r = rng.normal(size=(3, 3))
    sigma = r @ r.T / 2
    eta = 0.05
    for K in (0, 1, 3):
        want_b = sum(eta**k * np.linalg.matrix_power(a, k + 1) / (k + 1) for k in range(K + 1))
        np.testing.assert_allclose(drift_matrix(f"me{K}", a, eta), want_b, rtol=1e-13)
        want_d = sum(
            eta ** (i + j)
            * factorial(i)
            * factorial(j)
            / factorial(i + j + 1)
            * np.linalg.matrix_power(a, i)
            @ sigma
            @ np.linalg.matrix_power(a, j)
            for i in range(K + 1)
            for j in range(K + 1 - i)
        )
        np.testing.assert_allclose(
            diffusion_matrix(f"me{K}", a, sigma, eta, psd="ignore"), want_d, rtol=1e-13
        )


def test_me_k_laws_converge_to_sgd_on_quadratics():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    sigma = np.array([[1.0, 0.3], [0.3, 0.5]])
    eta, steps = 0.1, 20
    mean, cov = sgd_law(a, sigma, eta, [1.0, 1.0], steps)
    errors = []
    for K in (1, 3, 5):
        m, c = ou_law(f"me{K}", a, sigma, eta, [1.0, 1.0], steps * eta)
        errors.append(max(np.abs(m - mean).max(), np.abs(c - cov).max()))
    assert errors[0] > 10 * errors[1] > 100 * errors[2]
    m, c = ou_law("ha-sme", a, sigma, eta, [1.0, 1.0], steps * eta)
    np.testing.assert_allclose(m, mean, rtol=1e-12)
    np.testing.assert_allclose(c, cov, rtol=1e-12)


class _HalfNoise(SGF):
    """A plug-in model for the test: SGF with half the diffusion."""

    name = "sgf-half"
    label = "SGF/2"

    def evaluate(self, jets, eta, backend, drift, diffusion):
        b, d = super().evaluate(jets, eta, backend, drift, diffusion)
        return b, (None if d is None else d / 2)

    def closed_form_1d(self):
        g0, s0 = sp.symbols("g0 s0")
        return -g0, s0 / 2


def test_a_new_model_is_one_class_and_one_registration(monkeypatch):
    monkeypatch.setitem(REGISTRY, "sgf-half", _HalfNoise)
    monkeypatch.setattr("symsme.models.MODELS", (*MODELS, "sgf-half"))
    problem = Problem("x1**2/2 + x2**2", "x1 x2", "[[1 + x1**2, 0], [0, 2]]")
    b, d = sde_model(problem, "sgf-half", 0.1).drift_diffusion(np.array([0.5, 0.0]))
    np.testing.assert_allclose(d, [[0.625, 0.0], [0.0, 1.0]])
    # the exact laws read the same registry
    m, c = ou_law("sgf-half", [[1.0]], [[2.0]], 0.1, [0.0], 1.0)
    np.testing.assert_allclose(c, [[0.1 * 1.0 * (1 - np.exp(-2.0)) / 2]], rtol=1e-14)
