r"""Stochastic backward error analysis: match SGD's one-step moments order by order.

The front door is :func:`modified_equation`.  With the generator expansion of
:mod:`symsme.derive.ansatz.sde`, the first two one-step moments of the SDE ansatz are

.. math::

    [\eta^{k+1}]\,\mathbb E(X_\eta - x) = b_k + (\text{terms in } b_{<k}, D_{<k-1}),
    \qquad
    [\eta^{k+2}]\,\mathbb E(X_\eta - x)^{\otimes 2} = D_k + (\text{terms in } b_{\le k}, D_{<k}),

so equating them with SGD's (:mod:`symsme.derive.schemes.sgd`) determines :math:`b_0, D_0, b_1, D_1,
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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from symsme.algebra.lincomb import add_into
from symsme.algebra.series import Series
from symsme.derive.ansatz import Ansatz, get_ansatz
from symsme.derive.cache import load as cache_load
from symsme.derive.cache import store as cache_store
from symsme.derive.schemes import Scheme, get_scheme
from symsme.derive.schemes.sgd import check_noise
from symsme.errors import MomentsError, NoiseModelError
from symsme.progress import progress_bar
from symsme.validate import check_dim, check_integer, check_moments, check_order

__all__ = [
    "LIMITS",
    "Mismatch",
    "ModifiedEquation",
    "SIGMA_MODELS",
    "check_limits",
    "modified_equation",
    "term_algebra",
]

LIMITS: dict[str, dict[int | str, int]] = {
    "order": {1: 11, "d": 6},
    "generator order": {1: 9, "d": 5},
    "moments": {1: 10, "d": 6},
    "through": {1: 16, "d": 10},
}
"""Largest request served without ``force=True`` (``--force``), per dimension, so that nothing
allowed by default takes much over 10 s on 2 cores.  Measured: 1-D order 10 about 5 s, 11
about 12 s, 12 about 30 s; coordinate-free order 6 about 5 s, 7 about 30 s; the d-dim
mismatch report grows with the Bell numbers of the moment index.  The generator ansatz: 1-D
order 8 about 3 s, 10 about 30 s (2 minutes with general noise); coordinate-free order 5
about 4 s, 6 about 53 s."""

# Relative cost of one more order (for an honest progress rate and ETA).
_GROWTH: dict[int | str, float] = {1: 2.3, "d": 5.0}

SIGMA_MODELS = ("state", "constant")
r"""``state``: :math:`\Sigma(x)` depends on the point; ``constant``: all its derivatives vanish."""


@dataclass(frozen=True)
class Mismatch:
    """Lowest power of eta at which the model's n-th raw one-step moment differs from SGD's."""

    moment: int
    eta_power: int | None
    coefficient: Series
    """Model minus SGD at ``eta**eta_power`` (empty when they agree through the order checked)."""


@dataclass(frozen=True)
class ModifiedEquation:
    r"""The derived coefficients (exact series over the algebra's basis) and the mismatch report.

    For the Gaussian SDE ansatz, :attr:`drift` is :math:`b_0..b_K` and :attr:`diffusion` is
    :math:`D_0..D_K`.  ``dim`` is 1 (jet polynomials, :mod:`symsme.algebra.jets`) or ``"d"``
    (coordinate-free contraction terms, :mod:`symsme.algebra.contractions`); every series also
    knows its basis (:class:`~symsme.algebra.series.Series`).
    """

    dim: int | str
    order: int
    noise: str
    sigma: str
    coefficients: Mapping[str, tuple[Series, ...]]
    mismatch: tuple[Mismatch, ...] | None = None
    checked_through: int | None = None
    scheme: str = "sgd"
    ansatz: str = "sde"

    @property
    def drift(self) -> tuple[Series, ...]:
        r""":math:`b_0, \dots, b_K`."""
        return self.coefficients["drift"]

    @property
    def diffusion(self) -> tuple[Series, ...]:
        r""":math:`D_0, \dots, D_K`."""
        return self.coefficients["diffusion"]

    @property
    def kramers_moyal(self) -> tuple[tuple[Series, ...], ...]:
        r"""The generator ansatz's :math:`A_n = (A_{n,0}, \dots, A_{n,K})` for
        :math:`n = 1..K+1` (:math:`A_1` the drift, :math:`A_2` the diffusion series); for the
        SDE ansatz just those two."""
        from symsme.derive.ansatz.generator import family_name

        count = sum(1 for name in self.coefficients if name.startswith("A")) + 2
        return tuple(self.coefficients[family_name(n)] for n in range(1, count + 1))


def term_algebra(dim: int | str, sigma: str = "state") -> Any:
    """The term algebra of a dimension: 1-D jets or coordinate-free contraction graphs."""
    if check_dim(dim) == 1:
        from symsme.algebra.jets import JetAlgebra

        return JetAlgebra(sigma)
    from symsme.algebra.contractions import ContractionAlgebra

    return ContractionAlgebra(sigma)


def check_limits(dim: int | str, order: int, moments: int | None, through: int | None) -> None:
    """Raise :class:`~symsme.errors.LimitError` for a request beyond :data:`LIMITS`."""
    from symsme.errors import LimitError

    for name, value in (("order", order), ("moments", moments), ("through", through)):
        limit = LIMITS[name][dim]
        if value is not None and value > limit:
            where = "1-D" if dim == 1 else "coordinate-free"
            raise LimitError(
                f"{name} {value} is beyond the {where} limit {limit} (the work grows about "
                f"{_GROWTH[dim]}x per order); pass force=True (--force) to derive it anyway"
            )


class _Progress:
    """A progress bar whose units are estimated work (each order costs ``growth`` times the
    one before), so its rate and ETA are honest; shown on stderr when asked, or on a
    terminal."""

    def __init__(self, steps: list[float], enabled: bool | None, desc: str) -> None:
        self.steps = steps
        self.done = 0
        self.bar = progress_bar(
            enabled,
            round(sum(steps), 3),
            desc,
            "work",
            bar_format="{l_bar}{bar}| [{elapsed}<{remaining}]",
        )

    def update(self, _: int = 1) -> None:
        if self.bar is not None and self.done < len(self.steps):
            self.bar.update(round(self.steps[self.done], 3))
        self.done += 1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress(
    dim: int | str, order: int, moments: int | None, enabled: bool | None, desc: str
) -> _Progress | None:
    growth = _GROWTH[dim]
    steps = [growth**k for k in range(order + 1)]
    steps += [growth ** (order + 1) / 2] * (moments or 0)
    bar = _Progress(steps, enabled, desc)
    return bar if bar.bar is not None else None


def _solve(
    ansatz: Ansatz, scheme: Scheme, algebra: Any, order: int, noise: str, bar: Any
) -> dict[str, list[dict]]:
    r"""The triangular solve: the k-th coefficient of the family of moment n appears alone at
    :math:`\eta^{n+k}`, after every coefficient of lower total power; so solve power by power
    (and, within a power, family by family), each for k = 0..order."""
    families = ansatz.families_for(order)
    counts = {name: ansatz.count(order, n) for name, n in families}
    coefficients: dict[str, list[dict]] = {name: [] for name, _ in families}
    expansions = {
        name: ansatz.expansion(algebra, n, coefficients, max_power=n + counts[name] - 1)
        for name, n in families
    }
    targets = {name: scheme.one_step_moments(n, algebra, noise) for name, n in families}
    last = max(n + counts[name] - 1 for name, n in families)
    for power in range(1, last + 1):
        for name, n in families:
            if not 0 <= power - n < counts[name]:
                continue
            c = dict(targets[name].get(power, {}))
            add_into(c, expansions[name].coefficient(power, skip_first=True), -1)
            coefficients[name].append(c)
        if bar is not None and power <= order + 1:
            bar.update(1)
    return coefficients


def _mismatch(
    ansatz: Ansatz,
    scheme: Scheme,
    algebra: Any,
    coefficients: dict[str, list[dict]],
    noise: str,
    moments: int,
    through: int,
    bar: Any,
) -> tuple[Mismatch, ...]:
    report = []
    for n in range(1, moments + 1):
        model = ansatz.expansion(
            algebra,
            n,
            {name: list(c) for name, c in coefficients.items()},
            max_power=through,
            truncated=True,
        )
        sgd = scheme.one_step_moments(n, algebra, noise)
        found = Mismatch(n, None, Series(algebra.basis))
        for p in range(1, through + 1):
            diff = model.coefficient(p)
            add_into(diff, sgd.get(p, {}), -1)
            if diff:
                found = Mismatch(n, p, Series(algebra.basis, diff))
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
    force: bool = False,
    scheme: str | Scheme = "sgd",
    ansatz: str | Ansatz = "sde",
) -> ModifiedEquation:
    r"""Derive the stochastic modified equation of SGD through :math:`\eta^{K}`, ``K = order``.

    Returns :math:`b_0..b_K` and :math:`D_0..D_K` of :math:`dX = b\,dt + (\eta D)^{1/2}dW`
    with :math:`b = \sum_k \eta^k b_k`, :math:`D = \sum_k\eta^k D_k` (see the module docstring).
    ``dim`` is ``1`` (jet symbols ``g_k``, ``s_k``) or ``"d"`` (coordinate-free terms, valid in
    every dimension).  With ``moments=M`` the mismatch report for moments 1..M is added,
    compared through :math:`\eta^{\text{through}}` (default :math:`\max(K+3, M+1)`).
    ``noise`` is ``"gaussian"`` or ``"general"`` (cumulants ``k3_0, k4_0, ...``; it only
    affects the mismatch report).  ``scheme`` and ``ansatz`` name the registered discrete
    algorithm (:mod:`symsme.derive.schemes`) and model family (:mod:`symsme.derive.ansatz`), or
    are objects implementing those protocols (then nothing is cached: a name need not identify
    an unregistered object).
    Results are cached on disk (:mod:`symsme.derive.cache`) unless ``cache=False``;
    ``progress`` shows a bar (default: when stderr is a terminal).  Requests beyond
    :data:`LIMITS` raise :class:`~symsme.errors.LimitError` before any work starts, unless
    ``force=True``.

    Raises :class:`~symsme.errors.OrderError`, :class:`~symsme.errors.NoiseModelError`,
    :class:`~symsme.errors.MomentsError`, :class:`~symsme.errors.DimensionError` for bad
    arguments.
    """
    order = check_order(order)
    check_noise(noise)
    if sigma not in SIGMA_MODELS:
        raise NoiseModelError(
            f"unknown Sigma model {sigma!r}; choose one of {', '.join(SIGMA_MODELS)}"
        )
    moments = check_moments(moments)
    dim = check_dim(dim)
    registered = isinstance(scheme, str) and isinstance(ansatz, str)
    the_scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
    the_ansatz = get_ansatz(ansatz) if isinstance(ansatz, str) else ansatz
    cache = cache and registered
    if through is not None:
        from symsme.errors import OrderError

        through = check_integer(through, "through", 1, error=OrderError)
        if moments is None:
            raise MomentsError("through= only applies to the mismatch report (give moments=M)")
    if moments is not None and through is None:
        through = max(order + 3, moments + 1)
    if not force:
        limit = LIMITS["generator order"][check_dim(dim)]
        if the_ansatz.name == "generator" and order > limit:
            from symsme.errors import LimitError

            cost = (
                "order 10 takes about 30 s, 2 minutes with general noise"
                if dim == 1
                else "order 6 takes about a minute"
            )
            where = "1-D" if dim == 1 else "coordinate-free"
            raise LimitError(
                f"order {order} of the generator ansatz is beyond the {where} limit {limit} "
                f"({cost}); pass force=True (--force) to derive it anyway"
            )
        check_limits(dim, order, moments, through)

    key = [
        "modified_equation",
        dim,
        order,
        noise,
        sigma,
        moments,
        through,
        the_scheme.name,
        the_ansatz.name,
    ]
    algebra = term_algebra(dim, sigma)
    if cache:
        hit = cache_load(key, lambda data: _from_data(data, key, algebra, the_ansatz))
        if hit is not None:
            return hit

    bar = _progress(dim, order, moments, progress, f"derive order {order}")
    try:
        coefficients = _solve(the_ansatz, the_scheme, algebra, order, noise, bar)
        report = None
        if moments is not None:
            assert through is not None
            report = _mismatch(
                the_ansatz, the_scheme, algebra, coefficients, noise, moments, through, bar
            )
    except NotImplementedError:
        if dim == 1 or noise != "general":
            raise
        raise NoiseModelError(
            f"coordinate-free general noise at order {order}"
            + ("" if moments is None else f" with moments {moments}")
            + " needs derivatives of the cumulant tensors, which the contraction terms do not "
            "represent; use --dim 1, or --noise gaussian"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    result = ModifiedEquation(
        dim=dim,
        order=order,
        noise=noise,
        sigma=sigma,
        coefficients={
            name: tuple(Series(algebra.basis, c) for c in series)
            for name, series in coefficients.items()
        },
        mismatch=report,
        checked_through=through,
        scheme=the_scheme.name,
        ansatz=the_ansatz.name,
    )
    if cache:
        cache_store(key, _to_data(result))
    return result


def _to_data(me: ModifiedEquation) -> dict[str, Any]:
    """``me`` as plain JSON data (the cache's value; read back by :func:`_from_data`)."""
    mismatch = None
    if me.mismatch is not None:
        mismatch = [[m.moment, m.eta_power, m.coefficient.to_data()] for m in me.mismatch]
    return {
        "coefficients": {
            name: [s.to_data() for s in series] for name, series in me.coefficients.items()
        },
        "mismatch": mismatch,
    }


def _from_data(data: Any, key: list, algebra: Any, ansatz: Ansatz) -> ModifiedEquation:
    """The derivation stored by :func:`_to_data` for the request ``key``, every part checked
    (``ValueError``/``TypeError``/``KeyError`` for anything that does not fit)."""
    _, dim, order, noise, sigma, moments, through, scheme_name, ansatz_name = key
    if not isinstance(data, dict) or set(data) != {"coefficients", "mismatch"}:
        raise ValueError("not a stored derivation")
    stored = data["coefficients"]
    names = [name for name, _ in ansatz.families_for(order)]
    if not isinstance(stored, dict) or sorted(stored) != sorted(names):
        raise ValueError("coefficient families differ")
    coefficients = {}
    for name in names:
        series = stored[name]
        n = dict(ansatz.families_for(order))[name]
        if not isinstance(series, list) or len(series) != ansatz.count(order, n):
            raise ValueError("wrong number of coefficients")
        coefficients[name] = tuple(Series.from_data(algebra.basis, s) for s in series)
    report = None
    if moments is not None:
        rows = data["mismatch"]
        if not isinstance(rows, list) or len(rows) != moments:
            raise ValueError("wrong mismatch report")
        report = []
        for n, row in enumerate(rows, start=1):
            moment, power, coefficient = row
            if moment != n or not (power is None or (type(power) is int and 1 <= power <= through)):
                raise ValueError("wrong mismatch row")
            series = Series.from_data(algebra.basis, coefficient)
            if (power is None) != (not series):
                raise ValueError("wrong mismatch row")
            report.append(Mismatch(n, power, series))
    elif data["mismatch"] is not None:
        raise ValueError("unexpected mismatch report")
    return ModifiedEquation(
        dim=dim,
        order=order,
        noise=noise,
        sigma=sigma,
        coefficients=coefficients,
        mismatch=None if report is None else tuple(report),
        checked_through=through,
        scheme=scheme_name,
        ansatz=ansatz_name,
    )
