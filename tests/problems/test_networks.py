"""The two-layer tanh network as a finite sum, and the finite-sum route to the derivatives of
Sigma (per-sample tensors and Leibniz's rule) against the symbolic Sigma."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symsme import Problem
from symsme.errors import ExpressionError, ShapeError
from symsme.problems import network_variables, two_layer_tanh


def test_network_loss_is_the_mean_squared_error():
    p = two_layer_tanh([0, 1, sp.Rational(1, 2)], [1, -1, 0], width=2, batch_size=1)
    assert [v.name for v in p.variables] == ["w1", "w2", "c1", "c2", "a1", "a2"]
    theta = np.array([0.3, -0.7, 0.1, 0.2, 1.5, -0.4])
    w, c, a = theta[:2], theta[2:4], theta[4:]
    outputs = [a @ np.tanh(w * x + c) for x in (0.0, 1.0, 0.5)]
    expected = np.mean([(o - y) ** 2 / 2 for o, y in zip(outputs, (1, -1, 0), strict=True)])
    assert p.values(theta) == pytest.approx(expected, rel=1e-14)
    assert network_variables(1) == ["w1", "c1", "a1"]


def test_network_bad_input():
    with pytest.raises(ShapeError, match="as many targets as inputs"):
        two_layer_tanh([0, 1], [1], 2)
    with pytest.raises(ShapeError, match="width"):
        two_layer_tanh([0], [1], 0)
    with pytest.raises(ShapeError, match="not text"):
        two_layer_tanh("0 1", [1, 2], 1)
    with pytest.raises(ExpressionError, match="input 2"):
        two_layer_tanh([0, float("nan")], [1, 2], 1)


LOSSES = ["(x-1)**2/2 + log(cosh(x*y))", "(y+1)**2/2 + sin(x)", "x**2*y + cos(y)"]


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.floats(-2, 2), min_size=2, max_size=2),
    st.integers(1, 3),
)
def test_finite_sum_sigma_jets_match_the_symbolic_sigma(point, batch):
    """The numpy route (per-sample tensors) against mpmath on the symbolic Sigma, orders 0-3."""
    p = Problem.finite_sum(LOSSES, "x y", batch)
    x = np.array(point)
    for j in range(4):
        fast = p.jets(x, None, j).grad_sigma[j]
        exact = p.jets(x, None, j, backend="mpmath").grad_sigma[j].astype(float)
        np.testing.assert_allclose(fast, exact, rtol=1e-12, atol=1e-12 * np.abs(exact).max())


def test_finite_sum_sigma_jets_batch_shapes():
    p = Problem.finite_sum(LOSSES, "x y", 2)
    pts = np.random.default_rng(0).standard_normal((4, 3, 2))
    jets = p.jets(pts, 1, 2)
    assert jets.grad_sigma[2].shape == (4, 3, 2, 2, 2, 2)
    one = p.jets(pts[1, 2], 1, 2).grad_sigma[2]
    np.testing.assert_allclose(jets.grad_sigma[2][1, 2], one, rtol=1e-15)
    # symmetric in Sigma's indices and in the derivative indices
    s2 = jets.grad_sigma[2]
    np.testing.assert_allclose(s2, np.swapaxes(s2, 2, 3), rtol=1e-14)
    np.testing.assert_allclose(s2, np.swapaxes(s2, 4, 5), rtol=1e-14)


@pytest.mark.parametrize("bad", [None, 3, b"ab", {1: 2}])
def test_network_refuses_non_sequences(bad):
    with pytest.raises(ShapeError, match="inputs"):
        two_layer_tanh(bad, [1], 1)
