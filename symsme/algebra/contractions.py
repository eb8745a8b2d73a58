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
discrete leaves the lexicographically least key is the canonical one.  Because every connected
component of a term carries a labelled free leg (see :func:`canonical_key`), refinement alone
almost always separates all nodes and the search tree is a single leaf.  Canonical keys, the
gradient of each key and each (key, coefficient-term) product are memoized.  (SymPy's
Butler-Portugal tensor canonicalisation was measured as an alternative: it is about two orders
of magnitude slower per term and needs a tensor head per node type; see the report in
``benchmarks/bench_derive_dd.py``.)

Series are plain dicts key -> :class:`fractions.Fraction` (:mod:`symsme.algebra.lincomb`), the
way BSeries.jl stores a truncated B-series as a dict from canonical rooted trees to rationals
(Ketcheson, Ranocha).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from symsme.errors import DimensionError

__all__ = [
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
    "term",
    "check_key",
    "relabel_free",
    "transpose",
    "gradient",
    "contract",
    "ContractionAlgebra",
    "check_dim",
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
        sigs = [
            (col[u], tuple(sorted([(c, col[v], cv) for c, v, cv in adj[u]]))) for u in range(n)
        ]
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


def check_dim(dim: Any) -> str:
    """Return ``"d"`` for ``"d"`` or an integer >= 2 (the coordinate-free engine serves every
    dimension); raise :class:`~symsme.errors.DimensionError` otherwise."""
    if dim == "d" and isinstance(dim, str):
        return "d"
    if isinstance(dim, int) and not isinstance(dim, bool) and dim >= 2:
        return "d"
    raise DimensionError(
        f"dim must be 1, an integer >= 2 or 'd' (coordinate-free), got {dim!r}"
    )


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


def _einsum_spec(key: Key) -> tuple[list[tuple[int, int]], list[str], str]:
    """(jet names per node, operand subscripts, output subscript) for ``numpy.einsum``."""
    types, edges, free = decode(key)
    legs: list[list[str]] = [[] for _ in range(2 * len(types))]
    letters = iter(_LETTERS)
    for p, q in edges:
        c = next(letters)
        legs[p].append(c)
        legs[q].append(c)
    out = []
    for p in free:
        if p < 0:
            raise ValueError("cannot evaluate a term with a Kronecker delta")
        c = next(letters)
        legs[p].append(c)
        out.append(c)
    names = []
    subs = []
    for u, code in enumerate(types):
        kind, j = code & 3, code >> 2
        if kind == Z_KIND:
            raise ValueError("cannot evaluate a term with z (a Z node)")
        names.append(({F_KIND: "f", S_KIND: "S", K_KIND: "K"}[kind], j))
        subs.append("..." + "".join(legs[2 * u]) + "".join(legs[2 * u + 1]))
    return names, subs, "..." + "".join(out)


def evaluate(lincomb: Mapping[Key, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
    r"""Evaluate a linear combination of terms in coordinates with :func:`numpy.einsum`.

    ``jets[("f", j)]`` is :math:`\nabla^j f` with shape ``(..., d, ..., d)`` (j axes of size
    d), ``jets[("S", j)]`` is :math:`\nabla^j\Sigma` with shape ``(..., d, d, d^j)`` (the two
    :math:`\Sigma` indices first), ``jets[("K", n)]`` the n-th cumulant tensor; the leading
    axes ``...`` are point axes and broadcast.  Returns an array of shape ``(..., d^r)`` for
    terms with ``r`` free legs.  Object arrays (of :class:`fractions.Fraction` or SymPy
    expressions) give exact results: then the coefficients stay exact.
    """
    import numpy as np

    arrays = {k: np.asarray(v) for k, v in jets.items()}
    exact = any(a.dtype == object for a in arrays.values())
    sympy_entries = exact and any(
        _is_sympy(a.flat[0]) for a in arrays.values() if a.dtype == object and a.size
    )
    total = None
    for key, c in lincomb.items():
        names, subs, out = _einsum_spec(key)
        try:
            ops = [arrays[name] for name in names]
        except KeyError as exc:
            raise KeyError(f"jets lacks {exc.args[0]!r} needed by {term_to_text(key)}") from None
        value = np.einsum(",".join(subs) + "->" + out, *ops)
        if sympy_entries:
            import sympy

            coef: Any = sympy.Rational(c.numerator, c.denominator)
        elif exact:
            coef = Fraction(c)
        else:
            coef = float(c)
        value = value * coef
        total = value if total is None else total + value
    if total is None:
        raise ValueError("cannot infer the shape of an empty combination")
    return total


def _is_sympy(x: Any) -> bool:
    return type(x).__module__.startswith("sympy")


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
    if value.ndim == 1:
        return sympy.Matrix(value.tolist())
    if value.ndim == 2:
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
