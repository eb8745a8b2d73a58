r"""Numeric backends as objects: float64 numpy arrays or mpmath numbers at a chosen precision.

Every numeric stage takes ``backend="numpy"`` or ``backend="mpmath"`` (or a :class:`Backend`)
and asks the object, never ``if backend == ...``, for what differs between the two:

- arrays of its number type (:meth:`Backend.asarray`; float64, or numpy object arrays of
  ``mpmath.mpf``), conversion of exact numbers (:meth:`Backend.number`), finiteness;
- batched symmetric eigendecompositions (:meth:`Backend.eigh`, ascending eigenvalues;
  ``numpy.linalg.eigh`` or ``mpmath.eigsy`` per matrix) and Frobenius norms;
- :math:`\psi(1 + \delta) = \operatorname{log1p}(\delta)/\delta` elementwise
  (:mod:`symsme.numeric.psi`);
- its unit roundoff :attr:`Backend.eps` (tolerances scale with it) and number formatting;
- its precision as a context (:meth:`Backend.context`): ``MpmathBackend(dps=40)`` computes at
  40 digits inside ``with backend.context():`` and leaves ``mpmath.mp`` as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, Literal

import mpmath
import numpy as np
import sympy as sp

from symsme.errors import NonFiniteError, ShapeError, SymsmeError
from symsme.numeric.psi import (
    mp_psi,
    mp_psi_product,
    mp_psi_shifted,
    psi,
    psi_product,
    psi_shifted,
)
from symsme.validate import check_integer

__all__ = ["Backend", "BackendName", "MpmathBackend", "NumpyBackend", "get_backend"]

BackendName = Literal["numpy", "mpmath"]


class Backend:
    """A number type with the array operations symsme needs (see the module docstring)."""

    name: str
    vectorised: bool
    """True when functions act on whole arrays (numpy), False when on one number (mpmath)."""
    lambdify_modules: list[Any]
    """The ``modules`` argument of :func:`sympy.lambdify` for this number type."""
    range_note: str = ""
    """What to say when a value does not fit the number type."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Compute at this backend's precision inside the block."""
        yield

    @property
    def eps(self) -> Any:
        """Unit roundoff (machine epsilon) of the number type."""
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        """One number in the backend's type (raises ``TypeError``/``ValueError`` if it is not)."""
        raise NotImplementedError

    def asarray(self, values: Any, what: str = "value") -> np.ndarray:
        """``values`` as an array of the backend's type; :class:`ShapeError` if not numbers."""
        raise NotImplementedError

    def isfinite(self, a: np.ndarray) -> np.ndarray:
        """Elementwise finiteness (a bool array)."""
        raise NotImplementedError

    def number(self, value: Any) -> Any:
        """An exact number (SymPy, Fraction, int) in the backend's type."""
        raise NotImplementedError

    def real(self, value: Any) -> Any:
        """A computed scalar in the backend's type: NaN when it has an imaginary part."""
        raise NotImplementedError

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues and orthonormal eigenvectors (columns) of symmetric ``(..., d, d)``."""
        raise NotImplementedError

    def eigvalsh(self, a: np.ndarray) -> np.ndarray:
        """Eigenvalues (ascending) of symmetric matrices ``(..., d, d)``."""
        raise NotImplementedError

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Batched matrix products ``(..., n, k) @ (..., k, m)``."""
        raise NotImplementedError

    def norm(self, a: np.ndarray) -> np.ndarray:
        """Frobenius norms of matrices ``(..., d, d)``."""
        raise NotImplementedError

    def psi_shifted(self, delta: np.ndarray) -> np.ndarray:
        r""":math:`\psi(1 + \delta)` elementwise."""
        raise NotImplementedError

    def psi_product(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        r""":math:`\psi((1 - u)(1 - v))` elementwise, broadcast
        (:func:`~symsme.numeric.psi.psi_product`)."""
        raise NotImplementedError

    def exp(self, a: np.ndarray) -> np.ndarray:
        """Elementwise exponential."""
        raise NotImplementedError

    def expm1(self, a: np.ndarray) -> np.ndarray:
        """Elementwise :math:`e^a - 1`, accurate for small ``a``."""
        raise NotImplementedError

    def surely_psd(self, a: np.ndarray, tol: np.ndarray) -> bool:
        """A cheap test that every matrix has eigenvalues >= -tol (False: don't know)."""
        return False

    def format(self, value: Any, digits: int = 10) -> str:
        """A number for a message."""
        raise NotImplementedError

    def check_constants(self, exprs: Any, what: str) -> None:
        """Refuse exact constants in SymPy ``exprs`` that the number type cannot hold."""

    def format_point(self, point: Any) -> str:
        """A point (coordinates at full precision) for a message: ``[0.1, 0.2]``."""
        return "[" + ", ".join(self.format_coordinate(v) for v in np.ravel(point)) + "]"

    def format_coordinate(self, value: Any) -> str:
        """One coordinate at full precision."""
        raise NotImplementedError

    def check_finite_array(self, values: Any, what: str) -> np.ndarray:
        """:meth:`asarray` and a :class:`NonFiniteError` naming ``what`` for NaN or inf."""
        out = self.asarray(values, what)
        if out.size and not np.all(self.isfinite(out)):
            raise NonFiniteError(f"{what} has entries that are not finite")
        return out


class NumpyBackend(Backend):
    """float64 numpy arrays, vectorised over points."""

    name = "numpy"
    vectorised = True
    range_note = (
        " (a pole or outside the domain; if the value is finite but beyond 1.8e308, the mpmath "
        "backend, --precision, holds it)"
    )
    lambdify_modules: list[Any] = [{"Psi": psi, "PsiShifted": psi_shifted}, "numpy"]

    @property
    def eps(self) -> float:
        return float(np.finfo(np.float64).eps)

    def convert(self, value: Any) -> float:
        return float(value)

    def asarray(self, values: Any, what: str = "value") -> np.ndarray:
        try:
            raw = np.asarray(values)
            if raw.dtype.kind in "US":
                _check_decimal_strings(raw, what)
            if raw.dtype.kind == "c" or (
                raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.flat)
            ):
                raise ShapeError(f"{what} must be real numbers, got complex values")
            return np.asarray(raw, dtype=np.float64)
        except SymsmeError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ShapeError(f"{what} must be a real array: {str(exc)[:80]}") from exc

    def isfinite(self, a: np.ndarray) -> np.ndarray:
        return np.isfinite(a)

    def number(self, value: Any) -> float:
        return float(value)

    def real(self, value: Any) -> float:
        value = complex(value)
        return value.real if value.imag == 0 else float("nan")

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.linalg.eigh(np.asarray(a, dtype=np.float64))

    def eigvalsh(self, a: np.ndarray) -> np.ndarray:
        return np.linalg.eigvalsh(np.asarray(a, dtype=np.float64))

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    def norm(self, a: np.ndarray) -> np.ndarray:
        # scaled by the largest entry, so that matrices near 1e308 do not overflow
        scale = np.max(np.abs(a), axis=(-2, -1))
        safe = np.where(scale > 0, scale, 1.0)
        return scale * np.sqrt(np.sum((a / safe[..., None, None]) ** 2, axis=(-2, -1)))

    def psi_shifted(self, delta: np.ndarray) -> np.ndarray:
        return psi_shifted(delta)

    def psi_product(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return psi_product(u, v)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def expm1(self, a: np.ndarray) -> np.ndarray:
        return np.expm1(a)

    def surely_psd(self, a: np.ndarray, tol: np.ndarray) -> bool:
        # D + tau I has a Cholesky factor when D's eigenvalues are >= -tau (up to rounding far
        # below tau); only when it fails are eigenvalues needed.
        dim = a.shape[-1]
        try:
            with np.errstate(all="ignore"):
                shifted = a + (tol + np.finfo(np.float64).tiny)[..., None, None] * np.eye(dim)
                np.linalg.cholesky(shifted)
        except np.linalg.LinAlgError:
            return False
        return True

    def format(self, value: Any, digits: int = 10) -> str:
        return f"{float(value):.{digits}g}"

    def format_coordinate(self, value: Any) -> str:
        return repr(float(value))

    def check_constants(self, exprs: Any, what: str) -> None:
        for expr in exprs:
            for number in expr.atoms(sp.Number):
                if number == 0 or not number.is_finite:
                    continue
                magnitude = abs(number)
                if magnitude < _TINY or magnitude > _HUGE:
                    raise NonFiniteError(
                        f"{what} has the constant {sp.Float(number, 3)}, beyond float64's range; "
                        "the mpmath backend (--precision) holds it"
                    )


class MpmathBackend(Backend):
    """numpy object arrays of ``mpmath.mpf``, at ``dps`` decimal digits (default: the current
    ``mpmath.mp`` precision)."""

    name = "mpmath"
    vectorised = False
    lambdify_modules: list[Any] = [{"Psi": mp_psi, "PsiShifted": mp_psi_shifted}, "mpmath"]

    def __init__(self, dps: int | None = None) -> None:
        self.dps = None if dps is None else check_integer(dps, "precision (digits)", 1)

    def __repr__(self) -> str:
        return f"MpmathBackend(dps={self.dps})"

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        if self.dps is None:
            yield
        else:
            with mpmath.workdps(self.dps):
                yield

    @property
    def eps(self) -> mpmath.mpf:
        return mpmath.mpf(2) ** (1 - mpmath.mp.prec)

    def convert(self, value: Any) -> mpmath.mpf:
        if isinstance(value, sp.Basic):
            return mpmath.mpf(sp.Float(value, mpmath.mp.dps + 5)._to_mpmath(mpmath.mp.prec))
        if isinstance(value, Fraction):
            return mpmath.mpf(value.numerator) / value.denominator
        return mpmath.mpf(value)

    def asarray(self, values: Any, what: str = "value") -> np.ndarray:
        raw = np.asarray(values, dtype=object)
        out = np.empty(raw.shape, dtype=object)
        try:
            for index in np.ndindex(raw.shape):
                out[index] = self.convert(raw[index])
        except (TypeError, ValueError) as exc:
            raise ShapeError(f"{what} must be real numbers: {str(exc)[:80]}") from exc
        return out

    def isfinite(self, a: np.ndarray) -> np.ndarray:
        if not np.size(a):
            return np.ones(np.shape(a), dtype=bool)
        return np.vectorize(mpmath.isfinite, otypes=[bool])(a)

    def real(self, value: Any) -> mpmath.mpf:
        """A computed value as ``mpf``: NaN when it has a non-zero imaginary part."""
        value = mpmath.mpmathify(value)
        if isinstance(value, mpmath.mpc):
            return value.real if value.imag == 0 else mpmath.mpf("nan")
        return value

    def number(self, value: Any) -> mpmath.mpf:
        if isinstance(value, sp.Basic):
            return mpmath.mpf(value._to_mpmath(mpmath.mp.prec))
        return self.convert(value)

    def _each(self, a: np.ndarray, vectors: bool) -> tuple[np.ndarray, np.ndarray | None]:
        a = np.asarray(a, dtype=object)
        batch, d = a.shape[:-2], a.shape[-1]
        lam = np.empty((*batch, d), dtype=object)
        vec = np.empty((*batch, d, d), dtype=object) if vectors else None
        for index in np.ndindex(batch):
            m = mpmath.matrix(a[index].tolist())
            if vectors:
                w, v = mpmath.eigsy(m)
            else:
                w, v = mpmath.eigsy(m, eigvals_only=True), None
            values = sorted(w[i] for i in range(d)) if v is None else [w[i] for i in range(d)]
            lam[index] = values
            if vec is not None and v is not None:
                vec[index] = [[v[r, i] for i in range(d)] for r in range(d)]
        return lam, vec

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam, vec = self._each(a, True)
        assert vec is not None
        return lam, vec

    def eigvalsh(self, a: np.ndarray) -> np.ndarray:
        return self._each(a, False)[0]

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # mpmath's own matrix product (one correctly rounded dot product per entry)
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = np.broadcast_to(a, (*batch, *a.shape[-2:]))
        b = np.broadcast_to(b, (*batch, *b.shape[-2:]))
        out = np.empty((*batch, a.shape[-2], b.shape[-1]), dtype=object)
        for index in np.ndindex(batch):
            product = mpmath.matrix(a[index].tolist()) * mpmath.matrix(b[index].tolist())
            out[index] = [[product[i, j] for j in range(product.cols)] for i in range(product.rows)]
        return out

    def norm(self, a: np.ndarray) -> np.ndarray:
        squares = np.sum(np.asarray(a, dtype=object) ** 2, axis=(-2, -1))
        return (
            np.vectorize(mpmath.sqrt, otypes=[object])(squares)
            if np.ndim(squares)
            else (mpmath.sqrt(squares))
        )

    def psi_shifted(self, delta: np.ndarray) -> np.ndarray:
        return np.vectorize(mp_psi_shifted, otypes=[object])(delta)

    def psi_product(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.vectorize(mp_psi_product, otypes=[object])(u, v)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.vectorize(mpmath.exp, otypes=[object])(a)

    def expm1(self, a: np.ndarray) -> np.ndarray:
        return np.vectorize(mpmath.expm1, otypes=[object])(a)

    def format(self, value: Any, digits: int = 10) -> str:
        return mpmath.nstr(value, digits)

    def format_coordinate(self, value: Any) -> str:
        if isinstance(value, mpmath.mpf):
            return mpmath.nstr(value, 17)
        return repr(float(value))


_NAMES: tuple[str, ...] = ("numpy", "mpmath")
_TINY = sp.Float(np.finfo(np.float64).smallest_subnormal, 30)
_HUGE = sp.Float(np.finfo(np.float64).max, 30)


def _check_decimal_strings(raw: np.ndarray, what: str) -> None:
    """Decimal text that float64 would round to 0 or infinity is an error, not a silent zero."""
    for text in raw.flat:
        value = float(text)
        if value == 0 and any(c in "123456789" for c in str(text).lower().split("e")[0]):
            raise NonFiniteError(
                f"{what}: {str(text)[:30]!r} underflows float64; the mpmath backend "
                "(--precision) holds it"
            )
        if not np.isfinite(value) and str(text).strip().lower() not in ("nan", "inf", "-inf"):
            raise NonFiniteError(
                f"{what}: {str(text)[:30]!r} overflows float64; the mpmath backend "
                "(--precision) holds it"
            )


def get_backend(backend: str | Backend) -> Backend:
    """The backend object for ``"numpy"``, ``"mpmath"`` or a :class:`Backend` (returned as is).

    Raises :class:`~symsme.errors.SymsmeError` naming an unknown backend.
    """
    if isinstance(backend, Backend):
        return backend
    if backend == "numpy":
        return NumpyBackend()
    if backend == "mpmath":
        return MpmathBackend()
    raise SymsmeError(f"unknown backend {backend!r} (known: {', '.join(_NAMES)})")
