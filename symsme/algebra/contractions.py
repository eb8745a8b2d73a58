r"""Coordinate-free d-dimensional terms: canonical contraction graphs of derivative tensors.

In :math:`d` dimensions every coefficient of the modified equation is an exact-rational sum of
*contractions* of the tensors

.. math::

    F_j = \nabla^j f \ (j \ge 1,\ \text{rank } j,\ \text{fully symmetric}), \qquad
    S_j = \nabla^j \Sigma \ (j \ge 0,\ \text{rank } 2 + j), \qquad
    K_n \ (n \ge 3,\ \text{rank } n,\ \text{fully symmetric}),

(:math:`F_1 = g`, :math:`F_2 = H`, :math:`F_3 = T`; :math:`S_j` is symmetric in its two
:math:`\Sigma` indices and, separately, in its :math:`j` derivative indices; :math:`K_n` is the
:math:`n`-th cumulant tensor of the gradient noise, needed only by the mismatch report) and,
inside the generator expansion, of the displacement :math:`z = y - x` (rank 1, node ``Z``).

Such a term is the d-dimensional analogue of an *elementary differential* (Hairer, Lubich,
Wanner, *Geometric Numerical Integration*, ch. III.1 and IX): a vertex-coloured multigraph
whose vertices are tensors and whose edges are summed index pairs.  Unlike rooted trees these
graphs may have multi-edges and cycles, because :math:`D:\nabla^2` contracts two indices at
once (e.g. :math:`T_{iab}\Sigma_{ab}`, or :math:`\operatorname{tr}(H\Sigma)`-like loops).

Representation
--------------
A node has a *type code* ``4*j + kind`` (kind 0: :math:`F_j`, 1: :math:`S_j`, 2: :math:`K_j`,
3: ``Z``).  Its legs fall into *symmetry classes* (:math:`F_j, K_n, Z`: one class;
:math:`S_j`: class 0 = the two :math:`\Sigma` legs, class 1 = the :math:`j` derivative legs);
legs inside a class are interchangeable, so an edge only needs to know the *port*
``2*node + class`` at each end.  A term with :math:`r` free indices has *labelled* free legs
``0..r-1`` (a vector has one, :math:`D_k` has two: first and second index, never symmetrized;
the :math:`n`-th moment has :math:`n`).  The canonical key of a term is the tuple of ints

``(types, edges, free)``
    ``types[u]`` the type code of node ``u``; ``edges`` the sorted codes ``(p << 8) | q``
    (``p <= q`` ports, repeated for multi-edges); ``free[i]`` the port of free leg ``i``, or
    ``-(j + 1)`` when free legs ``i`` and ``j`` are joined by a Kronecker delta (only in
    intermediate results of :math:`\nabla`, never in a stored coefficient).

Canonical form
--------------
Equal tensors (the same multigraph up to renumbering the nodes and permuting legs inside a
class) must get equal keys.  We use *individualisation-refinement*, the scheme behind nauty and
bliss, which is ample for graphs of a dozen nodes: colour refinement (1-dimensional
Weisfeiler-Leman) starting from (type, free legs per class) and refining by the multiset of
(own class, neighbour colour, neighbour class) over incident edges; while a colour class has
several nodes, each of them is individualised in turn and refinement repeated; among the
discrete leaves the lexicographically least key is the canonical one.  Every connected
component of a term of the generator expansion carries a labelled free leg
(:math:`z^{\otimes n}` starts with one component per free leg, and :math:`b\cdot\nabla`,
:math:`D:\nabla^2` only join components), so refinement alone almost always separates all nodes
and the search tree is a single leaf; ties are left only by automorphisms such as the two
``g`` of ``T[g, g]``.  The gradient of each key and each (key, coefficient-term) product are
memoized, so a canonical form is computed once per distinct product.  (SymPy's
Butler-Portugal tensor canonicalisation was measured as an alternative: on the 179 terms of
:math:`b_4, D_4` it takes about 10 ms per term against about 35 us here, i.e. some 300 times
slower, and it needs a tensor head per node type.)

Series are plain dicts key -> :class:`fractions.Fraction` (:mod:`symsme.algebra.lincomb`), the
way BSeries.jl stores a truncated B-series as a dict from canonical rooted trees to rationals
(Ketcheson, Ranocha).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

__all__ = [
    "clear_memo",
    "Key",
    "F_KIND",
    "S_KIND",
    "K_KIND",
    "Z_KIND",
    "Z_CODE",
    "type_code",
    "type_kind",
    "type_order",
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
    "gradient",
    "contract",
    "ContractionAlgebra",
    "to_jets",
    "hessian_aware_exponents",
    "is_hessian_only",
    "to_text",
    "to_latex",
    "term_to_text",
    "term_to_latex",
    "term_to_json",
    "to_json",
    "evaluate",
    "evaluate_sympy",
    "sympy_jets",
    "jet_orders",
]

Key = tuple
"""A canonical term ``(types, edges, free)`` (tuples of ints, see the module docstring)."""

F_KIND, S_KIND, K_KIND, Z_KIND = 0, 1, 2, 3
Z_CODE = 4 * 0 + Z_KIND
_SHIFT = 8  # ports are < 256: at most 128 nodes per term


def type_code(kind: int, j: int = 0) -> int:
    """Type code of :math:`F_j` (``kind=F_KIND``), :math:`S_j`, :math:`K_j` or ``Z`` (j = 0)."""
    return 4 * j + kind


def type_kind(code: int) -> int:
    """``F_KIND``, ``S_KIND``, ``K_KIND`` or ``Z_KIND``."""
    return code & 3


def type_order(code: int) -> int:
    """The ``j`` of :math:`F_j`, :math:`S_j`, :math:`K_j` (0 for ``Z``)."""
    return code >> 2


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


# ---------------------------------------------------------------------------------------------
# Differentiation and contraction


def _differentiate_node(key: Key, u: int, drop: int) -> Key | None:
    r"""The term with node ``u`` differentiated; the new index is a new last free leg.

    :math:`F_j \to F_{j+1}`, :math:`S_j \to S_{j+1}` (new leg in the derivative class);
    :math:`\partial z_i/\partial y_a = \delta_{ia}`: a ``Z`` node disappears and whatever its
    leg was joined to is joined to the new index instead.
    """
    types, edges, free = decode(key)
    r = len(free)
    code = types[u]
    kind = code & 3
    if kind == K_KIND:
        raise NotImplementedError("derivatives of the noise cumulants K_n are not represented")
    if kind != Z_KIND:
        if (kind == S_KIND and drop >= _CONSTANT) or (drop == _QUADRATIC and code >> 2 >= 2):
            return None
        new_types = list(types)
        new_types[u] = code + 4
        leg = 2 * u + (1 if kind == S_KIND else 0)
        return canonical_key(tuple(new_types), edges, (*free, leg))
    # remove the Z node u and renumber the ports of the later nodes
    port = 2 * u

    def shift(p: int) -> int:
        return p - 2 if p > port + 1 else p

    new_free = list(free) + [0]
    new_edges = []
    joined = None
    for p, q in edges:
        if p == port or q == port:
            if joined is not None or p == q:
                raise NotImplementedError("Z joined to several legs")
            joined = q if p == port else p
        else:
            new_edges.append((shift(p), shift(q)))
    if joined is not None:
        new_free[r] = shift(joined)
    else:
        i = free.index(port)
        new_free[i] = -(r + 1)
        new_free[r] = -(i + 1)
    new_free = [shift(p) if p >= 0 else p for p in new_free]
    return canonical_key(types[:u] + types[u + 1 :], new_edges, tuple(new_free))


_GENERAL, _CONSTANT, _QUADRATIC = 0, 1, 2
_GRADIENT: dict[tuple[Key, int], tuple[tuple[Key, int], ...]] = {}


def clear_memo() -> None:
    """Forget the memoized gradients (they grow with every distinct term ever differentiated)."""
    _GRADIENT.clear()


def gradient(
    key: Key, *, constant_sigma: bool = False, quadratic: bool = False
) -> tuple[tuple[Key, int], ...]:
    r""":math:`\nabla` of a term by the product rule, as ``((key, multiplicity), ...)``.

    The derivative index becomes a new last free leg.  With ``constant_sigma=True`` the
    derivatives of :math:`\Sigma` are dropped (the terms containing :math:`\nabla^{j\ge1}\Sigma`
    form a differential ideal, so this is exact for constant noise); with ``quadratic=True``
    also those that create :math:`\nabla^3 f` (a quadratic objective with constant noise: the
    Hessian-aware selection).  Memoized.
    """
    drop = _QUADRATIC if quadratic else _CONSTANT if constant_sigma else _GENERAL
    memo = (key, drop)
    got = _GRADIENT.get(memo)
    if got is not None:
        return got
    out: dict[Key, int] = {}
    for u in range(len(key[0])):
        k = _differentiate_node(key, u, drop)
        if k is not None:
            out[k] = out.get(k, 0) + 1
    got = tuple(out.items())
    _GRADIENT[memo] = got
    return got


def contract(a: Key, b: Key) -> Key:
    r"""Join the last ``e`` free legs of ``a`` to the ``e`` free legs of ``b`` (in order).

    ``a`` has ``r + e`` free legs, the result has ``r``: e.g. with ``a`` = :math:`\nabla u`
    (new leg last) and ``b`` a vector, this is :math:`b\cdot\nabla u`.  A delta from one of the
    joined legs of ``a`` to its free leg ``i`` puts free leg ``i`` on ``b``'s leg.
    """
    ta, ea, fa = decode(a)
    tb, eb, fb = decode(b)
    e = len(fb)
    r = len(fa) - e
    off = 2 * len(ta)
    edges = ea + [(p + off, q + off) for p, q in eb]
    free = list(fa[:r])
    for t in range(e):
        x, y = fa[r + t], fb[t]
        if y < 0:
            raise NotImplementedError("coefficient terms with deltas")
        y += off
        if x >= 0:
            edges.append((x, y))
        else:
            i = -x - 1
            if i >= r:
                raise NotImplementedError("delta between two contracted legs")
            free[i] = y
    return canonical_key(ta + tb, edges, tuple(free))


# ---------------------------------------------------------------------------------------------
# The algebra of the generator expansion


class ContractionAlgebra:
    r"""The d-dimensional algebra for :class:`~symsme.expansion.generator.GeneratorExpansion`.

    ``phi(n)`` is :math:`z^{\otimes n}` (one ``Z`` node per free leg); ``drift_action(b, a)``
    is :math:`b\cdot\nabla a = b_p\,\partial_p a` and ``diffusion_action(D, a)`` is
    :math:`D:\nabla^2 a = D_{pq}\,\partial_p\partial_q a`, the derivatives acting on the nodes
    of ``a`` only (the coefficients are evaluated at the moving point but not differentiated
    by the generator); ``at_origin`` keeps the terms without ``Z`` (same keys as the
    coefficients); ``z_degree`` counts ``Z`` nodes.

    ``sigma="constant"`` drops every derivative of :math:`\Sigma` (exact for constant noise,
    as in :class:`~symsme.algebra.jets.JetAlgebra`).  With ``quadratic=True`` also every
    derivative that would create :math:`\nabla^3 f` is dropped: the exact algebra of a
    quadratic objective with constant noise, whose coefficients are the Hessian-aware terms
    (:math:`H^a g`, :math:`H^a\Sigma H^b`).
    """

    def __init__(self, sigma: str = "state", *, quadratic: bool = False) -> None:
        if sigma not in ("state", "constant"):
            raise ValueError(f"sigma must be 'state' or 'constant', got {sigma!r}")
        self.sigma = sigma
        self.quadratic = quadratic
        self._options = {"constant_sigma": sigma == "constant", "quadratic": quadratic}
        self._drift: dict[tuple[Key, Key], tuple[tuple[Key, int], ...]] = {}
        self._diffusion: dict[tuple[Key, Key], tuple[tuple[Key, int], ...]] = {}

    def phi(self, n: int) -> dict:
        key = canonical_key((Z_CODE,) * n, [], tuple(2 * i for i in range(n)))
        return {key: Fraction(1)}

    def _drift_pair(self, ka: Key, kb: Key) -> tuple[tuple[Key, int], ...]:
        got = self._drift.get((ka, kb))
        if got is None:
            out: dict[Key, int] = {}
            for g1, m1 in gradient(ka, **self._options):
                k = contract(g1, kb)
                out[k] = out.get(k, 0) + m1
            got = tuple((k, m) for k, m in out.items() if m)
            self._drift[(ka, kb)] = got
        return got

    def _diffusion_pair(self, ka: Key, kD: Key) -> tuple[tuple[Key, int], ...]:
        got = self._diffusion.get((ka, kD))
        if got is None:
            out: dict[Key, int] = {}
            opts = self._options
            for g1, m1 in gradient(ka, **opts):
                for g2, m2 in gradient(g1, **opts):
                    k = contract(g2, kD)
                    out[k] = out.get(k, 0) + m1 * m2
            got = tuple((k, m) for k, m in out.items() if m)
            self._diffusion[(ka, kD)] = got
        return got

    def _action(self, pair, coef: dict, a: dict) -> dict:
        out: dict = {}
        get = out.get
        for ka, ca in a.items():
            for kb, cb in coef.items():
                c = ca * cb
                for k, m in pair(ka, kb):
                    out[k] = get(k, 0) + c * m
        return {k: v for k, v in out.items() if v}

    def drift_action(self, b: dict, a: dict) -> dict:
        return self._action(self._drift_pair, b, a)

    def diffusion_action(self, D: dict, a: dict) -> dict:
        return self._action(self._diffusion_pair, D, a)

    def at_origin(self, a: dict) -> dict:
        return {k: c for k, c in a.items() if Z_CODE not in k[0]}

    def z_degree(self, key: Key) -> int:
        return key[0].count(Z_CODE)


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


# ---------------------------------------------------------------------------------------------
# Evaluation in coordinates

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_spec(key: Key) -> tuple[list[tuple[str, int]], list[str], str, list[str]]:
    """(jet names per node, operand subscripts, output subscript, delta subscripts)."""
    types, edges, free = decode(key)
    legs: list[list[str]] = [[] for _ in range(2 * len(types))]
    letters = iter(_LETTERS)
    for p, q in edges:
        c = next(letters)
        legs[p].append(c)
        legs[q].append(c)
    out = [next(letters) for _ in free]
    deltas = []
    for i, p in enumerate(free):
        if p >= 0:
            legs[p].append(out[i])
        elif -p - 1 > i:
            deltas.append("..." + out[i] + out[-p - 1])
    names = []
    subs = []
    for u, code in enumerate(types):
        kind, j = code & 3, code >> 2
        names.append(({F_KIND: "f", S_KIND: "S", K_KIND: "K", Z_KIND: "z"}[kind], j))
        subs.append("..." + "".join(legs[2 * u]) + "".join(legs[2 * u + 1]))
    return names, subs, "..." + "".join(out), deltas


def evaluate(lincomb: Mapping[Key, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
    r"""Evaluate a linear combination of terms in coordinates with :func:`numpy.einsum`.

    ``jets[("f", j)]`` is :math:`\nabla^j f` with shape ``(..., d, ..., d)`` (j axes of size
    d), ``jets[("S", j)]`` is :math:`\nabla^j\Sigma` with shape ``(..., d, d, d^j)`` (the two
    :math:`\Sigma` indices first), ``jets[("K", n)]`` the n-th cumulant tensor and
    ``jets[("z", 0)]`` the displacement :math:`z` (only for terms with ``Z`` nodes); the
    leading axes ``...`` are point axes and broadcast.  A :class:`symsme.problems.Jets`
    (from ``Problem.jets``) is accepted as well.  Returns an array of shape ``(..., d^r)`` for
    terms with ``r`` free legs.  Object arrays (of :class:`fractions.Fraction`, SymPy
    expressions or ``mpmath.mpf``) keep the coefficients exact in that number type.
    """
    import numpy as np

    if hasattr(jets, "grad_f") and hasattr(jets, "grad_sigma"):  # symsme.problems.Jets
        jets = {
            **{("f", j): a for j, a in jets.grad_f.items()},
            **{("S", j): a for j, a in jets.grad_sigma.items()},
        }
    arrays = {k: np.asarray(v) for k, v in jets.items()}
    if not arrays:
        raise ValueError("no jets given")
    d = next(iter(arrays.values())).shape[-1]
    sample = next((a.flat[0] for a in arrays.values() if a.dtype == object and a.size), None)
    exact = any(a.dtype == object for a in arrays.values())
    eye = np.eye(d, dtype=int).astype(object) if exact else np.eye(d)
    total = None
    for key, c in lincomb.items():
        names, subs, out, deltas = _einsum_spec(key)
        try:
            ops = [arrays[name] for name in names]
        except KeyError as exc:
            raise KeyError(f"jets lacks {exc.args[0]!r} needed by {term_to_text(key)}") from None
        ops += [eye] * len(deltas)
        value = np.einsum(",".join(subs + deltas) + "->" + out, *ops)
        value = value * (_exact_coefficient(c, sample) if exact else float(c))
        total = value if total is None else total + value
    if total is None:
        raise ValueError("cannot infer the shape of an empty combination")
    return total


def jet_orders(lincomb: Mapping[Key, Fraction]) -> tuple[int, int]:
    r"""``(max j of grad^j f, max j of grad^j Sigma)`` over the terms (``-1`` when absent): the
    orders :func:`evaluate` needs, e.g. ``Problem.jets(points, *jet_orders(b))``."""
    f_order = s_order = -1
    for key in lincomb:
        for code in key[0]:
            if code & 3 == F_KIND:
                f_order = max(f_order, code >> 2)
            elif code & 3 == S_KIND:
                s_order = max(s_order, code >> 2)
    return f_order, s_order


def _exact_coefficient(c: Fraction, sample: Any) -> Any:
    """``c`` in the number type of the object-array entry ``sample`` (SymPy, mpmath,
    or :class:`fractions.Fraction` for anything else)."""
    module = type(sample).__module__
    if module.startswith("sympy"):
        import sympy

        return sympy.Rational(c.numerator, c.denominator)
    if module.startswith("mpmath"):
        import mpmath

        return mpmath.mpf(c.numerator) / c.denominator
    return Fraction(c)


def evaluate_sympy(
    lincomb: Mapping[Key, Fraction],
    f_derivs: Mapping[int, Any],
    sigma_derivs: Mapping[int, Any],
    cumulants: Mapping[int, Any] | None = None,
) -> Any:
    r"""Exact evaluation with SymPy entries: ``f_derivs[j]`` is :math:`\nabla^j f` and
    ``sigma_derivs[j]`` is :math:`\nabla^j\Sigma` (any nested sequence or SymPy array, shapes
    as in :func:`evaluate`, no point axes), ``cumulants[n]`` the cumulant tensors.  Returns a
    ``d x 1`` :class:`sympy.Matrix` for vectors, ``d x d`` for matrices, an expanded
    :class:`sympy.Array` for higher rank; entries are expanded.  Helper to build the inputs:
    :func:`sympy_jets`."""
    import numpy as np
    import sympy

    def obj(a: Any) -> Any:
        arr = np.array(sympy.Array(a).tolist() if not np.isscalar(a) else a, dtype=object)
        return np.vectorize(sympy.sympify, otypes=[object])(arr)

    jets: dict = {("f", j): obj(a) for j, a in f_derivs.items()}
    jets.update({("S", j): obj(a) for j, a in sigma_derivs.items()})
    jets.update({("K", n): obj(a) for n, a in (cumulants or {}).items()})
    if not lincomb:
        d = jets[("f", 1)].shape[-1]
        return sympy.zeros(d, 1)
    value = evaluate(lincomb, jets)
    value = np.vectorize(sympy.expand, otypes=[object])(np.asarray(value, dtype=object))
    if value.ndim <= 2:
        return sympy.Matrix(value.tolist())
    return sympy.Array(value.tolist())


def sympy_jets(
    loss: Any, xs: Any, sigma: Any, max_order: int
) -> tuple[dict[int, Any], dict[int, Any]]:
    r"""``(f_derivs, sigma_derivs)`` for :func:`evaluate_sympy`: :math:`\nabla^j f`,
    :math:`j = 1..` ``max_order`` and :math:`\nabla^j\Sigma`, :math:`j = 0..` ``max_order - 1``
    of a SymPy ``loss`` and matrix ``sigma`` in the coordinates ``xs``."""
    import sympy

    xs = list(xs)
    f_derivs = {}
    cur = sympy.Array(sympy.sympify(loss))
    for j in range(1, max_order + 1):
        cur = sympy.derive_by_array(cur, xs)
        f_derivs[j] = cur
    # derive_by_array puts the new index first; Sigma's indices must come first
    sigma_derivs = {}
    cur = sympy.Array(sympy.Matrix(sigma).tolist())
    for j in range(max_order):
        sigma_derivs[j] = cur
        cur = sympy.permutedims(sympy.derive_by_array(cur, xs), (*range(1, j + 3), 0))
    return f_derivs, sigma_derivs


# ---------------------------------------------------------------------------------------------
# Readable printing
#
# Notation (text / LaTeX): g = grad f, H = grad^2 f, T = grad^3 f, grad^j f (j >= 4), Sigma,
# grad^j Sigma, kappa_n, z.  A tensor applied to vectors in some of its slots is written
# X[u, v] (multilinear map); a matrix M in the argument list fills two slots (double
# contraction, so T[Sigma]_i = T_iab Sigma_ab and H[Sigma] = tr(H Sigma)); a chain of matrices
# is a matrix product (H Sigma H) and a matrix followed by a vector is the matrix-vector product
# (H^2 g).  grad^j Sigma[u] is the matrix obtained by filling its derivative slots, and
# (grad Sigma : M) the vector whose i-th entry is (grad Sigma)_{ab,i} M_ab.  Terms with several
# free legs in separate factors print as outer(u, v, ...).  Anything else falls back to index
# notation with Einstein summation (free indices i, j, k, ...; summed ones a, b, c, ...).


class _Unprintable(Exception):
    pass


def _tensor_name(code: int, latex: bool) -> str:
    kind, j = code & 3, code >> 2
    if kind == F_KIND:
        if j <= 3:
            return "gHT"[j - 1]
        return rf"\nabla^{{{j}}} f" if latex else f"grad^{j} f"
    if kind == S_KIND:
        if latex:
            return r"\Sigma" if j == 0 else r"\nabla\Sigma" if j == 1 else rf"\nabla^{{{j}}}\Sigma"
        return "Sigma" if j == 0 else "grad Sigma" if j == 1 else f"grad^{j} Sigma"
    if kind == K_KIND:
        return rf"\kappa_{{{j}}}" if latex else f"kappa_{j}"
    return "z"


class _Printer:
    """Renders one term (see the notation above); raises _Unprintable when no form fits."""

    def __init__(self, key: Key, latex: bool) -> None:
        self.types, edges, self.free = decode(key)
        self.latex = latex
        n = len(self.types)
        # conns[u]: list of (class, edge id, other node, other class); free legs separately
        self.conns: list[list[tuple[int, int, int, int]]] = [[] for _ in range(n)]
        for e, (p, q) in enumerate(edges):
            self.conns[p >> 1].append((p & 1, e, q >> 1, q & 1))
            self.conns[q >> 1].append((q & 1, e, p >> 1, p & 1))
        self.free_at: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for i, p in enumerate(self.free):
            if p < 0:
                raise _Unprintable
            self.free_at[p >> 1].append((i, p & 1))

    # -- structure ---------------------------------------------------------------------------

    def _component(self, start: int, blocked: set[int]) -> set[int]:
        seen, stack = {start}, [start]
        while stack:
            u = stack.pop()
            for _, _, v, _ in self.conns[u]:
                if v not in seen and v not in blocked:
                    seen.add(v)
                    stack.append(v)
        return seen

    def _args(self, u: int, used: set[int], blocked: set[int]) -> tuple[list, list]:
        """Render what hangs off the unused edges of ``u``: ``(vector args, matrix args)``;
        a vector arg is ``(class at u, factors)``, a matrix arg ``((class, class), string)``."""
        blocked = blocked | {u}
        vecs, mats = [], []
        done: set[int] = set(used)
        for c, e, v, cv in self.conns[u]:
            if e in done:
                continue
            if v in blocked:
                raise _Unprintable  # a cycle back into the structure being printed
            comp = self._component(v, blocked)
            if any(self.free_at[w] for w in comp):
                raise _Unprintable
            links = []
            for w in comp:
                for cw, e2, x, cx in self.conns[w]:
                    if x in blocked:
                        if x != u:
                            raise _Unprintable
                        links.append((cx, e2, w, cw))
            links.sort(key=lambda t: t[1])
            if len(links) == 1:
                done.add(e)
                vecs.append((c, self._vector(v, e, cv, blocked)))
            elif len(links) == 2:
                (c1, e1, w1, _), (c2, e2, w2, _) = links
                done.update((e1, e2))
                mats.append(((c1, c2), self._matrix(w1, e1, w2, e2, comp, blocked)))
            else:
                raise _Unprintable
        return vecs, mats

    # -- vectors and matrices ----------------------------------------------------------------

    def _vector(self, u: int, e_out: int | None, c_out: int, blocked: set[int]) -> list[str]:
        """The vector made by node ``u`` whose output leg (class ``c_out``) is edge ``e_out``
        (or a free leg when ``e_out`` is None) and everything hanging off its other legs, as a
        list of factors (matrices then a vector: ``["H", "H", "g"]`` is :math:`H^2 g`)."""
        code = self.types[u]
        kind = code & 3
        used = set() if e_out is None else {e_out}
        vecs, mats = self._args(u, used, blocked)
        name = _tensor_name(code, self.latex)
        if kind == S_KIND:
            side = [f for c, f in vecs if c == 0]
            deriv = [self._product(f) for c, f in vecs if c == 1]
            deriv += [s for cc, s in mats if cc == (1, 1)]
            if c_out == 0:
                if len(side) != 1 or len(deriv) + 1 != len(vecs) + len(mats):
                    raise _Unprintable
                return [self._applied(name, deriv), *side[0]]
            sig = [s for cc, s in mats if cc == (0, 0)]
            if len(sig) != 1 or len(deriv) + 1 != len(vecs) + len(mats):
                raise _Unprintable
            return [f"({self._applied(name, deriv)} : {sig[0]})"]
        if kind == F_KIND and code >> 2 == 2 and len(vecs) == 1:
            return [name, *vecs[0][1]]
        args = [self._product(f) for _, f in vecs] + [s for _, s in mats]
        return [self._applied(name, args)]

    def _applied(self, name: str, args: list[str]) -> str:
        if not args:
            return name
        return f"{name}[{', '.join(sorted(args))}]"

    def _paths(self, a: int, e_in: int, b: int, e_out: int, comp: set[int]):
        """Simple paths a -> b inside ``comp`` as lists of (node, entry edge, exit edge)."""

        def walk(u: int, e_entry: int, visited: list[int], acc: list):
            if u == b and e_entry != e_out and any(e == e_out for _, e, _, _ in self.conns[u]):
                yield [*acc, (u, e_entry, e_out)]
            for _, e, v, _ in self.conns[u]:
                if e in (e_entry, e_out) or v not in comp or v in visited:
                    continue
                yield from walk(v, e, [*visited, v], [*acc, (u, e_entry, e)])

        yield from walk(a, e_in, [a], [])

    def _matrix(self, a: int, e_in: int, b: int, e_out: int, comp: set[int], blocked) -> str:
        """The matrix chain inside ``comp`` entered at ``a`` by edge ``e_in`` and left at ``b``
        by edge ``e_out`` (edges to the caller; ``None`` for free legs)."""
        for path in self._paths(a, e_in, b, e_out, comp):
            try:
                return self._chain(path, blocked)
            except _Unprintable:
                continue
        raise _Unprintable

    def _chain(self, path: list[tuple[int, int | None, int | None]], blocked: set[int]) -> str:
        on_path = blocked | {u for u, _, _ in path}
        factors = []
        for u, e_in, e_out in path:
            code = self.types[u]
            used = {e for e in (e_in, e_out) if e is not None}
            if code & 3 == S_KIND:
                classes = [c for c, e, _, _ in self.conns[u] if e in used]
                classes += [c for _, c in self.free_at[u]]
                if classes.count(0) != 2:
                    raise _Unprintable
            vecs, mats = self._args(u, used, on_path - {u})
            args = [self._product(f) for _, f in vecs] + [s for _, s in mats]
            factors.append(self._applied(_tensor_name(code, self.latex), args))
        return self._product(factors)

    def _product(self, factors: list[str]) -> str:
        out: list[list] = []
        for f in factors:
            if out and out[-1][0] == f and " " not in f and "[" not in f:
                out[-1][1] += 1
            else:
                out.append([f, 1])
        parts = []
        for f, p in out:
            if p == 1:
                parts.append(f)
            else:
                parts.append(f"{f}^{{{p}}}" if self.latex else f"{f}^{p}")
        return " ".join(parts)

    # -- whole terms -------------------------------------------------------------------------

    def render(self) -> str:
        free = self.free
        r = len(free)
        nodes = set(range(len(self.types)))
        comps = []
        left = set(nodes)
        while left:
            c = self._component(min(left), set())
            comps.append(c)
            left -= c
        if r == 0:
            raise _Unprintable
        if r == 2 and len(comps) == 1:
            a, b = free[0] >> 1, free[1] >> 1
            if a == b:
                return self._chain([(a, None, None)], set())
            for path in self._paths_free(a, b):
                try:
                    return self._chain(path, set())
                except _Unprintable:
                    continue
            raise _Unprintable
        if len(comps) != r:
            raise _Unprintable
        # one free leg per component: it plays the part of the output edge
        by_leg = [self._product(self._vector(p >> 1, None, p & 1, set())) for p in free]
        if r == 1:
            return by_leg[0]
        if self.latex:
            return r" \otimes ".join(f"({s})" if " " in s else s for s in by_leg)
        return f"outer({', '.join(by_leg)})"

    def _paths_free(self, a: int, b: int):
        def walk(u: int, e_entry, visited: list[int], acc: list):
            if u == b:
                yield [*acc, (u, e_entry, None)]
                return
            for _, e, v, _ in self.conns[u]:
                if e == e_entry or v in visited:
                    continue
                yield from walk(v, e, [*visited, v], [*acc, (u, e_entry, e)])

        yield from walk(a, None, [a], [])


def _index_name(code: int, latex: bool) -> str:
    """Name of a tensor in index notation (a bracketed name when it has a superscript)."""
    kind, j = code & 3, code >> 2
    if kind == K_KIND:
        return rf"\kappa^{{({j})}}" if latex else f"kappa{j}"
    name = _tensor_name(code, latex)
    return f"({name})" if " " in name or "nabla" in name else name


def _index_notation(key: Key, latex: bool) -> str:
    """Einstein-summation form: free indices i, j, k, ..., summed indices a, b, c, ...."""
    types, edges, free = decode(key)
    legs: list[list[str]] = [[] for _ in range(2 * len(types))]
    dummies = iter("abcdefghpqrstuvwxyABCDEFGHPQRSTUVWXY")
    for p, q in edges:
        c = next(dummies)
        legs[p].append(c)
        legs[q].append(c)
    delta = []
    for i, p in enumerate(free):
        if p >= 0:
            legs[p].append("ijklmnoIJKLMNO"[i])
        elif -p - 1 > i:
            a, b = "ijklmnoIJKLMNO"[i], "ijklmnoIJKLMNO"[-p - 1]
            delta.append(rf"\delta_{{{a}{b}}}" if latex else f"delta_{{{a}{b}}}")
    parts = []
    for u, code in enumerate(types):
        kind, j = code & 3, code >> 2
        name = _index_name(code, latex)
        idx = "".join(sorted(legs[2 * u]))
        if kind == S_KIND and j:
            idx += ";" + "".join(sorted(legs[2 * u + 1]))
        parts.append(f"{name}_{{{idx}}}")
    return " ".join(sorted(parts) + delta)


def term_to_text(key: Key) -> str:
    """Readable text of one term, e.g. ``H Sigma H``, ``T[g, g]``, ``grad Sigma[g]``."""
    try:
        return _Printer(key, latex=False).render()
    except _Unprintable:
        return _index_notation(key, latex=False)


def term_to_latex(key: Key) -> str:
    r"""LaTeX of one term, e.g. ``H \Sigma H``, ``\nabla\Sigma[g]``."""
    try:
        return _Printer(key, latex=True).render()
    except _Unprintable:
        return _index_notation(key, latex=True)


def _sorted_terms(lincomb: Mapping[Key, Fraction]) -> list[Key]:
    return sorted(lincomb, key=lambda k: (len(k[0]), k[0], term_to_text(k)))


def _coefficient_text(c: Fraction, body: str, first: bool, latex: bool) -> str:
    c = Fraction(c)
    sign = "-" if c < 0 else ("" if first else "+")
    mag = abs(c)
    if mag == 1:
        coef = ""
    elif latex:
        coef = (
            str(mag.numerator)
            if mag.denominator == 1
            else (rf"\frac{{{mag.numerator}}}{{{mag.denominator}}}")
        )
    else:
        coef = str(mag)
    text = f"{coef} {body}".strip() if coef else body
    if first:
        return f"{sign}{text}"
    return f"{sign} {text}"


def to_text(lincomb: Mapping[Key, Fraction]) -> str:
    """Readable text of a linear combination, e.g. ``-1/2 H g``; ``0`` when empty."""
    if not lincomb:
        return "0"
    terms = _sorted_terms(lincomb)
    return " ".join(
        _coefficient_text(lincomb[k], term_to_text(k), i == 0, False) for i, k in enumerate(terms)
    )


def to_latex(lincomb: Mapping[Key, Fraction]) -> str:
    r"""LaTeX of a linear combination, e.g. ``-\frac{1}{2} H g``; ``0`` when empty."""
    if not lincomb:
        return "0"
    terms = _sorted_terms(lincomb)
    return " ".join(
        _coefficient_text(lincomb[k], term_to_latex(k), i == 0, True) for i, k in enumerate(terms)
    )


def _kind_name(kind: int) -> str:
    return {F_KIND: "f", S_KIND: "Sigma", K_KIND: "kappa", Z_KIND: "z"}[kind]


def term_to_json(key: Key) -> dict:
    """A JSON-ready description of a term.

    ``nodes``: ``{"id", "tensor", "kind", "order", "rank"}`` (``kind`` is ``f`` for
    :math:`\\nabla^j f`, ``Sigma`` for :math:`\\nabla^j\\Sigma`, ``kappa`` for a cumulant,
    ``z``; legs ``0, 1`` of a ``Sigma`` node are its :math:`\\Sigma` indices, the rest its
    derivative indices); ``edges``: ``[[node, leg], [node, leg]]`` summed index pairs;
    ``free``: ``[node, leg]`` of each free index in order (a free index joined to another by a
    Kronecker delta is ``["delta", j]``); ``text`` and ``latex``: the readable forms.
    """
    types, edges, free = decode(key)
    next_leg = {}
    for u, code in enumerate(types):
        next_leg[2 * u] = 0
        next_leg[2 * u + 1] = class_sizes(code)[0]

    def leg(p: int) -> list[int]:
        u = p >> 1
        slot = next_leg[p]
        next_leg[p] += 1
        return [u, slot]

    nodes = [
        {
            "id": u,
            "tensor": _tensor_name(code, False),
            "kind": _kind_name(code & 3),
            "order": code >> 2,
            "rank": type_rank(code),
        }
        for u, code in enumerate(types)
    ]
    json_edges = [[leg(p), leg(q)] for p, q in edges]
    json_free = [leg(p) if p >= 0 else ["delta", -p - 1] for p in free]
    return {
        "nodes": nodes,
        "edges": json_edges,
        "free": json_free,
        "text": term_to_text(key),
        "latex": term_to_latex(key),
    }


def to_json(lincomb: Mapping[Key, Fraction]) -> list[dict]:
    """``[{"coefficient": "p/q", "term": text, "latex": ..., "structure": ...}, ...]``."""
    out = []
    for k in _sorted_terms(lincomb):
        c = Fraction(lincomb[k])
        structure = term_to_json(k)
        out.append(
            {
                "coefficient": str(c),
                "term": structure["text"],
                "latex": structure["latex"],
                "structure": structure,
            }
        )
    return out
