r"""SME-2 of Li, Tai and E (ICML 2017; JMLR 2019):
:math:`b = -\nabla f - \tfrac{\eta}{2} H\nabla f
= -\nabla\big(f + \tfrac{\eta}{4}|\nabla f|^2\big)`,
:math:`D = \Sigma`; weak order 2 (:math:`b_0 + \eta b_1`, :math:`D_0` of the derived series).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symsme.numeric.backend import Backend
from symsme.problems import Jets

__all__ = ["SME2"]


class SME2:
    """The second-order stochastic modified equation (see the module docstring)."""

    name = "sme2"
    label = "SME-2 (D = Sigma)"

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        return (2 if drift else None), (0 if diffusion else None)

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        b = None
        if drift:
            h_g = (jets.hessian * jets.gradient[..., None, :]).sum(axis=-1)
            b = -jets.gradient - (backend.number(eta) / 2) * h_g
        d = jets.sigma.copy() if diffusion else None
        return b, d

    def closed_form_1d(self) -> tuple[sp.Expr, sp.Expr]:
        r""":math:`(-g_0 - \tfrac{\eta}{2} g_0 g_1,\ s_0)`."""
        eta, g0, g1, s0 = sp.symbols("eta g0 g1 s0")
        return -g0 - eta * g0 * g1 / 2, s0
