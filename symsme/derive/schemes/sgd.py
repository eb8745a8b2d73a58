r"""One-step moments of SGD, :math:`x_1 = x - \eta\, G(x, \xi)`.

With :math:`\mathbb E G = \nabla f`, :math:`\operatorname{Cov} G = \Sigma` and higher
cumulants :math:`\kappa_n` of the gradient noise, the one-step raw moments are exact
polynomials in :math:`\eta` (a single power each):

.. math::

    \mathbb E\,(x_1 - x)^{\otimes n} = (-\eta)^n\, \mathbb E\, G^{\otimes n},

where :math:`\mathbb E\,G^{\otimes n}` comes from the cumulants by the moment-cumulant formula
(complete Bell polynomials in 1-D), which the term algebra provides
(:func:`symsme.algebra.jets.gradient_moment`,
:func:`symsme.algebra.contractions.gradient_moment`).  Gaussian noise has no cumulants beyond
:math:`\Sigma`; ``general`` noise keeps every :math:`\kappa_n` as a symbol (``k3_0``, ...,
:math:`K_n`).  Only the first two moments depend on :math:`\Sigma` alone.
"""

from __future__ import annotations

from symsme.derive.schemes.base import GradientAlgebra
from symsme.errors import MomentsError, NoiseModelError
from symsme.validate import check_integer

__all__ = ["NOISE_MODELS", "SGD", "check_noise"]

NOISE_MODELS: dict[str, int | None] = {"gaussian": 2, "general": None}
"""Noise model -> highest non-zero cumulant of the gradient noise (``None``: all)."""


def check_noise(noise: str) -> str:
    """Return ``noise`` if it is a known noise model, else raise :class:`NoiseModelError`."""
    if not isinstance(noise, str) or noise not in NOISE_MODELS:
        raise NoiseModelError(
            f"unknown noise model {noise!r}; choose one of {', '.join(NOISE_MODELS)}"
        )
    return noise


class SGD:
    """Plain SGD with unbiased gradient noise (see the module docstring)."""

    name = "sgd"

    def one_step_moments(self, n: int, algebra: GradientAlgebra, noise: str) -> dict[int, dict]:
        r"""SGD's n-th one-step moment as ``{n: (-1)^n E G^{(x)n}}`` (power of :math:`\eta` to a
        linear combination of the algebra's terms with ``n`` free legs)."""
        n = check_integer(n, "moment index", 1, error=MomentsError)
        m = algebra.gradient_moment(n, NOISE_MODELS[check_noise(noise)])
        sign = -1 if n % 2 else 1
        return {n: {k: sign * c for k, c in m.items()}} if m else {}
