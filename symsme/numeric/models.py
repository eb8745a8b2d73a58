r"""Numeric drift and diffusion of the SDE models of SGD, batched over points.

Every model is an SDE :math:`dX = b(X)\,dt + (\eta D(X))^{1/2}\,dW` (DESIGN.md, "Conventions"),
here with :math:`g = \nabla f`, :math:`H = \nabla^2 f`, :math:`\Sigma` the gradient-noise
covariance and :math:`M = I - \eta H`:

- SGF (stochastic gradient flow): :math:`b = -g`, :math:`D = \Sigma`.
- SME-2 (Li, Tai, E, ICML 2017; JMLR 2019):
  :math:`b = -g - \tfrac{\eta}{2} H g = -\nabla\big(f + \tfrac{\eta}{4}|\nabla f|^2\big)`,
  :math:`D = \Sigma`.
- HA-SME (Li, Shen, Zhang, He, "A Hessian-Aware Stochastic Differential Equation for Modelling
  SGD", arXiv 2405.18373), closed form with :math:`\psi(w) = \log(w)/(w - 1)`
  (:mod:`symsme.numeric.psi`): with :math:`H = V \operatorname{diag}(\lambda) V^{\top}`,
  :math:`m_i = 1 - \eta\lambda_i`,

  .. math::

      b = -V \operatorname{diag}\big(\psi(m_i)\big) V^{\top} g, \qquad
      (V^{\top} D V)_{ij} = (V^{\top} \Sigma V)_{ij}\, \psi(m_i m_j),

  i.e. :math:`b = -\psi(M) g` and :math:`\operatorname{vec} D = \psi(M \otimes M)
  \operatorname{vec}\Sigma`.  :math:`\psi` is evaluated as
  :math:`\operatorname{log1p}(\delta)/\delta` at :math:`\delta_i = -\eta\lambda_i` and
  :math:`\delta_{ij} = m_i m_j - 1 = -\eta(\lambda_i + \lambda_j) + \eta^2\lambda_i\lambda_j`,
  which are formed without cancellation.
- ME (the :math:`\eta^K` truncation of the derived series): a hook, see :func:`numeric_model`.

Conditions, checked at every evaluated point (never a silent NaN):

- HA-SME needs :math:`\eta\lambda_{\max}(H) < 1` (:math:`M` positive definite), else
  :class:`~symsme.errors.HessianConditionError` naming :math:`\eta\lambda_{\max}`,
  :math:`\lambda_{\max}` and the point.
- :math:`D` must be positive semidefinite.  With :math:`\tau =` ``psd_rtol`` :math:`\cdot
  \|D\|_F` (default ``psd_rtol`` :math:`= 64\,d\,\varepsilon`, :math:`\varepsilon` the machine
  epsilon of the backend: :math:`2^{-52}` for numpy, :math:`2^{1-\text{prec}}` for mpmath), a
  point fails when the most negative eigenvalue of :math:`D` is :math:`< -\tau`.  ``psd=``
  chooses what happens then: ``"raise"`` (default)
  :class:`~symsme.errors.NotPositiveSemidefiniteError` naming the eigenvalue and the point;
  ``"clip"`` the projection onto the PSD cone (negative eigenvalues set to zero, at every point
  with a negative eigenvalue); ``"ignore"`` returns :math:`D` as computed.  :math:`D` is
  always PSD for SGF/SME-2 with a PSD :math:`\Sigma(x)` and for HA-SME when :math:`H` and
  :math:`\Sigma` commute, not in general.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import mpmath
import numpy as np
import numpy.typing as npt
import sympy as sp

from symsme.errors import (
    HessianConditionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    OrderError,
    SymsmeError,
)
from symsme.numeric.lambdify import Backend, check_step_size, format_number
from symsme.numeric.psi import Psi, mp_psi_shifted, psi_shifted
from symsme.problems import Jets, Problem

__all__ = [
    "MODELS",
    "NumericModel",
    "PsdMode",
    "closed_form_1d",
    "hasme_closed_form",
    "numeric_model",
]

PsdMode = Literal["raise", "clip", "ignore"]
MODELS = ("sgf", "sme2", "ha-sme", "me")
_ALIASES = {"sgf": "sgf", "sme2": "sme2", "hasme": "ha-sme", "me": "me"}
# Highest derivative of f each model needs: (for the drift, for the diffusion).
_F_ORDERS = {"sgf": (1, 0), "sme2": (2, 0), "ha-sme": (2, 2)}


def _normalise_model(model: str) -> str:
    key = str(model).lower().replace("-", "").replace("_", "").strip()
    if key not in _ALIASES:
        raise SymsmeError(f"unknown model {model!r} (known: {', '.join(MODELS)})")
    return _ALIASES[key]


def closed_form_1d(model: str) -> tuple[sp.Expr, sp.Expr]:
    r"""Exact 1-D drift and diffusion :math:`(b, D)` of a named model in the jet symbols.

    .. math::

        \text{SGF: } (-g_0,\ s_0), \quad
        \text{SME-2: } (-g_0 - \tfrac{\eta}{2} g_0 g_1,\ s_0), \quad
        \text{HA-SME: } \big(-\psi(1 - \eta g_1)\, g_0,\ \psi((1 - \eta g_1)^2)\, s_0\big),

    with :math:`g_k = f^{(k+1)}`, :math:`s_0 = \Sigma` (Li, Tai, E, JMLR 2019; Li, Shen, Zhang,
    He, arXiv 2405.18373).  Evaluate with :func:`symsme.numeric.lambdify.lambdify_1d`.
    """
    name = _normalise_model(model)
    eta, g0, g1, s0 = sp.symbols("eta g0 g1 s0")
    if name == "sgf":
        return -g0, s0
    if name == "sme2":
        return -g0 - eta * g0 * g1 / 2, s0
    if name == "ha-sme":
        return -Psi(1 - eta * g1) * g0, Psi((1 - eta * g1) ** 2) * s0
    raise SymsmeError("model 'me' has no fixed closed form; derive it with the engine")


# ---------------------------------------------------------------------------- messages
def _point_text(points: np.ndarray | None, index: tuple[int, ...]) -> str:
    if points is None:
        return f"batch index {index}"
    values = [
        mpmath.nstr(v, 17) if isinstance(v, mpmath.mpf) else repr(float(v))
        for v in np.ravel(points[index])
    ]
    return "x = [" + ", ".join(values) + "]"


def _number(value: Any) -> str:
    return mpmath.nstr(value, 10) if isinstance(value, mpmath.mpf) else f"{float(value):.10g}"


def _hessian_error(
    eta: sp.Number, lam_max: Any, points: np.ndarray | None, index: tuple, count: int, total: int
) -> HessianConditionError:
    eta_value = _mp_eta(eta) if isinstance(lam_max, mpmath.mpf) else float(eta)
    return HessianConditionError(
        "HA-SME needs eta*lambda_max(grad^2 f) < 1 (psi(I - eta H) is undefined otherwise): "
        f"at {_point_text(points, index)}, eta*lambda_max = {_number(eta_value * lam_max)} "
        f"(lambda_max = {_number(lam_max)}, eta = {format_number(eta)}); "
        f"{count} of {total} point(s) violate it"
    )


def _psd_error(
    what: str,
    smallest: Any,
    tol: Any,
    points: np.ndarray | None,
    index: tuple,
    count: int,
    total: int,
) -> NotPositiveSemidefiniteError:
    return NotPositiveSemidefiniteError(
        f"the {what} diffusion D is not positive semidefinite at {_point_text(points, index)}: "
        f"most negative eigenvalue {_number(smallest)} < -{_number(tol)} (tolerance "
        f"psd_rtol*||D||_F); {count} of {total} point(s); pass psd='clip' to project onto the "
        "PSD cone or psd='ignore' to keep D as it is"
    )


def _check_psd_mode(psd: str) -> str:
    if psd not in ("raise", "clip", "ignore"):
        raise SymsmeError(f"unknown psd mode {psd!r} (known: 'raise', 'clip', 'ignore')")
    return psd


# ---------------------------------------------------------------------------- numpy
def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _enforce_psd_numpy(
    d_matrix: np.ndarray,
    psd: str,
    psd_rtol: float | None,
    what: str,
    points: np.ndarray | None,
) -> np.ndarray:
    """Apply the PSD policy to a batch of symmetric matrices (see the module notes)."""
    if psd == "ignore":
        return d_matrix
    dim = d_matrix.shape[-1]
    rtol = 64 * dim * np.finfo(np.float64).eps if psd_rtol is None else float(psd_rtol)
    tol = rtol * np.linalg.norm(d_matrix, axis=(-2, -1))
    if psd == "raise":
        try:
            # Cheap pre-check: D + tau I has a Cholesky factor when D's eigenvalues are >= -tau
            # (up to rounding far below tau).  Only on failure are the eigenvalues computed.
            np.linalg.cholesky(
                d_matrix + (tol + np.finfo(np.float64).tiny)[..., None, None] * np.eye(dim)
            )
            return d_matrix
        except np.linalg.LinAlgError:
            pass
    smallest = np.linalg.eigvalsh(d_matrix)[..., 0]
    if psd == "raise":
        bad = smallest < -tol
        if np.any(bad):
            where = np.argwhere(bad)
            index = tuple(where[np.argmin(smallest[bad])]) if bad.ndim else ()
            raise _psd_error(
                what, smallest[index], tol[index], points, index, int(bad.sum()), bad.size
            )
        return d_matrix
    negative = smallest < 0
    if np.any(negative):
        d_matrix = d_matrix.copy()
        mu, w = np.linalg.eigh(d_matrix[negative])
        d_matrix[negative] = (w * np.maximum(mu, 0.0)[..., None, :]) @ _swap(w)
    return d_matrix


def hasme_closed_form(
    gradient: npt.ArrayLike | None,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike | None,
    eta: Any,
    *,
    points: npt.ArrayLike | None = None,
    psd: PsdMode = "raise",
    psd_rtol: float | None = None,
    backend: Backend = "numpy",
) -> tuple[np.ndarray | None, np.ndarray | None]:
    r"""HA-SME drift and diffusion from numeric :math:`g, H, \Sigma`, batched over points.

    .. math::

        b = -V \operatorname{diag}\big(\psi(m_i)\big) V^{\top} g, \qquad
        D = V \big[(V^{\top}\Sigma V)_{ij}\, \psi(m_i m_j)\big] V^{\top}, \qquad
        H = V \operatorname{diag}(\lambda) V^{\top},\ m_i = 1 - \eta\lambda_i

    (Li, Shen, Zhang, He, arXiv 2405.18373), with one batched ``numpy.linalg.eigh`` (or
    ``mpmath.eigsy`` per point) and :func:`~symsme.numeric.psi.psi_shifted` at
    :math:`\delta_i = -\eta\lambda_i` and
    :math:`\delta_{ij} = -\eta(\lambda_i + \lambda_j) + \eta^2 \lambda_i\lambda_j`.

    Parameters
    ----------
    gradient, hessian, sigma:
        Shapes ``batch + (d,)``, ``batch + (d, d)``, ``batch + (d, d)``; ``gradient`` or
        ``sigma`` may be ``None`` to skip the drift or the diffusion.
    eta:
        Learning rate (finite, > 0).
    points:
        Optional points ``batch + (d,)``, only to name them in error messages.
    psd, psd_rtol:
        Policy for an indefinite :math:`D` (module notes of :mod:`symsme.numeric.models`).
    backend:
        ``"numpy"`` (float64 arrays) or ``"mpmath"`` (object arrays of ``mpf`` in and out,
        computed at the current ``mpmath.mp`` precision).

    Returns
    -------
    (b, D)
        ``b`` of shape ``batch + (d,)`` and ``D`` of shape ``batch + (d, d)`` (symmetric), or
        ``None`` for a skipped part.

    Raises
    ------
    StepSizeError, HessianConditionError, NotPositiveSemidefiniteError
    """
    eta_exact = check_step_size(eta)
    _check_psd_mode(psd)
    pts = (
        None
        if points is None
        else np.asarray(points, dtype=object if backend == "mpmath" else None)
    )
    if backend == "numpy":
        return _hasme_numpy(gradient, hessian, sigma, eta_exact, pts, psd, psd_rtol)
    if backend == "mpmath":
        return _hasme_mpmath(gradient, hessian, sigma, eta_exact, pts, psd, psd_rtol)
    raise SymsmeError(f"unknown backend {backend!r} (known: 'numpy', 'mpmath')")


def _hasme_numpy(
    gradient: Any, hessian: Any, sigma: Any, eta_exact: sp.Number, pts: Any, psd: str, psd_rtol: Any
) -> tuple[np.ndarray | None, np.ndarray | None]:
    eta_f = float(eta_exact)
    lam, v = np.linalg.eigh(np.asarray(hessian, dtype=np.float64))
    lam_max = lam[..., -1]
    bad = eta_f * lam_max >= 1.0
    if np.any(bad):
        index = tuple(np.argwhere(bad)[np.argmax(lam_max[bad])]) if bad.ndim else ()
        raise _hessian_error(eta_exact, lam_max[index], pts, index, int(bad.sum()), bad.size)
    u = eta_f * lam
    drift = None
    if gradient is not None:
        g_rot = np.einsum("...ji,...j->...i", v, np.asarray(gradient, dtype=np.float64))
        drift = -np.einsum("...ij,...j->...i", v, psi_shifted(-u) * g_rot)
    diffusion = None
    if sigma is not None:
        vt = _swap(v)
        s_rot = vt @ np.asarray(sigma, dtype=np.float64) @ v
        delta = u[..., :, None] * u[..., None, :] - (u[..., :, None] + u[..., None, :])
        d_matrix = v @ (s_rot * psi_shifted(delta)) @ vt
        d_matrix = 0.5 * (d_matrix + _swap(d_matrix))
        diffusion = _enforce_psd_numpy(d_matrix, psd, psd_rtol, "HA-SME", pts)
    return drift, diffusion


# ---------------------------------------------------------------------------- mpmath
def _mp_matrix(a: np.ndarray) -> mpmath.matrix:
    m = mpmath.matrix(a.shape[0], a.shape[1])
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            m[i, j] = a[i, j]
    return m


def _mp_eta(eta: sp.Number) -> mpmath.mpf:
    return mpmath.mpf(eta._to_mpmath(mpmath.mp.prec))


def _mp_rtol(dim: int, psd_rtol: Any) -> mpmath.mpf:
    if psd_rtol is not None:
        return mpmath.mpf(psd_rtol)
    return 64 * dim * mpmath.mpf(2) ** (1 - mpmath.mp.prec)


def _enforce_psd_mpmath(
    d_matrices: np.ndarray, psd: str, psd_rtol: Any, what: str, points: np.ndarray | None
) -> np.ndarray:
    if psd == "ignore":
        return d_matrices
    batch = d_matrices.shape[:-2]
    dim = d_matrices.shape[-1]
    rtol = _mp_rtol(dim, psd_rtol)
    out = d_matrices.copy() if psd == "clip" else d_matrices
    failures: list[tuple[Any, Any, tuple]] = []
    for index in np.ndindex(batch):
        m = _mp_matrix(d_matrices[index])
        tol = rtol * mpmath.mnorm(m, "f")
        if psd == "raise":
            smallest = min(mpmath.eigsy(m, eigvals_only=True))
            if smallest < -tol:
                failures.append((smallest, tol, index))
            continue
        mu, w = mpmath.eigsy(m)
        if min(mu) < 0:
            clipped = w * mpmath.diag([max(x, 0) for x in mu]) * w.T
            for i in range(dim):
                for j in range(dim):
                    out[(*index, i, j)] = clipped[i, j]
    if failures:
        smallest, tol, index = min(failures, key=lambda f: f[0])
        raise _psd_error(what, smallest, tol, points, index, len(failures), int(np.prod(batch)))
    return out


def _hasme_mpmath(
    gradient: Any, hessian: Any, sigma: Any, eta: sp.Number, pts: Any, psd: str, psd_rtol: Any
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The closed form of :func:`hasme_closed_form`, pointwise with ``mpmath.eigsy``."""
    hessian = _as_mp_array(hessian)
    batch, dim = hessian.shape[:-2], hessian.shape[-1]
    eta_mp = _mp_eta(eta)
    gradient = None if gradient is None else _as_mp_array(gradient)
    sigma = None if sigma is None else _as_mp_array(sigma)
    drift = None if gradient is None else np.empty((*batch, dim), dtype=object)
    diffusion = None if sigma is None else np.empty((*batch, dim, dim), dtype=object)
    violations: list[tuple[Any, tuple]] = []
    decompositions = {}
    for index in np.ndindex(batch):
        lam, v = mpmath.eigsy(_mp_matrix(hessian[index]))
        lam_max = max(lam)
        if eta_mp * lam_max >= 1:
            violations.append((lam_max, index))
        decompositions[index] = (lam, v)
    if violations:
        lam_max, index = max(violations, key=lambda t: t[0])
        raise _hessian_error(eta, lam_max, pts, index, len(violations), int(np.prod(batch)))
    for index, (lam, v) in decompositions.items():
        u = [eta_mp * lam[i] for i in range(dim)]
        if drift is not None:
            g_rot = v.T * mpmath.matrix(list(gradient[index]))
            scaled = mpmath.matrix([mp_psi_shifted(-u[i]) * g_rot[i] for i in range(dim)])
            b = -(v * scaled)
            for i in range(dim):
                drift[(*index, i)] = b[i]
        if diffusion is not None:
            s_rot = v.T * _mp_matrix(sigma[index]) * v
            for i in range(dim):
                for j in range(dim):
                    s_rot[i, j] *= mp_psi_shifted(u[i] * u[j] - (u[i] + u[j]))
            d_matrix = v * s_rot * v.T
            for i in range(dim):
                for j in range(dim):
                    diffusion[(*index, i, j)] = (d_matrix[i, j] + d_matrix[j, i]) / 2
    if diffusion is not None:
        diffusion = _enforce_psd_mpmath(diffusion, psd, psd_rtol, "HA-SME", pts)
    return drift, diffusion


def _as_mp_array(values: Any) -> np.ndarray:
    """An object array of ``mpf`` (entries converted at the current precision)."""
    raw = np.asarray(values, dtype=object)
    out = np.empty(raw.shape, dtype=object)
    for index in np.ndindex(raw.shape):
        out[index] = mpmath.mpf(raw[index])
    return out


# ---------------------------------------------------------------------------- the model
class NumericModel:
    r"""Numeric drift :math:`b(x)` and diffusion :math:`D(x)` of one model for one problem.

    Made by :func:`numeric_model`.  :meth:`drift` and :meth:`diffusion` take points of shape
    ``batch + (d,)`` and return arrays of shape ``batch + (d,)`` and ``batch + (d, d)``
    (float64 for numpy; object arrays of ``mpmath.mpf`` for mpmath, at the current
    ``mpmath.mp`` precision).  :meth:`drift_diffusion` computes both with one set of jets and
    one eigendecomposition.  Conditions are checked at every point (module notes).
    """

    def __init__(
        self,
        problem: Problem,
        model: str,
        eta: Any,
        backend: Backend,
        psd: PsdMode,
        psd_rtol: float | None,
        terms: tuple[Sequence[Callable[..., Any]], Sequence[Callable[..., Any]]] | None,
    ) -> None:
        self.problem = problem
        self.model = model
        self.eta = check_step_size(eta)
        self.backend = backend
        self.psd = psd
        self.psd_rtol = psd_rtol
        self.terms = terms

    def __repr__(self) -> str:
        return (
            f"NumericModel({self.model!r}, eta={format_number(self.eta)}, "
            f"backend={self.backend!r}, d={self.problem.dim})"
        )

    def drift(self, points: npt.ArrayLike) -> np.ndarray:
        r"""The drift :math:`b` at ``points`` (shape ``batch + (d,)``)."""
        return self._evaluate(points, True, False)[0]

    def diffusion(self, points: npt.ArrayLike) -> np.ndarray:
        r"""The diffusion matrix :math:`D` at ``points`` (shape ``batch + (d, d)``)."""
        return self._evaluate(points, False, True)[1]

    def drift_diffusion(self, points: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        r"""Both :math:`b` and :math:`D` at ``points``, sharing the work."""
        return self._evaluate(points, True, True)

    def from_jets(
        self, jets: Jets, drift: bool = True, diffusion: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        r""":math:`b` and/or :math:`D` from precomputed :meth:`Problem.jets` (same backend).

        The jets need :math:`\nabla f` (and :math:`\nabla^2 f` for SME-2/HA-SME) and
        :math:`\Sigma` for the diffusion.  Not available for ``"me"``.
        """
        if self.model == "me":
            raise SymsmeError("from_jets is not available for model 'me' (its terms take points)")
        if jets.backend != self.backend:
            raise SymsmeError(f"jets were computed with {jets.backend!r}, not {self.backend!r}")
        f_order = self._f_order(drift, diffusion)
        missing = [f"grad^{j} f" for j in range(1, f_order + 1) if j not in jets.grad_f]
        if diffusion and 0 not in jets.grad_sigma:
            missing.append("Sigma")
        if missing:
            raise SymsmeError(f"the {self.model} model needs {', '.join(missing)} in the jets")
        return self._from_jets(jets, drift, diffusion)

    def _f_order(self, drift: bool, diffusion: bool) -> int:
        """Highest derivative of f needed (0: none)."""
        f_drift, f_diffusion = _F_ORDERS[self.model]
        return max(f_drift if drift else 0, f_diffusion if diffusion else 0)

    def _evaluate(
        self, points: npt.ArrayLike, need_drift: bool, need_diffusion: bool
    ) -> tuple[Any, Any]:
        if self.model == "me":
            return self._evaluate_terms(points, need_drift, need_diffusion)
        f_order = self._f_order(need_drift, need_diffusion)
        jets = self.problem.jets(
            points, f_order or None, 0 if need_diffusion else None, backend=self.backend
        )
        return self._from_jets(jets, need_drift, need_diffusion)

    def _from_jets(self, jets: Jets, need_drift: bool, need_diffusion: bool) -> tuple[Any, Any]:
        if self.model == "ha-sme":
            drift, diffusion = hasme_closed_form(
                jets.gradient if need_drift else None,
                jets.hessian,
                jets.sigma if need_diffusion else None,
                self.eta,
                points=jets.points,
                psd=self.psd,
                psd_rtol=self.psd_rtol,
                backend=self.backend,
            )
        else:
            eta = float(self.eta) if self.backend == "numpy" else _mp_eta(self.eta)
            drift = diffusion = None
            if need_drift:
                drift = -jets.gradient
                if self.model == "sme2":
                    h_g = (jets.hessian * jets.gradient[..., None, :]).sum(axis=-1)
                    drift = drift - (eta / 2) * h_g
            if need_diffusion:
                what = "SGF (D = Sigma)" if self.model == "sgf" else "SME-2 (D = Sigma)"
                diffusion = self._enforce_psd(jets.sigma.copy(), jets.points, what)
        return self._check_finite(drift, jets.points), self._check_finite(diffusion, jets.points)

    def _enforce_psd(self, d_matrix: np.ndarray, points: np.ndarray, what: str) -> np.ndarray:
        if self.backend == "numpy":
            return _enforce_psd_numpy(d_matrix, self.psd, self.psd_rtol, what, points)
        return _enforce_psd_mpmath(d_matrix, self.psd, self.psd_rtol, what, points)

    def _check_finite(self, value: np.ndarray | None, points: np.ndarray) -> np.ndarray | None:
        if value is None:
            return None
        if self.backend == "numpy":
            finite = np.isfinite(value)
        else:
            finite = np.vectorize(mpmath.isfinite, otypes=[bool])(value)
        batch_ndim = points.ndim - 1
        axes = tuple(range(batch_ndim, value.ndim))
        bad = ~np.all(finite, axis=axes) if axes else ~finite
        if np.any(bad):
            index = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            raise NonFiniteError(
                f"the {self.model} model is not finite at {_point_text(points, index)} "
                f"(eta = {format_number(self.eta)})"
            )
        return value

    def _evaluate_terms(
        self, points: npt.ArrayLike, need_drift: bool, need_diffusion: bool
    ) -> tuple[Any, Any]:
        pts = self.problem.check_points(points, self.backend)
        eta = float(self.eta) if self.backend == "numpy" else _mp_eta(self.eta)
        drift_terms, diffusion_terms = self.terms  # type: ignore[misc]  # checked in numeric_model
        drift = _eta_series(drift_terms, eta, pts) if need_drift else None
        diffusion = None
        if need_diffusion:
            diffusion = self._enforce_psd(_eta_series(diffusion_terms, eta, pts), pts, "ME")
        return self._check_finite(drift, pts), self._check_finite(diffusion, pts)


def _eta_series(terms: Sequence[Callable[..., Any]], eta: Any, points: np.ndarray) -> np.ndarray:
    r""":math:`\sum_k \eta^k t_k(x)` for the ``"me"`` hook."""
    total = np.asarray(terms[0](points))
    for k, term in enumerate(terms[1:], start=1):
        total = total + eta**k * np.asarray(term(points))
    return total


def numeric_model(
    problem: Problem,
    model: str,
    eta: Any,
    *,
    backend: Backend = "numpy",
    order: int | None = None,
    psd: PsdMode = "raise",
    psd_rtol: float | None = None,
    terms: tuple[Sequence[Callable[..., Any]], Sequence[Callable[..., Any]]] | None = None,
) -> NumericModel:
    r"""The numeric drift and diffusion of a named SDE model of SGD for ``problem``.

    The SDE is :math:`dX = b(X)\,dt + (\eta D(X))^{1/2}\,dW`; the models and their conditions
    are listed in :mod:`symsme.numeric.models` (SGF; SME-2 of Li, Tai, E, ICML 2017 / JMLR 2019;
    HA-SME of Li, Shen, Zhang, He, arXiv 2405.18373).

    Parameters
    ----------
    problem:
        A :class:`~symsme.problems.Problem`.
    model:
        ``"sgf"``, ``"sme2"``, ``"ha-sme"`` or ``"me"`` (case, ``-`` and ``_`` are ignored).
    eta:
        Learning rate, finite and > 0.
    backend:
        ``"numpy"`` (float64, batched) or ``"mpmath"`` (``mpf`` at ``mpmath.mp`` precision);
        same signatures.
    order:
        Only for ``"me"``: the truncation order :math:`K` (uses the terms
        :math:`b_0..b_K`, :math:`D_0..D_K`); default all given terms.
    psd, psd_rtol:
        Policy for a diffusion that is not positive semidefinite: ``"raise"`` (default),
        ``"clip"`` (project onto the PSD cone) or ``"ignore"``; tolerance
        ``psd_rtol * ||D||_F``, default ``psd_rtol`` :math:`= 64\,d\,\varepsilon`.
    terms:
        Only for ``"me"``; default: the engine's derived series
        (:func:`symsme.models.me_terms`, truncated at ``order``, default 2).  Otherwise
        ``(drift_terms, diffusion_terms)``, sequences of callables; ``drift_terms[k](points)``
        returns :math:`b_k` (shape ``batch + (d,)``) and ``diffusion_terms[k](points)`` returns
        :math:`D_k` (shape ``batch + (d, d)``) at validated points of the backend's type, and
        :math:`b = \sum_k \eta^k b_k`, :math:`D = \sum_k \eta^k D_k`.

    Raises
    ------
    SymsmeError
        Unknown model, backend or psd mode; ``terms`` given for a model other than ``"me"``.
    StepSizeError
        Bad ``eta``.
    OrderError
        ``order`` given for a model other than ``"me"``, negative, or beyond the given terms.
    """
    name = _normalise_model(model)
    if backend not in ("numpy", "mpmath"):
        raise SymsmeError(f"unknown backend {backend!r} (known: 'numpy', 'mpmath')")
    _check_psd_mode(psd)
    if name != "me":
        if order is not None:
            raise OrderError(f"order={order!r} only applies to model 'me', not {name!r}")
        if terms is not None:
            raise SymsmeError(f"terms= only applies to model 'me', not {name!r}")
        return NumericModel(problem, name, eta, backend, psd, psd_rtol, None)
    if terms is None:
        # The derived series itself: the coordinate-free b_k, D_k evaluated on the jets.
        from symsme.models import me_terms

        terms = me_terms(problem, 2 if order is None else order, backend=backend)
    drift_terms, diffusion_terms = (list(t) for t in terms)
    if not drift_terms or not diffusion_terms:
        raise SymsmeError("model 'me' needs at least one drift and one diffusion term")
    if order is not None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise OrderError(f"order must be an integer >= 0, got {order!r}")
        if len(drift_terms) < order + 1 or len(diffusion_terms) < order + 1:
            raise OrderError(
                f"order {order} needs {order + 1} drift and diffusion terms, got "
                f"{len(drift_terms)} and {len(diffusion_terms)}"
            )
        drift_terms, diffusion_terms = drift_terms[: order + 1], diffusion_terms[: order + 1]
    return NumericModel(problem, name, eta, backend, psd, psd_rtol, (drift_terms, diffusion_terms))
