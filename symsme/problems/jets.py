r"""Numeric derivative tensors of a problem at batches of points: evaluation plans and jets.

A :class:`JetPlan` turns the distinct entries of :math:`\nabla^j f` and :math:`\nabla^j\Sigma`
(symmetric tensors: each distinct entry is differentiated and lambdified once, with common
subexpressions shared) into numeric functions of one backend (:mod:`symsme.numeric.backend`),
and evaluates them at validated points into :class:`Jets`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import sympy as sp

from symsme.errors import ExpressionError, NonFiniteError, ShapeError
from symsme.numeric.backend import Backend
from symsme.validate import check_order

__all__ = ["JetPlan", "Jets", "SymbolicTensors"]


class SymbolicTensors(Protocol):
    """What a plan needs from a problem (:class:`symsme.problems.Problem` provides it): the
    variables and the distinct entries of the symmetric derivative tensors."""

    variables: tuple[sp.Symbol, ...]
    batch_size: int | None

    @property
    def dim(self) -> int: ...

    def _f_components(self, order: int) -> dict[tuple[int, ...], sp.Expr]: ...

    def _sigma_components(self, order: int) -> dict[tuple[int, int, tuple[int, ...]], sp.Expr]: ...

    @staticmethod
    def _f_key(index: tuple[int, ...]) -> tuple[int, ...]: ...

    @staticmethod
    def _sigma_key(index: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]]: ...


@dataclass(frozen=True)
class Jets:
    r"""Numeric derivative tensors at a batch of points, from :meth:`Problem.jets`.

    ``grad_f[j]`` has shape ``batch + (d,) * j`` (:math:`\nabla^j f`, :math:`j \ge 1`) and
    ``grad_sigma[j]`` has shape ``batch + (d, d) + (d,) * j`` (:math:`\nabla^j \Sigma`, Sigma's
    indices first), where ``points`` has shape ``batch + (d,)``.  With the mpmath backend the
    arrays are numpy object arrays of ``mpmath.mpf``.
    """

    points: np.ndarray
    grad_f: dict[int, np.ndarray] = field(default_factory=dict)
    grad_sigma: dict[int, np.ndarray] = field(default_factory=dict)
    backend: str = "numpy"

    @property
    def gradient(self) -> np.ndarray:
        r""":math:`\nabla f`, shape ``batch + (d,)``."""
        return self.grad_f[1]

    @property
    def hessian(self) -> np.ndarray:
        r""":math:`\nabla^2 f`, shape ``batch + (d, d)``."""
        return self.grad_f[2]

    @property
    def sigma(self) -> np.ndarray:
        r""":math:`\Sigma`, shape ``batch + (d, d)``."""
        return self.grad_sigma[0]

    @property
    def tensors(self) -> dict[tuple[str, int], np.ndarray]:
        """``{("f", j): grad^j f, ("S", j): grad^j Sigma}``, the form series evaluate on
        (:meth:`symsme.algebra.series.Series.evaluate`)."""
        out = {("f", j): a for j, a in self.grad_f.items()}
        out.update({("S", j): a for j, a in self.grad_sigma.items()})
        return out


class JetPlan:
    """Lambdified derivative tensors of one problem for one backend (built lazily, cached)."""

    def __init__(self, problem: SymbolicTensors, backend: Backend) -> None:
        self.problem = problem
        self.backend = backend
        self._functions: dict[tuple[str, int], tuple[Any, np.ndarray]] = {}

    def with_backend(self, backend: Backend) -> JetPlan:
        """The same plan for another backend object of the same kind (e.g. another precision):
        the lambdified functions are shared."""
        if backend is self.backend:
            return self
        other = JetPlan(self.problem, backend)
        other._functions = self._functions
        return other

    def _function(self, kind: str, order: int) -> tuple[Any, np.ndarray]:
        key = (kind, order)
        if key not in self._functions:
            problem = self.problem
            if kind == "f":
                parts: dict[Any, sp.Expr] = problem._f_components(order)
                shape = (problem.dim,) * order
                to_key: Any = problem._f_key
            else:
                parts = problem._sigma_components(order)
                shape = (problem.dim,) * (order + 2)
                to_key = problem._sigma_key
            keys = list(parts)
            position = {k: n for n, k in enumerate(keys)}
            index_map = np.empty(shape, dtype=np.intp)
            for index in np.ndindex(shape):
                index_map[index] = position[to_key(index)]
            what = f"grad^{order} {'f' if kind == 'f' else 'Sigma'}"
            self.backend.check_constants([parts[k] for k in keys], what)
            try:
                func = sp.lambdify(
                    problem.variables,
                    [parts[k] for k in keys],
                    modules=self.backend.lambdify_modules,
                    cse=True,
                )
            except Exception as exc:  # printers raise various types for unsupported functions
                raise ExpressionError(
                    f"cannot turn the derivatives of {'f' if kind == 'f' else 'Sigma'} into "
                    f"{self.backend.name} code: {type(exc).__name__}: {exc}"
                ) from exc
            self._functions[key] = (func, index_map)
        return self._functions[key]

    def check_points(self, points: npt.ArrayLike) -> np.ndarray:
        """Points of shape ``batch + (d,)`` in the backend's number type, all finite."""
        backend, problem = self.backend, self.problem
        pts = backend.asarray(points, "points")
        if pts.ndim == 0 or pts.shape[-1] != problem.dim:
            length = "a scalar" if pts.ndim == 0 else f"length {pts.shape[-1]}"
            names = ", ".join(v.name for v in problem.variables)
            raise ShapeError(
                f"points must have shape (..., {problem.dim}) for the variables ({names}); "
                f"got {length} in the last axis (shape {pts.shape})"
            )
        finite = backend.isfinite(pts)
        if not np.all(finite):
            where = tuple(np.argwhere(~np.all(finite, axis=-1))[0])
            raise NonFiniteError(f"point {backend.format_point(pts[where])} is not finite")
        return pts

    def jets(
        self, points: npt.ArrayLike, max_f_order: int | None, max_sigma_order: int | None
    ) -> Jets:
        """See :meth:`symsme.problems.Problem.jets`."""
        pts = self.check_points(points)
        grad_f: dict[int, np.ndarray] = {}
        grad_sigma: dict[int, np.ndarray] = {}
        if max_f_order is not None:
            for j in range(1, check_order(max_f_order, "max_f_order", 1) + 1):
                grad_f[j] = self._evaluate("f", j, pts)
        if max_sigma_order is not None:
            for j in range(check_order(max_sigma_order, "max_sigma_order", 0) + 1):
                grad_sigma[j] = self._evaluate("sigma", j, pts)
        return Jets(pts, grad_f, grad_sigma, self.backend.name)

    def _evaluate(self, kind: str, order: int, pts: np.ndarray) -> np.ndarray:
        """The tensor at the points: the distinct components are evaluated first (each stored
        contiguously, components first), checked, then gathered into the full tensor."""
        samples = getattr(self.problem, "sample_problems", None)
        if kind == "sigma" and self.backend.vectorised and samples is not None and samples():
            return self._finite_sum_sigma(samples(), order, pts)
        func, index_map = self._function(kind, order)
        backend, dim = self.backend, self.problem.dim
        batch = pts.shape[:-1]
        n = int(index_map.max()) + 1
        what = f"grad^{order} f" if kind == "f" else f"grad^{order} Sigma"
        if backend.vectorised:
            rows = np.empty((n, *batch), dtype=np.float64)
            try:
                with np.errstate(all="ignore"):
                    values = func(*(pts[..., a] for a in range(dim)))
            except OverflowError:  # exact constants beyond float64 meet floats
                raise NonFiniteError(
                    f"{what} overflows at the points given{backend.range_note}"
                ) from None
            for k, value in enumerate(values):
                if np.iscomplexobj(value):
                    value = np.where(np.imag(value) == 0, np.real(value), np.nan)
                try:
                    rows[k] = value
                except OverflowError:  # an exact constant beyond float64 (e.g. 10**309)
                    rows[k] = np.inf
        else:
            rows = np.empty((n, *batch), dtype=object)
            for index in np.ndindex(batch):
                values = func(*(pts[index][a] for a in range(dim)))
                for k, value in enumerate(values):
                    rows[(k, *index)] = backend.real(value)
        bad = ~np.all(backend.isfinite(rows), axis=0)
        if np.any(bad):
            where = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            raise NonFiniteError(
                f"{what} is not finite (or not real) at the point "
                f"{backend.format_point(pts[where])}{backend.range_note}"
            )
        # rows[index_map] has the tensor axes first: move the point axes to the front (a view)
        tensor_axes = tuple(range(index_map.ndim))
        return np.moveaxis(rows[index_map], tensor_axes, tuple(a + len(batch) for a in tensor_axes))

    def _finite_sum_sigma(self, samples: Any, order: int, pts: np.ndarray) -> np.ndarray:
        r""":math:`\nabla^j\Sigma` of a finite sum from the per-sample derivative tensors
        :math:`\nabla^k f_i`, :math:`k \le j + 1`, rather than from the symbolic :math:`\Sigma`
        (whose derivatives grow with the number of samples).  With
        :math:`\Sigma = \frac1B(\frac1n\sum_i g_i g_i^{\top} - \bar g \bar g^{\top})`, Leibniz's
        rule gives, for the derivative indices :math:`c_1 \dots c_j`,

        .. math::

            \partial_{c_1 \cdots c_j} (u_a v_b) = \sum_{S \subseteq \{1..j\}}
            (\partial_{c_S} u_a)(\partial_{c_{S^c}} v_b),

        one term per subset (``2**j`` einsums)."""
        batch = pts.shape[:-1]
        dim, batch_size = self.problem.dim, self.problem.batch_size
        per_sample = {
            k: np.stack([one._plan(self.backend)._evaluate("f", k, pts) for one in samples])
            for k in range(1, order + 2)
        }
        n = len(samples)
        flat = {k: t.reshape(n, -1, dim**k) for k, t in per_sample.items()}  # (n, m, d^k)
        mean = {k: t.mean(axis=0) for k, t in flat.items()}
        m = next(iter(flat.values())).shape[1]
        letters = "cdefghjklmnopqrstuvwxyz"[:order]
        out = np.zeros((m, dim, dim, *(dim,) * order))
        # the subset S and its complement give the same term with a and b swapped (Sigma is
        # symmetric): compute the subsets holding the first derivative index (or the one
        # subset when j = 0) and add each with its transpose
        for first in itertools.product((True, False), repeat=order):
            if order and not first[0]:
                continue
            left = "".join(c for c, f in zip(letters, first, strict=True) if f)
            right = "".join(c for c, f in zip(letters, first, strict=True) if not f)
            u, v = 1 + len(left), 1 + len(right)
            # sum_i u_i v_i^T as one batched matrix product over the samples
            product = np.matmul(np.moveaxis(flat[u], 0, -1), np.moveaxis(flat[v], 0, 1))
            product -= n * mean[u][:, :, None] * mean[v][:, None, :]
            shaped = product.reshape((m, dim, *(dim,) * len(left), dim, *(dim,) * len(right)))
            term = np.einsum(f"za{left}b{right}->zab{letters}", shaped)
            out += term
            if order:
                out += np.swapaxes(term, 1, 2)
        out = out.reshape((*batch, dim, dim, *(dim,) * order))
        return out / (len(samples) * (batch_size or 1))
