"""Exact term algebras: canonical bases, exact series and their calculus.

- :mod:`symsme.algebra.jets`: 1-D jet monomials (:data:`~symsme.algebra.jets.JETS`);
- :mod:`symsme.algebra.contractions`: coordinate-free contraction graphs
  (:data:`~symsme.algebra.contractions.CONTRACTIONS`);
- :mod:`symsme.algebra.series`: :class:`~symsme.algebra.series.Series`, exact series that know
  their basis; :mod:`symsme.algebra.lincomb`: the engine's working dicts.
"""

from __future__ import annotations

__all__ = ["clear_memo"]


def clear_memo() -> None:
    """Forget every memo of the term algebras (derivatives of monomials, gradients of graphs)."""
    from symsme.algebra import jets
    from symsme.algebra.contractions import calculus

    jets.clear_memo()
    calculus.clear_memo()
