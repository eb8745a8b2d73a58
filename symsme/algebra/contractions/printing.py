r"""Readable text, LaTeX and JSON of contraction terms and their linear combinations."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from symsme.algebra.contractions.graphs import (
    F_KIND,
    K_KIND,
    S_KIND,
    Z_KIND,
    Key,
    class_sizes,
    decode,
    type_rank,
)

__all__ = ["to_text", "to_latex", "term_to_text", "term_to_latex", "term_to_json", "to_json"]

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
