"""`symsme weak-order`: the contract, finite sums, the plot, and bad input (one line, exit 2)."""

from __future__ import annotations

import json

import pytest

from symsme.cli import main

BASE = ["weak-order", "--loss", "x**2/2 + log(cosh(x))", "--sigma", "1", "--test", "cos(x)"]


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *args):
    status, out, err = run(capsys, *args, "--format", "json")
    assert status == 0, err
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_contract(capsys):
    data = run_json(
        capsys, *BASE, "--x0", "1", "--T", "1", "--etas", "0.0625,0.03125,0.015625",
        "--models", "sgf,sme2,ha-sme,me2",
    )  # fmt: skip
    assert data["etas"] == [0.0625, 0.03125, 0.015625] and data["method"] == "deterministic"
    for name, order in {"sgf": 1, "sme2": 2, "ha-sme": 2, "me2": 3}.items():
        assert len(data["errors"][name]) == 3 and len(data["error_bounds"][name]) == 3
        assert data["slopes"][name] == pytest.approx(order, abs=0.35)
        assert all(b < 1e-9 for b in data["error_bounds"][name])
        signed = data["signed_errors"][name]
        assert [abs(s) for s in signed] == data["errors"][name]


def test_finite_sum(capsys):
    data = run_json(
        capsys, "weak-order", "--samples", "(x-1)**2/2; (x+1)**2/2 + log(cosh(x))",
        "--batch", "1", "--test", "x**2", "--x0", "0.5", "--T", "0.5",
        "--etas", "0.125,0.0625", "--models", "sgf,sme2",
    )  # fmt: skip
    assert all(len(v) == 2 for v in data["errors"].values())


def test_text_and_plot(capsys, tmp_path):
    target = tmp_path / "weak.png"
    status, out, err = run(
        capsys, *BASE, "--x0", "1", "--T", "1", "--etas", "0.25,0.125",
        "--models", "sgf,ha-sme", "--plot", str(target),
    )  # fmt: skip
    assert status == 0, err
    assert "slope" in out and "ha-sme" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["weak.png"]  # nothing half-written


def test_undefined_model_is_null(capsys):
    data = run_json(
        capsys, "weak-order", "--loss", "x**2", "--sigma", "1", "--test", "cos(x)",
        "--x0", "0.5", "--T", "1", "--etas", "0.5,0.25", "--models", "ha-sme",
    )  # fmt: skip
    assert data["errors"]["ha-sme"][0] is None and data["errors"]["ha-sme"][1] is not None
    assert "0.5" in data["undefined"]["ha-sme"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--x0", "1", "--T", "1", "--etas", "0.3"], "whole number"),
        (["--x0", "1", "--T", "1", "--etas", "-0.1"], "must be a finite number > 0"),
        (["--x0", "1", "--T", "1", "--etas", "abc"], "etas"),
        (["--x0", "1", "--T", "0", "--etas", "0.1"], "T"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--models", "sgf,bogus"], "unknown model"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--format", "xml"], "format"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--tol", "abc"], "tol"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--tol", "0"], "tol"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--plot", "/nonexistent/a.png"], "folder"),
        (["--x0", "1", "--T", "1", "--etas", "0.5", "--plot", "a.txt"], "png"),
        (["--x0", "nan", "--T", "1", "--etas", "0.5"], "x0"),
    ],
)
def test_bad_input(capsys, args, message):
    status, out, err = run(capsys, *BASE, *args)
    assert status == 2 and out == ""
    assert err.startswith("symsme: error:") and err.count("\n") == 1 and message in err


def test_bad_problem_input(capsys):
    for args, message in [
        (["--test", "cos(y)", "--loss", "x**2", "--sigma", "1"], "y"),
        (["--test", "abs(x)", "--loss", "x**2", "--sigma", "1"], "abs"),
        (["--test", "x", "--samples", "x**2;(x-1)**2"], "--batch"),
        (["--test", "x", "--loss", "x**2"], "--sigma"),
    ]:
        status, out, err = run(
            capsys, "weak-order", *args, "--x0", "1", "--T", "1", "--etas", "0.5"
        )
        assert status == 2 and err.startswith("symsme: error:") and message in err, err


def test_generator_models(capsys):
    """genK on the command line: deterministic, weak order K + 1 beyond ME-K's cap 3 with
    state-dependent Sigma; refused with Monte Carlo."""
    args = [
        "weak-order", "--loss", "x**2/2 + log(cosh(x - 1))", "--sigma", "1 + sin(x)/2",
        "--test", "cos(x)", "--x0", "1", "--T", "1", "--etas", "1/16,1/32,1/64", "--tol", "1e-11",
    ]  # fmt: skip
    data = run_json(capsys, *args, "--models", "me4,gen2,gen4")
    assert data["slopes"]["gen2"] == pytest.approx(3, abs=0.1)
    assert data["slopes"]["gen4"] == pytest.approx(5, abs=0.15)
    assert data["slopes"]["me4"] < 3.4
    status, _, err = run(capsys, *args, "--models", "gen2", "--method", "monte-carlo")
    assert status == 2 and "deterministic" in err and len(err.strip().splitlines()) == 1
