"""Problems: parsing, validation, derivative tensors and batched numeric jets."""

from __future__ import annotations

import itertools
import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symsme.errors import (
    ExpressionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    OrderError,
    ShapeError,
)
from symsme.problems import Problem

LOSS = "x1**4/4 + x1*x2**2 - exp(x2/3) + cos(x1 - x2)"
SIGMA = "[[1 + x1**2, x1*x2/2], [x1*x2/2, 1 + sin(x2)**2]]"


@pytest.fixture(scope="module")
def problem() -> Problem:
    return Problem.from_strings(LOSS, "x1 x2", SIGMA)


def test_symbolic_tensors(problem: Problem) -> None:
    x1, x2 = problem.variables
    f = problem.loss
    h = problem.grad_f(2)
    assert h.shape == (2, 2) and h[0, 1] == h[1, 0] == sp.diff(f, x1, x2)
    t = problem.grad_f(3)
    assert t.shape == (2, 2, 2) and t[0, 1, 1] == sp.diff(f, x1, x2, x2)
    assert sp.simplify(t[1, 0, 1] - t[0, 1, 1]) == 0
    # Sigma's indices first, then the derivative indices.
    ds = problem.grad_sigma(1)
    assert ds.shape == (2, 2, 2)
    for p, q, a in itertools.product(range(2), repeat=3):
        assert ds[p, q, a] == sp.diff(problem.sigma[p, q], problem.variables[a])
    assert ds[0, 0, 0] == 2 * x1 and ds[0, 0, 1] == 0
    assert problem.grad_sigma(0).tolist() == problem.sigma.tolist()
    with pytest.raises(OrderError):
        problem.grad_f(0)
    with pytest.raises(OrderError):
        problem.grad_sigma(-1)


def _symbolic_at(array: sp.NDimArray, problem: Problem, point: np.ndarray) -> np.ndarray:
    subs = {v: sp.Rational(float(c)) for v, c in zip(problem.variables, point, strict=True)}
    return np.array(array.subs(subs).applyfunc(lambda e: e.evalf(30)).tolist(), dtype=float)


@settings(deadline=None, max_examples=10)
@given(st.lists(st.floats(-2, 2), min_size=2, max_size=2))
def test_jets_match_symbolic(coords: list[float]) -> None:
    problem = _PROBLEM
    point = np.array(coords)
    jets = problem.jets(point, 3, 1)
    for j in (1, 2, 3):
        expected = _symbolic_at(problem.grad_f(j), problem, point)
        np.testing.assert_allclose(jets.grad_f[j], expected, rtol=1e-13, atol=1e-13)
    for j in (0, 1):
        expected = _symbolic_at(problem.grad_sigma(j), problem, point)
        np.testing.assert_allclose(jets.grad_sigma[j], expected, rtol=1e-13, atol=1e-13)
    with mpmath.workdps(30):
        precise = problem.jets(point, 2, 0, backend="mpmath")
        expected = _symbolic_at(problem.grad_f(2), problem, point)
        np.testing.assert_allclose(precise.hessian.astype(float), expected, rtol=1e-15)
        assert isinstance(precise.hessian[0, 0], mpmath.mpf)


_PROBLEM = Problem.from_strings(LOSS, "x1 x2", SIGMA)


def test_jets_batch_shapes_and_cache(problem: Problem) -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(4, 3, 2))
    jets = problem.jets(pts, 2, 1)
    assert jets.gradient.shape == (4, 3, 2)
    assert jets.hessian.shape == (4, 3, 2, 2)
    assert jets.grad_sigma[1].shape == (4, 3, 2, 2, 2)
    single = problem.jets(pts[2, 1], 2, 1)
    np.testing.assert_array_equal(single.hessian, jets.hessian[2, 1])
    np.testing.assert_array_equal(single.grad_sigma[1], jets.grad_sigma[1][2, 1])
    cached = dict(problem._plans["numpy"]._functions)
    problem.jets(pts, 2, 1)
    assert cached and all(problem._plans["numpy"]._functions[k] is cached[k] for k in cached)
    only_sigma = problem.jets(pts, None, 0)
    assert only_sigma.grad_f == {} and only_sigma.sigma.shape == (4, 3, 2, 2)
    # Constant components broadcast to the batch shape.
    quad = Problem.quadratic([[2, 1], [1, 3]], [[1, 0], [0, 1]])
    h = quad.jets(np.zeros((5, 2)), 2, 0).hessian
    assert h.shape == (5, 2, 2) and np.all(h == [[2, 1], [1, 3]])


def test_finite_sum_covariance_by_enumeration() -> None:
    # Sigma = (1/B)((1/n) sum g_i g_i^T - g g^T) equals the covariance of the minibatch
    # gradient over all n^B equally likely batches drawn with replacement.
    losses = ["(x1 - 1)**2/2 + x2**4/4", "x1*x2 + (x1 + 1)**2/2", "exp(x1/2) + x2**2"]
    n, batch = len(losses), 2
    problem = Problem.finite_sum(losses, "x1 x2", batch)
    assert problem.batch_size == batch and len(problem.per_sample_losses) == n
    point = np.array([0.3, -0.7])
    grads = np.array(
        [Problem.from_strings(fi, "x1 x2").jets(point, 1, None).gradient for fi in losses]
    )
    batch_grads = np.array(
        [grads[list(b)].mean(axis=0) for b in itertools.product(range(n), repeat=batch)]
    )
    expected = np.cov(batch_grads.T, bias=True)
    jets = problem.jets(point, 1, 0)
    np.testing.assert_allclose(jets.sigma, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jets.gradient, grads.mean(axis=0), rtol=1e-14)


def test_one_dimensional_forms() -> None:
    a = Problem.from_strings("x**4/4", "x", "1 + x**2")
    b = Problem.from_strings("x**4/4", "x", "[[1 + x**2]]")
    c = Problem("x**4/4", "x", [["1 + x**2"]])
    assert a.sigma == b.sigma == c.sigma and a.dim == 1
    assert a.jets(np.array([[2.0]]), 1, 0).sigma.shape == (1, 1, 1)
    assert Problem("x**2/2", ["x"], 0.1).sigma[0, 0] == sp.Rational(0.1)  # exact binary value
    assert Problem.from_strings("x**2/2", "x", "0.1").sigma[0, 0] == sp.Rational(1, 10)
    assert Problem("x**2", "x").sigma[0, 0] == 0
    # SymPy Floats in user expressions become their exact binary rationals.
    x = sp.Symbol("x")
    assert not Problem(sp.Float(0.25) * x**2, "x", 1).loss.atoms(sp.Float)


def test_quadratic_constructor() -> None:
    quad = Problem.quadratic([[2, 1], [1, 3]], [[1, 0], [0, 2]])
    x1, x2 = quad.variables
    assert sp.expand(quad.loss - (x1**2 + x1 * x2 + sp.Rational(3, 2) * x2**2)) == 0
    with pytest.raises(ExpressionError, match=r"A\[0, 1\]"):
        Problem.quadratic([[2, 1], [0, 3]], [[1, 0], [0, 2]])


@pytest.mark.parametrize(
    ("args", "error", "needles"),
    [
        (("x1**2", "x1 x2", "[[1]]"), ShapeError, ["1 x 1", "d = 2"]),
        (("x1**2", "x1", "[[1, 0], [0, 1]]"), ShapeError, ["2 x 2", "d = 1"]),
        (("x1**2", "x1 x2", "[[1, 0], [0]]"), ShapeError, ["square"]),
        (("x1**2", "x1 x2", "3"), ShapeError, ["scalar", "d = 2"]),
        (("x1", "x1 x2", "[[1, 2], [3, 1]]"), ExpressionError, [r"Sigma\[0, 1\] = 2", "3"]),
        (("x1", "x1 x2", "[[1, x1], [2*x1, 1]]"), ExpressionError, ["not symmetric"]),
        (("x1", "x1 x2", "[[1, 2], [2, 1]]"), NotPositiveSemidefiniteError, ["-1.0"]),
        (("x1 + y", "x1", "1"), ExpressionError, ["y"]),
        (("x1", "x1", "1 + q"), ExpressionError, ["q"]),
        (("x1 +* 2", "x1", "1"), ExpressionError, ["cannot parse", r"x1 \+\* 2"]),
        (("x1", "x1", "[[1 +"), ExpressionError, ["cannot parse"]),
        (("x1", "x1 x1", "[[1, 0], [0, 1]]"), ExpressionError, ["x1"]),
        (("g(x1)", "x1", "1"), ExpressionError, ["unknown function", "g"]),
    ],
)
def test_validation_errors(args: tuple, error: type, needles: list[str]) -> None:
    with pytest.raises(error) as info:
        Problem.from_strings(*args)
    for needle in needles:
        assert re.search(needle, str(info.value)), (needle, info.value)


def test_finite_sum_errors() -> None:
    with pytest.raises(ShapeError, match="batch_size"):
        Problem.finite_sum(["x**2"], "x", 0)
    with pytest.raises(ShapeError, match="non-empty"):
        Problem.finite_sum([], "x", 1)
    with pytest.raises(ExpressionError, match="f_2"):
        Problem.finite_sum(["x**2", "x*z"], "x", 1)


def test_point_errors(problem: Problem) -> None:
    with pytest.raises(ShapeError, match="length 3"):
        problem.jets(np.zeros((4, 3)), 1)
    with pytest.raises(ShapeError, match="scalar"):
        problem.jets(1.0, 1)
    with pytest.raises(NonFiniteError, match="nan"):
        problem.jets(np.array([[0.0, 0.0], [np.nan, 1.0]]), 1)
    with pytest.raises(NonFiniteError, match="inf"):
        problem.jets(np.array([np.inf, 1.0]), 1, backend="mpmath")
    with pytest.raises(OrderError):
        problem.jets(np.zeros(2), 0)
    log_problem = Problem.from_strings("x*log(x)", "x", "1")
    with pytest.raises(NonFiniteError, match=r"grad\^1 f.*-1.0"):
        log_problem.jets(np.array([[1.0], [-1.0]]), 1)


def test_mpmath_jets_keep_full_precision() -> None:
    # Rational constants must be evaluated at the working precision, not as float64.
    problem = Problem.from_strings("x1**3/3 + x1*x2/7", "x1 x2", "[[1/3 + x1**2, 0], [0, 2/7]]")
    with mpmath.workdps(50):
        jets = problem.jets(np.array(["0.1", "0.3"], dtype=object), 2, 0, backend="mpmath")
        x1 = mpmath.mpf("0.1")
        assert abs(jets.gradient[0] - (x1**2 + mpmath.mpf("0.3") / 7)) < mpmath.mpf(10) ** -48
        assert abs(jets.sigma[0, 0] - (mpmath.mpf(1) / 3 + x1**2)) < mpmath.mpf(10) ** -48
        assert abs(jets.sigma[1, 1] - mpmath.mpf(2) / 7) < mpmath.mpf(10) ** -48


def test_check_start_is_the_one_start_point_check() -> None:
    """simulate, exit_times and weak_order all validate x0 through Problem.check_start."""
    from symsme.errors import NonFiniteError

    p = Problem("x**2 + y**2", "x y")
    np.testing.assert_array_equal(p.check_start([1, 2]), [1.0, 2.0])
    np.testing.assert_array_equal(Problem("x**2", "x").check_start(0.5), [0.5])
    with pytest.raises(ShapeError, match="length 2"):
        p.check_start([1, 2, 3])
    with pytest.raises(ShapeError, match="numbers"):
        p.check_start(["a", "b"])
    with pytest.raises(NonFiniteError):
        p.check_start([1, float("nan")])
