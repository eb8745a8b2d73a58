r"""Discrete algorithms whose modified equations are derived: the :class:`Scheme` protocol.

A scheme gives its one-step moments :math:`\mathbb E\,(x_1 - x)^{\otimes n}` as exact series in
:math:`\eta` over a term algebra (1-D jets or contraction graphs), for a noise model.  Adding an
algorithm (momentum SGD, say) is one module with one class and one line in :data:`SCHEMES`.
"""

from __future__ import annotations

from symsme.derive.schemes.base import GradientAlgebra, Scheme
from symsme.derive.schemes.sgd import SGD
from symsme.validate import check_choice

__all__ = ["GradientAlgebra", "Scheme", "SCHEMES", "get_scheme"]

_REGISTRY: dict[str, Scheme] = {"sgd": SGD()}

SCHEMES: tuple[str, ...] = tuple(_REGISTRY)
"""Names of the registered schemes."""


def get_scheme(name: str) -> Scheme:
    """The registered scheme called ``name`` (a :class:`~symsme.errors.SymsmeError` if none)."""
    return _REGISTRY[check_choice(name, SCHEMES, "scheme")]
