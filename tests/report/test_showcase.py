"""`symsme report DIR`: the small report is complete (sections, figures), a non-empty DIR is
refused unless forced, a failure midway leaves nothing behind, and the README excerpt is what
the report says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from symsme.cli import main
from symsme.errors import SymsmeError
from symsme.report import showcase
from symsme.report.showcase import write_report

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("out") / "report"
    write_report(folder, small=True)
    return folder


def test_small_report_is_complete(small_report):
    text = (small_report / "report.md").read_text()
    for heading in ["## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7.", "## 8."]:
        assert heading in text
    for figure in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert (small_report / figure).read_bytes()[:4] == b"\x89PNG"
    assert "| ha-sme |" in text
    generator = text.split("## 8.")[1]
    rows = [line for line in generator.splitlines() if line.startswith("| ") and "Sigma" in line]
    assert len(rows) == 2 and "| Minibatch noise |" in generator
    for row in [*rows, next(x for x in generator.splitlines() if x.startswith("| Minibatch"))]:
        me4, gen2, gen3, gen4 = (float(c) for c in row.strip("|").split("|")[1:])
        assert me4 < 4.8 and abs(gen2 - 3) < 0.1 and abs(gen3 - 4) < 0.1 and abs(gen4 - 5) < 0.1


def test_readme_excerpt_is_the_report(small_report):
    text = (small_report / "report.md").read_text()
    block = re.search(r"<!-- report excerpt -->\n```\n(.*?)```", README, re.S)
    assert block, "README must quote an excerpt of the report"
    for line in block.group(1).strip().splitlines():
        assert line in text, line


def test_refuses_non_empty_and_forces(tmp_path, capsys):
    target = tmp_path / "r"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["report", str(target), "--small"]) == 2
    assert "not empty" in capsys.readouterr().err and (target / "keep.txt").exists()
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(SymsmeError, match="not a folder"):
        write_report(file, small=True)


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    def broken(out, small):
        raise RuntimeError("boom")

    monkeypatch.setattr(showcase, "SECTIONS", [*showcase.SECTIONS[:1], ("broken", broken)])
    with pytest.raises(RuntimeError):
        write_report(tmp_path / "r", small=True)
    assert list(tmp_path.iterdir()) == []  # no report, no temporary folder


def test_refuses_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SymsmeError, match="current folder"):
        write_report(".", small=True)
    assert list(tmp_path.iterdir()) == []
