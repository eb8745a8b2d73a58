r"""The verify stage: SDE models checked against SGD itself.

Front door: :func:`weak_order` (:mod:`symsme.verify.weak`): weak errors
:math:`|\mathbb{E}\varphi(X_T) - \mathbb{E}\varphi(x_K)|` over step sizes, deterministic in
1-D (:mod:`symsme.exact.backward`; ``genK``, SGD's truncated modified generator:
:mod:`symsme.exact.generator`) or by Monte Carlo (:mod:`symsme.simulate`), with error bounds
and fitted orders; :func:`escape` (:mod:`symsme.verify.escape`): mean exit times of SGD
and of each model from an interval.
"""

from symsme.verify.escape import BallEscape, Escape, escape, escape_ball
from symsme.verify.weak import (
    MC_SCHEMES,
    METHODS,
    Estimate,
    WeakOrder,
    fit_slope,
    weak_order,
    weak_orders,
)

__all__ = [
    "MC_SCHEMES",
    "METHODS",
    "BallEscape",
    "Escape",
    "Estimate",
    "WeakOrder",
    "escape",
    "escape_ball",
    "fit_slope",
    "weak_order",
    "weak_orders",
]
