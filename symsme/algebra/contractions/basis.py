"""The basis of coordinate-free contraction terms: printing and evaluation of their series."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from symsme.algebra.contractions.classify import hessian_aware_exponents
from symsme.algebra.contractions.evaluate import evaluate
from symsme.algebra.contractions.graphs import Key, canonical_key, check_key, decode
from symsme.algebra.contractions.printing import to_json, to_latex, to_text

__all__ = ["CONTRACTIONS", "ContractionBasis"]


class ContractionBasis:
    """Canonical contraction graphs (:mod:`symsme.algebra.contractions`), valid in any d."""

    name = "contractions"
    dim: int | str = "d"
    description = "d (coordinate-free)"
    kramers = ("A_n : grad^n (A_n a symmetric n-tensor)", r"A_n : \nabla^n")
    """How a generator's n-th term acts (text, LaTeX)."""
    legend = "g = grad f, H = grad^2 f, T = grad^3 f, Sigma = Cov of the gradient noise"

    def __reduce__(self) -> str:
        return "CONTRACTIONS"

    def text(self, terms: Mapping[Any, Fraction]) -> str:
        return to_text(terms)

    def latex(self, terms: Mapping[Any, Fraction]) -> str:
        return to_latex(terms)

    def json(self, terms: Mapping[Any, Fraction]) -> list[dict]:
        return to_json(terms)

    def encode_key(self, key: Any) -> list[list[int]]:
        return [list(part) for part in key]

    def decode_key(self, data: Any) -> Key:
        """A canonical key, checked: every leg used once and the key its own canonical form."""
        if not isinstance(data, list) or len(data) != 3:
            raise TypeError("a contraction key is [types, edges, free]")
        if not all(isinstance(part, list) and len(part) <= 512 for part in data):
            raise TypeError("a contraction key is three lists of ints")
        if not all(type(v) is int for part in data for v in part):
            raise TypeError("a contraction key is three lists of ints")
        types, edges, free = data
        if len(types) > 128 or any(v < 0 or v >= 4 * 256 for v in types):
            raise ValueError("node types out of range")
        key: Key = (tuple(types), tuple(edges), tuple(free))
        try:
            check_key(key)
            _, pairs, _ = decode(key)
            canonical = canonical_key(key[0], pairs, key[2])
        except (IndexError, KeyError) as exc:
            raise ValueError(f"malformed contraction key: {exc}") from None
        if canonical != key:
            raise ValueError("not a canonical contraction key")
        return key

    def is_hessian_aware(self, key: Any) -> bool:
        r""":math:`H^a g` or :math:`H^a\Sigma H^b` (:func:`hessian_aware_exponents`)."""
        return hessian_aware_exponents(key) is not None

    def evaluate(self, terms: Mapping[Any, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
        return evaluate(terms, jets)


CONTRACTIONS = ContractionBasis()
"""The coordinate-free basis (a singleton)."""
