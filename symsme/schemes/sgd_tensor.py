r"""One-step moments of SGD in d dimensions, as coordinate-free contraction terms.

With :math:`x_1 = x - \eta G`, the n-th one-step moment is the tensor (labelled legs
:math:`i_1, \dots, i_n`)

.. math::

    \mathbb E\,[(x_1 - x)^{\otimes n}]_{i_1\dots i_n} = (-\eta)^n\,
    \mathbb E\,[G_{i_1}\cdots G_{i_n}]
    = (-\eta)^n \sum_{\pi} \prod_{B\in\pi} \kappa_{|B|}(i_B),

the sum running over the set partitions :math:`\pi` of the legs (moment-cumulant formula)
with the cumulant tensors :math:`\kappa_1 = \nabla f`, :math:`\kappa_2 = \Sigma`,
:math:`\kappa_m = K_m` (``general`` noise) or :math:`0` (``gaussian``) for :math:`m \ge 3`.
In one dimension the number of partitions of each block-size profile gives back the complete
Bell polynomial of :mod:`symsme.schemes.sgd`.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from symsme.algebra.contractions import F_KIND, K_KIND, S_KIND, canonical_key, type_code
from symsme.errors import MomentsError
from symsme.schemes.sgd import check_noise

__all__ = ["set_partitions", "gradient_raw_moment_tensor", "one_step_moments_tensor"]


def set_partitions(n: int) -> Iterator[list[list[int]]]:
    """All set partitions of ``range(n)`` (blocks in order of their smallest element)."""
    if n == 0:
        yield []
        return
    for part in set_partitions(n - 1):
        for i in range(len(part)):
            yield [*part[:i], [*part[i], n - 1], *part[i + 1 :]]
        yield [*part, [n - 1]]


def _cumulant_type(size: int, noise: str) -> int | None:
    if size == 1:
        return type_code(F_KIND, 1)
    if size == 2:
        return type_code(S_KIND, 0)
    if noise == "gaussian":
        return None
    return type_code(K_KIND, size)


def gradient_raw_moment_tensor(n: int, noise: str = "gaussian") -> dict:
    r""":math:`\mathbb E\, G^{\otimes n}` (free legs ``0..n-1``) by the moment-cumulant formula."""
    check_noise(noise)
    out: dict = {}
    for part in set_partitions(n):
        types = []
        free = [0] * n
        for u, block in enumerate(part):
            code = _cumulant_type(len(block), noise)
            if code is None:
                break
            types.append(code)
            for leg in block:
                free[leg] = 2 * u
        else:
            key = canonical_key(tuple(types), [], tuple(free))
            out[key] = out.get(key, 0) + Fraction(1)
    return out


def one_step_moments_tensor(n: int, noise: str = "gaussian") -> dict[int, dict]:
    r"""SGD's n-th one-step moment as ``{n: (-1)^n E[G^{(x) n}]}`` (the power of :math:`\eta`
    maps to a linear combination of canonical contraction terms with ``n`` free legs)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise MomentsError(f"moment index must be an integer >= 1, got {n!r}")
    m = gradient_raw_moment_tensor(n, noise)
    sign = -1 if n % 2 else 1
    return {n: {k: sign * c for k, c in m.items()}} if m else {}
