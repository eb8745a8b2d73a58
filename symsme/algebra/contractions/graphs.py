r"""Contraction graphs: node types, canonical keys, readable construction, free-leg relabelling.

The representation and the canonical form (individualisation-refinement) are described in
:mod:`symsme.algebra.contractions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

__all__ = [
    "Key",
    "F_KIND",
    "S_KIND",
    "K_KIND",
    "Z_KIND",
    "Z_CODE",
    "type_code",
    "type_rank",
    "class_sizes",
    "canonical_key",
    "decode",
    "term",
    "check_key",
    "hessian_power_gradient",
    "hessian_sandwich",
    "relabel_free",
    "transpose",
]

Key = tuple
"""A canonical term ``(types, edges, free)`` (tuples of ints, see the module docstring)."""

F_KIND, S_KIND, K_KIND, Z_KIND = 0, 1, 2, 3
Z_CODE = 4 * 0 + Z_KIND
_SHIFT = 8  # ports are < 256: at most 128 nodes per term


def type_code(kind: int, j: int = 0) -> int:
    """Type code of :math:`F_j` (``kind=F_KIND``), :math:`S_j`, :math:`K_j` or ``Z`` (j = 0)."""
    return 4 * j + kind


def class_sizes(code: int) -> tuple[int, ...]:
    """Sizes of the symmetry classes of the legs of a node type."""
    kind, j = code & 3, code >> 2
    if kind == S_KIND:
        return (2, j)
    if kind == Z_KIND:
        return (1,)
    return (j,)


def type_rank(code: int) -> int:
    """Number of legs (tensor rank) of a node type."""
    return sum(class_sizes(code))


# ---------------------------------------------------------------------------------------------
# Canonical form


def _rank_colours(sigs: list) -> list[int]:
    table = {s: i for i, s in enumerate(sorted(set(sigs)))}
    return [table[s] for s in sigs]


def _refine(col: list[int], adj: list[list[tuple[int, int, int]]]) -> list[int]:
    """Colour refinement (1-WL) of node colours ``col`` until the partition is stable."""
    ncol = len(set(col))
    n = len(col)
    while ncol < n:
        sigs = [(col[u], tuple(sorted([(c, col[v], cv) for c, v, cv in adj[u]]))) for u in range(n)]
        new = _rank_colours(sigs)
        nnew = len(set(new))
        if nnew == ncol:
            break
        col, ncol = new, nnew
    return col


def _encode(types, edges, free, col) -> Key:
    """The key of the graph with node ``u`` renumbered to ``col[u]`` (a discrete colouring)."""
    n = len(types)
    new_types = [0] * n
    for u in range(n):
        new_types[col[u]] = types[u]

    def port(p: int) -> int:
        return (col[p >> 1] << 1) | (p & 1)

    codes = []
    for p, q in edges:
        a, b = port(p), port(q)
        codes.append((a << _SHIFT) | b if a <= b else (b << _SHIFT) | a)
    codes.sort()
    return (tuple(new_types), tuple(codes), tuple(port(p) if p >= 0 else p for p in free))


def _search(types, edges, free, adj, col, best):
    col = _refine(col, adj)
    n = len(col)
    if len(set(col)) == n:
        key = _encode(types, edges, free, col)
        return key if best is None or key < best else best
    # first (smallest-colour) non-singleton cell: individualise each of its members in turn
    counts: dict[int, int] = {}
    for c in col:
        counts[c] = counts.get(c, 0) + 1
    target = min(c for c, k in counts.items() if k > 1)
    for u in range(n):
        if col[u] == target:
            sigs = [(c, 0 if v == u else 1) for v, c in enumerate(col)]
            best = _search(types, edges, free, adj, _rank_colours(sigs), best)
    return best


def canonical_key(types, edges, free) -> Key:
    """Canonical key of the term with node types ``types``, ``edges`` = pairs of ports
    ``(2*node + class, 2*node' + class')`` and free legs ``free`` (ports, or ``-(j+1)`` for a
    delta to free leg ``j``); see the module docstring."""
    n = len(types)
    adj: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for p, q in edges:
        adj[p >> 1].append((p & 1, q >> 1, q & 1))
        adj[q >> 1].append((q & 1, p >> 1, p & 1))
    attached: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for i, p in enumerate(free):
        if p >= 0:
            attached[p >> 1].append((p & 1, i))
    col = _rank_colours([(types[u], tuple(sorted(attached[u]))) for u in range(n)])
    return _search(types, edges, free, adj, col, None)


def decode(key: Key) -> tuple[tuple[int, ...], list[tuple[int, int]], tuple[int, ...]]:
    """``(types, edges as port pairs, free)`` of a key."""
    mask = (1 << _SHIFT) - 1
    return key[0], [(c >> _SHIFT, c & mask) for c in key[1]], key[2]


def term(
    nodes: list[int],
    edges: list[tuple[tuple[int, int], tuple[int, int]]],
    free: list[tuple[int, int]],
) -> Key:
    """Canonical key from a readable description.

    ``nodes`` are type codes; ``edges`` are pairs ``((node, class), (node', class'))``;
    ``free[i] = (node, class)`` is where free leg ``i`` sits.  Example,
    :math:`(H g)_i = H_{ia} g_a`::

        term([type_code(F_KIND, 2), type_code(F_KIND, 1)], [((0, 0), (1, 0))], [(0, 0)])
    """
    key = canonical_key(
        tuple(nodes),
        [(2 * a + ca, 2 * b + cb) for (a, ca), (b, cb) in edges],
        tuple(2 * a + ca for a, ca in free),
    )
    check_key(key)
    return key


def hessian_power_gradient(a: int) -> Key:
    r"""The vector :math:`H^a g` (a chain of ``a`` Hessians ending in the gradient)."""
    H, g = type_code(F_KIND, 2), type_code(F_KIND, 1)
    edges = [((i, 0), (i + 1, 0)) for i in range(a)]
    return term([H] * a + [g], edges, [(0, 0)])


def hessian_sandwich(a: int, b: int) -> Key:
    r"""The matrix :math:`H^a \Sigma H^b` (first free leg on the left factor)."""
    H, Sigma = type_code(F_KIND, 2), type_code(S_KIND, 0)
    nodes = [H] * a + [Sigma] + [H] * b
    edges = [((i, 0), (i + 1, 0)) for i in range(a + b)]
    return term(nodes, edges, [(0, 0), (a + b, 0)])


def check_key(key: Key) -> None:
    """Raise ``ValueError`` unless every leg of every node is used exactly once."""
    types, edges, free = decode(key)
    used = [0] * (2 * len(types))
    for p, q in edges:
        used[p] += 1
        used[q] += 1
    for p in free:
        if p >= 0:
            used[p] += 1
    for u, code in enumerate(types):
        sizes = class_sizes(code)
        for c in range(2):
            want = sizes[c] if c < len(sizes) else 0
            if used[2 * u + c] != want:
                raise ValueError(f"node {u} (type {code}) class {c}: {used[2 * u + c]} != {want}")
    for i, p in enumerate(free):
        if p < 0 and free[-p - 1] != -(i + 1):
            raise ValueError(f"free leg {i}: unpaired delta")


def relabel_free(key: Key, perm: tuple[int, ...]) -> Key:
    """The term with free leg ``i`` renamed ``perm[i]`` (a permutation of the free legs)."""
    types, edges, free = decode(key)
    new = [0] * len(free)
    for i, p in enumerate(free):
        new[perm[i]] = p if p >= 0 else -(perm[-p - 1] + 1)
    return canonical_key(types, edges, tuple(new))


def transpose(a: Mapping[Key, Fraction]) -> dict:
    """Swap the first two free legs of every term (the transpose of a matrix-valued term)."""
    out: dict = {}
    for key, c in a.items():
        r = len(key[2])
        perm = (1, 0, *range(2, r))
        k = relabel_free(key, perm)
        out[k] = out.get(k, 0) + c
    return {k: v for k, v in out.items() if v}
