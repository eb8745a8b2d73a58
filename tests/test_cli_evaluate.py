"""`symsme evaluate`: the contract, agreement with the Python API, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symsme.cli import main
from symsme.models import sde_model
from symsme.problems import Problem

BASE = [
    "evaluate",
    "--loss",
    "x1**2/2 + x2**4/4 + x1*x2/3",
    "--vars",
    "x1,x2",
    "--sigma",
    "[[1 + x1**2, x1*x2/2], [x1*x2/2, 1]]",
    "--eta",
    "0.05",
    "--at",
    "0.1,0.2",
]


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("model", "extra"), [("sgf", []), ("sme2", []), ("ha-sme", []), ("me", ["--order", "2"])]
)
def test_evaluate_contract(capsys, model, extra):
    status, out, err = run(capsys, *BASE, "--model", model, *extra, "--format", "json")
    assert status == 0, err
    o = json.loads(out)
    assert o["model"] == model and o["eta"] == 0.05 and o["at"] == [0.1, 0.2]
    assert len(o["drift"]) == 2 and np.shape(o["diffusion"]) == (2, 2)
    problem = Problem(
        "x1**2/2 + x2**4/4 + x1*x2/3", "x1 x2", "[[1 + x1**2, x1*x2/2], [x1*x2/2, 1]]"
    )
    ref = sde_model(problem, model, 0.05, order=2 if model == "me" else None)
    b, D = ref.drift_diffusion(np.array([0.1, 0.2]))
    np.testing.assert_allclose(o["drift"], b, rtol=1e-14)
    np.testing.assert_allclose(o["diffusion"], D, rtol=1e-14)


def test_sgf_values_by_hand(capsys):
    _, out, _ = run(capsys, *BASE, "--model", "sgf", "--format", "json")
    o = json.loads(out)
    np.testing.assert_allclose(o["drift"], [-(0.1 + 0.2 / 3), -(0.2**3 + 0.1 / 3)])
    np.testing.assert_allclose(o["diffusion"], [[1.01, 0.01], [0.01, 1.0]])


def test_me_converges_to_ha_sme_on_quadratics(capsys):
    """For a quadratic loss with constant Sigma the ME-K series is the HA-SME series."""
    args = [
        "evaluate",
        "--loss",
        "x1**2 + x1*x2/2 + x2**2/4",
        "--vars",
        "x1,x2",
        "--sigma",
        "[[1, 1/3], [1/3, 2]]",
        "--eta",
        "0.02",
        "--at",
        "0.3,-0.7",
        "--format",
        "json",
    ]
    _, out, _ = run(capsys, *args, "--model", "ha-sme")
    ha = json.loads(out)
    errors = []
    for K in (1, 3, 5):
        _, out, _ = run(capsys, *args, "--model", "me", "--order", str(K))
        me = json.loads(out)
        errors.append(
            max(
                np.max(np.abs(np.subtract(me["drift"], ha["drift"]))),
                np.max(np.abs(np.subtract(me["diffusion"], ha["diffusion"]))),
            )
        )
    # truncation error O((eta*lambda_max)^(K+1)), eta*lambda_max ~ 0.042
    assert errors[2] < 1e-8
    assert errors[0] > 30 * errors[1] > 900 * errors[2]


def test_mpmath_precision(capsys):
    status, out, _ = run(
        capsys, *BASE, "--model", "ha-sme", "--precision", "40", "--format", "json"
    )
    o = json.loads(out)
    assert status == 0 and len(o["drift_digits"][0].lstrip("-0.")) >= 35


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (["--eta", "0"], "eta must be a finite number > 0"),
        (["--eta", "-0.1"], "-0.1"),
        (["--at", "1"], "1 coordinates"),
        (["--at", "nan,1"], "not finite"),
        (["--at", "inf,1"], "not finite"),
        (["--at", "a,b"], "'a' is not a number"),
        (["--model", "sde9"], "sde9"),
        (["--sigma", "[[1,0],[0,-1]]"], "most negative eigenvalue is -1"),
        (["--sigma", "[[1,2],[0,1]]"], "not symmetric"),
        (["--sigma", "[[1]]"], "1 x 1"),
        (["--loss", "x1**2 + y"], "y"),
        (["--loss", "x1**("], "cannot parse loss"),
        (["--eta", "20"], "eta*lambda_max"),
        (["--format", "yaml"], "yaml"),
    ],
)
def test_bad_input(capsys, change, fragment):
    args = list(BASE) + ["--model", "ha-sme"]
    for i in range(0, len(change), 2):
        if change[i] in args:
            args[args.index(change[i]) + 1] = change[i + 1]
        else:
            args += change[i : i + 2]
    status, out, err = run(capsys, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err


GENERATOR = [
    "evaluate", "--loss", "x**2/2 + log(cosh(x))", "--vars", "x", "--sigma", "1 + sin(x)/2",
    "--eta", "1/8", "--at", "0.5",
]  # fmt: skip


def test_generator_kramers_moyal(capsys):
    """genK prints A_1..A_{K+1} at the point: A_1, A_2 are also the drift and diffusion; the
    values agree with the API and, for A_3 and A_4, with the series by hand."""
    from fractions import Fraction

    from symsme.exact.generator import generator_model

    assert main([*GENERATOR, "--model", "gen3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["order"] == 3 and len(data["kramers_moyal"]) == 4
    assert data["drift"] == [data["kramers_moyal"][0]]
    assert data["diffusion"] == [[data["kramers_moyal"][1]]]
    model = generator_model(
        Problem("x**2/2 + log(cosh(x))", "x", "1 + sin(x)/2"), 3, Fraction(1, 8)
    )
    expected = [float(a[0]) for a in model.kramers_moyal([0.5])]
    np.testing.assert_allclose(data["kramers_moyal"], expected, rtol=1e-14)
    # by hand: through K = 3 the truncation keeps A_{3,k} for k <= 1, A_{3,0} = -k3 = 0 for
    # Gaussian noise and A_{3,1} = -3/2 s0 s1, so A_3 = -3/2 eta s0 s1
    x, eta = 0.5, 1 / 8
    s0, s1 = 1 + np.sin(x) / 2, np.cos(x) / 2
    assert data["kramers_moyal"][2] == pytest.approx(eta * (-1.5 * s0 * s1), rel=1e-14)
    assert data["kramers_moyal"][3] == 0.0  # A_{4,0} = k4 = 0
    assert main([*GENERATOR, "--model", "gen2"]) == 0
    assert "A_3 = " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (["--model", "gen3", "--order", "2"], "order 3"),
        (["--model", "gen3", "--vars", "x,y", "--loss", "x**2 + y**2", "--at", "0,0",
          "--sigma", "[[1, 0], [0, 1]]"], "1-D"),
    ],
)  # fmt: skip
def test_generator_bad_input(capsys, change, fragment):
    args = list(GENERATOR)
    for option, value in zip(change[::2], change[1::2], strict=True):
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_generator_for_minibatch_noise(capsys):
    """--samples/--batch: genK of a finite sum (its minibatch cumulants), the same numbers as
    the Python API; A_3 at leading order is -kappa_3 of the per-sample gradients."""
    from fractions import Fraction

    from symsme.exact.generator import generator_model

    samples = ["(x-1)**2/2 + log(cosh(x))", "(x+1)**2/2", "x**2 + log(cosh(x+1))"]
    args = ["evaluate", "--samples", "; ".join(samples), "--batch", "1", "--vars", "x",
            "--model", "gen2", "--eta", "1/64", "--at", "0.5", "--format", "json"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    model = generator_model(Problem.finite_sum(samples, "x", 1), 2, Fraction(1, 64))
    np.testing.assert_allclose(
        data["kramers_moyal"], [float(a[0]) for a in model.kramers_moyal([0.5])], rtol=1e-14
    )
    x = 0.5
    grads = np.array([x - 1 + np.tanh(x), x + 1, 2 * x + np.tanh(x + 1)])
    kappa3 = np.mean((grads - grads.mean()) ** 3)
    assert data["kramers_moyal"][2] == pytest.approx(-kappa3)  # A_3 = A_{3,0} through K = 2
    assert main(["evaluate", "--vars", "x", "--model", "sme2", "--eta", "0.1", "--at", "0"]) == 2
    assert "--samples" in capsys.readouterr().err
