r"""HA-SME, the Hessian-aware stochastic modified equation (Li, Shen, Zhang, He, "A
Hessian-Aware Stochastic Differential Equation for Modelling SGD", arXiv 2405.18373).

With :math:`g = \nabla f`, :math:`H = \nabla^2 f = V\operatorname{diag}(\lambda)V^{\top}`,
:math:`M = I - \eta H`, :math:`m_i = 1 - \eta\lambda_i` and :math:`\psi(w) = \log(w)/(w-1)`:

.. math::

    b = -\psi(M)\, g = -V \operatorname{diag}\big(\psi(m_i)\big) V^{\top} g, \qquad
    (V^{\top} D V)_{ij} = (V^{\top} \Sigma V)_{ij}\, \psi(m_i m_j)
    \quad (\operatorname{vec} D = \psi(M\otimes M)\operatorname{vec}\Sigma),

the closed form that the derive stage identifies from the series it derives
(:mod:`symsme.derive.hessian_aware`).  :math:`\psi(m_i)` is evaluated as
:math:`\operatorname{log1p}(\delta_i)/\delta_i`, :math:`\delta_i = -\eta\lambda_i`, and
:math:`\psi(m_i m_j)` by :func:`~symsme.numeric.psi.psi_product` from
:math:`u_i = \eta\lambda_i`, :math:`u_j` (no argument is ever formed as a difference of
numbers near 1), so float64 keeps its accuracy up to :math:`\eta\lambda_{\max} \to 1`.
Condition, checked at every point:
:math:`\eta\lambda_{\max}(H) < 1` (:math:`M` positive definite), else
:class:`~symsme.errors.HessianConditionError` naming :math:`\eta\lambda_{\max}`,
:math:`\lambda_{\max}` and the point.  :math:`D` need not be PSD when :math:`H` and
:math:`\Sigma` do not commute: :mod:`symsme.numeric.psd`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from symsme.errors import HessianConditionError
from symsme.numeric.backend import Backend, BackendName, get_backend
from symsme.numeric.psd import PsdMode, check_psd_mode, enforce_psd, point_text
from symsme.numeric.psi import Psi
from symsme.problems import Jets
from symsme.validate import check_step_size, format_number

__all__ = ["HASME", "hasme_closed_form"]


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def hasme_closed_form(
    gradient: npt.ArrayLike | None,
    hessian: npt.ArrayLike,
    sigma: npt.ArrayLike | None,
    eta: Any,
    *,
    points: npt.ArrayLike | None = None,
    psd: PsdMode = "raise",
    psd_rtol: float | None = None,
    backend: BackendName | Backend = "numpy",
) -> tuple[np.ndarray | None, np.ndarray | None]:
    r"""HA-SME drift and diffusion from numeric :math:`g, H, \Sigma`, batched over points.

    The formulas of the module docstring, with one batched eigendecomposition
    (:meth:`~symsme.numeric.backend.Backend.eigh`).

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
        Policy for an indefinite :math:`D` (:mod:`symsme.numeric.psd`).
    backend:
        ``"numpy"`` (float64 arrays) or ``"mpmath"`` (object arrays of ``mpf`` in and out,
        computed at the current ``mpmath.mp`` precision), or a backend object.

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
    check_psd_mode(psd)
    bk = get_backend(backend)
    pts = None if points is None else bk.asarray(points, "points")
    lam, v = bk.eigh(bk.asarray(hessian, "the Hessian"))
    lam_max = np.asarray(lam.max(axis=-1))  # 0-d for one point, in both backends
    h = bk.number(eta_exact)
    bad = np.asarray(h * lam_max >= 1, dtype=bool)
    if np.any(bad):
        where = np.argwhere(bad)
        worst = np.argmax(np.asarray(lam_max[bad], dtype=float)) if bad.ndim else 0
        index = tuple(where[worst]) if bad.ndim else ()
        raise HessianConditionError(
            "HA-SME needs eta*lambda_max(grad^2 f) < 1 (psi(I - eta H) is undefined otherwise): "
            f"at {point_text(pts, index, bk)}, eta*lambda_max = "
            f"{bk.format(h * lam_max[index])} (lambda_max = {bk.format(lam_max[index])}, "
            f"eta = {format_number(eta_exact)}); {int(bad.sum())} of {bad.size} point(s) "
            "violate it"
        )
    u = h * lam
    vt = _swap(v)
    drift = None
    if gradient is not None:
        g_rot = bk.matmul(vt, bk.asarray(gradient, "the gradient")[..., None])[..., 0]
        drift = -bk.matmul(v, (bk.psi_shifted(-u) * g_rot)[..., None])[..., 0]
    diffusion = None
    if sigma is not None:
        s_rot = bk.matmul(bk.matmul(vt, bk.asarray(sigma, "Sigma")), v)
        weights = bk.psi_product(u[..., :, None], u[..., None, :])
        d_matrix = bk.matmul(bk.matmul(v, s_rot * weights), vt)
        d_matrix = d_matrix / 2 + _swap(d_matrix) / 2  # no overflow for entries near 1e308
        diffusion = enforce_psd(d_matrix, psd, psd_rtol, "HA-SME", pts, bk)
    return drift, diffusion


class HASME:
    """The Hessian-aware SME (see the module docstring)."""

    name = "ha-sme"
    label = "HA-SME"

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        return 2, (0 if diffusion else None)

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        # The PSD policy is applied by the caller (NumericModel), so "ignore" here.
        return hasme_closed_form(
            jets.gradient if drift else None,
            jets.hessian,
            jets.sigma if diffusion else None,
            eta,
            points=jets.points,
            psd="ignore",
            backend=backend,
        )

    def closed_form_1d(self) -> tuple[sp.Expr, sp.Expr]:
        r""":math:`\big(-\psi(1 - \eta g_1)\, g_0,\ \psi((1 - \eta g_1)^2)\, s_0\big)`."""
        eta, g0, g1, s0 = sp.symbols("eta g0 g1 s0")
        return -Psi(1 - eta * g1) * g0, Psi((1 - eta * g1) ** 2) * s0
