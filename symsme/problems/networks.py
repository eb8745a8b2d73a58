r"""Neural-network losses as finite sums: a two-layer tanh network on regression data.

For inputs :math:`x_i`, targets :math:`y_i` (:math:`i = 1..n`) and width :math:`m`, the network
:math:`h_\theta(x) = \sum_{j=1}^m a_j \tanh(w_j x + c_j)` has the :math:`3m` parameters
:math:`\theta = (w_1..w_m, c_1..c_m, a_1..a_m)` and the per-sample squared losses

.. math::

    f_i(\theta) = \tfrac12 \big(h_\theta(x_i) - y_i\big)^2, \qquad
    f = \frac1n \sum_i f_i,

with minibatch SGD noise (:meth:`~symsme.problems.Problem.finite_sum`).  The loss is
non-convex (its Hessian has negative eigenvalues away from minima) and, with fewer samples than
parameters plus one, its noise covariance is singular: the setting of the neural-network
comparison in the HA-SME paper (Li, Shen, Zhang, He, arXiv 2405.18373, sec. 5), on a network
small enough for exact derivative tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from symsme.errors import ShapeError
from symsme.expressions import to_expression
from symsme.problems.problem import Problem
from symsme.validate import check_integer

__all__ = ["network_variables", "two_layer_tanh"]


def network_variables(width: int) -> list[str]:
    """Parameter names of :func:`two_layer_tanh`: ``w1..wm, c1..cm, a1..am``."""
    width = check_integer(width, "width", 1, error=ShapeError)
    return [f"{p}{j}" for p in "wca" for j in range(1, width + 1)]


def two_layer_tanh(
    inputs: Sequence[Any], targets: Sequence[Any], width: int, batch_size: int = 1
) -> Problem:
    r"""The finite-sum loss of the module docstring (exact: inputs and targets are kept as the
    exact numbers they denote, as everywhere in :class:`Problem`).

    Raises
    ------
    ShapeError
        Inputs and targets of different lengths or empty, a width or batch size below 1.
    ExpressionError
        An input or target that is not a finite real number.
    """
    names = network_variables(width)
    for what, values in (("inputs", inputs), ("targets", targets)):
        if isinstance(values, (str, bytes)):
            raise ShapeError(f"{what} must be sequences of numbers, not text")
        if not isinstance(values, (Sequence, np.ndarray)):
            raise ShapeError(f"{what} must be a sequence of numbers, got {values!r:.60}")
    xs = [to_expression(x, {}, f"input {k + 1}") for k, x in enumerate(inputs)]
    ys = [to_expression(y, {}, f"target {k + 1}") for k, y in enumerate(targets)]
    if not xs or len(xs) != len(ys):
        raise ShapeError(
            f"a regression needs as many targets as inputs (at least one), got {len(xs)} "
            f"inputs and {len(ys)} targets"
        )
    symbols = sp.symbols(names, real=True)
    w, c, a = symbols[:width], symbols[width : 2 * width], symbols[2 * width :]
    losses = [
        (sum(a[j] * sp.tanh(w[j] * x + c[j]) for j in range(width)) - y) ** 2 / 2
        for x, y in zip(xs, ys, strict=True)
    ]
    return Problem.finite_sum(losses, symbols, batch_size)
