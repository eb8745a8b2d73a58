r"""Models whose one-step moments are matched to a scheme's: the :class:`Ansatz` protocol.

An ansatz has coefficient *families* (for the Gaussian SDE: the drift :math:`b_k` and the
diffusion :math:`D_k`), each determined by one moment: the :math:`k`-th coefficient of the
family of moment :math:`n` appears alone, with factor one, at :math:`\eta^{n+k}` in the
:math:`n`-th one-step moment, after the coefficients solved before it
(:func:`symsme.derive.matching.modified_equation` solves this triangular system).  Adding a model
(a modified generator with higher Kramers-Moyal coefficients, say) is one module with one class
and one line in :data:`ANSATZE`.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Ansatz", "MomentExpansion", "ANSATZE", "get_ansatz"]


class MomentExpansion(Protocol):
    """The coefficients of one one-step moment of an ansatz."""

    def coefficient(self, N: int, *, skip_first: bool = False) -> dict:
        r""":math:`[\eta^N]` of the moment; ``skip_first`` leaves out the part where the newest
        unknown coefficient enters alone."""
        ...


class Ansatz(Protocol):
    """A family of models with unknown coefficients, matched moment by moment."""

    name: str
    families: tuple[tuple[str, int], ...]
    """``(family name, moment index)`` in the order they are solved at each order ``k``."""

    def expansion(
        self,
        algebra: Any,
        n: int,
        coefficients: dict[str, list[dict]],
        max_power: int,
        *,
        truncated: bool = False,
    ) -> MomentExpansion:
        """The n-th one-step moment through :math:`\\eta^{max\\_power}`; coefficients beyond the
        lists are unknown (an error to use) unless ``truncated`` (then zero)."""
        ...


ANSATZE: tuple[str, ...] = ("sde",)
"""Names of the registered ansatze."""


def get_ansatz(name: str) -> Ansatz:
    """The registered ansatz called ``name`` (a :class:`~symsme.errors.SymsmeError` if none)."""
    from symsme.derive.ansatz.sde import GaussianSDE
    from symsme.validate import check_choice

    registry: dict[str, Ansatz] = {"sde": GaussianSDE()}
    return registry[check_choice(name, ANSATZE, "ansatz")]
