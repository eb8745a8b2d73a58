r"""Models whose one-step moments are matched to a scheme's: the :class:`Ansatz` protocol.

An ansatz has coefficient *families* (for the Gaussian SDE: the drift :math:`b_k` and the
diffusion :math:`D_k`), each determined by one moment: the :math:`k`-th coefficient of the
family of moment :math:`n` appears alone, with factor one, at :math:`\eta^{n+k}` in the
:math:`n`-th one-step moment, after the coefficients solved before it
(:func:`symsme.derive.matching.modified_equation` solves this triangular system).  Adding a model
is one module with one class and one line in the registry: the modified generator with higher
Kramers-Moyal coefficients (:mod:`symsme.derive.ansatz.generator`) is one.
"""

from __future__ import annotations

from symsme.derive.ansatz.base import Ansatz, MomentExpansion
from symsme.derive.ansatz.generator import ModifiedGenerator
from symsme.derive.ansatz.sde import GaussianSDE
from symsme.validate import check_choice

__all__ = ["Ansatz", "MomentExpansion", "ANSATZE", "get_ansatz"]

_REGISTRY: dict[str, Ansatz] = {"sde": GaussianSDE(), "generator": ModifiedGenerator()}

ANSATZE: tuple[str, ...] = tuple(_REGISTRY)
"""Names of the registered ansatze."""


def get_ansatz(name: str) -> Ansatz:
    """The registered ansatz called ``name`` (a :class:`~symsme.errors.SymsmeError` if none)."""
    return _REGISTRY[check_choice(name, ANSATZE, "ansatz")]
