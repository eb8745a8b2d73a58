"""derivations/ is generated: fail when the committed documents drift from the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from symsme.report.derivations import DOCUMENTS, check_derivations

ROOT = Path(__file__).resolve().parents[2]


WEAK = "1d-weak-orders.md"  # about 20 s of deterministic weak-error computations
GENERATOR = "1d-generator-weak-orders.md"  # about 25 s


def test_committed_derivations_are_current():
    names = [n for n in DOCUMENTS if n not in (WEAK, GENERATOR)]
    stale = check_derivations(ROOT / "derivations", names)
    assert not stale, f"regenerate with `symsme derivations`: {stale}"


@pytest.mark.parametrize("name", [WEAK, GENERATOR])
def test_committed_weak_orders_are_current(name: str):
    stale = check_derivations(ROOT / "derivations", [name])
    assert not stale, f"regenerate with `symsme derivations`: {stale}"


def test_experiments_cannot_be_checked(capsys):
    from symsme.cli import main

    assert main(["derivations", "--check", "--experiments"]) == 2
    assert "--experiments" in capsys.readouterr().err
