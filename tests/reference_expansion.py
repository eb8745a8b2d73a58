r"""Deliberately simple reference implementation of stochastic backward error analysis for SGD.

Used only by the tests, to check the fast engine of :mod:`symsme` against an independent
derivation.  It imports nothing from :mod:`symsme`: everything is done directly with SymPy
expressions in explicit coordinates (``sympy.expand`` only, never ``simplify``).  It is slow by
design; clarity wins over speed.

Model (see ``symsme/DESIGN.md``).  SGD: :math:`x_1 = x - \eta G`, :math:`\mathbb E G = \nabla f`,
:math:`\operatorname{Cov} G = \Sigma`.  SDE ansatz
:math:`dX = b(X)\,dt + (\eta D(X))^{1/2} dW` with :math:`b = \sum_k \eta^k b_k`,
:math:`D = \sum_k \eta^k D_k`, generator

.. math::

    L\phi = \sum_i b_i \partial_i\phi + \frac{\eta}{2}\sum_{ij} D_{ij}\partial_i\partial_j\phi,
    \qquad
    \mathbb E\,\phi(X_\eta) = \sum_{m\ge0}\frac{\eta^m}{m!}(L^m\phi)(x),
    \quad \phi(y) = (y - x)^{\otimes n}.

How the moving point is represented.  A function :math:`u(y)` that appears while :math:`L` is
applied is written as :math:`U(y, z)` with :math:`z = y - x` (fresh symbols ``z_i``): the
coefficients :math:`b_k, D_k` depend on the moving point :math:`y`, the test function
:math:`\phi` only on :math:`z`.  The derivative :math:`\partial/\partial y_i` of :math:`u` is
then :math:`\partial U/\partial y_i + \partial U/\partial z_i`, and :math:`u(x) = U(x, 0)`.
The symbols of the moving point are the caller's own coordinate symbols (``xs``; in 1-D the
symbol ``x``), which is legitimate because after setting :math:`z = 0` the moving point *is*
the starting point.

Matching.  At :math:`\eta^{k+1}` of the first moment :math:`b_k` appears alone (from
:math:`m = 1`), at :math:`\eta^{k+2}` of the second moment :math:`D_k` appears alone.  So, for
:math:`k = 0, 1, \dots`: compute the SDE's first moment with :math:`b_k = D_k = 0` and set
:math:`b_k` = (SGD's coefficient) - (the SDE's coefficient); then the second moment with the
new :math:`b_k` and :math:`D_k = 0`, likewise for :math:`D_k`.

Pruning.  A term :math:`\eta^j z^\alpha` of :math:`L^m\phi` contributes to
:math:`\mathbb E\phi(X_\eta)` only at powers :math:`\ge \eta^{m + j + |\alpha|}`: every further
application of :math:`L` costs one power of :math:`\eta` (the :math:`\eta^m/m!` prefactor) and
removes at most one :math:`z` per power of :math:`\eta` (drift: one :math:`z` per
:math:`\eta`; diffusion: two :math:`z` per :math:`\eta^2`).  Such terms are dropped as soon as
that bound exceeds the requested order.  ``prune=False`` switches this off (tests check that
it changes nothing).

Two implementations of the same expansion.  ``sde_moment`` works on SymPy expressions (used
for the 1-D abstract-function case, where the coefficients contain ``Derivative(f(x), ...)``,
and available for any explicit loss); ``_RingMoments`` does exactly the same steps on sparse
polynomials over QQ (SymPy's ``ring``), which is ~40x faster and is what makes d = 3, order 2
cheap.  Tests check that the two agree.

1-D jet symbols: ``g{k}`` :math:`= f^{(k+1)}(x)`, ``s{k}`` :math:`= \Sigma^{(k)}(x)`,
``k{n}_{j}`` :math:`= \kappa_n^{(j)}(x)` (:math:`\kappa_n` the :math:`n`-th cumulant of
:math:`G`), all plain :class:`sympy.Symbol` without assumptions; ``eta`` likewise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from math import comb

import sympy
from sympy import QQ
from sympy.polys.rings import ring

__all__ = [
    "ETA",
    "X",
    "F",
    "SIGMA",
    "g",
    "s",
    "kappa",
    "to_jets",
    "from_jets",
    "sgd_moment_1d",
    "sde_moment",
    "explicit_modified_equation",
    "explicit_modified_equation_1d",
    "explicit_moment_mismatch_1d",
    "eta_coefficients",
]

ETA = sympy.Symbol("eta")
"""The step size (plain symbol, no assumptions)."""

X = sympy.Symbol("x")
"""The 1-D coordinate (moving point while L acts, starting point afterwards)."""

F = sympy.Function("f")
SIGMA = sympy.Function("Sigma")

_NOISES = ("gaussian", "general")


# ---------------------------------------------------------------------------------------------
# 1-D jet symbols <-> abstract-function derivatives


def g(k: int) -> sympy.Symbol:
    """Jet symbol ``g{k}`` for :math:`f^{(k+1)}(x)`."""
    return sympy.Symbol(f"g{k}")


def s(k: int) -> sympy.Symbol:
    """Jet symbol ``s{k}`` for :math:`\\Sigma^{(k)}(x)`."""
    return sympy.Symbol(f"s{k}")


def kappa(n: int, k: int) -> sympy.Symbol:
    """Jet symbol ``k{n}_{k}`` for the k-th derivative of the n-th cumulant of G (n >= 3)."""
    if n < 3:
        raise ValueError("cumulants of order < 3 are g0 (mean) and s0 (variance)")
    return sympy.Symbol(f"k{n}_{k}")


def _cumulant_function(n: int) -> sympy.FunctionClass:
    return sympy.Function(f"kappa{n}")


def _derivative(fn: sympy.FunctionClass, order: int) -> sympy.Expr:
    return fn(X) if order == 0 else sympy.Derivative(fn(X), (X, order))


_JET_RE = re.compile(r"^(?:g(\d+)|s(\d+)|k(\d+)_(\d+))$")


def from_jets(expr: sympy.Expr) -> sympy.Expr:
    """Replace jet symbols by derivatives of the abstract functions ``f``, ``Sigma``, ``kappa{n}``
    at ``x`` (other symbols, e.g. ``eta``, are kept)."""
    expr = sympy.sympify(expr)
    rep = {}
    for sym in expr.free_symbols:
        m = _JET_RE.match(sym.name)
        if not m:
            continue
        if m.group(1) is not None:
            rep[sym] = _derivative(F, int(m.group(1)) + 1)
        elif m.group(2) is not None:
            rep[sym] = _derivative(SIGMA, int(m.group(2)))
        else:
            rep[sym] = _derivative(_cumulant_function(int(m.group(3))), int(m.group(4)))
    return expr.xreplace(rep)


def to_jets(expr: sympy.Expr) -> sympy.Expr:
    """Inverse of :func:`from_jets`: derivatives of ``f``, ``Sigma``, ``kappa{n}`` at ``x`` become
    jet symbols.  ``f(x)`` itself has no jet symbol (it never occurs in the dynamics)."""
    expr = sympy.sympify(expr)
    # Derivatives first, so that the f(x) inside them is not mistaken for a bare f(x).
    rep = {}
    for atom in expr.atoms(sympy.Derivative):
        order = atom.derivative_count
        if atom.variables != (X,) * order:
            raise ValueError(f"unexpected derivative {atom}")
        rep[atom] = _jet_of(atom.expr, order)
    expr = expr.xreplace(rep)
    rep = {atom: _jet_of(atom, 0) for atom in expr.atoms(sympy.core.function.AppliedUndef)}
    return expr.xreplace(rep)


def _jet_of(base: sympy.Expr, order: int) -> sympy.Symbol:
    if base.args != (X,):
        raise ValueError(f"unexpected function application {base}")
    name = base.func.__name__
    if name == "f":
        if order == 0:
            raise ValueError("f(x) itself has no jet symbol")
        return g(order - 1)
    if name == "Sigma":
        return s(order)
    if re.fullmatch(r"kappa\d+", name):
        return kappa(int(name[5:]), order)
    raise ValueError(f"unknown function {name}")


# ---------------------------------------------------------------------------------------------
# Generator expansion (any dimension)


def _eta_z_degrees(term: sympy.Expr, zs: Sequence[sympy.Symbol]) -> tuple[int, int]:
    powers = term.as_powers_dict()
    return int(powers.get(ETA, 0)), sum(int(powers.get(z, 0)) for z in zs)


def _prune(expr: sympy.Expr, zs: Sequence[sympy.Symbol], applied: int, through: int) -> sympy.Expr:
    """Drop terms of :math:`L^m\\phi` (m = ``applied``) that cannot reach ``eta**through``."""
    keep = []
    for term in sympy.Add.make_args(expr):
        j, q = _eta_z_degrees(term, zs)
        if applied + j + q <= through:
            keep.append(term)
    return sympy.Add(*keep)


def _apply_generator(
    u: sympy.Expr,
    drift: Sequence[sympy.Expr],
    diffusion: sympy.Matrix,
    xs: Sequence[sympy.Symbol],
    zs: Sequence[sympy.Symbol],
) -> sympy.Expr:
    r""":math:`L u` with total derivatives :math:`\partial_{y_i} = \partial_{x_i} + \partial_{z_i}`.

    ``drift``, ``diffusion`` are the full eta-series, expressions in ``xs`` and ``ETA``.
    """
    d = len(xs)
    grads = [sympy.diff(u, xs[i]) + sympy.diff(u, zs[i]) for i in range(d)]
    out = sympy.Integer(0)
    for i in range(d):
        if drift[i] != 0:
            out += drift[i] * grads[i]
    for i in range(d):
        for j in range(i, d):
            c = diffusion[i, j] if i == j else diffusion[i, j] + diffusion[j, i]
            if c != 0:
                hess = sympy.diff(grads[j], xs[i]) + sympy.diff(grads[j], zs[i])
                out += ETA / 2 * c * hess
    return sympy.expand(out)


def sde_moment(
    phi: sympy.Expr,
    drift: Sequence[sympy.Expr],
    diffusion: sympy.Matrix,
    xs: Sequence[sympy.Symbol],
    zs: Sequence[sympy.Symbol],
    through: int,
    *,
    prune: bool = True,
) -> sympy.Expr:
    r""":math:`\mathbb E\,\phi(X_\eta)` through ``eta**through`` (expanded polynomial in ``ETA``).

    ``phi`` is a polynomial in the displacement symbols ``zs``; ``drift`` (length d) and
    ``diffusion`` (d x d) are the *full* series :math:`\sum_k \eta^k b_k(y)`,
    :math:`\sum_k \eta^k D_k(y)`, written in the point symbols ``xs``.
    """
    at_origin = {z: 0 for z in zs}
    total = sympy.Integer(0)
    u = sympy.expand(phi)
    for m in range(through + 1):
        total += ETA**m / sympy.factorial(m) * u.xreplace(at_origin)
        if m == through:
            break
        u = _apply_generator(u, drift, diffusion, xs, zs)
        if prune:
            u = _prune(u, zs, m + 1, through)
        if u == 0:
            break
    return _truncate(sympy.expand(total), through)


def _truncate(expr: sympy.Expr, through: int) -> sympy.Expr:
    return sympy.Add(*[ETA**p * c for p, c in enumerate(eta_coefficients(expr, through))])


def eta_coefficients(expr: sympy.Expr, through: int) -> list[sympy.Expr]:
    """Coefficients of ``eta**0 .. eta**through`` of ``expr`` (expanded)."""
    expr = sympy.expand(expr)
    return [expr.coeff(ETA, p) for p in range(through + 1)]


def _displacements(d: int) -> list[sympy.Symbol]:
    return list(sympy.symbols(f"z_ref0:{d}"))


def _series(coeffs: Sequence[sympy.Expr]) -> sympy.Expr:
    return sum((ETA**k * c for k, c in enumerate(coeffs)), sympy.Integer(0))


class _RingMoments:
    """The same expansion as :func:`sde_moment`, for polynomial data, in SymPy's sparse
    polynomial ring over QQ in ``(eta, xs, zs)`` (much faster than expanding ``Expr`` trees)."""

    def __init__(self, xs: Sequence[sympy.Symbol], zs: Sequence[sympy.Symbol]) -> None:
        self.d = len(xs)
        self.ring, *gens = ring([ETA, *xs, *zs], QQ)
        self.eta = gens[0]
        self.xs = gens[1 : 1 + self.d]
        self.zs = gens[1 + self.d :]
        self.half = self.ring(sympy.Rational(1, 2))

    def convert(self, expr: sympy.Expr):  # noqa: ANN201 - PolyElement
        return self.ring(sympy.expand(expr))

    def _order_and_z(self, monom: tuple[int, ...]) -> int:
        return monom[0] + sum(monom[1 + self.d :])

    def moment(self, phi, drift, diffusion, through: int, prune: bool) -> sympy.Expr:  # noqa: ANN001
        d = self.d
        total = sympy.Integer(0)
        u = phi
        for m in range(through + 1):
            at_origin = self.ring.from_dict(
                {mon: c for mon, c in u.items() if not any(mon[1 + d :])}
            ).as_expr()
            total += ETA**m / sympy.factorial(m) * at_origin
            if m == through:
                break
            grads = [u.diff(self.xs[i]) + u.diff(self.zs[i]) for i in range(d)]
            new = self.ring.zero
            for i in range(d):
                new += drift[i] * grads[i]
            for i in range(d):
                for j in range(i, d):
                    c = diffusion[i][j] if i == j else diffusion[i][j] + diffusion[j][i]
                    if c:
                        hess = grads[j].diff(self.xs[i]) + grads[j].diff(self.zs[i])
                        new += self.half * self.eta * c * hess
            if prune:
                new = self.ring.from_dict(
                    {mon: c for mon, c in new.items() if m + 1 + self._order_and_z(mon) <= through}
                )
            u = new
            if not u:
                break
        return _truncate(sympy.expand(total), through)


def _solve(
    d: int,
    xs: Sequence[sympy.Symbol],
    sgd_first: sympy.Matrix,
    sgd_second: sympy.Matrix,
    order: int,
    prune: bool,
    backend: str,
) -> tuple[list[sympy.Matrix], list[sympy.Matrix]]:
    """Order-by-order matching; ``sgd_first``/``sgd_second`` are SGD's one-step moments as
    polynomials in ETA (d-vector, d x d matrix).  ``backend``: ``"expr"`` (SymPy expressions,
    :func:`sde_moment`) or ``"ring"`` (polynomial data only, :class:`_RingMoments`)."""
    zs = _displacements(d)
    if backend == "ring":
        rm = _RingMoments(xs, zs)

        def moment(phi, drifts, diffusions, through):  # noqa: ANN001, ANN202
            drift = [rm.convert(_series([b[i] for b in drifts])) for i in range(d)]
            diffusion = [
                [rm.convert(_series([D[i, j] for D in diffusions])) for j in range(d)]
                for i in range(d)
            ]
            return rm.moment(rm.convert(phi), drift, diffusion, through, prune)

    elif backend == "expr":

        def moment(phi, drifts, diffusions, through):  # noqa: ANN001, ANN202
            drift = [_series([b[i] for b in drifts]) for i in range(d)]
            diffusion = sympy.Matrix(d, d, lambda i, j: _series([D[i, j] for D in diffusions]))
            return sde_moment(phi, drift, diffusion, xs, zs, through, prune=prune)

    else:
        raise ValueError(f"unknown backend {backend!r}")

    drifts: list[sympy.Matrix] = []
    diffusions: list[sympy.Matrix] = []
    for k in range(order + 1):
        # b_k: first moment at eta^(k+1), with b_k = D_k = 0.
        bk = sympy.zeros(d, 1)
        for i in range(d):
            sde = moment(zs[i], drifts, diffusions, k + 1)
            bk[i] = sympy.expand(
                sympy.expand(sgd_first[i]).coeff(ETA, k + 1) - sde.coeff(ETA, k + 1)
            )
        drifts.append(bk)
        # D_k: second moment at eta^(k+2), with the new b_k and D_k = 0.
        Dk = sympy.zeros(d, d)
        for i in range(d):
            for j in range(i, d):
                sde = moment(zs[i] * zs[j], drifts, diffusions, k + 2)
                Dk[i, j] = sympy.expand(
                    sympy.expand(sgd_second[i, j]).coeff(ETA, k + 2) - sde.coeff(ETA, k + 2)
                )
                Dk[j, i] = Dk[i, j]
        diffusions.append(Dk)
    return drifts, diffusions


# ---------------------------------------------------------------------------------------------
# Front doors


def explicit_modified_equation(
    loss: sympy.Expr,
    xs: Sequence[sympy.Symbol],
    sigma: sympy.Matrix,
    order: int,
    *,
    prune: bool = True,
    backend: str = "auto",
) -> tuple[list[sympy.Matrix], list[sympy.Matrix]]:
    r"""Modified-equation coefficients :math:`b_0..b_K`, :math:`D_0..D_K` (K = ``order``) of SGD
    on a concrete ``loss`` in coordinates ``xs`` with gradient-noise covariance ``sigma``.

    Only SGD's first two one-step moments enter,
    :math:`\mathbb E[x_1 - x] = -\eta\nabla f` and
    :math:`\mathbb E[(x_1 - x)(x_1 - x)^T] = \eta^2(\nabla f\nabla f^T + \Sigma)`,
    so the result does not depend on higher noise cumulants.

    Returns ``(drifts, diffusions)``: lists of ``order + 1`` d x 1 and d x d SymPy matrices,
    expanded expressions in ``xs``.  ``backend`` is ``"expr"`` (SymPy expressions, any
    differentiable loss and sigma), ``"ring"`` (sparse polynomials over QQ; polynomial loss and
    sigma only; same algorithm, much faster) or ``"auto"`` (ring when possible).
    """
    xs = list(xs)
    d = len(xs)
    sigma = sympy.Matrix(sigma)
    if sigma.shape != (d, d):
        raise ValueError(f"sigma must be {d} x {d}, got {sigma.shape}")
    if sympy.expand(sigma - sigma.T) != sympy.zeros(d, d):
        raise ValueError("sigma must be symmetric")
    if order < 0:
        raise ValueError("order must be >= 0")
    grad = sympy.Matrix([sympy.expand(sympy.diff(loss, x)) for x in xs])
    sgd_first = -ETA * grad
    sgd_second = ETA**2 * (grad * grad.T + sigma)
    if backend == "auto":
        exprs = [sympy.sympify(e) for e in [loss, *sigma]]
        polynomial = all(e.is_polynomial(*xs) and e.free_symbols <= set(xs) for e in exprs)
        backend = "ring" if polynomial else "expr"
    return _solve(d, xs, sgd_first, sgd_second, order, prune, backend)


def explicit_modified_equation_1d(
    order: int, noise: str = "gaussian", *, prune: bool = True
) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    r"""1-D coefficients :math:`b_0..b_K`, :math:`D_0..D_K` for abstract :math:`f(x)`,
    :math:`\Sigma(x)`, as polynomials in the jet symbols ``g{k}``, ``s{k}``.

    ``noise`` is ``"gaussian"`` or ``"general"``; the coefficients are the same for both (they
    are fixed by the first two moments, which involve only :math:`f'` and :math:`\Sigma`).
    """
    if noise not in _NOISES:
        raise ValueError(f"noise must be one of {_NOISES}")
    if order < 0:
        raise ValueError("order must be >= 0")
    fp = _derivative(F, 1)
    sgd_first = sympy.Matrix([-ETA * fp])
    sgd_second = sympy.Matrix([[ETA**2 * (fp**2 + SIGMA(X))]])
    drifts, diffusions = _solve(1, [X], sgd_first, sgd_second, order, prune, "expr")
    return (
        [sympy.expand(to_jets(b[0])) for b in drifts],
        [sympy.expand(to_jets(D[0])) for D in diffusions],
    )


def sgd_moment_1d(n: int, noise: str = "gaussian") -> sympy.Expr:
    r"""SGD's one-step moment :math:`\mathbb E[(x_1 - x)^n] = (-\eta)^n\,\mathbb E[G^n]`, with the
    raw moments of G from its cumulants :math:`\kappa_1 = g_0`, :math:`\kappa_2 = s_0`,
    :math:`\kappa_j` = ``k{j}_0`` (0 for Gaussian noise) by the complete Bell polynomial
    recursion :math:`\mu_n = \sum_{j=1}^n \binom{n-1}{j-1}\kappa_j\mu_{n-j}`."""
    if noise not in _NOISES:
        raise ValueError(f"noise must be one of {_NOISES}")

    def cumulant(j: int) -> sympy.Expr:
        if j == 1:
            return g(0)
        if j == 2:
            return s(0)
        return kappa(j, 0) if noise == "general" else sympy.Integer(0)

    mu = [sympy.Integer(1)]
    for m in range(1, n + 1):
        mu.append(
            sympy.expand(sum(comb(m - 1, j - 1) * cumulant(j) * mu[m - j] for j in range(1, m + 1)))
        )
    return sympy.expand((-ETA) ** n * mu[n])


def explicit_moment_mismatch_1d(
    drifts: Sequence[sympy.Expr],
    diffusions: Sequence[sympy.Expr],
    n: int,
    through: int,
    noise: str = "gaussian",
    *,
    prune: bool = True,
) -> sympy.Expr:
    r""":math:`\mathbb E[(X_\eta - x)^n] - \mathbb E[(x_1 - x)^n]` through ``eta**through`` for the
    truncated 1-D model :math:`b = \sum_{k\le K}\eta^k b_k`, :math:`D = \sum_{k\le K}\eta^k D_k`
    (given in jet symbols; coefficients beyond the lists are zero).  Returns an expanded
    polynomial in ``ETA`` with coefficients in jet symbols (``k{j}_0`` for general noise)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    zs = _displacements(1)
    drift = [_series([from_jets(b) for b in drifts])]
    diffusion = sympy.Matrix([[_series([from_jets(D) for D in diffusions])]])
    sde = sde_moment(zs[0] ** n, drift, diffusion, [X], zs, through, prune=prune)
    diff = sympy.expand(to_jets(sde) - sgd_moment_1d(n, noise))
    return _truncate(diff, through)
