r"""The :class:`Model` protocol and :class:`NumericModel`, a model bound to a problem.

Every model is an SDE :math:`dX = b(X)\,dt + (\eta D(X))^{1/2}\,dW` (``symsme/DESIGN.md``,
"Conventions").  A model says which derivative tensors it needs (:meth:`Model.jet_orders`) and
computes :math:`b` and :math:`D` from them (:meth:`Model.evaluate`), checking its own
conditions (HA-SME: :math:`\eta\lambda_{\max} < 1`).  :class:`NumericModel` evaluates the jets,
applies the PSD policy of :mod:`symsme.numeric.psd` and refuses non-finite results, for every
model alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import sympy as sp

from symsme.errors import NonFiniteError, SymsmeError
from symsme.numeric.backend import Backend
from symsme.numeric.psd import PsdTally, enforce_psd, point_text
from symsme.problems import Jets, Problem
from symsme.validate import check_step_size, format_number

__all__ = ["Model", "NumericModel"]


class Model(Protocol):
    """A named SDE model of SGD (one module per model under :mod:`symsme.models`)."""

    name: str
    """Registry name, e.g. ``"ha-sme"``."""
    label: str
    """Name in messages, e.g. ``"HA-SME"``."""

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        r"""Highest derivative orders of :math:`f` and :math:`\Sigma` needed (``None``: none)."""
        ...

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """:math:`b` and :math:`D` (before the PSD policy) from the jets at ``jets.points``."""
        ...

    def closed_form_1d(self) -> tuple[sp.Expr, sp.Expr] | None:
        """Exact 1-D ``(b, D)`` in the jet symbols ``eta, g0, g1, ..., s0, ...`` (or None)."""
        ...


class NumericModel:
    r"""Numeric drift :math:`b(x)` and diffusion :math:`D(x)` of one model for one problem.

    Made by :func:`symsme.models.sde_model` (``problem`` may be ``None`` for a model that is
    only evaluated :meth:`from_jets`, as the exact laws on quadratics do).  :meth:`drift` and
    :meth:`diffusion` take points of shape ``batch + (d,)`` and return arrays of shape
    ``batch + (d,)`` and ``batch + (d, d)``
    (float64 for numpy; object arrays of ``mpmath.mpf`` for mpmath, at the current
    ``mpmath.mp`` precision).  :meth:`drift_diffusion` computes both with one set of jets (and,
    for HA-SME, one eigendecomposition per point).  Conditions are checked at every point.
    """

    def __init__(
        self,
        problem: Problem | None,
        model: Model,
        eta: Any,
        backend: Backend,
        psd: str,
        psd_rtol: float | None,
    ) -> None:
        self.problem = problem
        self.spec = model
        self.model = model.name
        self.eta = check_step_size(eta)
        self.backend = backend.name
        self._backend = backend
        self.psd = psd
        self.psd_rtol = psd_rtol
        self.psd_tally = PsdTally()
        """With ``psd="clip"``: how many evaluated points had an indefinite :math:`D`."""

    def __repr__(self) -> str:
        dim = "?" if self.problem is None else self.problem.dim
        return (
            f"NumericModel({self.model!r}, eta={format_number(self.eta)}, "
            f"backend={self.backend!r}, d={dim})"
        )

    def drift(self, points: npt.ArrayLike) -> np.ndarray:
        r"""The drift :math:`b` at ``points`` (shape ``batch + (d,)``)."""
        return self._evaluate(points, True, False)[0]

    def diffusion(self, points: npt.ArrayLike) -> np.ndarray:
        r"""The diffusion matrix :math:`D` at ``points`` (shape ``batch + (d, d)``)."""
        return self._evaluate(points, False, True)[1]

    def drift_diffusion(self, points: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        r"""Both :math:`b` and :math:`D` at ``points``, sharing the work."""
        return self._evaluate(points, True, True)

    def from_jets(
        self, jets: Jets, drift: bool = True, diffusion: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        r""":math:`b` and/or :math:`D` from precomputed :meth:`Problem.jets` (same backend).

        The jets need the derivative orders of :meth:`Model.jet_orders`.
        """
        if jets.backend != self.backend:
            raise SymsmeError(f"jets were computed with {jets.backend!r}, not {self.backend!r}")
        f_order, s_order = self.spec.jet_orders(drift, diffusion)
        missing = [f"grad^{j} f" for j in range(1, (f_order or 0) + 1) if j not in jets.grad_f]
        missing += [
            "Sigma" if j == 0 else f"grad^{j} Sigma"
            for j in range(0, -1 if s_order is None else s_order + 1)
            if j not in jets.grad_sigma
        ]
        if missing:
            raise SymsmeError(f"the {self.model} model needs {', '.join(missing)} in the jets")
        return self._from_jets(jets, drift, diffusion)

    def _evaluate(self, points: npt.ArrayLike, drift: bool, diffusion: bool) -> tuple[Any, Any]:
        if self.problem is None:
            raise SymsmeError("this model is bound to no problem: evaluate it with from_jets")
        f_order, s_order = self.spec.jet_orders(drift, diffusion)
        jets = self.problem.jets(points, f_order, s_order, backend=self._backend)
        return self._from_jets(jets, drift, diffusion)

    def _from_jets(self, jets: Jets, drift: bool, diffusion: bool) -> tuple[Any, Any]:
        b, d = self.spec.evaluate(jets, self.eta, self._backend, drift, diffusion)
        if d is not None:
            d = enforce_psd(
                d,
                self.psd,
                self.psd_rtol,
                self.spec.label,
                jets.points,
                self._backend,
                self.psd_tally,
            )
        return self._check_finite(b, jets.points), self._check_finite(d, jets.points)

    def _check_finite(self, value: np.ndarray | None, points: np.ndarray) -> np.ndarray | None:
        if value is None:
            return None
        finite = self._backend.isfinite(value)
        batch_ndim = points.ndim - 1
        axes = tuple(range(batch_ndim, value.ndim))
        bad = ~np.all(finite, axis=axes) if axes else ~finite
        if np.any(bad):
            index = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            raise NonFiniteError(
                f"the {self.model} model is not finite at "
                f"{point_text(points, index, self._backend)} (eta = {format_number(self.eta)})"
            )
        return value
