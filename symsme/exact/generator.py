r"""Deterministic expectations of SGD's truncated modified generator in 1-D (``genK``).

The generator ansatz (:mod:`symsme.derive.ansatz.generator`) gives, through order :math:`K`,

.. math::

    L^{(K)} = \sum_{n + k \le K + 1} \frac{\eta^{n-1+k}}{n!} A_{n,k}(x)\, \partial^n,

whose :math:`e^{T L^{(K)}}` matches SGD's :math:`K = T/\eta` steps to weak order :math:`K + 1`
whatever the noise (``symsme/DESIGN.md``, "The modified generator").  The truncated operator
is of order :math:`K + 1` in :math:`\partial` with coefficients of both signs, so its evolution
equation is ill-posed at high frequencies: :math:`e^{T L^{(K)}}` is *defined* here, as in weak
backward error analysis (Debussche, Faou, SIAM J. Numer. Anal. 50, 2012), by the Gaussian part

.. math::

    \mathcal G = A_1 \partial + \tfrac\eta2 A_2 \partial^2, \qquad
    \mathcal R = L^{(K)} - \mathcal G = \sum_{n \ge 3} \frac{\eta^{n-1}}{n!} A_n \partial^n
    = O(\eta^r),

and the Dyson (variation-of-constants) series in :math:`\mathcal R` with :math:`m` terms,

.. math::

    e^{T(\mathcal G + \mathcal R)}\varphi \approx \sum_{j=0}^{m} u_j(T), \qquad
    u_0(s) = e^{s\mathcal G}\varphi, \qquad
    u_j(s) = \int_0^s e^{(s-\sigma)\mathcal G}\, \mathcal R\, u_{j-1}(\sigma)\, d\sigma,

summed until its terms fall below the tolerance (the j-th term is :math:`O(\eta^{rj})`:
:math:`r` is the lowest power of :math:`\eta` in :math:`\mathcal R`, 2 for non-Gaussian noise,
:math:`A_{3,0} = -\kappa_3`; 3 for Gaussian noise with state-dependent :math:`\Sigma`; 4 for
constant :math:`\Sigma`).  At least the :math:`m` terms with :math:`r(m+1) \ge K + 2` are
always taken, one order beyond the truncation's own error; over long horizons or with large
cumulants more are needed (a review found 3e-5 left out at T = 4 with only those), and the
estimated remainder enters the error bound.  :math:`\mathcal R` only ever acts on smooth
functions (:math:`u_{j-1}`), never inside an exponential.

**Numerics.**  :math:`\mathcal G` is collocated on a Chebyshev grid and :math:`e^{h\mathcal G}`
applied by Padé steps, exactly as for an SDE model (:func:`symsme.exact.backward.sde_expectation`:
same domain, cutoff :math:`\chi` of the diffusion and of :math:`\mathcal R`, refinement and error
bound).  Each Dyson term is advanced step by step,

.. math::

    u_j(s + h) = e^{h\mathcal G} u_j(s)
        + \sum_q \omega_q\, e^{(h - \tau_q)\mathcal G}\, \mathcal R\, u_{j-1}(s + \tau_q),

with Gauss-Legendre nodes :math:`\tau_q` on :math:`[0, h]` (the same matrices serve
:math:`\tau_q` and :math:`h - \tau_q`); :math:`u_0(s + \tau_q) = e^{\tau_q \mathcal G} u_0(s)`
exactly, higher :math:`u_{j-1}` by degree-6 interpolation in :math:`s`.  :math:`\partial^n` is
taken in Chebyshev coefficient space after the coefficients are cut where they reach their
rounding plateau, so that differentiation does not amplify rounding noise (the refinement
would catch it: levels would disagree).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from numpy.polynomial import chebyshev, legendre

from symsme.algebra.jets import STRIDE, evaluate_polynomial, var_name
from symsme.algebra.series import Series
from symsme.errors import (
    AccuracyError,
    DimensionError,
    LimitError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from symsme.exact.backward import (
    _PADE,
    _TIME_STEP,
    Expectation,
    _check_start,
    _check_tol,
    _grid_size,
    _intervals,
    _refine,
    _region,
    check_one_dimensional,
    check_steps,
    check_test_variables,
    check_time,
)
from symsme.numeric.backend import Backend, BackendName, get_backend
from symsme.numeric.chebyshev import ChebyshevGrid, analytic_cutoff, polynomial_cutoff
from symsme.numeric.exponential import step_matrix
from symsme.problems import Problem
from symsme.validate import check_integer, check_order, check_step_size

__all__ = [
    "MAX_DYSON_TERMS",
    "MAX_TIME_STEPS",
    "GeneratorModel",
    "generator_expectation",
    "generator_model",
    "generator_order",
    "minibatch_cumulants",
]

_NAME = re.compile(r"gen([0-9]{1,2})")
MAX_DYSON_TERMS = 12
"""Most Dyson terms computed before an :class:`~symsme.errors.AccuracyError`."""
MAX_TIME_STEPS = 5000
"""Largest horizon, in time steps of 0.05 (the Dyson terms keep every step's solution)."""
_STENCIL = 7  # interpolation points in s for u_{j-1}, j >= 2


def generator_order(name: Any) -> int | None:
    """``K`` for a model name ``genK`` (case, ``-`` and ``_`` ignored), else ``None``."""
    key = str(name).lower().replace("-", "").replace("_", "").strip()
    match = _NAME.fullmatch(key)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=32)
def _families(order: int, noise: str, sigma: str, force: bool) -> tuple[tuple[Series, ...], ...]:
    from symsme.derive import modified_equation

    me = modified_equation(
        order, ansatz="generator", noise=noise, sigma=sigma, progress=False, force=force
    )
    return me.kramers_moyal


@dataclass(frozen=True)
class GeneratorModel:
    r"""The truncation :math:`L^{(K)}` bound to a 1-D problem and a step size
    (:func:`generator_model`)."""

    problem: Problem
    order: int
    eta: sp.Rational | sp.Float
    noise: str
    r"""``"gaussian"`` (the problem's :math:`\Sigma`) or ``"minibatch"`` (a finite sum: its
    minibatch cumulants)."""
    families: tuple[tuple[Series, ...], ...]
    r""":math:`A_n = (A_{n,0}, \dots, A_{n,K+1-n})` for :math:`n = 1..K+1`."""
    psd: str = "raise"
    """``"raise"``: :math:`A_2 < 0` where the process can go is an error; ``"clip"``: it is
    set to 0 (a Gaussian part with negative diffusion is ill-posed)."""

    @property
    def label(self) -> str:
        return f"gen{self.order}"

    @property
    def leading_power(self) -> int | None:
        r""":math:`r`: the lowest power of :math:`\eta` in :math:`\mathcal R` (``None`` when
        :math:`\mathcal R = 0`)."""
        powers = [
            n - 1 + k
            for n, family in enumerate(self.families, start=1)
            if n >= 3
            for k, series in enumerate(family)
            if series
        ]
        return min(powers, default=None)

    @property
    def dyson_terms(self) -> int:
        r""":math:`m`, the least with :math:`r(m + 1) \ge K + 2` (0 when :math:`\mathcal R = 0`)."""
        r = self.leading_power
        return 0 if r is None else max(0, math.ceil((self.order + 2) / r) - 1)

    def variables(self) -> set[int]:
        """The jet variables the coefficients use."""
        return {v for family in self.families for series in family for m in series for v in m}

    def kramers_moyal(
        self, points: Any, backend: BackendName | Backend = "numpy"
    ) -> tuple[np.ndarray, ...]:
        r""":math:`A_n = \sum_k \eta^k A_{n,k}` (:math:`n = 1..K+1`) at 1-D ``points`` (a
        flat array of :math:`x`; float64, or mpmath numbers with ``backend="mpmath"``).

        Raises
        ------
        NonFiniteError
            A coefficient that is not finite (naming the point).
        """
        backend = get_backend(backend) if isinstance(backend, str) else backend
        array = np.asarray(points, dtype=object)
        if array.ndim > 1:
            raise ShapeError(f"points must be a flat list of x, got shape {array.shape}")
        x = backend.asarray(np.reshape(array, -1), "points")
        values = jet_values(self.problem, x, self.variables() | {0}, backend)
        h = backend.number(self.eta)
        out = []
        for n, family in enumerate(self.families, start=1):
            total = np.zeros_like(values[0])
            for k, a in enumerate(family):
                if a:
                    with np.errstate(all="ignore"):
                        total = total + h**k * evaluate_polynomial(a, values)
            finite = np.ravel(backend.isfinite(np.asarray(total)))
            if not np.all(finite):
                j = int(np.argmin(finite))
                raise NonFiniteError(f"{self.label}: A_{n} is not finite at x = {x[j]}")
            out.append(total)
        return tuple(out)

    def coefficients(
        self, nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
        r""":math:`A_1` and :math:`A_2` and :math:`c_n = \frac{\eta^{n-1}}{n!} A_n` for
        :math:`n \ge 3` at the nodes (float64)."""
        series = self.kramers_moyal(nodes)
        eta = float(self.eta)
        higher = {
            n: eta ** (n - 1) / math.factorial(n) * series[n - 1]
            for n in range(3, len(series) + 1)
            if any(self.families[n - 1])
        }
        return series[0], series[1], higher


def generator_model(
    problem: Problem, order: int, eta: Any, *, psd: str = "raise", force: bool = False
) -> GeneratorModel:
    r"""``genK``: the modified generator of SGD on ``problem`` truncated through
    :math:`\eta^K` (``order`` = :math:`K`, weak order :math:`K + 1`), at step size ``eta``.

    A :meth:`~symsme.problems.Problem.finite_sum` gets the generator for general noise with its
    minibatch cumulants (:func:`minibatch_cumulants`); another problem the Gaussian one with
    its :math:`\Sigma` (constant-:math:`\Sigma` terms only when :math:`\Sigma` is constant).
    ``psd`` is ``"raise"`` or ``"clip"`` (:attr:`GeneratorModel.psd`); ``"ignore"`` cannot
    apply (a negative :math:`A_2` leaves no well-posed Gaussian part).

    Raises
    ------
    DimensionError
        ``d != 1``.
    OrderError, LimitError
        As :func:`symsme.derive.modified_equation` with ``ansatz="generator"``.
    """
    if problem.dim != 1:
        raise DimensionError(
            f"the modified generator is computed in 1-D only; the problem has d = {problem.dim}"
        )
    order = check_order(order)
    eta_exact = check_step_size(eta)
    finite = problem.per_sample_losses is not None
    noise = "minibatch" if finite else "gaussian"
    constant = not finite and not problem.sigma.free_symbols
    families = _families(
        order, "general" if finite else "gaussian", "constant" if constant else "state", force
    )
    if psd not in ("raise", "clip"):
        raise ShapeError(
            f"psd={psd!r} does not apply to the modified generator: choose 'raise' or 'clip'"
        )
    return GeneratorModel(problem, order, eta_exact, noise, families, psd)


def jet_values(
    problem: Problem,
    nodes: np.ndarray,
    variables: set[int],
    backend: BackendName | Backend = "numpy",
) -> dict[int, np.ndarray]:
    r"""Values of the 1-D jet variables (ids of :mod:`symsme.algebra.jets`) at the nodes:
    :math:`g_k = f^{(k+1)}`, :math:`s_k = \Sigma^{(k)}` and, for a finite sum, the cumulant
    derivatives :math:`\kappa_n^{(j)}` (:func:`minibatch_cumulants`, float64 only)."""
    backend = get_backend(backend) if isinstance(backend, str) else backend
    points = nodes[:, None]
    f_order = 1 + max((v // STRIDE for v in variables if v % STRIDE == 0), default=0)
    s_vars = [v for v in variables if v % STRIDE == 1]
    s_order = max((v // STRIDE for v in s_vars), default=None)
    jets = problem.jets(points, f_order, s_order, backend=backend)
    values: dict[int, np.ndarray] = {}
    for v in variables:
        k, family = divmod(v, STRIDE)
        if family == 0:
            values[v] = np.reshape(jets.grad_f[k + 1], len(nodes))
        elif family == 1:
            values[v] = np.reshape(jets.grad_sigma[k], len(nodes))
    cumulant_vars = [v for v in variables if v % STRIDE >= 2]
    if cumulant_vars:
        if problem.per_sample_losses is None:
            names = ", ".join(sorted(var_name(v) for v in cumulant_vars))
            raise ShapeError(f"noise cumulants ({names}) need a Problem.finite_sum(...)")
        if not backend.vectorised:
            raise ShapeError("minibatch cumulants are computed in float64 only")
        top = max(v % STRIDE + 1 for v in cumulant_vars)
        derivatives = max(v // STRIDE for v in cumulant_vars)
        cumulants = minibatch_cumulants(problem, nodes, top, derivatives)
        for v in cumulant_vars:
            k, family = divmod(v, STRIDE)
            values[v] = cumulants[family + 1][k]
    return values


def _series_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Truncated Taylor series product along the last axis."""
    terms = int(a.shape[-1])
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    for j in range(terms):
        out[..., j:] += a[..., j : j + 1] * b[..., : terms - j]
    return out


def minibatch_cumulants(
    problem: Problem, nodes: Any, max_cumulant: int, derivatives: int
) -> dict[int, np.ndarray]:
    r"""The cumulants :math:`\kappa_n` (:math:`2 \le n \le` ``max_cumulant``) of the minibatch
    gradient of a 1-D finite sum and their derivatives up to ``derivatives``: ``{n: array of
    shape (derivatives + 1, len(nodes))}``.

    A minibatch of :math:`B` samples drawn with replacement averages :math:`B` independent
    draws of :math:`f_i'`, so :math:`\kappa_n = \kappa_n^{(1)} / B^{n-1}`, where the one-draw
    cumulants follow from the central moments :math:`\mu_r = \frac1n \sum_i (f_i' - f')^r` by
    :math:`\kappa_r = \mu_r - \sum_{m=1}^{r-1} \binom{r-1}{m-1} \kappa_m \mu_{r-m}`.  The
    derivatives come from the same formulas applied to truncated Taylor series in :math:`x`
    (jet arithmetic), from the per-sample derivatives :math:`f_i^{(j+1)}`.
    """
    if problem.per_sample_losses is None or problem.batch_size is None:
        raise ShapeError("minibatch cumulants need a Problem.finite_sum(...)")
    check_one_dimensional(problem, "minibatch cumulants")
    max_cumulant = check_integer(max_cumulant, "max_cumulant", 2, error=ShapeError)
    derivatives = check_integer(derivatives, "derivatives", 0, error=ShapeError)
    x = problem.check_points(np.reshape(np.asarray(nodes, dtype=object), (-1, 1)))[:, 0]
    terms = derivatives + 1
    samples = problem.sample_problems()
    per_sample = np.empty((len(samples), len(x), terms))
    for i, sample in enumerate(samples):
        jets = sample.jets(x[:, None], terms)
        for j in range(terms):
            per_sample[i, :, j] = np.reshape(jets.grad_f[j + 1], len(x)) / math.factorial(j)
    centred = per_sample - per_sample.mean(axis=0)
    moments = {0: np.zeros((len(x), terms))}
    moments[0][:, 0] = 1.0
    power = np.zeros_like(centred)
    power[..., 0] = 1.0
    for r in range(1, max_cumulant + 1):
        power = _series_product(power, centred)
        moments[r] = power.mean(axis=0)
    cumulants: dict[int, np.ndarray] = {}
    for r in range(1, max_cumulant + 1):
        value = moments[r].copy()
        for m in range(1, r):
            value -= math.comb(r - 1, m - 1) * _series_product(cumulants[m], moments[r - m])
        cumulants[r] = value
    batch = problem.batch_size
    factorials = np.array([math.factorial(j) for j in range(terms)], dtype=np.float64)
    return {
        r: (cumulants[r] * factorials / float(batch) ** (r - 1)).T
        for r in range(2, max_cumulant + 1)
    }


def _chop(coefficients: np.ndarray) -> np.ndarray:
    r"""Chebyshev coefficients cut where their envelope reaches the rounding plateau, so that
    differentiation does not amplify rounding noise.  The plateau is estimated by the median
    magnitude of the last quarter of the coefficients (pure rounding when the grid resolves the
    function); everything after the envelope falls below eight times it is set to zero, but
    never above :math:`10^{-12}` of the largest coefficient (an unresolved function keeps its
    coefficients: the refinement then sees the levels disagree) nor below
    :math:`64\varepsilon` of it."""
    size = np.abs(coefficients)
    scale = float(size.max(initial=0.0))
    if scale == 0.0:
        return coefficients
    n = len(coefficients) - 1
    plateau = float(np.median(size[3 * n // 4 :]))
    eps = float(np.finfo(float).eps)
    threshold = max(min(8 * plateau, 1e-12 * scale), 64 * eps * scale)
    envelope = np.maximum.accumulate(size[::-1])[::-1]
    cut = int(np.count_nonzero(envelope > threshold))
    out = coefficients.copy()
    out[cut:] = 0.0
    return out


def _lagrange_weights(points: np.ndarray, t: float) -> np.ndarray:
    weights = np.ones(len(points))
    for i, p in enumerate(points):
        for j, q in enumerate(points):
            if i != j:
                weights[i] *= (t - q) / (p - q)
    return weights


def generator_expectation(
    model: GeneratorModel,
    test: Problem,
    x0: Any,
    time: Any,
    *,
    steps: int | None = None,
    tol: float = 1e-10,
) -> Expectation:
    r""":math:`(e^{T L^{(K)}}\varphi)(x_0)` for a :class:`GeneratorModel`, ``time`` =
    :math:`T`, with an error bound (see the module docstring).

    ``steps`` (the SGD steps :math:`T/\eta`) only sizes the domain like the SGD run's.  Dyson
    terms are added (at least :attr:`GeneratorModel.dyson_terms`, at most
    :data:`MAX_DYSON_TERMS`) until the last one is below ``tol/10`` at :math:`x_0`; a small
    term (below :math:`\sqrt{tol}`) that does not fall by a factor 4 is rounding noise and is
    dropped.  The remainder, extrapolated
    geometrically from the last two terms kept, is added to the error bound; one above ``tol``
    is an :class:`~symsme.errors.AccuracyError`.

    Raises
    ------
    NotPositiveSemidefiniteError
        :math:`A_2 < 0` where the process can go (the Gaussian part is ill-posed there; named),
        unless the model was made with ``psd="clip"``.
    LimitError
        ``time`` beyond :data:`MAX_TIME_STEPS` steps of 0.05, or more than
        :data:`~symsme.exact.backward.MAX_STEPS` SGD steps.
    AccuracyError
        ``tol`` not reached, or the Dyson series not below it after
        :data:`MAX_DYSON_TERMS` terms.
    DivergenceError, DimensionError, ShapeError
        As :func:`symsme.exact.backward.sde_expectation`.
    """
    problem = model.problem
    check_one_dimensional(test)
    check_test_variables(problem, test)
    time_f = float(check_time(time))
    tol = _check_tol(tol)
    start = _check_start(problem, x0)
    eta = float(model.eta)
    k = check_steps(steps if steps is not None else max(1, round(time_f / eta)))
    if math.ceil(time_f / _TIME_STEP) > MAX_TIME_STEPS:
        raise LimitError(
            f"time = {time_f:.6g} is beyond the limit {MAX_TIME_STEPS * _TIME_STEP:.6g} of the "
            "modified generator's expectations (memory grows with the horizon)"
        )
    lo, hi, spread = _region(problem, start, eta, k)
    base_inner, _, _ = _generator_intervals(lo, hi, spread, 1.0)
    tails: list[tuple[float, float]] = []

    def compute(level: int, widen: float) -> tuple[float, int, tuple[float, float]]:
        inner, support, outer = _generator_intervals(lo, hi, spread, widen)
        grid = ChebyshevGrid(_grid_size(level, widen), *outer)
        nodes = grid.nodes
        drift, diffusion, higher = model.coefficients(nodes)
        inside = (nodes >= base_inner[0]) & (nodes <= base_inner[1])
        bad = inside & (diffusion < 0)
        if model.psd == "raise" and np.any(bad):
            j = int(np.argmax(bad))
            raise NotPositiveSemidefiniteError(
                f"{model.label} at eta = {eta:.10g}: A_2 = {diffusion[j]:.6g} < 0 at "
                f"x = {nodes[j]:.10g}, where the process can go (psd='clip' sets it to 0)"
            )
        chi = polynomial_cutoff(nodes, inner, outer)
        # nodes[0] is the right end: where the drift points out, it is slowed to rest
        frozen = _freeze(nodes, inner, outer, left=drift[-1] < 0, right=drift[0] > 0)
        generator = (frozen * drift)[:, None] * grid.derivative_matrix(1) + (
            0.5 * eta * chi * np.maximum(diffusion, 0.0)
        )[:, None] * grid.derivative_matrix(2)
        n = math.ceil(time_f / _TIME_STEP) * (1 + level // 2)
        h = time_f / n
        step = grid.filter_matrix() @ step_matrix(generator, h, _PADE)
        u = test.values(nodes[:, None])
        history = [u]
        for _ in range(n):
            u = step @ u
            if higher:
                history.append(u)
        total = u.copy()
        tail = 0.0
        if higher:
            remainder = _remainder_matrix(grid, analytic_cutoff(nodes, inner, support, 8.0), higher)
            to_coefficients = grid.to_coefficients

            def apply_r(v: np.ndarray) -> np.ndarray:
                return remainder @ _chop(to_coefficients @ v)

            z, w = legendre.leggauss(4 + level // 2)
            taus, weights = h * (z + 1) / 2, h * w / 2
            partial = [step_matrix(generator, tau, _PADE) for tau in taus]
            previous = np.array(history)
            del history
            kept: list[float] = []
            while True:
                j = len(kept) + 1
                current = np.zeros_like(previous)
                for i in range(n):
                    acc = step @ current[i]
                    for q, (tau, weight) in enumerate(zip(taus, weights, strict=True)):
                        if j == 1:
                            inner_value = partial[q] @ previous[i]
                        else:
                            inner_value = _interpolate(previous, i + tau / h)
                        acc = acc + weight * (partial[-1 - q] @ apply_r(inner_value))
                    current[i + 1] = acc
                size = abs(float(grid.interpolate(current[-1], start)))
                noisy = size < math.sqrt(tol) * max(1.0, kept[0]) if kept else False
                if j > max(model.dyson_terms, 1) and noisy and size > kept[-1] / 4:
                    break  # small and no longer falling: rounding noise, dropped
                total = total + current[-1]
                previous = current
                kept.append(size)
                if j >= model.dyson_terms and size <= tol / 10:
                    break
                if j >= MAX_DYSON_TERMS:
                    raise AccuracyError(
                        f"{model.label} at eta = {eta:.10g}: the Dyson series has not reached "
                        f"tol = {tol:.3g} after {j} terms (the last is {size:.3g}); the "
                        "truncated generator is too far from its Gaussian part here"
                    )
            # the remainder, extrapolated geometrically from the last two terms kept
            tail = kept[-1] ** 2 / kept[-2] if len(kept) > 1 and kept[-2] > 0 else kept[-1]
        value = float(grid.interpolate(total, start))
        tails.append((value, tail))
        return value, grid.size, outer

    what = f"{model.label}'s E phi at eta = {eta:.10g}"
    result = _refine(compute, tol, what, 6 * math.ceil(time_f / _TIME_STEP))
    tail = max((t for v, t in tails if v == result.value), default=0.0)
    if tail > tol:
        raise AccuracyError(
            f"{what}: the last Dyson term computed is {tail:.3g} > tol = {tol:.3g}; ask for a "
            "looser tolerance"
        )
    return replace(result, error_bound=result.error_bound + tail)


def _generator_intervals(
    lo: float, hi: float, spread: float, widen: float
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    r"""Three nested intervals: the inner one (everything that matters, as for an SDE); the
    support of :math:`\mathcal R`, whose cutoff falls from 1 to 0 over up to two margins; and
    the grid's interval, where the diffusion's cutoff falls (both at least 1/8 of the inner
    width, so that the polynomial cutoff keeps a moderate degree on wide domains).
    :math:`\mathcal R` is (to rounding) zero where the diffusion's cutoff varies and near the
    grid's ends, so neither the ramp's features nor the :math:`k^{2n}` growth of
    :math:`\partial^n T_k` at the ends enters the Dyson terms."""
    inner, _ = _intervals(lo, hi, spread, widen)
    margin = widen * (8 * spread + 0.25)
    width = inner[1] - inner[0]
    ramp, end = max(min(2 * margin, 2.0), width / 8), max(min(margin, 1.0), width / 8)
    support = (inner[0] - ramp, inner[1] + ramp)
    return inner, support, (support[0] - end, support[1] + end)


def _freeze(
    nodes: np.ndarray,
    inner: tuple[float, float],
    outer: tuple[float, float],
    *,
    left: bool,
    right: bool,
) -> np.ndarray:
    r"""The factor on the drift: 1, except beyond the inner interval at an end where the drift
    points out of the grid, where an error-function step (width 1/12 of the distance to the
    end) slows it to rest.
    There the process leaves the grid; an SDE model stops it (:math:`u = \varphi` at that end),
    which puts a kink into :math:`u` that high derivatives cannot take.  Slowed smoothly, the
    flow compresses towards the end and :math:`u` stays analytic; nothing changes where the
    process can go."""
    out = np.ones_like(nodes)
    if left:
        width = (inner[0] - outer[0]) / 12
        centre = (inner[0] + outer[0]) / 2
        out *= 0.5 * (1 + _erf((nodes - centre) / width))
    if right:
        width = (outer[1] - inner[1]) / 12
        centre = (inner[1] + outer[1]) / 2
        out *= 0.5 * (1 - _erf((nodes - centre) / width))
    return out


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _remainder_matrix(
    grid: ChebyshevGrid, chi: np.ndarray, higher: dict[int, np.ndarray]
) -> np.ndarray:
    r""":math:`\chi \sum_{n \ge 3} c_n \partial^n` as a matrix on Chebyshev coefficients."""
    size = grid.size
    scale = 2.0 / (grid.b - grid.a)
    out = np.zeros((size + 1, size + 1))
    for n, c in higher.items():
        series = chebyshev.chebder(np.eye(size + 1), n, scl=scale)
        values = chebyshev.chebvander(grid.reference, size - n) @ series
        out += (chi * c)[:, None] * values
    return out


def _interpolate(values: np.ndarray, t: float) -> np.ndarray:
    """Degree-6 Lagrange interpolation in the step index ``t`` of rows ``values[i]``."""
    last = len(values) - 1
    width = min(_STENCIL, last + 1)
    first = min(max(int(math.floor(t)) - (width - 1) // 2, 0), last + 1 - width)
    points = np.arange(first, first + width, dtype=np.float64)
    weights = _lagrange_weights(points, t)
    return np.asarray(weights @ values[first : first + width])
