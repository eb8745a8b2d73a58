r"""SGF, the stochastic gradient flow: :math:`b = -\nabla f`, :math:`D = \Sigma`.

The modified equation's leading order (:math:`b_0`, :math:`D_0`): weak order 1 (Li, Tai, E,
ICML 2017; JMLR 2019).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symsme.numeric.backend import Backend
from symsme.problems import Jets

__all__ = ["SGF"]


class SGF:
    """Stochastic gradient flow (see the module docstring)."""

    name = "sgf"
    label = "SGF (D = Sigma)"

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        return (1 if drift else None), (0 if diffusion else None)

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        b = -jets.gradient if drift else None
        d = jets.sigma.copy() if diffusion else None
        return b, d

    def closed_form_1d(self) -> tuple[sp.Expr, sp.Expr]:
        r""":math:`(-g_0, s_0)`."""
        g0, s0 = sp.symbols("g0 s0")
        return -g0, s0
