"""Regression tests for every case of the adversarial review (issue 7): each bad input gets one
short line and exit 2 on the command line (no traceback, no file, nothing run) or a
SymsmeError naming it in Python; no silent wrong number; no hang."""

from __future__ import annotations

import json
import time

import mpmath
import numpy as np
import pytest

from symsme import Problem, clear_cache, identify_hessian_aware, sde_model
from symsme.cli import main
from symsme.errors import LimitError, ShapeError, StepSizeError, SymsmeError

EVAL = ["evaluate", "--loss", "x**2/2", "--vars", "x", "--sigma", "1", "--model", "sgf"]


def run(capsys, *args):
    start = time.perf_counter()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err, time.perf_counter() - start


def assert_one_line_error(status, err, elapsed, needle=""):
    assert status == 2
    assert err.startswith("symsme: error: ") and err.count("\n") == 1, err
    assert len(err) < 400 and "Traceback" not in err
    assert needle in err
    assert elapsed < 10


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["derive", "--order", "40"], "limit 11"),
        (["derive", "--order", "99999999999999999999"], "limit"),
        (["derive", "--order", "3", "--moments", "1000"], "moments 1000"),
        (["derive", "--dim", "d", "--order", "9"], "limit 6"),
        (["derive", "--order", "3", "--moments", "4", "--through", "500"], "through 500"),
        ([*EVAL, "--eta=1e999999999", "--at", "0.1"], "exponent"),
        ([*EVAL, "--eta=1e400", "--at", "0.1"], "float64"),
        ([*EVAL, "--eta", "1e-400", "--at", "0.1"], "float64"),
        ([*EVAL, "--eta", "0.1", "--at", "0.1", "--precision", "1000000000"], "limit 10000"),
        ([*EVAL, "--eta", "-0.1", "--at", "0.1"], "eta"),
        ([*EVAL[:-1], "me", "--order", "30", "--eta", "0.1", "--at", "0.1"], "limit 6"),
    ],
)
def test_unbounded_requests_are_refused_before_any_work(capsys, args, needle):
    status, out, err, elapsed = run(capsys, *args)
    assert_one_line_error(status, err, elapsed, needle)
    assert elapsed < 5 and out == ""


def test_force_lifts_a_limit_and_negative_points_parse(capsys):
    status, out, err, _ = run(capsys, *EVAL, "--eta", "0.1", "--at", "-1")
    assert status == 0 and json.loads(main_json(capsys, "--at", "-1"))["drift"] == [1.0]


def main_json(capsys, *extra):
    status = main([*EVAL, "--eta", "0.1", *extra, "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def test_json_is_strict_and_says_what_float64_cannot_hold(capsys):
    out = main_json(capsys, "--at", "1e200", "--precision", "30")
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["drift"] == [-1e200]
    status = main(
        ["evaluate", "--loss", "x**4", "--vars", "x", "--sigma", "1", "--model", "sgf"]
        + ["--eta", "1e-400", "--at", "1e200", "--precision", "30", "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["eta"] == "1.0e-400" and data["drift"] == ["-4.0e+600"]


def test_derivations_out_on_a_file(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    status, _, err, elapsed = run(capsys, "derivations", "--out", str(target))
    assert_one_line_error(status, err, elapsed, "not a folder")
    assert target.read_text() == "x"


def test_python_entry_points_raise_symsme_errors(tmp_path, monkeypatch):
    p = Problem("x1**2/2 + x2**4/4", "x1 x2", "[[1 + x1**2, 0], [0, 1]]")
    with pytest.raises(ShapeError, match="complex"):
        sde_model(p, "sgf", 0.1).drift(np.array([1 + 1j, 0.2]))
    for bad in (["abc", 0.2], [None, 0.2], [1 + 1j, 0.2]):
        with pytest.raises(ShapeError):
            sde_model(p, "sgf", 0.1, backend="mpmath").drift(bad)
    b, d = sde_model(p, "ha-sme", 0.1, backend="mpmath").drift_diffusion(np.zeros((0, 2)))
    assert b.shape == (0, 2) and d.shape == (0, 2, 2)
    with pytest.raises(ShapeError):
        Problem.finite_sum(None, "x", 1)  # type: ignore[arg-type]
    with pytest.raises(SymsmeError):
        identify_hessian_aware(None)  # type: ignore[arg-type]
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    (tmp_path / "entry.pickle").mkdir()
    assert clear_cache() == 0
    with pytest.raises(LimitError):
        sde_model(p, "me", 0.1, order=20)
    with pytest.raises(StepSizeError):
        sde_model(p, "sgf", float("nan"))


def test_psd_check_of_a_rounded_constant_sigma_is_scale_aware():
    # 0.1 * [[1, 1], [1, 1]] is PSD; rounded to float64 its smaller eigenvalue is ~1e-18
    Problem("x1", "x1 x2", np.array([[1.0, 1.0], [1.0, 1.0]]) * 0.1)
    Problem("x1", "x1 x2", np.array([[1.0, 1.0], [1.0, 1.0]]) * 1e12 + np.eye(2) * -1e-5)


def test_mpmath_precision_is_not_changed_by_the_command_line(capsys):
    before = mpmath.mp.dps
    main_json(capsys, "--at", "0.3", "--precision", "60")
    assert mpmath.mp.dps == before


def test_a_finite_diffusion_near_float64_max_is_finite(recwarn):
    """D at the 1e307 scale: D/2 + D^T/2 and a scaled norm, so no overflow and no warning."""
    p = Problem("x1**2/2 + x2**2/2", "x1 x2", np.array([[1e307, 2e306], [2e306, 1e307]]))
    _, d = sde_model(p, "ha-sme", 0.1).drift_diffusion(np.array([0.1, 0.2]))
    assert np.all(np.isfinite(d)) and d[0, 0] > 1e307
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: Problem(float("nan"), "x"), "nan"),
        (lambda: Problem("x**2", "x", np.array([[np.nan]])), "nan"),
        (lambda: Problem.quadratic([[np.inf]], [[1.0]]), "inf"),
        (lambda: Problem("x**2", "x", 1 + 2j), "complex"),
    ],
)
def test_non_finite_and_complex_inputs_are_errors(make, needle):
    with pytest.raises(SymsmeError, match=needle):
        make()


# --- found by the adversarial review of this change ------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        "sqrt(x**2)",  # SymPy rewrites it as Abs(x)
        "(x**4)**(1/4)",
        "sqrt((x - 1)**2)",
    ],
)
def test_non_smooth_functions_made_by_sympy_are_refused(capsys, loss):
    status, _, err, elapsed = run(
        capsys, *EVAL[:-1], "sme2", "--loss", loss, "--eta", "0.1", "--at", "0"
    )
    assert_one_line_error(status, err, elapsed, "not smooth")


def test_sympy_input_meets_the_same_allow_list():
    import sympy as sp

    x = sp.Symbol("x")
    for loss in (sp.Abs(x), sp.Piecewise((x, x > 0), (0, True)), sp.Max(x, 0), sp.sign(x)):
        with pytest.raises(SymsmeError, match="not smooth"):
            Problem(loss, "x")
    for loss in (sp.gamma(x), sp.loggamma(x), sp.besselj(0, x), sp.Integral(x, x)):
        with pytest.raises(SymsmeError, match="does not evaluate"):
            Problem(loss, "x")
    with pytest.raises(SymsmeError, match="not smooth"):
        Problem("x**2", "x", 1 + sp.sign(x))
    positive = sp.Symbol("x", positive=True)
    with pytest.raises(SymsmeError, match="declared .*positive"):
        Problem(sp.sqrt(positive**2), "x")  # SymPy made it x: wrong for x < 0


def test_lambdify_refuses_complex_and_bad_points():
    from symsme import lambdify_1d

    f = lambdify_1d("g0", "x**4", "1", eta=0.1)
    for bad in (np.array([0.5 + 1j]), [0.5 + 1j], 0.5 + 1j, np.array([0.5, "a"], dtype=object)):
        with pytest.raises(ShapeError):
            f(bad)
    g = lambdify_1d("g0", "x**4", "1", eta=0.1, backend="mpmath")
    for bad in (0.5 + 1j, "abc"):
        with pytest.raises(ShapeError):
            g(bad)


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--at", "1e-400,0", "underflows"),
        ("--at", "1e400,0", "overflows"),
        ("--loss", "1e-400*x1**2 + x2**2", "beyond float64"),
        ("--sigma", "[[1, 0], [0, 1e-400]]", "beyond float64"),
    ],
)
def test_float64_underflow_is_an_error_not_a_zero(capsys, option, value, needle):
    args = {"--loss": "x1**2/2 + x2**2/2", "--sigma": "[[1, 0], [0, 1]]", "--at": "0.3,0.1"}
    args[option] = value
    argv = ["evaluate", "--vars", "x1,x2", "--model", "sme2", "--eta", "0.1"]
    status, _, err, elapsed = run(capsys, *argv, *[a for kv in args.items() for a in kv])
    assert_one_line_error(status, err, elapsed, needle)
    status = main([*argv, *[a for kv in args.items() for a in kv], "--precision", "20"])
    capsys.readouterr()
    assert status == 0  # mpmath holds it


def test_me_drift_alone_and_small_fixes(capsys, tmp_path):
    from symsme import lambdify_1d, modified_equation

    p = Problem("x1**4 + x2**4", "x1 x2", [[1, 0], [0, 1]])
    b = sde_model(p, "me", 0.1, order=3).drift([[0.1, 0.2]])
    np.testing.assert_allclose(b, sde_model(p, "me", 0.1, order=3).drift_diffusion([[0.1, 0.2]])[0])
    with pytest.raises(SymsmeError, match="moments"):
        modified_equation(2, through=5)
    status, _, err, elapsed = run(capsys, "derivations", "--out", "")
    assert_one_line_error(status, err, elapsed, "empty")
    assert Problem("ｘ**2", "ｘ").variables[0].name == "x"  # NFKC, as Python reads names
    f = lambdify_1d(modified_equation(2).drift[1], "x**2/2", "1", eta=0.1)
    assert f(np.array([2.0]))[0] == pytest.approx(-1.0)  # b_1 = -g0 g1 / 2
    with pytest.raises(SymsmeError, match="g20"):
        lambdify_1d("g20", "tan(x)", "1", eta=0.1)
