"""Deterministic 1-D expectations (symsme.exact.backward) against independent references:
exact Gaussian laws on quadratics (SGD's recursion, the OU laws of SGF and HA-SME), brute-force
enumeration of minibatch sequences, nested Gauss-Hermite quadrature for state-dependent noise,
and the documented errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symsme.errors import (
    AccuracyError,
    DimensionError,
    DivergenceError,
    LimitError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from symsme.exact.backward import sde_expectation, sgd_expectation
from symsme.models import sde_model
from symsme.problems import Problem

COS = Problem("cos(x)", "x")


def gaussian_cos(mean: float, var: float) -> float:
    """E cos(X) for X ~ N(mean, var)."""
    return math.exp(-var / 2) * math.cos(mean)


def sgd_quadratic_law(a: float, s: float, eta: float, x0: float, k: int) -> tuple[float, float]:
    m = 1 - eta * a
    return m**k * x0, sum(m ** (2 * j) for j in range(k)) * eta**2 * s


@given(
    a=st.sampled_from([0.5, 1.0, 2.5, -0.4]),
    s=st.sampled_from([0.25, 1.0, 2.0]),
    eta=st.sampled_from([0.05, 0.1, 0.2]),
    x0=st.sampled_from([-1.0, 0.3, 2.0]),
)
def test_sgd_on_quadratics_is_exact(a, s, eta, x0):
    k = 8
    p = Problem(f"{a}*x**2/2", "x", str(s))
    e = sgd_expectation(p, COS, x0, eta, k)
    exact = gaussian_cos(*sgd_quadratic_law(a, s, eta, x0, k))
    assert abs(e.value - exact) <= e.error_bound + 1e-13
    assert e.error_bound <= 1e-10


@pytest.mark.parametrize("a,s,eta", [(1.5, 1.0, 0.1), (0.7, 2.0, 0.25), (3.0, 0.5, 0.05)])
def test_hasme_law_on_quadratics_equals_sgd(a, s, eta):
    """The central claim, through the Kolmogorov route: HA-SME at T = K eta has SGD's law."""
    k = round(1 / eta)
    p = Problem(f"{a}*x**2/2", "x", str(s))
    e = sde_expectation(sde_model(p, "ha-sme", eta), COS, 1.0, k * eta)
    exact = gaussian_cos(*sgd_quadratic_law(a, s, eta, 1.0, k))
    assert abs(e.value - exact) <= e.error_bound + 1e-13 and e.error_bound <= 1e-10


def test_sgf_on_a_quadratic_is_its_ou_law():
    a, s, eta, t = 1.5, 1.0, 0.1, 1.0
    p = Problem(f"{a}*x**2/2", "x", str(s))
    e = sde_expectation(sde_model(p, "sgf", eta), COS, 1.0, t)
    mean = math.exp(-a * t)
    var = eta * s * (1 - math.exp(-2 * a * t)) / (2 * a)
    assert abs(e.value - gaussian_cos(mean, var)) <= e.error_bound + 1e-13


def test_minibatch_mixture_against_enumeration():
    losses = ["(x-1)**2/2 + log(cosh(x))", "(x+1)**2/2", "x**2 + log(cosh(x+1))"]
    p = Problem.finite_sum(losses, "x", 2)
    eta, k, x0 = 0.2, 3, 0.7
    grads = [
        lambda x: (x - 1) + math.tanh(x),
        lambda x: x + 1,
        lambda x: 2 * x + math.tanh(x + 1),
    ]
    total = 0.0
    batches = list(itertools.product(range(3), repeat=2))
    for path in itertools.product(batches, repeat=k):
        x = x0
        for batch in path:
            x -= eta * sum(grads[i](x) for i in batch) / 2
        total += math.cos(x)
    exact = total / len(batches) ** k
    e = sgd_expectation(p, COS, x0, eta, k)
    assert abs(e.value - exact) <= e.error_bound + 1e-13


def test_state_dependent_noise_against_nested_quadrature():
    p = Problem("x**2/2 + log(cosh(x))", "x", "1 + sin(x)/2")
    eta, x0 = 0.3, 0.4
    z, w = np.polynomial.hermite.hermgauss(60)
    w = w / math.sqrt(math.pi)

    def step(x):  # all successors of the points x and their weights
        s = np.sqrt(1 + np.sin(x) / 2)
        return (x - eta * (x + np.tanh(x)))[..., None] - eta * s[..., None] * math.sqrt(2) * z

    x2 = step(step(np.array(x0)))
    exact = float(np.einsum("i,j,ij->", w, w, np.cos(x2)))
    e = sgd_expectation(p, COS, x0, eta, 2)
    assert abs(e.value - exact) <= e.error_bound + 1e-13


def test_errors():
    p2 = Problem("x**2 + y**2", "x y", "[[1, 0], [0, 1]]")
    with pytest.raises(DimensionError, match="d = 2"):
        sgd_expectation(p2, Problem("x", "x y"), [0, 0], 0.1, 2)
    with pytest.raises(NotPositiveSemidefiniteError, match="Sigma is negative at x ="):
        sgd_expectation(Problem("x**2/2", "x", "x"), COS, 1.0, 0.1, 3)
    with pytest.raises(DivergenceError, match="spreads without bound|diverges"):
        sgd_expectation(Problem("x**2/2", "x", "1"), COS, 1.0, 3, 40)
    with pytest.raises(AccuracyError, match="below the rounding floor"):
        sgd_expectation(Problem("x**2/2 + log(cosh(x))", "x", "1"), COS, 1.0, 0.1, 10, tol=1e-17)
    with pytest.raises(ShapeError, match="tol"):
        sgd_expectation(Problem("x**2/2", "x", "1"), COS, 1.0, 0.1, 10, tol=0)
    many = Problem.finite_sum([f"(x - {i})**2/2" for i in range(30)], "x", 6)
    with pytest.raises(LimitError, match="minibatches"):
        sgd_expectation(many, COS, 1.0, 0.1, 2)
    with pytest.raises(ShapeError, match="finite_sum"):
        sgd_expectation(Problem("x**2/2", "x", "1"), COS, 1.0, 0.1, 2, noise="minibatch")
