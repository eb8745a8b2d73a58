r"""ME-K, the :math:`\eta^K` truncation of the derived modified equation:
:math:`b = \sum_{k\le K}\eta^k b_k`, :math:`D = \sum_{k\le K}\eta^k D_k`.

The coefficients are the coordinate-free series that :func:`symsme.derive.modified_equation`
derives (``dim="d"``), evaluated in coordinates on the problem's derivative tensors
(:meth:`symsme.algebra.series.Series.evaluate`).  ME-1 is SME-2 with :math:`D_1`; by the
mismatch report its weak order is :math:`\min(K+1, 3)` for state-dependent Gaussian noise,
:math:`\min(K+1, 4)` for constant noise and 2 for non-Gaussian noise.

For experiments the terms may instead be given as callables of the points (``terms=``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from symsme.algebra.contractions import jet_orders
from symsme.derive.matching import check_limits
from symsme.errors import OrderError, SymsmeError
from symsme.numeric.backend import Backend
from symsme.problems import Jets
from symsme.validate import check_order

__all__ = ["MEK"]

Terms = tuple[Sequence[Callable[..., Any]], Sequence[Callable[..., Any]]]


class MEK:
    """The truncated modified equation of order ``order`` (see the module docstring)."""

    name = "me"
    label = "ME"

    def __init__(self, order: int = 2, terms: Terms | None = None, *, force: bool = False) -> None:
        self.order = check_order(order)
        self.force = force
        if terms is None and not force:
            check_limits("d", self.order, None, None)
        self._terms = None
        self._series: tuple[Any, Any] | None = None
        if terms is not None:
            drift_terms, diffusion_terms = (list(t) for t in terms)
            if not drift_terms or not diffusion_terms:
                raise SymsmeError("model 'me' needs at least one drift and one diffusion term")
            if len(drift_terms) < self.order + 1 or len(diffusion_terms) < self.order + 1:
                raise OrderError(
                    f"order {self.order} needs {self.order + 1} drift and diffusion terms, got "
                    f"{len(drift_terms)} and {len(diffusion_terms)}"
                )
            self._terms = (drift_terms[: order + 1], diffusion_terms[: order + 1])

    def _derived(self) -> tuple[Any, Any]:
        if self._series is None:
            from symsme.derive import modified_equation

            me = modified_equation(self.order, dim="d", progress=False, force=self.force)
            self._series = (me.drift, me.diffusion)
        return self._series

    def jet_orders(self, drift: bool, diffusion: bool) -> tuple[int | None, int | None]:
        if self._terms is not None:
            return None, None
        drifts, diffusions = self._derived()
        coefs = (list(drifts) if drift else []) + (list(diffusions) if diffusion else [])
        f_order = max([1, *(jet_orders(c)[0] for c in coefs)])
        s_order = max([-1, *(jet_orders(c)[1] for c in coefs)])
        return f_order, (s_order if s_order >= 0 else None)

    def evaluate(
        self, jets: Jets, eta: sp.Number, backend: Backend, drift: bool, diffusion: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        h = backend.number(eta)
        wanted = (drift, diffusion)
        if self._terms is not None:
            values = [
                [t(jets.points) for t in ts] if w else []
                for ts, w in zip(self._terms, wanted, strict=True)
            ]
        else:
            d = jets.points.shape[-1]
            tensors = jets.tensors
            values = [
                [_value(c, tensors, jets.points.shape[:-1] + (d,) * rank, backend) for c in cs]
                if w
                else []
                for cs, rank, w in zip(self._derived(), (1, 2), wanted, strict=True)
            ]
        b = _eta_series(values[0], h) if drift else None
        dm = _eta_series(values[1], h) if diffusion else None
        return b, dm

    def closed_form_1d(self) -> None:
        return None


def _value(series: Any, tensors: dict, shape: tuple[int, ...], backend: Backend) -> np.ndarray:
    if not series:
        return np.zeros(shape, dtype=float if backend.vectorised else object)
    return series.evaluate(tensors)


def _eta_series(terms: Sequence[Any], eta: Any) -> np.ndarray:
    r""":math:`\sum_k \eta^k t_k`."""
    total = np.asarray(terms[0])
    for k, term in enumerate(terms[1:], start=1):
        total = total + eta**k * np.asarray(term)
    return total
