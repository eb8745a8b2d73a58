r"""Discrete algorithms whose modified equations are derived: the :class:`Scheme` protocol.

A scheme gives its one-step moments :math:`\mathbb E\,(x_1 - x)^{\otimes n}` as exact series in
:math:`\eta` over a term algebra (1-D jets or contraction graphs), for a noise model.  Adding an
algorithm (momentum SGD, say) is one module with one class and one line in :data:`SCHEMES`.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["GradientAlgebra", "Scheme", "SCHEMES", "get_scheme"]


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


def _registry() -> dict[str, Scheme]:
    from symsme.derive.schemes.sgd import SGD

    return {"sgd": SGD()}


SCHEMES: tuple[str, ...] = ("sgd",)
"""Names of the registered schemes."""


def get_scheme(name: str) -> Scheme:
    """The registered scheme called ``name`` (a :class:`~symsme.errors.SymsmeError` if none)."""
    from symsme.validate import check_choice

    return _registry()[check_choice(name, SCHEMES, "scheme")]
