r"""Named SDE models of SGD, numerically, for a user's problem: the front door of the numeric stage.

- ``sgf``: :math:`b = -\nabla f`, :math:`D = \Sigma` (stochastic gradient flow);
- ``sme2``: :math:`b = -\nabla f - \frac\eta2 H\nabla f`, :math:`D = \Sigma` (Li, Tai, E
  2017, 2019);
- ``me``: :math:`b = \sum_{k\le K}\eta^k b_k`, :math:`D = \sum_{k\le K}\eta^k D_k` (ME-K,
  derived here);
- ``ha-sme``: :math:`b = -\psi(M)\nabla f`, :math:`\operatorname{vec} D =
  \psi(M\otimes M)\operatorname{vec}\Sigma` (Li, Shen, Zhang, He, arXiv 2405.18373),

so that :math:`dX = b(X)\,dt + (\eta D(X))^{1/2}dW`.  ``me`` evaluates the coordinate-free
terms derived by :func:`symsme.matching.modified_equation` (``dim="d"``) in coordinates
(:func:`symsme.algebra.contractions.evaluate`) on the problem's derivative tensors; the other
models and their conditions are in :mod:`symsme.numeric.models`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symsme.matching import check_order, modified_equation
from symsme.numeric.lambdify import Backend
from symsme.numeric.models import NumericModel, PsdMode, numeric_model
from symsme.problems import Problem

__all__ = ["MODELS", "sde_model", "me_terms"]

MODELS = ("sgf", "sme2", "me", "ha-sme")


def me_terms(problem: Problem, order: int, *, backend: Backend = "numpy", cache: bool = True):
    r"""Callables evaluating the derived :math:`b_0..b_K`, :math:`D_0..D_K` at points.

    All callables of one call share the problem's jets at the last points evaluated, so the
    derivative tensors are computed once per batch of points, not once per term.
    """
    from symsme.algebra.contractions import evaluate, jet_orders

    order = check_order(order)
    me = modified_equation(order, dim="d", cache=cache, progress=False)
    coefs = list(me.drift) + list(me.diffusion)
    f_order = max(1, max(jet_orders(c)[0] for c in coefs))
    s_order = max(0, max(jet_orders(c)[1] for c in coefs))
    memo: dict[str, Any] = {}

    def jets(points: np.ndarray):
        token = (
            points.shape,
            points.dtype.str,
            points.tobytes() if points.dtype != object else tuple(map(str, points.flat)),
        )
        if memo.get("token") != token:
            memo["token"] = token
            memo["jets"] = problem.jets(points, f_order, s_order, backend=backend)
        return memo["jets"]

    def make(coef: dict, rank: int):
        def term(points: np.ndarray) -> np.ndarray:
            if not coef:
                shape = points.shape[:-1] + (problem.dim,) * rank
                return np.zeros(shape, dtype=object if backend == "mpmath" else float)
            return evaluate(coef, jets(points))

        return term

    return [make(b, 1) for b in me.drift], [make(D, 2) for D in me.diffusion]


def sde_model(
    problem: Problem,
    model: str,
    eta: Any,
    *,
    order: int | None = None,
    backend: Backend = "numpy",
    psd: PsdMode = "raise",
) -> NumericModel:
    r"""The numeric drift and diffusion of ``model`` for ``problem`` (see the module list).

    ``order`` is the truncation :math:`K` of ``me`` (default 2).  Returns a
    :class:`~symsme.numeric.models.NumericModel` with ``.drift(points)``,
    ``.diffusion(points)`` batched over points of shape ``(..., d)``; numpy and mpmath
    backends share signatures.  Errors: :class:`~symsme.errors.StepSizeError` (eta),
    :class:`~symsme.errors.HessianConditionError` (HA-SME where
    :math:`\eta\lambda_{\max} \ge 1`), :class:`~symsme.errors.NotPositiveSemidefiniteError`
    (indefinite diffusion, unless ``psd="clip"`` or ``"ignore"``).
    """
    return numeric_model(problem, model, eta, backend=backend, order=order, psd=psd)
