r"""HA-ME-K: HA-SME's closed form completed by the non-Hessian terms of ME-K.

.. math::

    b = -\psi(M)\nabla f + \sum_{k \le K} \eta^k (b_k - b_k^{HA}), \qquad
    \operatorname{vec} D = \psi(M\otimes M)\operatorname{vec}\Sigma
        + \sum_{k \le K} \eta^k (D_k - D_k^{HA}),

with :math:`b_k, D_k` the derived coefficients (coordinate-free) and :math:`b_k^{HA}, D_k^{HA}`
their Hessian-aware projections (the terms built from :math:`\nabla f, \nabla^2 f, \Sigma` only;
:func:`symsme.derive.hessian_aware.hessian_aware_projection`).  The Hessian-aware part summed to
all orders is HA-SME (Li, Shen, Zhang, He, arXiv 2405.18373); the remainder holds the terms with
:math:`\nabla^3 f, \dots` and :math:`\nabla\Sigma, \dots` that HA-SME drops.  So:

- on a quadratic with constant noise the remainder vanishes and HA-ME-K *is* HA-SME (exact in
  law when :math:`\eta\lambda_{\max} < 1`);
- its :math:`\eta`-expansion agrees with ME-K through :math:`\eta^K` (the Hessian-aware series
  summed beyond :math:`\eta^K` only changes higher powers), so it has ME-K's weak order,
  including the Gaussian cap.

Conditions are HA-SME's (:math:`\eta\lambda_{\max} < 1` at every point; the PSD policy for
:math:`D`, applied by :class:`~symsme.models.base.NumericModel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from symsme.algebra.contractions import jet_orders
from symsme.derive.matching import check_limits
from symsme.errors import HessianConditionError
from symsme.models.hasme import HASME
from symsme.models.me import _eta_series, _value
from symsme.numeric.backend import Backend
from symsme.problems import Jets
from symsme.validate import check_order

__all__ = ["HAMEK"]


class HAMEK:
    """HA-ME-K of order ``order`` (see the module docstring)."""

    name = "ha-me"
    label = "HA-ME"

    def __init__(self, order: int = 2, terms: Any = None, *, force: bool = False) -> None:
        if terms is not None:
            from symsme.errors import SymsmeError

            raise SymsmeError("terms= only applies to model 'me'")
        self.order = check_order(order)
        self.force = force
        if not force:
            check_limits("d", self.order, None, None)
        self._remainder: tuple[Any, Any] | None = None
        self._closed = HASME()

    def remainder(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        r"""The non-Hessian parts :math:`b_k - b_k^{HA}`, :math:`D_k - D_k^{HA}`,
        :math:`k = 0..K` (exact coordinate-free series)."""
        if self._remainder is None:
            from symsme.derive import modified_equation

            me = modified_equation(self.order, dim="d", progress=False, force=self.force)
            keep = me.drift[0].basis.is_hessian_aware
            self._remainder = (
                tuple(b.select(lambda key: not keep(key)) for b in me.drift),
                tuple(d.select(lambda key: not keep(key)) for d in me.diffusion),
            )
        return self._remainder

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        drifts, diffusions = self.remainder()
        coefs = (list(drifts) if drift else []) + (list(diffusions) if diffusion else [])
        f_order = max([2, *(jet_orders(c)[0] for c in coefs if c)])
        s_order = max([0 if diffusion else -1, *(jet_orders(c)[1] for c in coefs if c)])
        return f_order, (s_order if s_order >= 0 else None)

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        try:
            b, d = self._closed.evaluate(jets, eta, backend, drift, diffusion)
        except HessianConditionError as exc:  # name this model, not the closed form's
            raise HessianConditionError(
                str(exc).replace(
                    "HA-SME needs", f"HA-ME-{self.order} (HA-SME's closed form) needs", 1
                )
            ) from None
        h = backend.number(eta)
        dim = jets.points.shape[-1]
        batch = jets.points.shape[:-1]
        tensors = jets.tensors
        drifts, diffusions = self.remainder()
        if drift:
            values = [_value(c, tensors, batch + (dim,), backend) for c in drifts]
            b = b + _eta_series(values, h)
        if diffusion:
            values = [_value(c, tensors, batch + (dim, dim), backend) for c in diffusions]
            d = d + _eta_series(values, h)
        return b, d

    def closed_form_1d(self) -> None:
        return None
