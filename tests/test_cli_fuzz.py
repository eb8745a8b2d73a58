"""Fuzzing the command line: whatever the text, `symsme` answers with output and exit 0, or one
line on stderr and exit 2 -- never a traceback, never a file, never a hang."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symsme.cli import main

HOSTILE = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "eval('1')",
    "x.__class__",
    "Abs(x)",
    "sign(x) + x**2",
    "Heaviside(x)",
    "Max(x, 0)**2",
    "factorial(10000000)*x",
    "2**10**10",
    "9**9**9",
    "1e999999999*x",
    "(" * 3000 + "x" + ")" * 3000,
    "1e309*x**2",
    "x**2 + nan",
    "x + I",
    "oo*x",
    "",
    "   ",
    "x**",
    "[[1, 0], [0, 1]]",
    "y**2",
    "f(x)",
    "\x00",
]

pieces = st.sampled_from(
    [*"x()+-*/^.,[]0123456789e ", "**", "x1", "__", "import", "exp(", "log(", "1e400", "nan"]
)
texts = st.one_of(st.sampled_from(HOSTILE), st.lists(pieces, max_size=30).map("".join))
numbers = st.one_of(
    st.sampled_from(["0.1", "-1", "1e400", "1e-400", "nan", "inf", "1/3", "0", "abc", "1e9999"]),
    st.text("0123456789.e-+/,", max_size=12),
)


def _run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    if status == 0:
        assert out and not err
    else:
        assert status == 2, (argv, status, err)
        assert err.startswith("symsme: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err and len(err) < 500 and out == ""


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(loss=texts, sigma=texts, eta=numbers, at=numbers, model=st.sampled_from(["sgf", "ha-sme"]))
def test_evaluate_never_crashes(capsys, tmp_path_factory, loss, sigma, eta, at, model):
    """Budget: 120 examples (hostile losses, noise, step sizes and points)."""
    folder = tmp_path_factory.mktemp("fuzz")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        argv = ["evaluate", "--loss", loss, "--vars", "x", "--sigma", sigma, "--model", model]
        _run(capsys, [*argv, f"--eta={eta}", f"--at={at}", "--format", "json"])
        assert not os.listdir(folder)  # nothing written, nothing run
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("where", ["--loss", "--sigma"])
def test_every_listed_hostile_text(capsys, tmp_path, monkeypatch, text, where):
    monkeypatch.chdir(tmp_path)
    args = {"--loss": "x**2/2", "--sigma": "1"}
    args[where] = text
    argv = ["evaluate", "--vars", "x", "--model", "ha-sme", "--eta", "0.1", "--at", "0.3"]
    _run(capsys, [*argv, "--loss", args["--loss"], "--sigma", args["--sigma"]])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("__import__('os').system('touch pwned')", "__import__"),
        ("Abs(x)", "not smooth"),
        ("sign(x) + x**2", "not smooth"),
        ("Heaviside(x)", "not smooth"),
        ("Max(x, 0)**2", "not smooth"),
        ("factorial(10000000)*x", "unknown function"),
    ],
)
def test_refusals_name_the_construct(capsys, text, needle):
    argv = ["evaluate", "--vars", "x", "--sigma", "1", "--model", "sgf", "--eta", "0.1"]
    status = main([*argv, "--at", "0.3", "--loss", text])
    _, err = capsys.readouterr()
    assert status == 2 and needle in err


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.one_of(st.integers(-5, 60), st.text("0123456789-x", max_size=25)),
    moments=st.one_of(st.none(), st.integers(-3, 2000)),
    fmt=st.sampled_from(["text", "json", "latex", "markdown", "yaml"]),
)
def test_derive_never_crashes(capsys, order, moments, fmt):
    """Budget: 60 examples of orders, moments and formats (limits are checked before work)."""
    argv = ["derive", "--order", str(order), "--format", fmt, "--no-cache"]
    if moments is not None:
        argv += ["--moments", str(moments)]
    if isinstance(order, int) and 0 <= order <= 3 and (moments or 1) <= 4:
        _run(capsys, argv)
    else:
        status = main(argv)
        _, err = capsys.readouterr()
        assert status in (0, 2) and "Traceback" not in err
