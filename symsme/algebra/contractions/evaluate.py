r"""Evaluation of linear combinations of contraction terms in coordinates (numpy ``einsum``;
exact with object arrays of Fractions, SymPy or mpmath numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from symsme.algebra.contractions.graphs import F_KIND, K_KIND, S_KIND, Z_KIND, Key, decode
from symsme.algebra.contractions.printing import term_to_text
from symsme.algebra.lincomb import coefficient_like

__all__ = ["evaluate", "evaluate_sympy", "sympy_jets", "jet_orders"]

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
    leading axes ``...`` are point axes and broadcast (``Problem.jets(...).tensors`` has this
    form).  Returns an array of shape ``(..., d^r)`` for
    terms with ``r`` free legs.  Object arrays (of :class:`fractions.Fraction`, SymPy
    expressions or ``mpmath.mpf``) keep the coefficients exact in that number type.
    """
    import numpy as np

    arrays = {k: np.asarray(v) for k, v in jets.items()}
    if not arrays:
        raise ValueError("no jets given")
    d = next(iter(arrays.values())).shape[-1]
    sample = next((a for a in arrays.values() if a.dtype == object and a.size), None)
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
        value = value * (coefficient_like(c, sample) if exact else float(c))
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
