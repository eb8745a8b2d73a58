r"""Objectives and noise models: the input of every symsme computation.

A :class:`Problem` is an objective :math:`f: \mathbb{R}^d \to \mathbb{R}` in named variables
with a gradient-noise covariance :math:`\Sigma(x)` (``symsme/DESIGN.md``, "Conventions"), either

(a) given directly as a symmetric :math:`d \times d` matrix expression, or
(b) a finite sum of per-sample losses :math:`f_1, \dots, f_n` with minibatches of size
    :math:`B` drawn with replacement (:meth:`Problem.finite_sum`):

    .. math::

        f = \frac1n \sum_{i=1}^n f_i, \qquad
        \Sigma = \frac1B \Big( \frac1n \sum_{i=1}^n \nabla f_i \nabla f_i^{\top}
                 - \nabla f \nabla f^{\top} \Big),

    the covariance of the minibatch gradient in SME-2 (Li, Tai, E, ICML 2017; JMLR 2019) and
    HA-SME (Li, Shen, Zhang, He, arXiv 2405.18373).

Everything is exact (SymPy; decimal literals become rationals).  The coordinate-free terms of
the modified equations are contractions of the derivative tensors

.. math::

    (\nabla^j f)_{a_1 \dots a_j} = \partial_{a_1} \cdots \partial_{a_j} f, \qquad
    (\nabla^j \Sigma)_{p q a_1 \dots a_j} = \partial_{a_1} \cdots \partial_{a_j} \Sigma_{pq},

given symbolically by :meth:`Problem.grad_f` / :meth:`Problem.grad_sigma` (Sigma's two
indices first, then the derivative indices) and numerically, batched over points, by
:meth:`Problem.jets` (:mod:`symsme.problems.jets`).  User text is read by
:mod:`symsme.expressions`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np
import numpy.typing as npt
import sympy as sp

from symsme.errors import (
    ExpressionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from symsme.expressions import matrix_rows, parse_text, parse_variables, to_expression
from symsme.numeric.backend import Backend, BackendName
from symsme.problems.jets import JetPlan, Jets
from symsme.validate import check_integer, check_order

__all__ = ["Problem"]


def _parse_sigma(sigma: Any, variables: tuple[sp.Symbol, ...]) -> sp.ImmutableMatrix:
    d = len(variables)
    names = {v.name: v for v in variables}
    if sigma is None:
        return sp.ImmutableMatrix.zeros(d, d)
    text = sigma
    if isinstance(sigma, str):
        sigma = parse_text(sigma, names, "Sigma")
    rows = matrix_rows(sigma, "Sigma")
    if rows is None:
        if d != 1:
            raise ShapeError(
                f"Sigma {text!r} is a scalar but there {_are_variables(d)} "
                f"({', '.join(names)}); write Sigma as a {d} x {d} matrix"
            )
        rows = [[sigma]]
    sizes = {len(r) for r in rows}
    if len(sizes) != 1 or sizes != {len(rows)}:
        raise ShapeError(
            f"Sigma must be a square matrix, got rows of lengths {[len(r) for r in rows]}"
        )
    n = len(rows)
    if n != d:
        raise ShapeError(f"Sigma is {n} x {n} but there {_are_variables(d)} ({', '.join(names)})")
    entries = [
        [to_expression(rows[i][j], names, f"Sigma[{i}, {j}] =") for j in range(d)] for i in range(d)
    ]
    matrix = sp.ImmutableMatrix(entries)
    _check_symmetric(matrix)
    if not matrix.free_symbols:
        _check_constant_psd(matrix)
    return matrix


def _are_variables(d: int) -> str:
    return "is d = 1 variable" if d == 1 else f"are d = {d} variables"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_symmetric(matrix: sp.MatrixBase) -> None:
    """Exact symmetry; entries that differ in form are compared by expansion, then numerically
    at two points (never by an unbounded ``simplify``)."""
    d = matrix.rows
    for i in range(d):
        for j in range(i + 1, d):
            a, b = matrix[i, j], matrix[j, i]
            if a == b:
                continue
            if sp.expand(a - b) == 0 or _numerically_equal(a, b):
                continue
            raise ExpressionError(
                f"Sigma is not symmetric: Sigma[{i}, {j}] = {_short(a)} but "
                f"Sigma[{j}, {i}] = {_short(b)}"
            )


def _numerically_equal(a: sp.Expr, b: sp.Expr) -> bool:
    symbols = sorted((a - b).free_symbols, key=lambda s: s.name)
    for point in (
        (sp.Rational(1, 3), sp.Rational(-2, 7)),
        (sp.Rational(5, 11), sp.Rational(3, 13)),
    ):
        values = {s: point[k % 2] * (k + 1) for k, s in enumerate(symbols)}
        try:
            x, y = complex(a.evalf(30, subs=values)), complex(b.evalf(30, subs=values))
        except (TypeError, ValueError):
            return False
        if abs(x - y) > 1e-20 * max(1.0, abs(x), abs(y)):
            return False
    return True


def _check_constant_psd(matrix: sp.MatrixBase) -> None:
    """Raise unless a constant symmetric matrix is PSD: eigenvalues at 50 digits against the
    shared tolerance of :func:`symsme.numeric.psd.psd_tolerance`."""
    from symsme.numeric.psd import psd_tolerance

    d = matrix.rows
    with mpmath.workdps(50):
        m = mpmath.matrix(d, d)
        for i in range(d):
            for j in range(d):
                m[i, j] = mpmath.mpf(sp.N(matrix[i, j], 60))
        eigenvalues = mpmath.eigsy(m, eigvals_only=True)
        smallest = min(eigenvalues)
        tol = psd_tolerance(d, mpmath.mnorm(m, "f"), mpmath.mpf(2) ** -52)
        if smallest < -tol:
            raise NotPositiveSemidefiniteError(
                f"Sigma is not positive semidefinite: its most negative eigenvalue is "
                f"{mpmath.nstr(smallest, 10)} < -{mpmath.nstr(tol, 3)} (tolerance "
                "64 d eps ||Sigma||_F)"
            )


class Problem:
    r"""An objective :math:`f(x_1, \dots, x_d)` with gradient-noise covariance :math:`\Sigma(x)`.

    Parameters
    ----------
    loss:
        :math:`f` as a string (``"x1**4/4 + x1*x2"``) or SymPy expression in ``variables``.
    variables:
        Names, in order: ``"x1 x2"``, ``"x1, x2"``, a list of names or symbols.
    sigma:
        :math:`\Sigma(x)`, a symmetric positive semidefinite :math:`d \times d` matrix: a string
        such as ``"[[1 + x1**2, x1*x2/2], [x1*x2/2, 1]]"``, a SymPy matrix, nested lists (of
        strings, numbers or expressions) or a numpy array; in 1-D also a scalar or
        ``"[[1 + x**2]]"``.  ``None`` means no noise (:math:`\Sigma = 0`).  Floats are kept as
        the exact binary values they denote; decimal literals in strings become rationals.
    what:
        How messages name the expression: ``"loss"``, or ``"test function"`` for a
        :math:`\varphi` made a problem so that it can be evaluated.

    Raises
    ------
    ExpressionError
        Unparseable text, symbols that are not among the variables, a non-symmetric Sigma
        (naming the entry).
    ShapeError
        Sigma not square or not :math:`d \times d` (naming both sizes).
    NotPositiveSemidefiniteError
        A constant Sigma with a negative eigenvalue (naming the most negative one).  A
        state-dependent Sigma is checked where it is evaluated (:mod:`symsme.numeric.models`).

    Attributes
    ----------
    variables, loss, sigma, dim:
        The variables (real SymPy symbols), :math:`f`, :math:`\Sigma` (an ``ImmutableMatrix``)
        and :math:`d`.
    per_sample_losses, batch_size:
        For :meth:`finite_sum` problems, the :math:`f_i` and :math:`B`; otherwise ``None``.
    """

    def __init__(
        self,
        loss: str | sp.Expr,
        variables: str | sp.Symbol | Sequence[str | sp.Symbol],
        sigma: Any = None,
        *,
        what: str = "loss",
    ) -> None:
        self.variables: tuple[sp.Symbol, ...] = parse_variables(variables)
        names = {v.name: v for v in self.variables}
        self.loss: sp.Expr = to_expression(loss, names, what)
        self.sigma: sp.ImmutableMatrix = _parse_sigma(sigma, self.variables)
        self.per_sample_losses: tuple[sp.Expr, ...] | None = None
        self.batch_size: int | None = None
        self._f_parts: dict[int, dict[tuple[int, ...], sp.Expr]] = {}
        self._sigma_parts: dict[int, dict[tuple[int, int, tuple[int, ...]], sp.Expr]] = {}
        self._plans: dict[str, JetPlan] = {}
        self._samples: tuple[Problem, ...] | None = None

    def __getstate__(self) -> dict:
        # Lambdified functions do not pickle (a Dask worker builds its own plans).
        state = dict(self.__dict__)
        state["_plans"] = {}
        return state

    @property
    def dim(self) -> int:
        """The dimension :math:`d`."""
        return len(self.variables)

    def __repr__(self) -> str:
        names = ", ".join(v.name for v in self.variables)
        if self.per_sample_losses is not None:
            return (
                f"Problem.finite_sum({[str(f) for f in self.per_sample_losses]}, "
                f"[{names}], batch_size={self.batch_size})"
            )
        return f"Problem({self.loss}, [{names}], sigma={self.sigma.tolist()})"

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_strings(
        cls, loss: str, variables: str | Sequence[str], sigma: str | None = None
    ) -> Problem:
        r"""Build a problem from text: ``Problem.from_strings("x**4/4", "x", "1 + x**2")``.

        Same checks as :class:`Problem`.
        """
        return cls(loss, variables, sigma)

    @classmethod
    def finite_sum(
        cls,
        per_sample_losses: Sequence[str | sp.Expr],
        variables: str | sp.Symbol | Sequence[str | sp.Symbol],
        batch_size: int,
    ) -> Problem:
        r"""Empirical risk :math:`f = \frac1n\sum_i f_i` with minibatch SGD noise.

        Minibatches of size :math:`B` drawn with replacement give the covariance

        .. math::

            \Sigma(x) = \frac1B \Big( \frac1n \sum_{i=1}^n \nabla f_i \nabla f_i^{\top}
                        - \nabla f \nabla f^{\top} \Big)

        (Li, Tai, E, JMLR 2019, section 2; positive semidefinite by construction).

        Raises
        ------
        ShapeError
            If there are no per-sample losses or ``batch_size`` is not an integer >= 1.
        ExpressionError
            As for :class:`Problem`.
        """
        batch_size = check_integer(batch_size, "batch_size", 1, error=ShapeError)
        if (
            isinstance(per_sample_losses, str)
            or not isinstance(per_sample_losses, Sequence)
            or len(per_sample_losses) == 0
        ):
            raise ShapeError(
                f"finite_sum needs a non-empty list of per-sample losses, got {per_sample_losses!r}"
            )
        symbols = parse_variables(variables)
        names = {v.name: v for v in symbols}
        losses = tuple(
            to_expression(fi, names, f"per-sample loss f_{i + 1}")
            for i, fi in enumerate(per_sample_losses)
        )
        n = len(losses)
        grads = [sp.Matrix([sp.diff(fi, v) for v in symbols]) for fi in losses]
        mean = sp.Add(*losses) / n
        mean_grad = sp.Matrix([sp.diff(mean, v) for v in symbols])
        second = sp.zeros(len(symbols), len(symbols))
        for gi in grads:
            second += gi * gi.T
        sigma = (second / n - mean_grad * mean_grad.T) / sp.Integer(int(batch_size))
        problem = cls(mean, symbols, sp.ImmutableMatrix(sigma))
        problem.per_sample_losses = losses
        problem.batch_size = int(batch_size)
        return problem

    @classmethod
    def quadratic(
        cls,
        hessian: Any,
        sigma: Any,
        variables: str | Sequence[str | sp.Symbol] | None = None,
    ) -> Problem:
        r"""The quadratic :math:`f(x) = \tfrac12 x^{\top} A x` with constant noise :math:`\Sigma`.

        The case in which HA-SME is exact in law (Li, Shen, Zhang, He, arXiv 2405.18373); see
        :mod:`symsme.exact.quadratic`.  ``hessian`` (:math:`A`, symmetric) and ``sigma`` are
        matrices as in :class:`Problem`; floats are kept exact.  Default variables are
        ``x1, ..., xd`` (``x`` if :math:`d = 1`).
        """
        rows = matrix_rows(hessian, "the Hessian")
        if rows is None:
            rows = [[hessian]]
        d = len(rows)
        if any(len(r) != d for r in rows):
            raise ShapeError(
                f"the Hessian must be square, got rows of lengths {[len(r) for r in rows]}"
            )
        if variables is None:
            variables = ["x"] if d == 1 else [f"x{i + 1}" for i in range(d)]
        symbols = parse_variables(variables)
        if len(symbols) != d:
            raise ShapeError(f"the Hessian is {d} x {d} but there are {len(symbols)} variables")
        a = sp.Matrix(
            [[to_expression(rows[i][j], {}, f"A[{i}, {j}]") for j in range(d)] for i in range(d)]
        )
        if a != a.T:
            i, j = next((i, j) for i in range(d) for j in range(d) if a[i, j] != a[j, i])
            raise ExpressionError(
                f"the Hessian is not symmetric: A[{i}, {j}] = {a[i, j]} but A[{j}, {i}] = {a[j, i]}"
            )
        x = sp.Matrix(symbols)
        loss = sp.expand((x.T * a * x)[0, 0] / 2)
        return cls(loss, symbols, sigma)

    # ------------------------------------------------------------------ symbolic tensors
    def _f_components(self, order: int) -> dict[tuple[int, ...], sp.Expr]:
        """Distinct entries of grad^order f, keyed by sorted index tuples."""
        if order not in self._f_parts:
            v = self.variables
            parts: dict[tuple[int, ...], sp.Expr]
            if order == 0:
                parts = {(): self.loss}
            elif order == 1:
                parts = {(a,): sp.diff(self.loss, v[a]) for a in range(self.dim)}
            else:
                lower = self._f_components(order - 1)
                parts = {
                    t: sp.diff(lower[t[:-1]], v[t[-1]])
                    for t in itertools.combinations_with_replacement(range(self.dim), order)
                }
            self._f_parts[order] = parts
        return self._f_parts[order]

    def _sigma_components(self, order: int) -> dict[tuple[int, int, tuple[int, ...]], sp.Expr]:
        """Distinct entries of grad^order Sigma, keyed by (p <= q, sorted derivative indices)."""
        if order not in self._sigma_parts:
            d, v = self.dim, self.variables
            parts: dict[tuple[int, int, tuple[int, ...]], sp.Expr]
            if order == 0:
                parts = {(p, q, ()): self.sigma[p, q] for p in range(d) for q in range(p, d)}
            else:
                lower = self._sigma_components(order - 1)
                parts = {
                    (p, q, t): sp.diff(lower[(p, q, t[:-1])], v[t[-1]])
                    for p in range(d)
                    for q in range(p, d)
                    for t in itertools.combinations_with_replacement(range(d), order)
                }
            self._sigma_parts[order] = parts
        return self._sigma_parts[order]

    @staticmethod
    def _f_key(index: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(index))

    @staticmethod
    def _sigma_key(index: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]]:
        p, q = sorted(index[:2])
        return (p, q, tuple(sorted(index[2:])))

    def grad_f(self, order: int) -> sp.ImmutableDenseNDimArray:
        r"""The symbolic tensor :math:`\nabla^j f`, shape ``(d,) * j``, :math:`j \ge 1`.

        Each distinct entry is differentiated once and cached (the tensor is symmetric).

        Raises
        ------
        OrderError
            If ``order`` is not an integer >= 1.
        """
        order = check_order(order, "the derivative order of f", 1)
        parts = self._f_components(order)
        shape = (self.dim,) * order
        flat = [parts[self._f_key(i)] for i in itertools.product(range(self.dim), repeat=order)]
        return sp.ImmutableDenseNDimArray(flat, shape)

    def grad_sigma(self, order: int) -> sp.ImmutableDenseNDimArray:
        r"""The symbolic tensor :math:`\nabla^j \Sigma` (:math:`j \ge 0`).

        Shape ``(d, d) + (d,) * j``: Sigma's two indices first, then the derivative indices.

        Raises
        ------
        OrderError
            If ``order`` is not an integer >= 0.
        """
        order = check_order(order, "the derivative order of Sigma", 0)
        parts = self._sigma_components(order)
        shape = (self.dim,) * (order + 2)
        flat = [
            parts[self._sigma_key(i)] for i in itertools.product(range(self.dim), repeat=order + 2)
        ]
        return sp.ImmutableDenseNDimArray(flat, shape)

    # ------------------------------------------------------------------ numeric jets
    def _plan(self, backend: BackendName | Backend) -> JetPlan:
        from symsme.numeric.backend import get_backend

        bk = get_backend(backend)
        plan = self._plans.get(bk.name)
        if plan is None:
            plan = self._plans[bk.name] = JetPlan(self, bk)
        return plan.with_backend(bk)

    def check_points(
        self, points: npt.ArrayLike, backend: BackendName | Backend = "numpy"
    ) -> np.ndarray:
        r"""Validate points of shape ``batch + (d,)``; return float64 (numpy) or ``mpf`` objects.

        Raises
        ------
        ShapeError
            If the last axis does not have length :math:`d` (naming the length).
        NonFiniteError
            If a coordinate is NaN or infinite (naming the point).
        """
        return self._plan(backend).check_points(points)

    def check_start(self, x0: Any) -> np.ndarray:
        r"""One start point ``(d,)`` (float64; a scalar for :math:`d = 1`), every coordinate
        finite.

        Raises
        ------
        ShapeError
            Not numbers, or not :math:`d` of them.
        NonFiniteError
            A NaN or infinite coordinate (naming the point).
        """
        try:
            start = np.reshape(np.asarray(x0, dtype=np.float64), (-1,))
        except (TypeError, ValueError):
            raise ShapeError(f"x0 must be a point of {self.dim} numbers, got {x0!r:.80}") from None
        if start.shape != (self.dim,):
            raise ShapeError(f"x0 must be one point of length {self.dim}, got {x0!r:.80}")
        return self.check_points(start)

    def values(self, points: npt.ArrayLike, backend: BackendName | Backend = "numpy") -> np.ndarray:
        r"""The objective :math:`f` itself at points of shape ``batch + (d,)`` (shape ``batch``).

        Also the way to evaluate a test function :math:`\varphi`: make it a :class:`Problem`
        (``Problem("cos(x)", "x")``).  Raises as :meth:`jets`.
        """
        plan = self._plan(backend)
        pts = plan.check_points(points)
        return plan._evaluate("f", 0, pts)[()]

    def _numpy_function(self, key: str, entries: Any, what: str) -> Any:
        """A numpy function of the variables for the expressions ``entries()`` (built once,
        kept with the plans so that it is not pickled; exact constants checked for float64)."""
        if key not in self._plans:
            from symsme.numeric.backend import get_backend

            values = entries()
            get_backend("numpy").check_constants(list(values), what)
            self._plans[key] = sp.lambdify(  # type: ignore[assignment]
                self.variables, values, modules="numpy", cse=True
            )
        return self._plans[key]

    def sample_problems(self) -> tuple[Problem, ...]:
        r"""The per-sample losses of a :meth:`finite_sum` as problems (built once; empty for
        other problems).  Numeric :math:`\nabla^j\Sigma` is computed from their derivative
        tensors (:meth:`~symsme.problems.jets.JetPlan._finite_sum_sigma`)."""
        if self.per_sample_losses is None:
            return ()
        if self._samples is None:
            self._samples = tuple(Problem(fi, self.variables) for fi in self.per_sample_losses)
        return self._samples

    @property
    def diagonal_sigma(self) -> bool:
        r"""Whether :math:`\Sigma(x)` is diagonal for every :math:`x` (off-diagonal entries
        identically zero)."""
        d = self.dim
        return all(self.sigma[i, j] == 0 for i in range(d) for j in range(d) if i != j)

    def sigma_diagonal(self, points: npt.ArrayLike) -> np.ndarray:
        r"""The diagonal of a diagonal :math:`\Sigma(x)` at points ``(m, d)``: shape ``(m, d)``
        (float64), without forming the matrices.

        Raises
        ------
        ShapeError
            If :math:`\Sigma` is not diagonal (:attr:`diagonal_sigma`), or as
            :meth:`check_points`.
        NonFiniteError
            A diagonal entry that is not finite (naming the point).
        """
        if not self.diagonal_sigma:
            raise ShapeError("Sigma is not diagonal: use jets(...).sigma")
        pts = self.check_points(points)
        if pts.ndim != 2:
            raise ShapeError(f"points must have shape (m, {self.dim}), got {pts.shape}")
        function = self._numpy_function(
            "sigma_diagonal", lambda: [self.sigma[i, i] for i in range(self.dim)], "Sigma"
        )
        out = np.empty(pts.shape)
        with np.errstate(all="ignore"):
            values = function(*(pts[:, a] for a in range(self.dim)))
        for i, value in enumerate(values):
            out[:, i] = value
        finite = np.all(np.isfinite(out), axis=1)
        if not np.all(finite):
            m = int(np.argmin(finite))
            raise NonFiniteError(f"Sigma is not finite at x = {pts[m].tolist()}")
        return out

    def per_sample_gradients(self, points: npt.ArrayLike) -> np.ndarray:
        r""":math:`\nabla f_i` of every per-sample loss of a :meth:`finite_sum` at points of shape
        ``(m, d)``: shape ``(m, n, d)`` (float64).

        Raises
        ------
        ShapeError
            If the problem is not a finite sum, or as :meth:`check_points`.
        """
        if self.per_sample_losses is None:
            raise ShapeError("per-sample gradients need a Problem.finite_sum(...)")
        pts = self.check_points(points)
        if pts.ndim != 2:
            raise ShapeError(f"points must have shape (m, {self.dim}), got {pts.shape}")
        losses = self.per_sample_losses
        function = self._numpy_function(
            "per_sample",
            lambda: sp.Matrix([[sp.diff(fi, v) for v in self.variables] for fi in losses]),
            "a per-sample gradient",
        )
        with np.errstate(all="ignore"):
            values = function(*(pts[:, a] for a in range(self.dim)))
        out = np.empty((pts.shape[0], len(self.per_sample_losses), self.dim))
        for i in range(len(self.per_sample_losses)):
            for a in range(self.dim):
                out[:, i, a] = values[i][a]
        if not np.all(np.isfinite(out)):
            m = int(np.argwhere(~np.all(np.isfinite(out), axis=(1, 2)))[0][0])
            raise NonFiniteError(f"a per-sample gradient is not finite at x = {pts[m].tolist()}")
        return out

    def jets(
        self,
        points: npt.ArrayLike,
        max_f_order: int | None,
        max_sigma_order: int | None = None,
        backend: BackendName | Backend = "numpy",
    ) -> Jets:
        r"""Evaluate :math:`\nabla^j f` (:math:`1 \le j \le` ``max_f_order``) and
        :math:`\nabla^j \Sigma` (:math:`0 \le j \le` ``max_sigma_order``) at a batch of points.

        Parameters
        ----------
        points:
            Shape ``batch + (d,)`` (any batch shape, also ``()`` for one point).
        max_f_order, max_sigma_order:
            Highest derivative orders; ``None`` skips ``f`` / ``Sigma`` entirely.
        backend:
            ``"numpy"`` (float64, vectorised) or ``"mpmath"`` (object arrays of ``mpf`` at the
            current ``mpmath.mp`` precision; points may be ``mpf``, floats or decimal strings),
            or a :class:`~symsme.numeric.backend.Backend`.

        Returns
        -------
        Jets
            ``grad_f[j]`` of shape ``batch + (d,) * j``; ``grad_sigma[j]`` of shape
            ``batch + (d, d) + (d,) * j``.

        Raises
        ------
        ShapeError, NonFiniteError
            Bad points (see :meth:`check_points`), or a derivative that is not finite and real
            at a point (naming the point).
        OrderError
            Orders that are not integers (>= 1 for f, >= 0 for Sigma).
        """
        return self._plan(backend).jets(points, max_f_order, max_sigma_order)
