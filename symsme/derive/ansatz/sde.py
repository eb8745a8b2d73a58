r"""The Gaussian SDE ansatz and its Ito-Taylor (generator) expansion, order by order in
:math:`\eta`.

For the ansatz :math:`dX = b(X)\,dt + (\eta D(X))^{1/2} dW` with formal series
:math:`b = \sum_k \eta^k b_k`, :math:`D = \sum_k \eta^k D_k`, the generator is

.. math::

    L = b\cdot\nabla + \tfrac{\eta}{2} D : \nabla^2 = \sum_{j\ge 0} \eta^j L_j, \qquad
    L_j = b_j\cdot\nabla + \tfrac12 D_{j-1} : \nabla^2 \quad (D_{-1} = 0),

and the one-step moments of the SDE started at :math:`x` are (Ito-Taylor / Dynkin)

.. math::

    \mathbb E\,\phi_n(X_\eta) = \sum_{m\ge 0} \frac{\eta^m}{m!} (L^m \phi_n)(x), \qquad
    \phi_n(y) = (y - x)^{\otimes n}.

We never form :math:`L^m` as a nested SymPy expression.  Instead the table
:math:`A_{m,r} = [\eta^r]\, L^m \phi_n` (a function of :math:`y`, i.e. of :math:`z = y - x` and
the jets at :math:`y`) obeys :math:`A_{m,r} = \sum_{j=0}^{r} L_j A_{m-1,r-j}` and is filled
lazily, only as far as the coefficients :math:`b_j, D_j` are known.  Then

.. math::

    [\eta^N]\,\mathbb E\,\phi_n(X_\eta) = \sum_{m=0}^{N} \frac{1}{m!}\, A_{m,N-m}\big|_{z=0}.

The table is generic over an *algebra* (1-D jets: :class:`symsme.algebra.jets.JetAlgebra`;
d-dimensional contraction graphs: :class:`symsme.algebra.contractions.ContractionAlgebra`)
that provides

``phi(n)``
    :math:`\phi_n` as a linear combination of z-dependent keys,
``drift_action(b, a)``
    :math:`b\cdot\nabla a` for a drift coefficient ``b`` (a combination of vector terms),
``diffusion_action(D, a)``
    :math:`D:\nabla^2 a` for a diffusion coefficient ``D`` (matrix terms),
``at_origin(a)``
    :math:`a|_{z=0}`, re-keyed into the basis of the coefficients,
``z_degree(key)``
    the number of :math:`z` factors of a key (used to drop terms that cannot reach
    :math:`z = 0` within the requested order: each further power of :math:`\eta` removes at
    most one factor of :math:`z`).
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial
from typing import Any, Protocol

from symsme.algebra.lincomb import add_into

__all__ = ["GeneratorAlgebra", "GeneratorExpansion", "GaussianSDE"]


class GeneratorAlgebra(Protocol):
    """What the generator expansion needs from a term algebra (see module docstring)."""

    def phi(self, n: int) -> dict: ...

    def drift_action(self, b: dict, a: dict) -> dict: ...

    def diffusion_action(self, D: dict, a: dict) -> dict: ...

    def kramers_action(self, A: dict, a: dict, n: int) -> dict: ...

    def at_origin(self, a: dict) -> dict: ...

    def z_degree(self, key: Any) -> int: ...


class GeneratorExpansion:
    r"""Coefficients :math:`[\eta^N]\,\mathbb E\,(X_\eta - x)^{\otimes n}` of a generator
    :math:`L = \sum_{q \ge 1} \frac{\eta^{q-1}}{q!} A_q : \nabla^q`, :math:`A_q = \sum_k
    \eta^k A_{q,k}` (the SDE ansatz: :math:`A_1 = b`, :math:`A_2 = D` and no more; the
    modified generator of :mod:`symsme.derive.ansatz.generator`: any number), so that
    :math:`L_j = \sum_q \frac{1}{q!} A_{q, j-q+1} : \nabla^q`.

    ``families[q - 1]`` is the list of the coefficients :math:`A_{q,0}, A_{q,1}, \dots` known so
    far (``drift`` and ``diffusion`` name the first two); the matching stage appends to them as
    it solves, and the table grows with them.  Coefficients beyond the end of a list are
    *unknown*, not zero, unless ``truncated=True`` (then the model is the truncation and missing
    coefficients are zero).  ``max_power`` bounds the powers of :math:`\eta` ever requested.
    """

    def __init__(
        self,
        algebra: GeneratorAlgebra,
        n: int,
        drift: list[dict],
        diffusion: list[dict],
        max_power: int,
        *,
        truncated: bool = False,
        higher: tuple[list[dict], ...] = (),
        per_target: bool = False,
    ) -> None:
        self.algebra = algebra
        self.n = n
        self.families = (drift, diffusion, *higher)
        self.max_power = max_power
        self.truncated = truncated
        self.per_target = per_target
        self._table: dict[tuple[int, int], tuple[float, dict]] = {
            (0, 0): (float("inf"), algebra.phi(n))
        }

    def _coefficient_of(self, series: list[dict], j: int) -> dict | None:
        """The j-th coefficient of a family; ``{}`` if zero, ``None`` if not known yet."""
        if j < 0:
            return {}
        if j < len(series):
            return series[j]
        if self.truncated:
            return {}
        return None

    def _apply_L(self, j: int, a: dict, budget: float) -> dict:
        r""":math:`L_j a = b_j\cdot\nabla a + \frac12 D_{j-1}:\nabla^2 a + \sum_{q \ge 3}
        \frac{1}{q!} A_{q, j-q+1} : \nabla^q a`, keeping what has z-degree at most ``budget``.

        A coefficient not known yet is an error unless none of its terms can stay within the
        budget (:math:`\nabla^q` removes at most q factors of z)."""
        alg = self.algebra
        out: dict = {}
        lowest = min(alg.z_degree(key) for key in a)
        for q, family in enumerate(self.families, start=1):
            coefficient = self._coefficient_of(family, j - q + 1)
            if coefficient is None:
                if lowest - q > budget:
                    continue
                raise LookupError(f"coefficient {j - q + 1} of A_{q} is not known yet")
            if not coefficient:
                continue
            if q == 1:
                add_into(out, alg.drift_action(coefficient, a))
            elif q == 2:
                add_into(out, alg.diffusion_action(coefficient, a), Fraction(1, 2))
            else:
                add_into(out, alg.kramers_action(coefficient, a, q), Fraction(1, factorial(q)))
        return out

    def table(self, m: int, r: int, budget: float | None = None) -> dict:
        """:math:`A_{m,r} = [\\eta^r] L^m \\phi_n`, pruned to what can still reach z = 0: terms of
        z-degree at most ``budget`` (default: ``max_power - m - r``; each further power of
        :math:`\\eta` removes at most one factor of z)."""
        if budget is None:
            budget = self.max_power - m - r
        key = (m, r)
        got = self._table.get(key)
        zdeg = self.algebra.z_degree
        if got is not None and got[0] >= budget:
            if got[0] == budget:
                return got[1]
            return {k: c for k, c in got[1].items() if zdeg(k) <= budget}
        if m == 0:
            return {}
        out: dict = {}
        for j in range(r + 1):
            prev = self.table(m - 1, r - j, budget + 1 + j)
            if prev:
                add_into(out, self._apply_L(j, prev, budget))
        out = {k: c for k, c in out.items() if zdeg(k) <= budget}
        self._table[key] = (budget, out)
        return out

    def coefficient(self, N: int, *, skip_first: bool = False) -> dict:
        r""":math:`[\eta^N]\,\mathbb E\,\phi_n(X_\eta)` at :math:`z = 0`.

        With ``skip_first`` the :math:`m = 1` term (where the newest unknown coefficient enters
        alone) is left out; the matching stage solves for that term.  With ``per_target`` the
        tables are pruned for the power asked for (not for ``max_power``), so that coefficients
        that cannot reach it need not be known yet (the modified generator's families).
        """
        if N > self.max_power:
            raise ValueError(f"power {N} exceeds max_power {self.max_power}")
        out: dict = {}
        for m in range(0 if self.n == 0 else 1, N + 1):
            if skip_first and m == 1:
                continue
            a = self.table(m, N - m, 0 if self.per_target else None)
            if a:
                add_into(out, self.algebra.at_origin(a), Fraction(1, factorial(m)))
        return out


class GaussianSDE:
    r"""The ansatz :math:`dX = b\,dt + (\eta D)^{1/2} dW`, :math:`b = \sum_k \eta^k b_k`,
    :math:`D = \sum_k \eta^k D_k` (see the module docstring).

    Its coefficient families, in the order they are solved: ``drift`` (:math:`b_k`, alone at
    :math:`\eta^{k+1}` in the first moment) and ``diffusion`` (:math:`D_k`, alone at
    :math:`\eta^{k+2}` in the second).
    """

    name = "sde"
    families: tuple[tuple[str, int], ...] = (("drift", 1), ("diffusion", 2))

    def families_for(self, order: int) -> tuple[tuple[str, int], ...]:
        return self.families

    def count(self, order: int, n: int) -> int:
        return order + 1

    def expansion(
        self,
        algebra: GeneratorAlgebra,
        n: int,
        coefficients: dict[str, list[dict]],
        max_power: int,
        *,
        truncated: bool = False,
    ) -> GeneratorExpansion:
        """The one-step n-th moment of the ansatz with the coefficients known so far."""
        return GeneratorExpansion(
            algebra,
            n,
            coefficients["drift"],
            coefficients["diffusion"],
            max_power,
            truncated=truncated,
        )
