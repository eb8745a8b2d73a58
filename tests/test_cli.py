"""The `symsme` command: the JSON contract of `derive`, the formats, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy

from symsme.cli import main


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_derive_json_contract(capsys):
    status, out, err = run(
        capsys,
        "derive",
        "--dim",
        "1",
        "--order",
        "3",
        "--moments",
        "4",
        "--hessian-aware",
        "--no-cache",
        "--format",
        "json",
    )
    assert status == 0 and err == ""
    o = json.loads(out)
    assert o["dim"] == 1 and o["order"] == 3 and o["noise"] == "gaussian"
    assert len(o["drift"]) == 4 and len(o["diffusion"]) == 4
    names = {f"g{i}" for i in range(8)} | {f"s{i}" for i in range(8)} | {"eta"}
    for s in o["drift"] + o["diffusion"]:
        expr = sympy.sympify(s)
        assert {str(x) for x in expr.free_symbols} <= names
        assert all(isinstance(c, sympy.Rational) for c in sympy.Poly(expr).coeffs())
    assert sympy.sympify(o["drift"][1]) == sympy.sympify("-g0*g1/2")
    assert [m["moment"] for m in o["mismatch"]] == [1, 2, 3, 4]
    assert o["mismatch"][0]["eta_power"] == 5
    assert o["mismatch"][2] == {"moment": 3, "eta_power": 4, "coefficient": "3/2*s0*s1"}
    assert o["checked_through"] >= 3 + 3
    ha = o["hessian_aware"]
    assert len(ha["drift"]) == 4 and len(ha["diffusion"]) == 4
    eta, g0, g1, s0 = sympy.symbols("eta g0 g1 s0")
    closed = sympy.sympify(ha["drift_closed_form"])
    series = sympy.series(closed, eta, 0, 4).removeO()
    for k in range(4):
        assert sympy.expand(series.coeff(eta, k) - sympy.sympify(ha["drift"][k])) == 0
    assert sympy.sympify(ha["diffusion_closed_form"]).free_symbols == {eta, g1, s0}


def test_general_noise_symbols(capsys):
    status, out, _ = run(
        capsys,
        "derive",
        "--order",
        "1",
        "--noise",
        "general",
        "--moments",
        "4",
        "--format",
        "json",
        "--no-cache",
    )
    o = json.loads(out)
    assert o["noise"] == "general"
    assert o["mismatch"][2]["coefficient"] == "k3_0"
    assert o["mismatch"][3]["eta_power"] == 4


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_other_formats(capsys, fmt):
    status, out, _ = run(capsys, "derive", "--order", "2", "--hessian-aware", "--format", fmt)
    assert status == 0
    assert ("g0" in out) or ("g_{0}" in out)
    if fmt == "latex":
        assert r"\begin{align*}" in out and r"\frac{1}{2}" in out
    if fmt == "markdown":
        assert out.startswith("# ") and "$$" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["derive", "--order", "-1"], "order must be an integer >= 0, got -1"),
        (["derive", "--order", "two"], "--order must be an integer, got 'two'"),
        (["derive", "--order", "2", "--noise", "cauchy"], "unknown noise model 'cauchy'"),
        (["derive", "--order", "2", "--moments", "0"], "moments must be an integer >= 1, got 0"),
        (["derive", "--order", "2", "--format", "xml"], "unknown --format 'xml'"),
        (["derive", "--order", "2", "--dim", "0"], "got 0"),
        (["derive"], "--order"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, args, fragment):
    status, out, err = run(capsys, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_console_entry_no_traceback():
    """Through the real interpreter entry point: exit code 2, one line, no traceback."""
    r = subprocess.run(
        [sys.executable, "-m", "symsme", "derive", "--order", "-3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "-3" in r.stderr


def test_no_progress_bar_off_terminal(capsys):
    status, out, err = run(capsys, "derive", "--order", "4", "--no-cache")
    assert status == 0 and err == ""


def test_progress_bar_when_asked(capsys):
    status, out, err = run(capsys, "derive", "--order", "3", "--no-cache", "--progress")
    assert status == 0 and "derive order 3" in err


def test_derive_coordinate_free_json(capsys):
    status, out, _ = run(capsys, "derive", "--dim", "d", "--order", "2", "--format", "json")
    o = json.loads(out)
    assert o["dim"] == "d" and len(o["drift"]) == 3
    assert o["drift_text"][1] == "-1/2 H g"
    (term,) = o["drift"][1]
    assert term["coefficient"] == "-1/2" and {"nodes", "edges", "free"} <= set(term["structure"])
