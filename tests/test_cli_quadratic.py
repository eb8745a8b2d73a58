"""`symsme quadratic`: the contract, exactness of HA-SME against SGD (float64 and mpmath, random
non-commuting quadratics from symsme.testing), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from symsme.cli import main
from symsme.exact.quadratic import ou_law, sgd_law
from symsme.testing import quadratics

BASE = ["quadratic", "--H", "[[2, 0.5], [0.5, 1]]", "--sigma", "[[1, 0.3], [0.3, 0.5]]"]


def run_json(capsys, *args):
    status = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_contract(capsys):
    data = run_json(capsys, *BASE, "--x0", "1,-1", "--eta", "0.1", "--steps", "20")
    assert set(data) >= {"t", "sgd", "models"} and data["t"] == pytest.approx(2.0)
    assert set(data["models"]) == {"sgf", "sme2", "ha-sme"}
    for law in [data["sgd"], *data["models"].values()]:
        assert len(law["mean"]) == 2 and np.asarray(law["cov"]).shape == (2, 2)
    a = np.array([[2, 0.5], [0.5, 1]])
    s = np.array([[1, 0.3], [0.3, 0.5]])
    mean, cov = sgd_law(a, s, 0.1, [1, -1], 20)
    np.testing.assert_allclose(data["sgd"]["mean"], mean, rtol=1e-15)
    np.testing.assert_allclose(data["models"]["ha-sme"]["cov"], cov, rtol=1e-13)
    sgf = ou_law("sgf", a, s, 0.1, [1, -1], 2.0)
    np.testing.assert_allclose(data["models"]["sgf"]["mean"], sgf[0], rtol=1e-15)
    assert abs(data["models"]["sgf"]["mean"][0] - mean[0]) > 1e-3  # SGF is not exact


def test_exact_to_many_digits_with_mpmath(capsys):
    import mpmath

    args = [*BASE, "--x0", "[1, -1]", "--eta", "1/10", "--steps", "30", "--models", "ha-sme"]
    data = run_json(capsys, *args, "--precision", "50")
    assert data["precision"] == 50
    with mpmath.workdps(50):
        mean, cov = sgd_law(
            [["2", "0.5"], ["0.5", "1"]],
            [["1", "0.3"], ["0.3", "0.5"]],
            mpmath.mpf(1) / 10,
            ["1", "-1"],
            30,
            backend="mpmath",
        )
    np.testing.assert_allclose(data["models"]["ha-sme"]["mean"], np.array(mean, dtype=float))
    np.testing.assert_allclose(data["sgd"]["cov"], np.array(cov, dtype=float), rtol=1e-15)


@settings(
    deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(quadratics(dim=(1, 4), commuting=False))
def test_hasme_is_exact_on_random_non_commuting_quadratics(capsys, q):
    """Budget: 25 random quadratics from symsme.testing (non-commuting H and Sigma, eta*lambda_max
    <= 0.95), through the command line: HA-SME's law equals SGD's to 1e-10 relative."""
    h = json.dumps(q.hessian.tolist())
    s = json.dumps(q.sigma.tolist())
    x0 = json.dumps(q.x0.tolist())
    args = ["quadratic", "--H", h, "--sigma", s, "--x0", x0, "--eta", repr(q.eta)]
    data = run_json(capsys, *args, "--steps", "15", "--models", "ha-sme", "--psd", "ignore")
    sgd, hasme = data["sgd"], data["models"]["ha-sme"]
    scale = max(1.0, np.abs(sgd["mean"]).max())
    np.testing.assert_allclose(hasme["mean"], sgd["mean"], rtol=1e-10, atol=1e-12 * scale)
    np.testing.assert_allclose(
        hasme["cov"], sgd["cov"], rtol=1e-10, atol=1e-12 * np.abs(sgd["cov"]).max()
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--x0", "1,2,3", "--eta", "0.1", "--steps", "2"], "x0"),
        (["--x0", "1,2", "--eta", "0", "--steps", "2"], "eta"),
        (["--x0", "1,2", "--eta", "0.1", "--steps", "-2"], "steps"),
        (["--x0", "1,2", "--eta", "0.1", "--steps", "99999999"], "limit"),
        (["--x0", "1,2", "--eta", "0.9", "--steps", "2"], "eta*lambda_max"),
        (["--x0", "1,2", "--eta", "0.1", "--steps", "2", "--models", "sgf,adam"], "adam"),
        (["--x0", "1,x", "--eta", "0.1", "--steps", "2"], "x0"),
        (["--x0", "1,2", "--eta", "0.1", "--steps", "2", "--format", "yaml"], "format"),
    ],
)
def test_bad_input(capsys, args, needle):
    status = main([*BASE, *args])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and needle in err, err


def test_bad_matrices(capsys):
    for h, s in [
        ("[[1, 2], [0, 1]]", "[[1, 0], [0, 1]]"),
        ("[[1, 0], [0, 1]]", "[[1, 0]]"),
        ("[1, 2]", "[[1, 0], [0, 1]]"),
        ("[[1, 0], [0, nan]]", "[[1, 0], [0, 1]]"),
        ("[[1, 0], [0, x]]", "[[1, 0], [0, 1]]"),
    ]:
        status = main(
            ["quadratic", "--H", h, "--sigma", s, "--x0", "1,2", "--eta", "0.1"]
            + [
                "--steps",
                "2",
            ]
        )
        _, err = capsys.readouterr()
        assert status == 2 and err.count("\n") == 1, (h, s, err)


def test_overflow_is_an_error_never_nan(capsys):
    """inf * 0 used to print NaN (found by review); a law beyond float64 is one line."""
    argv = ["quadratic", "--H", "[[-1]]", "--sigma", "[[1]]", "--x0", "1", "--eta", "0.5"]
    status = main([*argv, "--steps", "3000", "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 2 and "overflows" in err and out == ""
    status = main([*argv, "--steps", "3000", "--precision", "30", "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert isinstance(data["sgd"]["cov"][0][0], str)  # beyond float64: a decimal string


def test_plot(capsys, tmp_path):
    target = tmp_path / "laws.svg"
    args = [*BASE, "--x0", "1,-1", "--eta", "0.1", "--steps", "20", "--plot", str(target)]
    assert main(args) == 0
    capsys.readouterr()
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert [p.name for p in tmp_path.iterdir()] == ["laws.svg"]
    status = main([*args[:-1], str(tmp_path / "missing" / "a.png")])
    _, err = capsys.readouterr()
    assert status == 2 and "folder of the plot file does not exist" in err
