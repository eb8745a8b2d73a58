"""README examples are tests: the Python snippets run and the quoted output is current."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_python_snippets_run():
    snippets = re.findall(r"```python\n(.*?)```", README, re.S)
    assert snippets
    for code in snippets:
        exec(compile(code, "README.md", "exec"), {})


def test_quoted_derive_output_is_current(capsys):
    from symsme.cli import main

    main(["derive", "--dim", "1", "--order", "3", "--hessian-aware", "--no-cache"])
    out = capsys.readouterr().out
    for line in [
        "b_1 = -1/2*g0*g1",
        "D_1 = 1/2*g0*s1 + g1*s0",
        "b_3 = 1/12*g0*g3*s0 + 1/6*g0*g2*s1 + 1/2*g1*g2*s0 - 1/6*g0**2*g1*g2 - 1/4*g0*g1**3",
        "b = g0*log(1 - eta*g1)/(eta*g1)",
    ]:
        assert line in out and line in README
    main(["derive", "--dim", "d", "--order", "2", "--no-cache"])
    out = capsys.readouterr().out
    assert "b_2 = 1/4 T[Sigma] - 1/12 T[g, g] - 1/3 H^2 g" in out
    assert "b_2 = 1/4 T[Sigma] - 1/12 T[g, g] - 1/3 H^2 g" in README
