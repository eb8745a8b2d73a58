r"""Classification of terms: the :math:`d = 1` specialisation and the Hessian-aware terms."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from symsme.algebra.contractions.graphs import F_KIND, K_KIND, S_KIND, Key, decode, type_code

__all__ = ["to_jets", "hessian_aware_exponents", "is_hessian_only"]

# ---------------------------------------------------------------------------------------------
# d = 1 specialisation


def _jet_id(code: int) -> int:
    from symsme.algebra.jets import G, K, S

    kind, j = code & 3, code >> 2
    if kind == F_KIND:
        return G(j - 1)
    if kind == S_KIND:
        return S(j)
    if kind == K_KIND:
        return K(j, 0)
    raise ValueError("terms with z (Z nodes) have no 1-D jet monomial")


def to_jets(lincomb: Mapping[Key, Fraction]) -> dict:
    r"""The :math:`d = 1` specialisation: every contraction becomes the product of its nodes'
    jet symbols (:math:`F_j \to g_{j-1}`, :math:`S_j \to s_j`, :math:`K_n \to` ``k{n}_0``), a
    monomial of :mod:`symsme.algebra.jets`; equal monomials are summed."""
    out: dict = {}
    for key, c in lincomb.items():
        m = tuple(sorted(_jet_id(code) for code in key[0]))
        out[m] = out.get(m, 0) + c
    return {k: v for k, v in out.items() if v}


# ---------------------------------------------------------------------------------------------
# Hessian-aware classification


def hessian_aware_exponents(key: Key) -> tuple[int] | tuple[int, int] | None:
    r"""Classify a Hessian-aware term.

    Returns ``(a,)`` for the vector :math:`H^a g`, ``(a, b)`` for the matrix
    :math:`H^a\Sigma H^b` (``a`` Hessians on the side of the first free leg), ``None`` for any
    other term (including other contractions of :math:`g, H, \Sigma`, e.g.
    :math:`g\,g^{\mathsf T}` or :math:`\operatorname{tr}(H\Sigma)\,g`).
    """
    types, edges, free = key
    H, g, Sigma = type_code(F_KIND, 2), type_code(F_KIND, 1), type_code(S_KIND, 0)
    if any(t not in (H, g, Sigma) for t in types) or any(p < 0 for p in free):
        return None
    n_h = types.count(H)
    if len(free) == 1 and types.count(g) == 1 and types.count(Sigma) == 0:
        expected = [type_code(F_KIND, 2)] * n_h + [g]
        if _chain(key, expected):
            return (n_h,)
        return None
    if len(free) == 2 and types.count(g) == 0 and types.count(Sigma) == 1:
        for a in range(n_h + 1):
            if _chain(key, [H] * a + [Sigma] + [H] * (n_h - a)):
                return (a, n_h - a)
    return None


def _chain(key: Key, expected: list[int]) -> bool:
    """Is the term exactly the chain of node types ``expected`` from free leg 0 (to free leg 1
    for a matrix), consecutive nodes joined by one edge (class-0 legs)?"""
    types, edges, free = decode(key)
    if len(types) != len(expected):
        return False
    nbr: dict[int, list[int]] = {}
    for p, q in edges:
        if p & 1 or q & 1 or p == q:
            return False
        nbr.setdefault(p >> 1, []).append(q >> 1)
        nbr.setdefault(q >> 1, []).append(p >> 1)
    u, prev = free[0] >> 1, None
    for i, want in enumerate(expected):
        if types[u] != want:
            return False
        nxt = [v for v in nbr.get(u, []) if v != prev]
        if i == len(expected) - 1:
            if nxt:
                return False
            return len(free) == 1 or free[1] >> 1 == u
        if len(nxt) != 1:
            return False
        prev, u = u, nxt[0]
    return False


def is_hessian_only(key: Key) -> bool:
    r"""True when the term contains only :math:`g, H, \Sigma` (no :math:`\nabla^{j\ge3} f`,
    no :math:`\nabla^{j\ge1}\Sigma`, no cumulants, no ``Z``)."""
    allowed = (type_code(F_KIND, 1), type_code(F_KIND, 2), type_code(S_KIND, 0))
    return all(t in allowed for t in key[0])
