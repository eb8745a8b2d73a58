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

    main(["derive", "--dim", "1", "--order", "2", "--hessian-aware", "--no-cache"])
    out = capsys.readouterr().out
    assert "```\n" + out + "```" in README  # the whole block, verbatim
    main(["derive", "--dim", "d", "--order", "2", "--no-cache"])
    out = capsys.readouterr().out
    for line in [
        "b_1 = -1/2 H g",
        "b_2 = 1/4 T[Sigma] - 1/12 T[g, g] - 1/3 H^2 g",
        "D_1 = 1/2 H Sigma + 1/2 Sigma H + 1/2 grad Sigma[g]",
    ]:
        assert line in out and line in README


def test_quoted_escape_output_is_current(capsys):
    from symsme.cli import main

    main(["escape", "--loss", "-x**2/2", "--sigma", "1", "--eta", "0.2", "--x0", "0",
          "--interval", "-1,1"])  # fmt: skip
    out = capsys.readouterr().out
    assert "```\n" + out + "```" in README


def test_quoted_generator_coefficients_are_current(capsys):
    from symsme.cli import main

    main(["derive", "--dim", "1", "--order", "3", "--ansatz", "generator", "--noise", "general",
          "--no-cache"])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    block = re.search(r"--ansatz generator --noise general\n\n```\n(.*?)```", README, re.S)
    assert block
    for line in block.group(1).strip().splitlines():
        assert line in out, line


def test_generator_table_matches_the_derivations():
    """The README's fitted-order table is the committed document's, cell by cell."""
    doc = Path(__file__).resolve().parent.parent / "derivations" / "1d-generator-weak-orders.md"
    rows = re.findall(r"^\| (.+?) \| (\d) \| (\d) \| ([\d.]+) \(.*?\) \| ([\d.]+) \(.*?\) \|$",
                      doc.read_text(encoding="utf-8"), re.M)  # fmt: skip
    slopes: dict[int, list[str]] = {}
    for _, _, k, me, gen in rows:
        slopes.setdefault(int(k), []).extend([me, gen])
    assert sorted(slopes) == [1, 2, 3, 4, 5]
    for k, cells in slopes.items():
        assert f"| {k} | " + " | ".join(cells) + " |" in README


def test_quoted_generator_weak_order_is_current(capsys):
    from symsme.cli import main

    main(["weak-order", "--loss", "x**2/2 + log(cosh(x - 1))", "--sigma", "1 + sin(x)/2",
          "--test", "cos(x)", "--x0", "1", "--T", "1", "--etas", "1/16,1/32,1/64",
          "--models", "me4,gen4", "--tol", "1e-11"])  # fmt: skip
    out = capsys.readouterr().out
    table = out.split("\n\n")[1]
    assert "```\n" + table + "\n```" in README


def test_quoted_coordinate_free_generator_line_is_current(capsys):
    from symsme.cli import main

    main(["derive", "--dim", "d", "--order", "3", "--ansatz", "generator", "--no-cache"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("A_3,1"))
    assert "```\n" + line + "\n```" in README
