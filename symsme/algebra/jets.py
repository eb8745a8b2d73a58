r"""One-dimensional jet polynomials: the canonical basis of the 1-D engine.

A 1-D quantity is a polynomial in :math:`\eta` and the jet symbols at the current point

.. math::

    g_k = f^{(k+1)}(x), \qquad s_k = \Sigma^{(k)}(x), \qquad
    \kappa_{n,k} = \kappa_n^{(k)}(x) \ (\texttt{k{n}\_{k}}),

where :math:`\kappa_n` is the :math:`n`-th cumulant of the gradient noise (general noise only).
A monomial is a sorted tuple of integer variable ids (with repetition); the id of the
:math:`k`-th derivative of family :math:`F` is ``k * STRIDE + F`` (family 0 is ``g``, 1 is
``s``, :math:`n - 1` is ``k{n}``), so the total derivative :math:`d/dx` shifts an id by
``STRIDE``.  Coefficients are :class:`fractions.Fraction`.

The z-dependent keys of the generator expansion (:mod:`symsme.expansion.generator`) are pairs
``(p, monomial)`` standing for :math:`z^p \cdot \text{monomial}` with :math:`z = y - x`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from fractions import Fraction
from functools import cache
from math import comb
from typing import Any

from symsme.algebra.lincomb import add_into, coefficient_like

__all__ = [
    "clear_memo",
    "STRIDE",
    "G",
    "S",
    "K",
    "var_name",
    "parse_var",
    "monomial",
    "mono_mul",
    "mono_derivative",
    "poly_mul",
    "poly_to_str",
    "poly_to_latex",
    "poly_from_sympy",
    "evaluate_polynomial",
    "JetAlgebra",
    "JetBasis",
    "JETS",
    "gradient_moment",
    "is_hessian_aware_monomial",
]

STRIDE = 16
"""Number of jet families (g, s, k3, ..., k16)."""


def G(k: int) -> int:
    """Variable id of :math:`g_k = f^{(k+1)}`."""
    return k * STRIDE


def S(k: int) -> int:
    """Variable id of :math:`s_k = \\Sigma^{(k)}`."""
    return k * STRIDE + 1


def K(n: int, k: int) -> int:
    """Variable id of the k-th derivative of the n-th noise cumulant (n >= 3)."""
    if not 3 <= n <= STRIDE:
        raise ValueError(f"cumulant order {n} outside 3..{STRIDE}")
    return k * STRIDE + n - 1


@cache
def var_name(v: int) -> str:
    """``g3``, ``s0``, ``k3_1`` ... for a variable id."""
    k, fam = divmod(v, STRIDE)
    if fam == 0:
        return f"g{k}"
    if fam == 1:
        return f"s{k}"
    return f"k{fam + 1}_{k}"


_VAR_RE = re.compile(r"^(?:g(\d+)|s(\d+)|k(\d+)_(\d+))$")


def parse_var(name: str) -> int:
    """Inverse of :func:`var_name`; raises ``ValueError`` for other names."""
    m = _VAR_RE.match(name)
    if not m:
        raise ValueError(f"not a jet symbol: {name!r}")
    if m.group(1) is not None:
        return G(int(m.group(1)))
    if m.group(2) is not None:
        return S(int(m.group(2)))
    return K(int(m.group(3)), int(m.group(4)))


def monomial(*ids: int) -> tuple[int, ...]:
    """The canonical (sorted) monomial of the given variable ids."""
    return tuple(sorted(ids))


def mono_mul(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Product of two monomials."""
    if not a:
        return b
    if not b:
        return a
    return tuple(sorted(a + b))


@cache
def mono_derivative(m: tuple[int, ...]) -> tuple[tuple[tuple[int, ...], int], ...]:
    r"""Total derivative :math:`d/dx` of a monomial: ``((monomial, multiplicity), ...)``."""
    out: Counter = Counter()
    for v, e in Counter(m).items():
        rest = list(m)
        rest.remove(v)
        rest.append(v + STRIDE)
        out[tuple(sorted(rest))] += e
    return tuple(out.items())


def poly_mul(a: dict, b: dict) -> dict:
    """Product of two jet polynomials (dicts monomial -> Fraction)."""
    out: dict = {}
    get = out.get
    for ma, ca in a.items():
        for mb, cb in b.items():
            k = mono_mul(ma, mb)
            v = get(k, 0) + ca * cb
            if v:
                out[k] = v
            else:
                out.pop(k, None)
    return out


def _sort_key(m: tuple[int, ...]) -> tuple:
    # Order by degree, then lexicographically by (family, derivative order) names.
    return (len(m), [(v % STRIDE, v // STRIDE) for v in m])


def _mono_parts(m: tuple[int, ...]) -> list[tuple[str, int]]:
    return [
        (var_name(v), e) for v, e in sorted(Counter(m).items(), key=lambda t: _sort_key((t[0],)))
    ]


def poly_to_str(a: dict, *, eta_power: int = 0) -> str:
    """A SymPy-parseable string, e.g. ``-1/2*g0*g1``; ``0`` for the zero polynomial.

    With ``eta_power`` each term carries ``eta**eta_power``.
    """
    if not a:
        return "0"
    pieces = []
    for m in sorted(a, key=_sort_key):
        c = Fraction(a[m])
        factors = [f"{n}**{e}" if e > 1 else n for n, e in _mono_parts(m)]
        if eta_power:
            factors.insert(0, "eta" if eta_power == 1 else f"eta**{eta_power}")
        mag = abs(c)
        body = "*".join(factors)
        if not body:
            term = str(mag)
        elif mag == 1:
            term = body
        else:
            term = f"{mag}*{body}"
        pieces.append(("-" if c < 0 else "+", term))
    s = ("-" if pieces[0][0] == "-" else "") + pieces[0][1]
    for sign, term in pieces[1:]:
        s += f" {sign} {term}"
    return s


def _latex_var(name: str) -> str:
    if name[0] == "k":
        n, k = name[1:].split("_")
        return rf"\kappa_{{{n},{k}}}"
    return f"{name[0]}_{{{name[1:]}}}"


def poly_to_latex(a: dict) -> str:
    r"""LaTeX for a jet polynomial, e.g. ``- \frac{1}{2} g_{0} g_{1}``."""
    if not a:
        return "0"
    out = []
    for i, m in enumerate(sorted(a, key=_sort_key)):
        c = Fraction(a[m])
        sign = "-" if c < 0 else ("+" if i else "")
        mag = abs(c)
        factors = " ".join(
            _latex_var(n) + (f"^{{{e}}}" if e > 1 else "") for n, e in _mono_parts(m)
        )
        if mag == 1 and factors:
            coef = ""
        elif mag.denominator == 1:
            coef = str(mag.numerator)
        else:
            coef = rf"\frac{{{mag.numerator}}}{{{mag.denominator}}}"
        body = " ".join(p for p in (coef, factors) if p)
        out.append(f"{sign} {body}".strip() if sign else body)
    return " ".join(out)


def poly_from_sympy(expr) -> dict:  # noqa: ANN001 - sympy expression
    """Read a polynomial in jet symbols (a SymPy expression with rational coefficients)."""
    import sympy

    expr = sympy.expand(sympy.sympify(expr))
    syms = sorted(expr.free_symbols, key=str)
    if not syms:
        c = sympy.Rational(expr)
        return {(): Fraction(int(c.p), int(c.q))} if c else {}
    poly = sympy.Poly(expr, *syms)
    ids = [parse_var(str(s)) for s in syms]
    out: dict = {}
    for exps, c in poly.terms():
        c = sympy.Rational(c)
        m = tuple(sorted(v for v, e in zip(ids, exps, strict=True) for _ in range(e)))
        out[m] = out.get(m, 0) + Fraction(int(c.p), int(c.q))
    return {k: v for k, v in out.items() if v}


def is_hessian_aware_monomial(m: tuple[int, ...]) -> bool:
    r"""True for monomials in :math:`g_0, g_1, s_0` only.

    (No :math:`g_{j\ge2}`, no :math:`s_{j\ge1}`, no cumulants.)
    """
    return all(v in (G(0), G(1), S(0)) for v in m)


class JetAlgebra:
    r"""The 1-D algebra for :class:`~symsme.expansion.generator.GeneratorExpansion`.

    Keys are ``(p, monomial)`` for :math:`z^p\cdot\text{monomial}`; :math:`d/dy` acts on both
    factors, :math:`\frac{d}{dy} z^p = p z^{p-1}` and the jets shift by one derivative.
    With ``sigma="constant"`` the noise covariance is constant: :math:`s_{j\ge1} = 0` (the
    monomials containing them form a differential ideal, so dropping them is exact).
    """

    basis: JetBasis

    def __init__(self, sigma: str = "state") -> None:
        self.constant_sigma = sigma == "constant"
        self.basis = JETS

    def gradient_moment(self, n: int, max_cumulant: int | None) -> dict:
        r""":math:`\mathbb E\, G^n` of the stochastic gradient (see :func:`gradient_moment`)."""
        return gradient_moment(n, max_cumulant)

    def phi(self, n: int) -> dict:
        return {(n, ()): Fraction(1)}

    def _d(self, key: tuple) -> tuple:
        return _z_derivative(key, self.constant_sigma)

    def _derivative(self, a: dict) -> dict:
        out: dict = {}
        get = out.get
        d = self._d
        for key, c in a.items():
            for dk, e in d(key):
                out[dk] = get(dk, 0) + c * e
        return {k: v for k, v in out.items() if v}

    def _times(self, coef: dict, a: dict) -> dict:
        out: dict = {}
        get = out.get
        for (p, m), c in a.items():
            for mb, cb in coef.items():
                k = (p, mono_mul(m, mb))
                v = get(k, 0) + c * cb
                if v:
                    out[k] = v
                else:
                    out.pop(k, None)
        return out

    def drift_action(self, b: dict, a: dict) -> dict:
        return self._times(b, self._derivative(a))

    def diffusion_action(self, D: dict, a: dict) -> dict:
        return self._times(D, self._derivative(self._derivative(a)))

    def kramers_action(self, A: dict, a: dict, n: int) -> dict:
        r""":math:`A\,\partial^n a` (the n-th Kramers-Moyal term of a generator)."""
        for _ in range(n):
            a = self._derivative(a)
        return self._times(A, a)

    def at_origin(self, a: dict) -> dict:
        return {m: c for (p, m), c in a.items() if p == 0}

    def z_degree(self, key: tuple) -> int:
        return key[0]


@cache
def _z_derivative(key: tuple, constant_sigma: bool) -> tuple:
    p, m = key
    out: Counter = Counter()
    if p:
        out[(p - 1, m)] += p
    for dm, e in mono_derivative(m):
        if constant_sigma and any(v % STRIDE == 1 and v >= STRIDE for v in dm):
            continue
        out[(p, dm)] += e
    return tuple(out.items())


def clear_memo() -> None:
    """Forget the memoized derivatives of monomials and z-keys."""
    mono_derivative.cache_clear()
    _z_derivative.cache_clear()


def _cumulant(j: int, max_cumulant: int | None) -> dict:
    if j == 1:
        return {(G(0),): Fraction(1)}
    if j == 2:
        return {(S(0),): Fraction(1)}
    if max_cumulant is not None and j > max_cumulant:
        return {}
    return {(K(j, 0),): Fraction(1)}


def gradient_moment(n: int, max_cumulant: int | None = 2) -> dict:
    r""":math:`\mathbb E\, G^n` as a jet polynomial: the complete Bell polynomial of the cumulants

    .. math::

        \mathbb E\, G^n = B_n(\kappa_1, \dots, \kappa_n)
        = \sum_{j=1}^{n} \binom{n-1}{j-1} \kappa_j\, \mathbb E\, G^{n-j},

    with :math:`\kappa_1 = g_0`, :math:`\kappa_2 = s_0`, :math:`\kappa_j = ` ``k{j}_0`` for
    :math:`3 \le j \le` ``max_cumulant`` (``None``: no bound) and :math:`0` above it
    (``max_cumulant=2``: Gaussian noise).
    """
    moments: list[dict] = [{(): Fraction(1)}]
    for k in range(1, n + 1):
        acc: dict = {}
        for j in range(1, k + 1):
            kj = _cumulant(j, max_cumulant)
            if kj and moments[k - j]:
                add_into(acc, poly_mul(kj, moments[k - j]), comb(k - 1, j - 1))
        moments.append(acc)
    return moments[n]


def _jet_value(v: int, jets: Mapping[tuple[str, int], Any]) -> Any:
    """The value of jet symbol ``v`` from 1-D derivative tensors (trailing axes of length 1)."""
    import numpy as np

    k, family = divmod(v, STRIDE)
    if family == 0:
        name, rank = ("f", k + 1), k + 1
    elif family == 1:
        name, rank = ("S", k), k + 2
    elif k == 0:
        name, rank = ("K", family + 1), family + 1
    else:
        raise KeyError(f"derivatives of cumulants ({var_name(v)}) are not evaluated")
    try:
        array = np.asarray(jets[name])
    except KeyError:
        raise KeyError(f"jets lacks {name!r} needed by {var_name(v)}") from None
    index: tuple[Any, ...] = (Ellipsis, *([0] * rank))
    return array[index]


class JetBasis:
    """The basis of 1-D jet monomials: printing and evaluation of jet polynomials."""

    name = "jets"
    dim: int | str = 1
    description = "1"
    kramers = ("A_n d^n", r"A_n \partial^n")
    """How a generator's n-th term acts (text, LaTeX)."""
    legend = (
        "g_k = f^(k+1)(x), s_k = Sigma^(k)(x), k<n>_j = j-th derivative of the n-th noise cumulant"
    )

    def __reduce__(self) -> str:
        return "JETS"

    def text(self, terms: Mapping[Any, Fraction]) -> str:
        return poly_to_str(dict(terms))

    def latex(self, terms: Mapping[Any, Fraction]) -> str:
        return poly_to_latex(dict(terms))

    def json(self, terms: Mapping[Any, Fraction]) -> str:
        return poly_to_str(dict(terms))

    def is_hessian_aware(self, key: Any) -> bool:
        """Monomials in :math:`g_0, g_1, s_0` only (:func:`is_hessian_aware_monomial`)."""
        return is_hessian_aware_monomial(key)

    def encode_key(self, key: Any) -> list[int]:
        return list(key)

    def decode_key(self, data: Any) -> tuple[int, ...]:
        if not isinstance(data, list) or len(data) > 4096:
            raise TypeError("a jet monomial is a list of variable ids")
        if not all(type(v) is int and 0 <= v < STRIDE * 4096 for v in data):
            raise ValueError("a jet variable id is an int in range")
        key = tuple(data)
        if list(key) != sorted(key) or any(v % STRIDE > 1 and v >= STRIDE for v in key):
            raise ValueError("not a canonical jet monomial")
        return key

    def evaluate(self, terms: Mapping[Any, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
        """Sum of coefficient times product of jet values (float, or exact in object arrays)."""
        values = {v: _jet_value(v, jets) for m in terms for v in m}
        values.setdefault(G(0), _jet_value(G(0), jets))
        return evaluate_polynomial(terms, values)


def evaluate_polynomial(terms: Mapping[Any, Fraction], values: Mapping[int, Any]) -> Any:
    """A jet polynomial at values of its variables (variable id -> number or array; the shape
    of a zero or constant polynomial is that of any value given)."""
    import numpy as np

    if not values:
        raise KeyError("no variable values given")
    like = next(iter(values.values()))
    total: Any = None
    for m, c in terms.items():
        value: Any = None
        for v in m:
            try:
                x = values[v]
            except KeyError:
                raise KeyError(f"no value given for {var_name(v)}") from None
            value = x if value is None else value * x
        if value is None:  # the constant monomial
            value = np.ones_like(like)
        value = value * coefficient_like(c, value)
        total = value if total is None else total + value
    if total is None:
        return np.zeros_like(like)
    return total


JETS = JetBasis()
"""The 1-D jet basis (a singleton: series compare their basis by identity)."""
