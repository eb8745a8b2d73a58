r"""One-step moments of SGD, :math:`x_1 = x - \eta\, G(x, \xi)`.

With :math:`\mathbb E G = \nabla f`, :math:`\operatorname{Cov} G = \Sigma` and higher
cumulants :math:`\kappa_n` of the gradient noise, the one-step raw moments are exact
polynomials in :math:`\eta` (a single power each):

.. math::

    \mathbb E\,(x_1 - x)^n = (-\eta)^n\, \mathbb E\, G^n, \qquad
    \mathbb E\, G^n = B_n(\kappa_1, \dots, \kappa_n)
    = \sum_{j=1}^{n} \binom{n-1}{j-1} \kappa_j\, \mathbb E\, G^{n-j},

the complete Bell polynomial of the cumulants :math:`\kappa_1 = g_0`, :math:`\kappa_2 = s_0`,
:math:`\kappa_n = \texttt{k}n\texttt{\_0}` (``general`` noise) or :math:`0` (``gaussian``).
Only the first two moments depend on :math:`\Sigma` alone.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from symsme.algebra.jets import STRIDE, G, K, S, poly_mul
from symsme.algebra.lincomb import add_into
from symsme.errors import MomentsError, NoiseModelError

__all__ = ["NOISE_MODELS", "check_noise", "gradient_raw_moment", "one_step_moments"]

NOISE_MODELS = ("gaussian", "general")


def check_noise(noise: str) -> str:
    """Return ``noise`` if it is a known noise model, else raise :class:`NoiseModelError`."""
    if noise not in NOISE_MODELS:
        raise NoiseModelError(
            f"unknown noise model {noise!r}; choose one of {', '.join(NOISE_MODELS)}"
        )
    return noise


def _cumulant(j: int, noise: str) -> dict:
    if j == 1:
        return {(G(0),): Fraction(1)}
    if j == 2:
        return {(S(0),): Fraction(1)}
    if noise == "gaussian":
        return {}
    if j > STRIDE:
        raise MomentsError(f"general noise supports cumulants up to order {STRIDE}, not {j}")
    return {(K(j, 0),): Fraction(1)}


def gradient_raw_moment(n: int, noise: str = "gaussian") -> dict:
    r""":math:`\mathbb E\, G^n` as a jet polynomial (complete Bell polynomial of the cumulants)."""
    check_noise(noise)
    moments: list[dict] = [{(): Fraction(1)}]
    for k in range(1, n + 1):
        acc: dict = {}
        for j in range(1, k + 1):
            kj = _cumulant(j, noise)
            if kj and moments[k - j]:
                add_into(acc, poly_mul(kj, moments[k - j]), comb(k - 1, j - 1))
        moments.append(acc)
    return moments[n]


def one_step_moments(n: int, noise: str = "gaussian") -> dict[int, dict]:
    r"""SGD's n-th one-step raw moment as ``{eta_power: jet polynomial}``: ``{n: (-1)^n E G^n}``."""
    if not isinstance(n, int) or n < 1:
        raise MomentsError(f"moment index must be an integer >= 1, got {n!r}")
    m = gradient_raw_moment(n, noise)
    sign = -1 if n % 2 else 1
    return {n: {k: sign * c for k, c in m.items()}} if m else {}
