r"""Exact linear combinations over a canonical basis.

Every symbolic quantity in symsme is a finite sum :math:`\sum_t c_t\, t` of canonical basis
terms :math:`t` (monomials in 1-D jet symbols, canonical contraction graphs in d dimensions)
with exact rational coefficients :math:`c_t`.  We store it as a plain ``dict`` from the
(hashable) canonical key to :class:`fractions.Fraction`; zero coefficients are never stored.
Equal terms merge because their keys are equal, so no ``simplify()`` is ever needed (the way
BSeries.jl stores a truncated B-series as an ordered dict from rooted trees to rationals).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction

__all__ = ["LinComb", "add_into", "scaled", "combine", "is_zero"]

LinComb = dict
"""Type alias: ``dict[key, Fraction]`` with no zero values."""


def add_into(acc: dict, other: Mapping, scale: Fraction | int = 1) -> dict:
    """Add ``scale * other`` into ``acc`` in place and return ``acc``."""
    if not scale:
        return acc
    get = acc.get
    for key, c in other.items():
        v = get(key, 0) + scale * c
        if v:
            acc[key] = v
        else:
            acc.pop(key, None)
    return acc


def scaled(a: Mapping, scale: Fraction | int) -> dict:
    """Return ``scale * a`` as a new linear combination."""
    if not scale:
        return {}
    return {k: scale * c for k, c in a.items()}


def combine(parts: Iterable[tuple[Fraction | int, Mapping]]) -> dict:
    """Return ``sum(scale * a for scale, a in parts)``."""
    acc: dict = {}
    for scale, a in parts:
        add_into(acc, a, scale)
    return acc


def is_zero(a: Mapping[Hashable, Fraction]) -> bool:
    """True when every coefficient vanishes (stored combinations have no zero entries)."""
    return not any(a.values())
