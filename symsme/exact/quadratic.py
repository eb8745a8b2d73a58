r"""Exact laws for quadratic objectives: SGD's moments and each SDE model's Gaussian law.

For :math:`f(x) = \tfrac12 x^{\top} A x` (:math:`A` symmetric) and constant gradient-noise
covariance :math:`\Sigma`, SGD :math:`x_{k+1} = x_k - \eta(A x_k + \xi_k)` with
:math:`\operatorname{Cov}\xi_k = \Sigma` has, with :math:`M = I - \eta A`,

.. math::

    \mathbb{E} x_{k+1} = M\, \mathbb{E} x_k, \qquad
    C_{k+1} = M C_k M^{\top} + \eta^2 \Sigma,

and every SDE model :math:`dX = -B X\,dt + (\eta D)^{1/2}\,dW` with symmetric :math:`B` and
constant :math:`D` is an Ornstein-Uhlenbeck process with

.. math::

    \mathbb{E} X_t = e^{-tB} x_0, \qquad
    \operatorname{Cov} X_t = e^{-tB} C_0 e^{-tB}
      + \eta \int_0^t e^{-sB} D e^{-sB}\, ds,

evaluated exactly in the eigenbasis :math:`B = W \operatorname{diag}(\beta) W^{\top}`:
:math:`(W^{\top} \operatorname{Cov} X_t W)_{ij} = e^{-t(\beta_i + \beta_j)} (W^{\top} C_0 W)_{ij}
+ \eta (W^{\top} D W)_{ij} \, \frac{1 - e^{-t(\beta_i + \beta_j)}}{\beta_i + \beta_j}`
(the last factor is :math:`t` when :math:`\beta_i + \beta_j = 0`, and is computed with
``expm1``).  The models (:mod:`symsme.numeric.models`):

- SGF: :math:`B = A`, :math:`D = \Sigma`;
- SME-2 (Li, Tai, E, ICML 2017; JMLR 2019): :math:`B = A + \tfrac{\eta}{2} A^2`,
  :math:`D = \Sigma`;
- HA-SME (Li, Shen, Zhang, He, arXiv 2405.18373): :math:`B = \psi(M) A`,
  :math:`\operatorname{vec} D = \psi(M \otimes M) \operatorname{vec}\Sigma`.

For HA-SME, :math:`e^{-k\eta\,\psi(M) A} = M^k` (since :math:`\eta\lambda\psi(1 - \eta\lambda)
= -\log(1 - \eta\lambda)`) and the covariance integral reproduces the SGD recursion, so its law
at :math:`t = k\eta` *equals* SGD's after :math:`k` steps when :math:`\eta\lambda_{\max} < 1`
and :math:`D \succeq 0`; SGF and SME-2 are not exact.  ``tests/test_exact_quadratic.py`` checks
this in float64 and with mpmath.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import numpy.typing as npt

from symsme.errors import ExpressionError, NonFiniteError, ShapeError, SymsmeError
from symsme.numeric.lambdify import Backend, check_step_size
from symsme.numeric.models import PsdMode, _normalise_model, hasme_closed_form

__all__ = ["diffusion_matrix", "drift_matrix", "ou_law", "sgd_law"]


def _as_array(value: Any, shape: tuple[int, ...], name: str, backend: str) -> np.ndarray:
    """A float64 (numpy) or ``mpf`` object (mpmath) array of the given shape, all finite."""
    if backend == "numpy":
        try:
            out = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ShapeError(f"{name} must be a real array of shape {shape}: {exc}") from exc
        finite = np.isfinite(out)
    elif backend == "mpmath":
        raw = np.asarray(value, dtype=object)
        out = np.empty(raw.shape, dtype=object)
        for index in np.ndindex(raw.shape):
            out[index] = mpmath.mpf(raw[index])
        finite = np.vectorize(mpmath.isfinite, otypes=[bool])(out) if out.size else np.ones(0)
    else:
        raise SymsmeError(f"unknown backend {backend!r} (known: 'numpy', 'mpmath')")
    if out.shape != shape:
        raise ShapeError(f"{name} has shape {out.shape}, expected {shape}")
    if not np.all(finite):
        raise NonFiniteError(f"{name} has entries that are not finite")
    return out


def _hessian(hessian: Any, backend: str) -> np.ndarray:
    a = np.asarray(hessian, dtype=object if backend == "mpmath" else np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ShapeError(f"the Hessian A must be a square matrix, got shape {a.shape}")
    a = _as_array(a, a.shape, "the Hessian A", backend)
    if not np.all(a == a.T):
        i, j = np.argwhere(a != a.T)[0]
        raise ExpressionError(
            f"the Hessian A is not symmetric: A[{i}, {j}] = {a[i, j]} but A[{j}, {i}] = {a[j, i]}"
        )
    return a


def _eta(eta: Any, backend: str) -> Any:
    exact = check_step_size(eta)
    return mpmath.mpf(exact._to_mpmath(mpmath.mp.prec)) if backend == "mpmath" else float(exact)


def _eigh(b: np.ndarray, backend: str) -> tuple[np.ndarray, np.ndarray]:
    if backend == "numpy":
        return np.linalg.eigh(b)
    d = b.shape[0]
    m = mpmath.matrix(d, d)
    for i in range(d):
        for j in range(d):
            m[i, j] = b[i, j]
    lam, w = mpmath.eigsy(m)
    vals = np.array([lam[i] for i in range(d)], dtype=object)
    vecs = np.array([[w[i, j] for j in range(d)] for i in range(d)], dtype=object)
    return vals, vecs


def sgd_law(
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    x0: npt.ArrayLike,
    steps: int,
    cov0: npt.ArrayLike | None = None,
    *,
    backend: Backend = "numpy",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and covariance of SGD on :math:`f = \tfrac12 x^{\top} A x` after ``steps`` steps.

    Iterates :math:`m_{k+1} = M m_k`, :math:`C_{k+1} = M C_k M^{\top} + \eta^2\Sigma`,
    :math:`M = I - \eta A`, from :math:`m_0 = x_0`, :math:`C_0` = ``cov0`` (default 0).  Exact
    for any noise with covariance :math:`\Sigma` (only the first two moments enter).

    Parameters
    ----------
    hessian, sigma:
        :math:`A` (symmetric) and :math:`\Sigma`, shape ``(d, d)``.
    eta:
        Learning rate, finite and > 0.
    x0, cov0:
        Initial mean ``(d,)`` and covariance ``(d, d)``.
    steps:
        Number of steps :math:`k \ge 0`.
    backend:
        ``"numpy"`` (float64) or ``"mpmath"`` (object arrays of ``mpf`` at ``mp.prec``).

    Returns
    -------
    (mean, cov)
        Arrays of shapes ``(d,)`` and ``(d, d)``.
    """
    a = _hessian(hessian, backend)
    d = a.shape[0]
    s = _as_array(sigma, (d, d), "Sigma", backend)
    mean = _as_array(x0, (d,), "x0", backend)
    cov = _as_array(np.zeros((d, d)) if cov0 is None else cov0, (d, d), "cov0", backend)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise SymsmeError(f"steps must be an integer >= 0, got {steps!r}")
    h = _eta(eta, backend)
    identity = np.eye(d) if backend == "numpy" else _as_array(np.eye(d), (d, d), "I", backend)
    m = identity - h * a
    noise = h * h * s
    for _ in range(int(steps)):
        mean = m @ mean
        cov = m @ cov @ m.T + noise
    return mean, (cov + cov.T) / 2


def drift_matrix(
    model: str, hessian: npt.ArrayLike, eta: Any, *, backend: Backend = "numpy"
) -> np.ndarray:
    r"""The matrix :math:`B` of the linear drift :math:`b(x) = -B x` of ``model`` on a quadratic.

    .. math::

        B_{\rm SGF} = A, \qquad B_{\rm SME\text{-}2} = A + \tfrac{\eta}{2} A^2, \qquad
        B_{\rm HA\text{-}SME} = \psi(I - \eta A)\, A,

    the last from :func:`symsme.numeric.models.hasme_closed_form` (so the package's own
    numeric closed form is what is tested for exactness).

    Raises
    ------
    HessianConditionError
        For HA-SME when :math:`\eta\lambda_{\max}(A) \ge 1`.
    """
    name = _normalise_model(model)
    a = _hessian(hessian, backend)
    h = _eta(eta, backend)
    if name == "sgf":
        return a
    if name == "sme2":
        return a + (h / 2) * (a @ a)
    if name == "ha-sme":
        d = a.shape[0]
        # Rows of the symmetric A are the gradients A e_j; b(e_j) = -psi(M) A e_j = -B e_j.
        b, _ = hasme_closed_form(
            a, np.broadcast_to(a, (d, d, d)), None, check_step_size(eta), backend=backend
        )
        b_matrix = -np.asarray(b).T
        return (b_matrix + b_matrix.T) / 2
    raise SymsmeError(f"model {model!r} has no closed-form quadratic drift here")


def diffusion_matrix(
    model: str,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    *,
    backend: Backend = "numpy",
    psd: PsdMode = "raise",
) -> np.ndarray:
    r"""The constant diffusion :math:`D` of ``model`` on a quadratic with constant :math:`\Sigma`.

    :math:`D = \Sigma` for SGF and SME-2;
    :math:`\operatorname{vec} D = \psi(M \otimes M)\operatorname{vec}\Sigma` for HA-SME, from
    :func:`symsme.numeric.models.hasme_closed_form` (with its ``psd`` policy).
    """
    name = _normalise_model(model)
    a = _hessian(hessian, backend)
    d = a.shape[0]
    s = _as_array(sigma, (d, d), "Sigma", backend)
    if name in ("sgf", "sme2"):
        return s
    if name == "ha-sme":
        _, diffusion = hasme_closed_form(None, a, s, check_step_size(eta), backend=backend, psd=psd)
        return np.asarray(diffusion)
    raise SymsmeError(f"model {model!r} has no closed-form quadratic diffusion here")


def ou_law(
    model: str,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    x0: npt.ArrayLike,
    t: Any,
    cov0: npt.ArrayLike | None = None,
    *,
    backend: Backend = "numpy",
    psd: PsdMode = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and covariance at time :math:`t` of ``model``'s OU process on a quadratic.

    :math:`dX = -B X\,dt + (\eta D)^{1/2} dW`, :math:`X_0 \sim (x_0, C_0)`, with
    :math:`B` = :func:`drift_matrix` and :math:`D` = :func:`diffusion_matrix`; mean and
    covariance from the eigenbasis formula in the module notes.  Compare with
    :func:`sgd_law` at :math:`t = k\eta`.

    Parameters
    ----------
    model:
        ``"sgf"``, ``"sme2"`` or ``"ha-sme"``.
    hessian, sigma, eta, x0, cov0, backend:
        As in :func:`sgd_law`.
    t:
        Time, finite and :math:`\ge 0`.
    psd:
        Policy for an indefinite HA-SME :math:`D` (see :mod:`symsme.numeric.models`).

    Returns
    -------
    (mean, cov)
        Arrays of shapes ``(d,)`` and ``(d, d)``.
    """
    a = _hessian(hessian, backend)
    d = a.shape[0]
    mean0 = _as_array(x0, (d,), "x0", backend)
    c0 = _as_array(np.zeros((d, d)) if cov0 is None else cov0, (d, d), "cov0", backend)
    time = _as_array(t, (), "t", backend)[()]
    if time < 0:
        raise SymsmeError(f"t must be >= 0, got {t!r}")
    h = _eta(eta, backend)
    beta, w = _eigh(drift_matrix(model, a, eta, backend=backend), backend)
    d_rot = w.T @ diffusion_matrix(model, a, sigma, eta, backend=backend, psd=psd) @ w
    c_rot = w.T @ c0 @ w
    rate = beta[:, None] + beta[None, :]
    if backend == "numpy":
        decay = np.exp(-time * rate)
        with np.errstate(invalid="ignore", divide="ignore"):
            integral = np.where(rate == 0, time, -np.expm1(-time * rate) / rate)
        mean = w @ (np.exp(-time * beta) * (w.T @ mean0))
    else:
        decay = np.vectorize(lambda r: mpmath.exp(-time * r), otypes=[object])(rate)
        integral = np.vectorize(
            lambda r: time if r == 0 else -mpmath.expm1(-time * r) / r, otypes=[object]
        )(rate)
        scale = np.array([mpmath.exp(-time * b) for b in beta], dtype=object)
        mean = w @ (scale * (w.T @ mean0))
    cov = w @ (decay * c_rot + h * d_rot * integral) @ w.T
    return mean, (cov + cov.T) / 2
