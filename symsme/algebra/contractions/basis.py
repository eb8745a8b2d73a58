"""The basis of coordinate-free contraction terms: printing and evaluation of their series."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from symsme.algebra.contractions.classify import hessian_aware_exponents
from symsme.algebra.contractions.evaluate import evaluate
from symsme.algebra.contractions.printing import to_json, to_latex, to_text

__all__ = ["CONTRACTIONS", "ContractionBasis"]


class ContractionBasis:
    """Canonical contraction graphs (:mod:`symsme.algebra.contractions`), valid in any d."""

    name = "contractions"
    dim: int | str = "d"
    description = "d (coordinate-free)"
    legend = "g = grad f, H = grad^2 f, T = grad^3 f, Sigma = Cov of the gradient noise"

    def __reduce__(self) -> str:
        return "CONTRACTIONS"

    def text(self, terms: Mapping[Any, Fraction]) -> str:
        return to_text(terms)

    def latex(self, terms: Mapping[Any, Fraction]) -> str:
        return to_latex(terms)

    def json(self, terms: Mapping[Any, Fraction]) -> list[dict]:
        return to_json(terms)

    def is_hessian_aware(self, key: Any) -> bool:
        r""":math:`H^a g` or :math:`H^a\Sigma H^b` (:func:`hessian_aware_exponents`)."""
        return hessian_aware_exponents(key) is not None

    def evaluate(self, terms: Mapping[Any, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
        return evaluate(terms, jets)


CONTRACTIONS = ContractionBasis()
"""The coordinate-free basis (a singleton)."""
