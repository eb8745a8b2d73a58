r"""Stochastic backward error analysis: match SGD's one-step moments order by order.

The front door is :func:`modified_equation`.  With the generator expansion of
:mod:`symsme.expansion.generator`, the first two one-step moments of the SDE ansatz are

.. math::

    [\eta^{k+1}]\,\mathbb E(X_\eta - x) = b_k + (\text{terms in } b_{<k}, D_{<k-1}),
    \qquad
    [\eta^{k+2}]\,\mathbb E(X_\eta - x)^{\otimes 2} = D_k + (\text{terms in } b_{\le k}, D_{<k}),

so equating them with SGD's (:mod:`symsme.schemes.sgd`) determines :math:`b_0, D_0, b_1, D_1,
\dots` in turn, exactly (stochastic modified equations: Li, Tai, E, ICML 2017 and JMLR 2019;
the backward-error viewpoint: Hairer, Lubich, Wanner, *Geometric Numerical Integration*,
ch. IX).  Since only the first two moments enter, :math:`b_k, D_k` depend on the noise through
:math:`\Sigma` alone.

The *mismatch report* then compares the n-th moments of the truncated model
(:math:`b_0..b_K, D_0..D_K`, the rest zero) with SGD's, power by power: by the weak-order
theorem of Milstein (see Li-Tai-E 2019, Thm. 3), weak order :math:`p` needs agreement of the
moments :math:`n = 1, \dots, 2p+1` through :math:`\eta^{p}` and bounded discrepancies at
:math:`\eta^{p+1}`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from symsme.algebra.lincomb import add_into
from symsme.errors import DimensionError, MomentsError, NoiseModelError, OrderError
from symsme.expansion.generator import GeneratorExpansion
from symsme.schemes.sgd import check_noise

__all__ = ["Mismatch", "ModifiedEquation", "modified_equation", "check_order", "check_dim"]


@dataclass(frozen=True)
class Mismatch:
    """Lowest power of eta at which the SDE's n-th raw moment differs from SGD's."""

    moment: int
    eta_power: int | None
    coefficient: dict = field(default_factory=dict)
    """SDE minus SGD at ``eta**eta_power`` (empty when they agree through the order checked)."""


@dataclass(frozen=True)
class ModifiedEquation:
    r"""The derived coefficients :math:`b_0..b_K`, :math:`D_0..D_K` (exact, canonical basis).

    ``dim`` is 1 (jet polynomials, :mod:`symsme.algebra.jets`) or ``"d"`` (coordinate-free
    contraction terms, :mod:`symsme.algebra.contractions`).
    """

    dim: int | str
    order: int
    noise: str
    sigma: str
    drift: tuple[dict, ...]
    diffusion: tuple[dict, ...]
    mismatch: tuple[Mismatch, ...] | None = None
    checked_through: int | None = None


def check_order(order: Any) -> int:
    """Return ``order`` if it is an integer >= 0, else raise :class:`OrderError`."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise OrderError(f"order must be an integer >= 0, got {order!r}")
    return order


def check_dim(dim: Any) -> int | str:
    """``1`` for the 1-D engine, ``"d"`` for the coordinate-free one (also for integers >= 2).

    Raises :class:`~symsme.errors.DimensionError` otherwise.
    """
    if (isinstance(dim, str) and dim == "d") or (
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 2
    ):
        return "d"
    if isinstance(dim, int) and not isinstance(dim, bool) and dim == 1:
        return 1
    raise DimensionError(f"dimension must be 1, an integer >= 2 or 'd', got {dim!r}")


def _check_moments(moments: Any) -> int | None:
    if moments is None:
        return None
    if isinstance(moments, bool) or not isinstance(moments, int) or moments < 1:
        raise MomentsError(f"moments must be an integer >= 1, got {moments!r}")
    return moments


SIGMA_MODELS = ("state", "constant")


def _backend(dim: int | str, sigma: str):
    """The term algebra and SGD's moments for a dimension (1 or coordinate-free)."""
    if dim == 1:
        from symsme.algebra.jets import JetAlgebra
        from symsme.schemes.sgd import one_step_moments

        return JetAlgebra(sigma), one_step_moments
    from symsme.algebra.contractions import ContractionAlgebra
    from symsme.schemes.sgd_tensor import one_step_moments_tensor

    return ContractionAlgebra(sigma), one_step_moments_tensor


def _progress(total: int, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


def _solve(algebra, sgd_moments, order: int, noise: str, bar) -> tuple[list, list]:
    drift: list[dict] = []
    diffusion: list[dict] = []
    first = GeneratorExpansion(algebra, 1, drift, diffusion, max_power=order + 1)
    second = GeneratorExpansion(algebra, 2, drift, diffusion, max_power=order + 2)
    sgd1 = sgd_moments(1, noise)
    sgd2 = sgd_moments(2, noise)
    for k in range(order + 1):
        b = dict(sgd1.get(k + 1, {}))
        add_into(b, first.coefficient(k + 1, skip_first=True), -1)
        drift.append(b)
        D = dict(sgd2.get(k + 2, {}))
        add_into(D, second.coefficient(k + 2, skip_first=True), -1)
        diffusion.append(D)
        if bar is not None:
            bar.update(1)
    return drift, diffusion


def _mismatch(algebra, sgd_moments, drift, diffusion, noise, moments, through, bar):
    report = []
    for n in range(1, moments + 1):
        sde = GeneratorExpansion(
            algebra, n, list(drift), list(diffusion), max_power=through, truncated=True
        )
        sgd = sgd_moments(n, noise)
        found = Mismatch(n, None, {})
        for p in range(1, through + 1):
            diff = sde.coefficient(p)
            add_into(diff, sgd.get(p, {}), -1)
            if diff:
                found = Mismatch(n, p, diff)
                break
        report.append(found)
        if bar is not None:
            bar.update(1)
    return tuple(report)


def modified_equation(
    order: int,
    *,
    dim: int | str = 1,
    noise: str = "gaussian",
    sigma: str = "state",
    moments: int | None = None,
    through: int | None = None,
    cache: bool = True,
    progress: bool | None = None,
) -> ModifiedEquation:
    r"""Derive the stochastic modified equation of SGD through :math:`\eta^{K}`, ``K = order``.

    Returns :math:`b_0..b_K` and :math:`D_0..D_K` of :math:`dX = b\,dt + (\eta D)^{1/2}dW`
    with :math:`b = \sum_k \eta^k b_k`, :math:`D = \sum_k\eta^k D_k` (see the module docstring).
    ``dim`` is ``1`` (jet symbols ``g_k``, ``s_k``) or ``"d"`` (coordinate-free terms, valid in
    every dimension).  With ``moments=M`` the mismatch report for moments 1..M is added,
    compared through :math:`\eta^{\text{through}}` (default :math:`\max(K+3, M+1)`).
    ``noise`` is ``"gaussian"`` or ``"general"`` (cumulants ``k3_0, k4_0, ...``; it only
    affects the mismatch report).  Results are cached on disk (:mod:`symsme.cache`) unless
    ``cache=False``; ``progress`` shows a bar (default: when stderr is a terminal).

    Raises :class:`~symsme.errors.OrderError`, :class:`~symsme.errors.NoiseModelError`,
    :class:`~symsme.errors.MomentsError` for bad arguments.
    """
    order = check_order(order)
    check_noise(noise)
    if sigma not in SIGMA_MODELS:
        raise NoiseModelError(
            f"unknown Sigma model {sigma!r}; choose one of {', '.join(SIGMA_MODELS)}"
        )
    moments = _check_moments(moments)
    dim = check_dim(dim)
    if moments is not None:
        if through is None:
            through = max(order + 3, moments + 1)
        elif isinstance(through, bool) or not isinstance(through, int) or through < 1:
            raise OrderError(f"through must be an integer >= 1, got {through!r}")
    else:
        through = None

    from symsme import cache as _cache

    key = ("modified_equation", dim, order, noise, sigma, moments, through)
    if cache:
        hit = _cache.load(key)
        if hit is not None:
            return hit

    algebra, sgd_moments = _backend(dim, sigma)
    bar = _progress(order + 1 + (moments or 0), progress, f"derive order {order}")
    try:
        drift, diffusion = _solve(algebra, sgd_moments, order, noise, bar)
        report = None
        if moments is not None:
            report = _mismatch(algebra, sgd_moments, drift, diffusion, noise, moments, through, bar)
    finally:
        if bar is not None:
            bar.close()
    result = ModifiedEquation(
        dim=dim,
        order=order,
        noise=noise,
        sigma=sigma,
        drift=tuple(drift),
        diffusion=tuple(diffusion),
        mismatch=report,
        checked_through=through,
    )
    if cache:
        _cache.store(key, result)
    return result
