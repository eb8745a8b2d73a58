"""Monte Carlo of SGD and of the SDE models against exact laws, with stated seeds and
tolerances; reproducibility across batchings; the integrator's own weak order; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symsme import Problem
from symsme.cli import main
from symsme.errors import (
    DivergenceError,
    HessianConditionError,
    LimitError,
    NotPositiveSemidefiniteError,
    ShapeError,
    SymsmeError,
)
from symsme.exact.quadratic import ou_law, sgd_law
from symsme.simulate import simulate

A = [[2.0, 0.5], [0.5, 1.0]]
S = [[1.0, 0.3], [0.3, 0.5]]


def test_gaussian_sgd_matches_the_exact_law():
    """Seed 7, 40,000 paths: mean within 4 standard errors of SGD's exact mean, covariance
    within 4% (its relative standard error is about 1%)."""
    p = Problem.quadratic(A, S)
    r = simulate("sgd", p, [1.0, -1.0], eta=0.1, steps=20, paths=40_000, seed=7)
    mean, cov = sgd_law(np.array(A), np.array(S), 0.1, [1.0, -1.0], 20)
    assert np.all(np.abs(r.mean - mean) < 4 * r.stderr_mean)
    np.testing.assert_allclose(r.cov, cov, rtol=0.04, atol=0.04 * np.abs(cov).max())


@pytest.mark.parametrize("replace", [True, False])
def test_minibatch_sgd_matches_the_exact_law(replace):
    r"""f_i = (x - c_i)^2/2: the minibatch gradient is x - mean(c_batch), whose noise has the
    constant variance var(c)/B with replacement and var(c)/B (n - B)/(n - 1) without; SGD's
    mean and variance recursions are exact for any noise.  Seed 11, 40,000 paths, tolerances
    as above."""
    c = np.array([1.0, -1.0, 0.5, 2.0])
    n, batch = len(c), 2
    p = Problem.finite_sum([f"(x - ({v}))**2/2" for v in c], "x", batch)
    var = c.var() / batch * (1 if replace else (n - batch) / (n - 1))
    r = simulate("sgd", p, [3.0], eta=0.2, steps=10, paths=40_000, seed=11, replace=replace)
    mean, cov = sgd_law([[1.0]], [[var]], 0.2, [3.0 - c.mean()], 10)
    assert abs(r.mean[0] - c.mean() - mean[0]) < 4 * r.stderr_mean[0]
    assert r.cov[0, 0] == pytest.approx(cov[0, 0], rel=0.04)


def test_results_do_not_depend_on_the_number_of_paths():
    p = Problem("x1**4/4 + x2**2/2", "x1 x2", "[[1 + x1**2, 0], [0, 1]]")
    many = simulate("sgd", p, [0.5, 0.5], eta=0.05, steps=5, paths=600, seed=3)
    few = simulate("sgd", p, [0.5, 0.5], eta=0.05, steps=5, paths=300, seed=3)
    np.testing.assert_array_equal(many.samples[:300], few.samples)
    other = simulate("sgd", p, [0.5, 0.5], eta=0.05, steps=5, paths=300, seed=4)
    assert not np.array_equal(other.samples, few.samples)
    hasme = simulate("ha-sme", p, [0.5, 0.5], eta=0.05, steps=5, paths=300, seed=3)
    again = simulate("ha-sme", p, [0.5, 0.5], eta=0.05, steps=5, paths=260, seed=3)
    np.testing.assert_array_equal(hasme.samples[:260], again.samples)


def test_euler_maruyama_has_weak_order_one():
    """SGF on f = x^2/2, Sigma = 1, eta = 1/2 is the OU process dX = -X dt + (1/2)^{1/2} dW;
    E X_1 = e^{-1} x0.  Euler-Maruyama with h = 1/2 .. 1/16 (common seed 5, 200,000 paths,
    stderr about 1e-3): the fitted slope of log|error| against log h is 1 within 0.15."""
    p = Problem("x**2/2", "x", "1")
    hs, errors = [], []
    for substeps in (1, 2, 4, 8):
        r = simulate("sgf", p, [1.0], eta=0.5, steps=2, paths=200_000, seed=5, substeps=substeps)
        hs.append(0.5 / substeps)
        errors.append(abs(r.mean[0] - np.exp(-1.0)))
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert slope == pytest.approx(1.0, abs=0.15)


def test_hasme_simulation_approaches_its_exact_law():
    """HA-SME by Euler-Maruyama with 8 substeps on a quadratic: mean within the O(h) bias plus
    4 standard errors of its exact OU law (seed 2, 20,000 paths)."""
    p = Problem.quadratic(A, S)
    r = simulate("ha-sme", p, [1.0, -1.0], eta=0.1, steps=10, paths=20_000, seed=2, substeps=8)
    mean, _ = ou_law("ha-sme", np.array(A), np.array(S), 0.1, [1.0, -1.0], 1.0)
    assert np.all(np.abs(r.mean - mean) < 4 * r.stderr_mean + 0.01)


def test_bad_input_and_failures():
    p = Problem("x**4/4", "x", "1")
    with pytest.raises(DivergenceError, match="step"):
        simulate("sgd", p, [3.0], eta=1.0, steps=50, paths=10, seed=0)
    with pytest.raises(HessianConditionError, match="x = "):
        simulate("ha-sme", p, [3.0], eta=0.5, steps=2, paths=10, seed=0)
    with pytest.raises(ShapeError):
        simulate("sgd", p, [1.0, 2.0], eta=0.1, steps=2, paths=10, seed=0)
    with pytest.raises(LimitError):
        simulate("sgd", p, [1.0], eta=0.1, steps=10**6, paths=10**6, seed=0)
    for kwargs in ({"steps": 0}, {"paths": 0}, {"seed": -1}):
        with pytest.raises(Exception) as info:
            simulate("sgd", p, [1.0], eta=0.1, **{"steps": 2, "paths": 2, "seed": 0, **kwargs})
        assert info.type.__module__ == "symsme.errors"


BASE = ["simulate", "--loss", "x1**2 + x2**2/2", "--vars", "x1,x2", "--sigma", "[[1, 0], [0, 1]]"]


def test_cli_contract(capsys):
    argv = [*BASE, "--x0", "1,-1", "--eta", "0.1", "--steps", "5", "--paths", "500"]
    status = main([*argv, "--seed", "1", "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    data = json.loads(out)
    assert set(data) >= {"mean", "cov", "stderr_mean", "paths"} and data["paths"] == 500
    assert np.asarray(data["cov"]).shape == (2, 2)
    status = main([*argv, "--seed", "1", "--format", "json"])
    assert json.loads(capsys.readouterr()[0]) == data  # the seed fixes the result


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--scheme", "milstein"], "scheme"),
        (["--model", "adam"], "unknown model"),
        (["--paths", "0"], "paths"),
    ],
)
def test_cli_bad_input(capsys, extra, needle):
    argv = [*BASE, "--x0", "1,-1", "--eta", "0.1", "--steps", "5", "--paths", "50", "--seed", "1"]
    status = main([*argv, *extra])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and needle in err, err


def test_an_unstable_euler_step_is_refused_with_the_substeps_needed():
    """HA-SME at eta*lambda = 0.9 has drift rate -log(0.1)/eta = 15.35: explicit Euler with
    h = eta = 0.15 (h*rate = 2.3) would oscillate and grow; the run asks for 2 substeps."""
    p = Problem.quadratic([[1.0, 0.0], [0.0, 6.0]], [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(SymsmeError, match="substeps >= 2"):
        simulate("ha-sme", p, [1.0, -1.0], eta=0.15, steps=3, paths=10, seed=0)
    r = simulate("ha-sme", p, [1.0, -1.0], eta=0.15, steps=3, paths=4000, seed=0, substeps=8)
    mean, _ = ou_law("ha-sme", [[1.0, 0.0], [0.0, 6.0]], np.eye(2), 0.15, [1.0, -1.0], 0.45)
    assert np.all(np.abs(r.mean - mean) < 4 * r.stderr_mean + 0.02)


def test_a_singular_sigma_elsewhere_does_not_change_a_path():
    """Each path's noise factor depends on its own Sigma only: path 0 is the same whether its
    batch contains numerically singular Sigma's or not (found by review)."""
    p = Problem("x1**2/2 + x2**2/2", "x1 x2", "[[1, 1], [1, 1 + exp(50*x1)]]")
    first = [
        simulate("sgd", p, [-0.2, 0.0], eta=0.3, steps=3, paths=n, seed=3).samples[0]
        for n in (1, 10, 257, 2000)
    ]
    for other in first[1:]:
        np.testing.assert_array_equal(other, first[0])


def test_statistics_need_two_paths_and_sgd_takes_no_substeps():
    p = Problem("x**2", "x", "1")
    r = simulate("sgd", p, [1.0], eta=0.1, steps=2, paths=1, seed=0)
    assert r.samples.shape == (1, 1)
    with pytest.raises(ShapeError, match="2 paths"):
        r.cov  # noqa: B018
    with pytest.raises(ShapeError, match="substeps"):
        simulate("sgd", p, [1.0], eta=0.1, steps=2, paths=2, seed=0, substeps=3)
    assert simulate("SGD", p, [1.0], eta=0.1, steps=2, paths=2, seed=0).paths == 2


@pytest.mark.parametrize("model", ["ha-sme", "sgf", "me3"])
def test_exact_ou_sampling_matches_the_exact_law(model):
    """scheme='exact' on f = x^T A x/2 + g.x with constant noise (non-commuting, a linear term,
    eta*lambda_max = 0.9 where Euler needs substeps): the law of X - x* is ou_law's from
    x0 - x*; seed 13, 40,000 paths, mean within 4 standard errors, covariance within 4%."""
    a = np.array([[1.0, 0.4], [0.4, 5.0]])
    s = np.array([[1.0, 0.3], [0.3, 0.6]])
    g = np.array([1.0, -1.0])
    eta = 0.9 / np.linalg.eigvalsh(a)[-1]
    loss = "x1**2/2 + 0.4*x1*x2 + 5*x2**2/2 + x1 - x2"
    p = Problem(loss, "x1 x2", s.tolist())
    x_star = -np.linalg.solve(a, g)
    r = simulate(
        model, p, [1.0, -1.0], eta=eta, steps=4, paths=40_000, seed=13, scheme="exact", psd="clip"
    )
    mean, cov = ou_law(model, a, s, eta, np.array([1.0, -1.0]) - x_star, 4 * eta, psd="clip")
    assert np.all(np.abs(r.mean - x_star - mean) < 4 * r.stderr_mean)
    np.testing.assert_allclose(r.cov, cov, rtol=0.04, atol=0.04 * np.abs(cov).max())


def test_exact_sampling_needs_a_quadratic():
    p = Problem("x**4/4", "x", "1")
    with pytest.raises(ShapeError, match="quadratic"):
        simulate("ha-sme", p, [0.1], eta=0.1, steps=2, paths=2, seed=0, scheme="exact")
    q = Problem("x**2/2", "x", "1 + x**2")
    with pytest.raises(ShapeError, match="constant Sigma"):
        simulate("sgf", q, [0.1], eta=0.1, steps=2, paths=2, seed=0, scheme="exact")
    with pytest.raises(ShapeError, match="SDE model"):
        simulate("sgd", q, [0.1], eta=0.1, steps=2, paths=2, seed=0, scheme="exact")


def test_cli_exact_scheme(capsys):
    argv = ["simulate", "--loss", "x**2/2", "--vars", "x", "--sigma", "1", "--x0", "1"]
    argv += ["--eta", "0.5", "--steps", "4", "--paths", "4000", "--seed", "2"]
    assert main([*argv, "--model", "ha-sme", "--scheme", "exact", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr()[0])
    # HA-SME is exact in law on quadratics: E X = (1 - eta)^4 x0
    assert abs(data["mean"][0] - 0.5**4) < 4 * data["stderr_mean"][0]


def test_diagonal_sigma_fast_path_gives_the_same_numbers():
    from symsme.simulate.processes import GaussianSGD
    from symsme.simulate.rng import PathsRandom

    p = Problem("x1**4/4 + x2**2/2 + x1*x2/4", "x1 x2", "[[1 + x1**2/2, 0], [0, 1 + x2**2]]")
    assert p.diagonal_sigma and not Problem("x1*x2", "x1 x2", "[[1, x1], [x1, 1]]").diagonal_sigma
    fast, full = GaussianSGD(p, 0.1), GaussianSGD(p, 0.1)
    full.diagonal = False
    x = np.random.default_rng(2).normal(size=(300, 2))
    np.testing.assert_allclose(
        fast.step(x, PathsRandom(7, 300)), full.step(x, PathsRandom(7, 300)), rtol=0, atol=1e-15
    )
    with pytest.raises(NotPositiveSemidefiniteError, match="x = "):
        GaussianSGD(Problem("x1**2 + x2**2", "x1 x2", "[[x1, 0], [0, 1]]"), 0.1).step(
            np.array([[-1.0, 0.0]]), PathsRandom(0, 1)
        )


def test_exit_times_monitored_at_whole_steps_come_later():
    """A model's exit monitored only at whole SGD steps is never earlier than at every
    substep, and on a quadratic maximum it is later on average; SGD has no second time."""
    from symsme.simulate.exits import Interval, exit_times

    p = Problem("-x**2/2", "x", "1")
    model = exit_times("sgf", p, [0.0], Interval(-1, 1), eta=0.2, paths=2000, seed=1, substeps=8)
    assert model.step_times is not None
    assert np.all(model.step_times >= model.times)
    assert model.step_mean > model.mean + 3 * model.step_stderr / 10
    # whole-step times are multiples of eta
    np.testing.assert_allclose(model.step_times / 0.2, np.round(model.step_times / 0.2), atol=1e-9)
    sgd = exit_times("sgd", p, [0.0], Interval(-1, 1), eta=0.2, paths=200, seed=1)
    assert sgd.step_times is None and sgd.step_mean is None
