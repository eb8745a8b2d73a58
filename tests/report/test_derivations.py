"""derivations/ is generated: fail when the committed documents drift from the engine."""

from __future__ import annotations

from pathlib import Path

from symsme.report.derivations import check_derivations

ROOT = Path(__file__).resolve().parents[2]


def test_committed_derivations_are_current():
    stale = check_derivations(ROOT / "derivations")
    assert not stale, f"regenerate with `symsme derivations`: {stale}"
