"""`symsme escape`: the contract, Monte Carlo for SGD, bad input (one line, exit 2)."""

from __future__ import annotations

import json

import pytest

from symsme.cli import main

BASE = ["escape", "--loss", "-x**2/2", "--sigma", "1", "--eta", "0.2", "--x0", "0"]


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_contract(capsys):
    status, out, err = run(capsys, *BASE, "--interval", "-1,1", "--format", "json")
    assert status == 0, err
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["sgd"]["method"] == "nystrom" and data["sgd"]["stderr"] < 1e-9
    assert data["sgd"]["mean_exit_time"] == pytest.approx(2.13344, abs=1e-5)
    for name in ("sgf", "sme2", "ha-sme"):
        assert set(data["models"][name]) == {"mfpt", "mfpt_corrected"}
        assert data["models"][name]["mfpt"] < data["models"][name]["mfpt_corrected"]


def test_monte_carlo(capsys):
    status, out, err = run(
        capsys, *BASE, "--interval", "-1,1", "--method", "monte-carlo", "--paths", "20000",
        "--seed", "3", "--models", "sgf", "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    data = json.loads(out)
    assert data["paths"] == 20000 and data["sgd"]["method"] == "monte-carlo"
    assert abs(data["sgd"]["mean_exit_time"] - 2.13344) < 4 * data["sgd"]["stderr"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--interval", "1,-1"], "A < B"),
        (["--interval", "0.5,1"], "inside"),
        (["--interval", "-1,0,1"], "A,B"),
        (["--interval", "-1,1", "--models", "nope"], "unknown model"),
        (["--interval", "-1,1", "--method", "guess"], "method"),
        (["--interval", "-1,1", "--format", "xml"], "format"),
    ],
)
def test_bad_input(capsys, args, message):
    status, out, err = run(capsys, *BASE, *args)
    assert status == 2 and out == "" and err.startswith("symsme: error:") and message in err, err
