"""The :class:`Scheme` protocol (see :mod:`symsme.derive.schemes`)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["GradientAlgebra", "Scheme"]


class GradientAlgebra(Protocol):
    """What a scheme needs from a term algebra: the moments of the stochastic gradient."""

    def gradient_moment(self, n: int, max_cumulant: int | None) -> dict:
        r""":math:`\mathbb E\,G^{\otimes n}` with cumulants beyond ``max_cumulant`` set to 0."""
        ...


class Scheme(Protocol):
    """A discrete algorithm :math:`x_{k+1} = x_k + \\dots` with known one-step moments."""

    name: str

    def one_step_moments(self, n: int, algebra: GradientAlgebra, noise: str) -> dict[int, dict]:
        """``{eta_power: linear combination}`` of :math:`\\mathbb E(x_1 - x)^{\\otimes n}`."""
        ...
