r"""The models stage: named SDE models of SGD, numerically, for a user's problem.

Front door: :func:`sde_model`.  The registry :data:`MODELS` is what the command line,
:func:`symsme.exact.quadratic.ou_law` and every later stage read; each model is one module
implementing :class:`~symsme.models.base.Model`:

- ``sgf`` (:mod:`symsme.models.sgf`): :math:`b = -\nabla f`, :math:`D = \Sigma`;
- ``sme2`` (:mod:`symsme.models.sme2`): :math:`b = -\nabla f - \frac\eta2 H\nabla f`,
  :math:`D = \Sigma` (Li, Tai, E 2017, 2019);
- ``me`` (:mod:`symsme.models.me`): :math:`b = \sum_{k\le K}\eta^k b_k`,
  :math:`D = \sum_{k\le K}\eta^k D_k` (ME-K, derived here; ``me3`` is ME-3);
- ``ha-sme`` (:mod:`symsme.models.hasme`): :math:`b = -\psi(M)\nabla f`,
  :math:`\operatorname{vec} D = \psi(M\otimes M)\operatorname{vec}\Sigma`
  (Li, Shen, Zhang, He, arXiv 2405.18373),
- ``ha-me`` (:mod:`symsme.models.hame`): HA-SME plus the non-Hessian terms of ME-K
  (``ha-me2`` is HA-ME-2),

so that :math:`dX = b(X)\,dt + (\eta D(X))^{1/2}dW`.  Adding a model is one module and one
entry in :data:`_REGISTRY`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from symsme.errors import OrderError, SymsmeError
from symsme.models.base import Model, NumericModel
from symsme.models.hame import HAMEK
from symsme.models.hasme import HASME, hasme_closed_form
from symsme.models.me import MEK, Terms
from symsme.models.sgf import SGF
from symsme.models.sme2 import SME2
from symsme.numeric.backend import Backend, BackendName, get_backend
from symsme.numeric.psd import PsdMode, check_psd_mode
from symsme.problems import Problem

__all__ = [
    "MODELS",
    "Model",
    "NumericModel",
    "get_model",
    "hasme_closed_form",
    "sde_model",
]

_REGISTRY: dict[str, Callable[..., Model]] = {
    "sgf": SGF,
    "sme2": SME2,
    "me": MEK,
    "ha-sme": HASME,
    "ha-me": HAMEK,
}
MODELS: tuple[str, ...] = tuple(_REGISTRY)
"""Names of the registered models (``me`` takes an order: ``me`` with ``order=K`` or ``meK``)."""

_ORDERED = {"me", "ha-me"}  # models that take a truncation order


def _normalise(name: Any) -> tuple[str, int | None]:
    key = str(name).lower().replace("-", "").replace("_", "").strip()
    for registered in MODELS:
        plain = registered.replace("-", "")
        if key == plain:
            return registered, None
        if registered in _ORDERED:
            match = re.fullmatch(re.escape(plain) + r"(\d{1,3})", key)
            if match:
                return registered, int(match.group(1))
    raise SymsmeError(
        f"unknown model {name!r} (known: {', '.join(MODELS)}, meK, ha-meK; and genK, the "
        "modified generator, in weak-order and evaluate)"
    )


def get_model(
    name: str, *, order: int | None = None, terms: Terms | None = None, force: bool = False
) -> Model:
    """The registered model ``name`` (case, ``-`` and ``_`` ignored; ``me3`` is ME-3).

    ``order`` is the truncation :math:`K` of ``me`` (default 2); ``terms`` replaces its derived
    series by callables (:mod:`symsme.models.me`); ``force`` lifts the limit on its order
    (:data:`symsme.derive.matching.LIMITS`).  Raises :class:`~symsme.errors.SymsmeError`
    for an unknown name, :class:`~symsme.errors.OrderError` for an order given to a model
    without one or given twice.
    """
    registered, implied = _normalise(name)
    if registered not in _ORDERED:
        if order is not None:
            raise OrderError(
                f"order={order!r} only applies to models 'me' and 'ha-me', not {registered!r}"
            )
        if terms is not None:
            raise SymsmeError(f"terms= only applies to model 'me', not {registered!r}")
        return _REGISTRY[registered]()
    if implied is not None and order is not None and order != implied:
        raise OrderError(f"model {name!r} has order {implied}, but order={order!r} was given")
    chosen = implied if implied is not None else order
    return _REGISTRY[registered](2 if chosen is None else chosen, terms, force=force)


def sde_model(
    problem: Problem,
    model: str,
    eta: Any,
    *,
    order: int | None = None,
    backend: BackendName | Backend = "numpy",
    psd: PsdMode = "raise",
    psd_rtol: float | None = None,
    terms: Terms | None = None,
    force: bool = False,
) -> NumericModel:
    r"""The numeric drift and diffusion of a registered model for ``problem``.

    Parameters
    ----------
    problem:
        A :class:`~symsme.problems.Problem`.
    model:
        ``"sgf"``, ``"sme2"``, ``"ha-sme"``, ``"me"`` or ``"meK"`` (see the module list).
    eta:
        Learning rate, finite and > 0.
    order:
        The truncation :math:`K` of ``me`` (default 2).
    backend:
        ``"numpy"`` (float64, batched) or ``"mpmath"`` (``mpf`` at ``mpmath.mp`` precision), or
        a :class:`~symsme.numeric.backend.Backend`; same signatures.
    psd, psd_rtol:
        Policy for a diffusion that is not positive semidefinite (:mod:`symsme.numeric.psd`).
    terms:
        Only for ``me``: ``(drift_terms, diffusion_terms)``, callables of validated points
        returning :math:`b_k` and :math:`D_k`, instead of the derived series.
    force:
        Only for ``me``: derive orders beyond the documented limit.

    Returns a :class:`~symsme.models.base.NumericModel` with ``.drift(points)``,
    ``.diffusion(points)``, ``.drift_diffusion(points)`` batched over points ``(..., d)``.

    Raises
    ------
    SymsmeError
        Unknown model, backend or psd mode.
    StepSizeError
        Bad ``eta``.
    OrderError
        ``order`` for a model other than ``me``, negative, or beyond the given terms.
    HessianConditionError, NotPositiveSemidefiniteError
        On evaluation: HA-SME where :math:`\eta\lambda_{\max} \ge 1`; an indefinite diffusion
        (unless ``psd="clip"`` or ``"ignore"``).
    """
    bk = get_backend(backend)
    check_psd_mode(psd)
    spec = get_model(model, order=order, terms=terms, force=force)
    return NumericModel(problem, spec, eta, bk, psd, psd_rtol)
