"""The architecture is checked, not described: import contracts, no cycles, no backend or
dimension branches outside the objects that own them, tests mirroring the packages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "symsme"


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter")  # the test extra installs it; CI runs it too
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_no_import_cycle_between_any_modules():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("symsme")
    cycles = [
        (a, b)
        for a in sorted(graph.modules)
        for b in graph.find_modules_directly_imported_by(a)
        if graph.chain_exists(importer=b, imported=a)
    ]
    assert not cycles


def test_every_stage_is_in_the_layers_contract():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    layers = text.split("layers = [", 1)[1].split("]", 1)[0]
    declared = set(re.findall(r"[\w.]+", layers))
    children = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    children |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert children == declared


def _source_lines():
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            yield path.relative_to(ROOT).as_posix(), number, code


def test_backends_are_objects_not_string_branches():
    allowed = {"symsme/numeric/backend.py"}  # get_backend turns the names into objects
    found = [
        f"{path}:{n}"
        for path, n, code in _source_lines()
        if re.search(r"""backend\s*[!=]=\s*["']|[!=]=\s*["'](numpy|mpmath)["']""", code)
        and path not in allowed
    ]
    assert not found


def test_printers_never_ask_for_the_dimension():
    found = [
        f"{path}:{n}"
        for path, n, code in _source_lines()
        if path.startswith(("symsme/report/", "symsme/algebra/series.py"))
        and re.search(r"\bdim\s*[!=]=", code)
    ]
    assert not found


def test_tests_mirror_the_packages():
    stages = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    missing = [s for s in stages if not list((ROOT / "tests" / s).glob("test_*.py"))]
    assert not missing


def test_the_package_imports_without_numpy_for_derive():
    code = (
        "import sys, symsme; symsme.modified_equation(2, cache=False); "
        "print(any(m in sys.modules for m in ('numpy', 'sympy', 'mpmath')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "False", run.stderr
