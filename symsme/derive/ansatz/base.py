"""The :class:`Ansatz` protocol (see :mod:`symsme.derive.ansatz`)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Ansatz", "MomentExpansion"]


class MomentExpansion(Protocol):
    """The coefficients of one one-step moment of an ansatz."""

    def coefficient(self, N: int, *, skip_first: bool = False) -> dict:
        r""":math:`[\eta^N]` of the moment; ``skip_first`` leaves out the part where the newest
        unknown coefficient enters alone."""
        ...


class Ansatz(Protocol):
    """A family of models with unknown coefficients, matched moment by moment."""

    name: str

    def families_for(self, order: int) -> tuple[tuple[str, int], ...]:
        r"""``(family name, moment index)`` of a derivation through order ``order``: the k-th
        coefficient of the family of moment n appears alone at :math:`\eta^{n+k}`."""
        ...

    def count(self, order: int, n: int) -> int:
        """How many coefficients (k = 0, 1, ...) of the family of moment ``n`` a derivation
        through ``order`` solves for."""
        ...

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
