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
``expm1``).  :math:`B` and :math:`D` come from the registered models themselves
(:mod:`symsme.models`), evaluated on the quadratic's derivative tensors (:math:`\nabla f =
A x`, :math:`\nabla^2 f = A`, higher derivatives and :math:`\nabla\Sigma` zero), so every
model whose drift is linear there has an exact law, and the package's own numeric code is what
is tested:

- SGF: :math:`B = A`, :math:`D = \Sigma`;
- SME-2 (Li, Tai, E, ICML 2017; JMLR 2019): :math:`B = A + \tfrac{\eta}{2} A^2`,
  :math:`D = \Sigma`;
- HA-SME (Li, Shen, Zhang, He, arXiv 2405.18373): :math:`B = \psi(M) A`,
  :math:`\operatorname{vec} D = \psi(M \otimes M) \operatorname{vec}\Sigma`;
- ME-K: the Hessian-aware terms of its :math:`b_k, D_k` (the others vanish here).

For HA-SME, :math:`e^{-k\eta\,\psi(M) A} = M^k` (since :math:`\eta\lambda\psi(1 - \eta\lambda)
= -\log(1 - \eta\lambda)`) and the covariance integral reproduces the SGD recursion, so its law
at :math:`t = k\eta` *equals* SGD's after :math:`k` steps when :math:`\eta\lambda_{\max} < 1`
and :math:`D \succeq 0`; SGF and SME-2 are not exact.  ``tests/test_exact_quadratic.py`` checks
this in float64 and with mpmath.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from symsme.errors import ExpressionError, NonFiniteError, ShapeError, SymsmeError
from symsme.models import NumericModel, get_model
from symsme.numeric.backend import Backend, BackendName, get_backend
from symsme.numeric.psd import PsdMode, check_psd_mode
from symsme.problems import Jets
from symsme.validate import check_integer, check_step_size

__all__ = ["diffusion_matrix", "drift_matrix", "ou_law", "sgd_law"]


def _hessian(hessian: Any, bk: Backend) -> np.ndarray:
    a = bk.asarray(hessian, "the Hessian A")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ShapeError(f"the Hessian A must be a square matrix, got shape {a.shape}")
    a = _array(a, a.shape, "the Hessian A", bk)
    if not np.all(a == a.T):
        i, j = np.argwhere(a != a.T)[0]
        raise ExpressionError(
            f"the Hessian A is not symmetric: A[{i}, {j}] = {a[i, j]} but A[{j}, {i}] = {a[j, i]}"
        )
    return a


def _array(value: Any, shape: tuple[int, ...], name: str, bk: Backend) -> np.ndarray:
    """A finite array of the backend's type with the given shape."""
    out = bk.asarray(value, name)
    if out.shape != shape:
        raise ShapeError(f"{name} has shape {out.shape}, expected {shape}")
    return bk.check_finite_array(out, name)


def sgd_law(
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    x0: npt.ArrayLike,
    steps: int,
    cov0: npt.ArrayLike | None = None,
    *,
    backend: BackendName | Backend = "numpy",
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
    bk = get_backend(backend)
    a = _hessian(hessian, bk)
    d = a.shape[0]
    s = _array(sigma, (d, d), "Sigma", bk)
    mean = _array(x0, (d,), "x0", bk)
    cov = _array(np.zeros((d, d)) if cov0 is None else cov0, (d, d), "cov0", bk)
    steps = check_integer(steps, "steps", 0)
    h = bk.number(check_step_size(eta))
    m = bk.asarray(np.eye(d)) - h * a
    noise = h * h * s
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            mean = m @ mean
            cov = m @ cov @ m.T + noise
    return _finite(mean, "SGD mean", bk), _finite((cov + cov.T) / 2, "SGD covariance", bk)


def _quadratic_model(
    model: str, a: np.ndarray, sigma: np.ndarray, eta: Any, bk: Backend, psd: str
) -> tuple[NumericModel, Jets]:
    """The registered model bound to :math:`f = x^\top A x/2` with constant noise, and its jets
    at the points :math:`e_1, \\dots, e_d` (so :math:`\nabla f(e_j) = A e_j`)."""
    spec = get_model(model)
    d = a.shape[0]
    f_order, s_order = spec.jet_orders(True, True)
    zeros = bk.asarray(np.zeros(1))[0]
    grad_f = {1: a.T.copy(), 2: np.broadcast_to(a, (d, d, d)).copy()}
    for j in range(3, (f_order or 2) + 1):
        grad_f[j] = np.full((d, *(d,) * j), zeros, dtype=a.dtype)
    grad_sigma = {0: np.broadcast_to(sigma, (d, d, d)).copy()}
    for j in range(1, (s_order or 0) + 1):
        grad_sigma[j] = np.full((d, d, d, *(d,) * j), zeros, dtype=a.dtype)
    points = bk.asarray(np.eye(d))
    jets = Jets(points, grad_f, grad_sigma, bk.name)
    return NumericModel(None, spec, check_step_size(eta), bk, psd, None), jets


def drift_matrix(
    model: str,
    hessian: npt.ArrayLike,
    eta: Any,
    *,
    backend: BackendName | Backend = "numpy",
) -> np.ndarray:
    r"""The matrix :math:`B` of the linear drift :math:`b(x) = -B x` of ``model`` on a quadratic.

    .. math::

        B_{\rm SGF} = A, \qquad B_{\rm SME\text{-}2} = A + \tfrac{\eta}{2} A^2, \qquad
        B_{\rm HA\text{-}SME} = \psi(I - \eta A)\, A,

    computed by the registered model itself (columns :math:`-b(e_j)`, then symmetrised).

    Raises
    ------
    HessianConditionError
        For HA-SME when :math:`\eta\lambda_{\max}(A) \ge 1`.
    """
    bk = get_backend(backend)
    a = _hessian(hessian, bk)
    d = a.shape[0]
    bound, jets = _quadratic_model(model, a, bk.asarray(np.zeros((d, d))), eta, bk, "ignore")
    b, _ = bound.from_jets(jets, drift=True, diffusion=False)
    b_matrix = -np.asarray(b).T
    return (b_matrix + b_matrix.T) / 2


def diffusion_matrix(
    model: str,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    *,
    backend: BackendName | Backend = "numpy",
    psd: PsdMode = "raise",
) -> np.ndarray:
    r"""The constant diffusion :math:`D` of ``model`` on a quadratic with constant :math:`\Sigma`.

    :math:`D = \Sigma` for SGF and SME-2;
    :math:`\operatorname{vec} D = \psi(M \otimes M)\operatorname{vec}\Sigma` for HA-SME; with
    the ``psd`` policy of :mod:`symsme.numeric.psd`.
    """
    bk = get_backend(backend)
    check_psd_mode(psd)
    a = _hessian(hessian, bk)
    d = a.shape[0]
    s = _array(sigma, (d, d), "Sigma", bk)
    bound, jets = _quadratic_model(model, a, s, eta, bk, psd)
    _, dm = bound.from_jets(jets, drift=False, diffusion=True)
    return np.asarray(dm)[0]


def ou_law(
    model: str,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eta: Any,
    x0: npt.ArrayLike,
    t: Any,
    cov0: npt.ArrayLike | None = None,
    *,
    backend: BackendName | Backend = "numpy",
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
        A registered model (:data:`symsme.models.MODELS`): ``"sgf"``, ``"sme2"``, ``"ha-sme"``,
        ``"meK"``.
    hessian, sigma, eta, x0, cov0, backend:
        As in :func:`sgd_law`.
    t:
        Time, finite and :math:`\ge 0`.
    psd:
        Policy for an indefinite :math:`D` (:mod:`symsme.numeric.psd`).

    Returns
    -------
    (mean, cov)
        Arrays of shapes ``(d,)`` and ``(d, d)``.
    """
    bk = get_backend(backend)
    a = _hessian(hessian, bk)
    d = a.shape[0]
    mean0 = _array(x0, (d,), "x0", bk)
    c0 = _array(np.zeros((d, d)) if cov0 is None else cov0, (d, d), "cov0", bk)
    time = _array(t, (), "t", bk)[()]
    if time < 0:
        raise SymsmeError(f"t must be >= 0, got {t!r}")
    h = bk.number(check_step_size(eta))
    beta, w = bk.eigh(drift_matrix(model, a, eta, backend=bk))
    d_rot = w.T @ diffusion_matrix(model, a, sigma, eta, backend=bk, psd=psd) @ w
    c_rot = w.T @ c0 @ w
    rate = beta[:, None] + beta[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        decay = bk.exp(-time * rate)
        zero = np.asarray(rate == 0, dtype=bool)
        safe = np.where(zero, 1, rate)
        integral = np.where(zero, time, -bk.expm1(-time * safe) / safe)
        # a zero initial covariance stays zero however fast the rest grows (no inf * 0)
        start = np.where(np.asarray(c_rot == 0, dtype=bool), 0, decay * c_rot)
        mean = w @ (bk.exp(-time * beta) * (w.T @ mean0))
        cov = w @ (start + h * d_rot * integral) @ w.T
    return _finite(mean, "mean", bk), _finite((cov + cov.T) / 2, "covariance", bk)


def _finite(value: np.ndarray, what: str, bk: Backend) -> np.ndarray:
    """A law that overflows the number type is an error, never inf or NaN."""
    if not np.all(bk.isfinite(value)):
        raise NonFiniteError(
            f"the {what} overflows {bk.name} at this time (an intermediate or the result is "
            "beyond its range); with mpmath (--precision) the range is far larger"
        )
    return value
