r"""The modified generator of SGD: a Kramers-Moyal series matched to SGD's one-step moments.

A Gaussian SDE matches SGD's first two one-step moments to any order but not the third beyond a
fixed power of :math:`\eta` (the Gaussian cap, ``symsme/DESIGN.md``, "Stochastic backward error
analysis", 6).  The *modified generator* (weak backward error analysis at the level of the
Kolmogorov generator: Debussche, Faou, SIAM J. Numer. Anal. 50, 2012; Zygalakis, SIAM J. Sci.
Comput. 33, 2011; Kopec, 2015) is the formal series of differential operators

.. math::

    L_\eta = \sum_{n \ge 1} \frac{\eta^{n-1}}{n!} A_n : \nabla^n, \qquad
    A_n = \sum_{k \ge 0} \eta^k A_{n,k},

such that SGD's one-step transition operator is :math:`\exp(\eta L_\eta)` order by order:
:math:`A_1 = b` and :math:`A_2 = D` as for the SDE, :math:`A_3, A_4, \dots` the higher
Kramers-Moyal coefficients.  In the generator expansion of :mod:`symsme.derive.ansatz.sde`,
:math:`L_j = \sum_n \frac{1}{n!} A_{n, j-n+1} : \nabla^n`, and :math:`A_{n,k}` appears alone,
with factor one, at :math:`\eta^{n+k}` of the n-th one-step moment (:math:`\nabla^n z^n = n!`),
after coefficients of lower total power :math:`n' + k' < n + k`: the same triangular solve.

A derivation through order :math:`K` gives :math:`A_{n,k}` for :math:`n + k \le K + 1`: every
term of :math:`L_\eta` up to :math:`\eta^K`.  The truncation matches every one-step moment
through :math:`\eta^{K+1}` (moments :math:`n > K+1` are :math:`O(\eta^{K+2})` for SGD and for
the truncation), i.e. local weak error :math:`O(\eta^{K+2})`, weak order :math:`K+1`, whatever
the noise.  (Coefficients beyond the triangle, :math:`A_{n,k}` with :math:`n + k > K + 1`, need
the families of every moment up to :math:`n + k - 1`: the full rectangle :math:`k \le K` costs a
derivation through order :math:`2K`.)

Facts the tests check: :math:`A_1, A_2` equal the SDE's :math:`b_k, D_k` where :math:`A_3`
cannot reach them (:math:`b_0..b_2`, :math:`D_0, D_1`: :math:`A_{3,0}` first enters the first
moment at :math:`\eta^4` and the second at :math:`\eta^4`); on a quadratic with constant
Gaussian noise every :math:`A_n`, :math:`n \ge 3`, vanishes; with general noise
:math:`A_{3,0} = -\kappa_3` (SGD's third moment is :math:`-\eta^3(g_0^3 + 3g_0 s_0 + \kappa_3)`,
the Gaussian part of which the drift and diffusion already give).

In 1-D the jet algebra applies :math:`A\,\partial^n` (:meth:`~symsme.algebra.jets.JetAlgebra.
kramers_action`); coordinate-free, :math:`A_n` is a symmetric n-tensor, a sum of contraction
terms with n free legs, and :math:`A_n : \nabla^n a` contracts them with n gradients of
``a`` (:meth:`~symsme.algebra.contractions.ContractionAlgebra.kramers_action`).  Coordinate-free
general noise is served while no cumulant tensor needs differentiating (order 2 without the
mismatch report, order 1 with it): derivatives of the cumulant tensors are not represented.
"""

from __future__ import annotations

from symsme.derive.ansatz.sde import GeneratorAlgebra, GeneratorExpansion

__all__ = ["ModifiedGenerator", "family_name"]


def family_name(n: int) -> str:
    """The family of :math:`A_n`: ``drift`` (n = 1), ``diffusion`` (n = 2), ``A3``, ``A4``, ..."""
    return {1: "drift", 2: "diffusion"}.get(n, f"A{n}")


class ModifiedGenerator:
    """The Kramers-Moyal ansatz (see the module docstring)."""

    name = "generator"

    def families_for(self, order: int) -> tuple[tuple[str, int], ...]:
        # the diffusion family is always there (empty at order 0: L = A_1 d, gradient flow)
        return tuple((family_name(n), n) for n in range(1, max(order, 1) + 2))

    def count(self, order: int, n: int) -> int:
        r""":math:`A_{n,k}` for :math:`n + k \le K + 1`: the terms of :math:`L_\eta` up to
        :math:`\eta^K` (weak order :math:`K + 1`); each needs only coefficients of lower total
        power, all among them."""
        return max(order + 2 - n, 0)

    def expansion(
        self,
        algebra: GeneratorAlgebra,
        n: int,
        coefficients: dict[str, list[dict]],
        max_power: int,
        *,
        truncated: bool = False,
    ) -> GeneratorExpansion:
        """The n-th one-step moment of :math:`\\exp(\\eta L_\\eta)` with the coefficients known so
        far (a family absent from ``coefficients`` is zero)."""
        count = max((int(name[1:]) for name in coefficients if name.startswith("A")), default=2)
        higher = tuple(coefficients.get(family_name(q), []) for q in range(3, count + 1))
        return GeneratorExpansion(
            algebra,
            n,
            coefficients["drift"],
            coefficients["diffusion"],
            max_power,
            truncated=truncated,
            higher=higher,
            per_target=True,
        )
