r"""Calculus on contraction graphs: the gradient of a term, contraction of free legs, and the
term algebra of the generator expansion (:class:`ContractionAlgebra`)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from symsme.algebra.contractions.basis import CONTRACTIONS, ContractionBasis
from symsme.algebra.contractions.graphs import (
    F_KIND,
    K_KIND,
    S_KIND,
    Z_CODE,
    Z_KIND,
    Key,
    canonical_key,
    decode,
    type_code,
)

__all__ = [
    "clear_memo",
    "gradient",
    "contract",
    "ContractionAlgebra",
    "gradient_moment",
    "set_partitions",
]

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

    basis: ContractionBasis

    def __init__(self, sigma: str = "state", *, quadratic: bool = False) -> None:
        if sigma not in ("state", "constant"):
            raise ValueError(f"sigma must be 'state' or 'constant', got {sigma!r}")
        self.basis = CONTRACTIONS
        self.sigma = sigma
        self.quadratic = quadratic
        self._options = {"constant_sigma": sigma == "constant", "quadratic": quadratic}
        self._drift: dict[tuple[Key, Key], tuple[tuple[Key, int], ...]] = {}
        self._diffusion: dict[tuple[Key, Key], tuple[tuple[Key, int], ...]] = {}
        self._kramers: dict[tuple[Key, Key, int], tuple[tuple[Key, int], ...]] = {}

    def gradient_moment(self, n: int, max_cumulant: int | None) -> dict:
        r""":math:`\mathbb E\, G^{\otimes n}` of the gradient (:func:`gradient_moment`)."""
        return gradient_moment(n, max_cumulant)

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

    def _kramers_pair(self, ka: Key, kA: Key, n: int) -> tuple[tuple[Key, int], ...]:
        got = self._kramers.get((ka, kA, n))
        if got is None:
            legs = len(decode(kA)[2])
            if legs != n:
                raise ValueError(f"A_{n} must have {n} free legs, got a term with {legs}")
            layer: dict[Key, int] = {ka: 1}
            for _ in range(n):
                following: dict[Key, int] = {}
                for k, m in layer.items():
                    for g, mg in gradient(k, **self._options):
                        following[g] = following.get(g, 0) + m * mg
                layer = {k: m for k, m in following.items() if m}
            out: dict[Key, int] = {}
            for k, m in layer.items():
                c = contract(k, kA)
                out[c] = out.get(c, 0) + m
            got = tuple((k, m) for k, m in out.items() if m)
            self._kramers[(ka, kA, n)] = got
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

    def kramers_action(self, A: dict, a: dict, n: int) -> dict:
        r""":math:`A : \nabla^n a = A_{p_1 \dots p_n}\,\partial_{p_1}\cdots\partial_{p_n} a` (the
        n-th Kramers-Moyal term of a generator; ``A`` has n free legs)."""
        return self._action(lambda ka, kA: self._kramers_pair(ka, kA, n), A, a)

    def at_origin(self, a: dict) -> dict:
        return {k: c for k, c in a.items() if Z_CODE not in k[0]}

    def z_degree(self, key: Key) -> int:
        return key[0].count(Z_CODE)


def set_partitions(n: int) -> Iterator[list[list[int]]]:
    """All set partitions of ``range(n)`` (blocks in order of their smallest element)."""
    if n == 0:
        yield []
        return
    for part in set_partitions(n - 1):
        for i in range(len(part)):
            yield [*part[:i], [*part[i], n - 1], *part[i + 1 :]]
        yield [*part, [n - 1]]


def _cumulant_type(size: int, max_cumulant: int | None) -> int | None:
    if size == 1:
        return type_code(F_KIND, 1)
    if size == 2:
        return type_code(S_KIND, 0)
    if max_cumulant is not None and size > max_cumulant:
        return None
    return type_code(K_KIND, size)


def gradient_moment(n: int, max_cumulant: int | None = 2) -> dict:
    r""":math:`\mathbb E\, G^{\otimes n}` (free legs ``0..n-1``) by the moment-cumulant formula

    .. math::

        \mathbb E\,[G_{i_1}\cdots G_{i_n}] = \sum_{\pi} \prod_{B\in\pi} \kappa_{|B|}(i_B),

    over the set partitions :math:`\pi` of the legs, with the cumulant tensors
    :math:`\kappa_1 = \nabla f`, :math:`\kappa_2 = \Sigma`, :math:`\kappa_m = K_m` for
    :math:`3 \le m \le` ``max_cumulant`` (``None``: no bound) and :math:`0` above it
    (``max_cumulant=2``: Gaussian noise).  In one dimension the number of partitions of each
    block-size profile gives back the complete Bell polynomial of
    :func:`symsme.algebra.jets.gradient_moment`.
    """
    out: dict = {}
    for part in set_partitions(n):
        types = []
        free = [0] * n
        for u, block in enumerate(part):
            code = _cumulant_type(len(block), max_cumulant)
            if code is None:
                break
            types.append(code)
            for leg in block:
                free[leg] = 2 * u
        else:
            key = canonical_key(tuple(types), [], tuple(free))
            out[key] = out.get(key, 0) + Fraction(1)
    return out
