r"""Deterministic expectations in 1-D: :math:`\mathbb{E}\varphi(x_K)` for SGD and
:math:`\mathbb{E}\varphi(X_T)` for an SDE model, without sampling, with an error bound.

Both are backward computations on a Chebyshev grid (:mod:`symsme.numeric.chebyshev`) that
covers where the process goes from :math:`x_0` with non-negligible probability.

**SGD** (``symsme/DESIGN.md``, "Verification routes").  With :math:`u_K = \varphi`,

.. math::

    u_k(x) = \mathbb{E}\, u_{k+1}\big(x - \eta G(x, \xi)\big), \qquad
    \mathbb{E}\varphi(x_K) = u_0(x_0).

For Gaussian noise, :math:`G = f'(x) + \Sigma(x)^{1/2} Z`, the expectation is Gauss-Hermite
quadrature (exact for polynomials of degree :math:`2Q - 1` in :math:`Z`); for a finite sum
with minibatches of size :math:`B` drawn with replacement it is the exact finite mixture over
the :math:`\binom{n + B - 1}{B}` multisets of samples, with multinomial weights.  Either way
the step is one fixed matrix :math:`P` on node values (interpolation at the new points, clamped
to the grid), and :math:`u_0 = P^K \varphi`.

**SDE** :math:`dX = b\,dt + (\eta D)^{1/2} dW`.  :math:`u(t, x) = \mathbb{E}[\varphi(X_T) \mid
X_t = x]` solves the backward Kolmogorov equation :math:`\partial_t u + b u' + \tfrac\eta2 D
u'' = 0`, :math:`u(T) = \varphi`, so :math:`u(0) = e^{T \mathcal{L}}\varphi` with the
collocated generator :math:`\mathcal{L} = \operatorname{diag}(b) D_1 + \operatorname{diag}
(\tfrac\eta2 \chi D) D_2`, applied by L-stable Padé steps (:mod:`symsme.numeric.exponential`).
The cutoff :math:`\chi` (1 on the region that matters, 0 at the grid's ends) switches the
diffusion off where the process practically never goes, so where the drift points inwards the
ends need no boundary condition (outflow for the backward equation) and no boundary layer
spoils the spectral accuracy; an end where the drift points outwards keeps :math:`u =
\varphi` (the process is stopped there).

**Domain and error bound.**  The grid covers the gradient-descent path from :math:`x_0` plus a
margin of 8 times the largest standard deviation along it (linearised, conservatively:
:func:`_region`) plus 1/4.  Each refinement level raises the grid size (:math:`\times 1.5`),
the quadrature nodes and the time steps; when two successive levels agree to ``tol`` (from
grid size 108 on), one more run with margin and grid size 1.5 times larger checks the domain
(refinement goes on, wider, if it moves the value by more than ``tol``).  The error bound is
the sum of both differences, at least a rounding estimate that grows with the number of steps:
an a-posteriori refinement estimate (the finer value converges spectrally, so it is usually
much closer than that).  A ``tol`` below the rounding estimate, or not reached by level
:data:`MAX_LEVELS`, is an :class:`~symsme.errors.AccuracyError` naming the bound reached.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import hermite

from symsme.errors import (
    AccuracyError,
    DimensionError,
    DivergenceError,
    HessianConditionError,
    LimitError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
    StepSizeError,
)
from symsme.models import NumericModel
from symsme.numeric.chebyshev import ChebyshevGrid, smooth_cutoff
from symsme.numeric.exponential import step_matrix
from symsme.problems import Problem
from symsme.validate import check_integer, check_step_size

__all__ = [
    "MAX_LEVELS",
    "check_steps",
    "check_test_variables",
    "check_time",
    "check_one_dimensional",
    "MAX_OUTCOMES",
    "Expectation",
    "sde_expectation",
    "sgd_expectation",
]

MAX_LEVELS = 7
"""Refinement levels tried before an :class:`~symsme.errors.AccuracyError` (grid sizes 48 to
546 on the first domain, larger where the domain check widens it)."""
MAX_OUTCOMES = 20000
"""Largest number of distinct minibatches (multisets) the exact SGD mixture enumerates."""
MAX_STEPS = 10**6
"""Largest number of SGD steps of a deterministic computation."""

_BASE_GRID = 48
_PADE = 6
_TIME_STEP = 0.05  # Pade steps per unit time at level 0 (order 11: far below tol)


@dataclass(frozen=True)
class Expectation:
    """:math:`\\mathbb{E}\\varphi` computed deterministically, with its error bound."""

    value: float
    error_bound: float
    grid: int
    """The grid size :math:`N` of the accepted level."""
    domain: tuple[float, float]
    """The interval of the accepted level."""
    levels: int
    """Refinement levels computed."""


def check_one_dimensional(problem: Problem, what: str = "deterministic expectations") -> None:
    """Raise :class:`~symsme.errors.DimensionError` unless ``problem`` is 1-D."""
    if problem.dim != 1:
        raise DimensionError(
            f"{what} are 1-D; the problem has d = {problem.dim} "
            "(use Monte Carlo: method='monte-carlo')"
        )


def _check_start(problem: Problem, x0: Any) -> float:
    return float(problem.check_start(x0)[0])


def check_time(time: Any) -> Any:
    """The horizon :math:`T` as an exact number > 0 (a :class:`StepSizeError` names it)."""
    try:
        return check_step_size(time)
    except StepSizeError:
        raise StepSizeError(f"time must be a finite number > 0, got time={time!r:.40}") from None


def check_steps(steps: Any) -> int:
    """A number of SGD steps: an integer in 1..:data:`MAX_STEPS`."""
    steps = check_integer(steps, "steps", 1)
    if steps > MAX_STEPS:
        raise LimitError(f"steps = {steps} is beyond the limit {MAX_STEPS} of a deterministic run")
    return steps


def check_test_variables(problem: Problem, test: Problem) -> None:
    """The test function must be in the problem's variables."""
    if test.variables != problem.variables:
        names = ", ".join(v.name for v in test.variables)
        raise ShapeError(
            f"the test function is in ({names}), the problem in "
            f"({', '.join(v.name for v in problem.variables)})"
        )


_PILOT_PATHS = 512
_PILOT_STEPS = 20000


def _region(problem: Problem, x0: float, eta: float, steps: int) -> tuple[float, float, float]:
    r"""Where SGD goes from ``x0``: a range and a spread for the margin.

    The range covers the mean path and a pilot run of 512 SGD paths (fixed seed, Gaussian noise
    with :math:`\Sigma(x)`, or minibatches of a finite sum; skipped beyond 20000 steps), so that a
    process that splits between basins is covered.  The spread is the linearised standard
    deviation along the mean path, :math:`v_{k+1} = (1 - \eta f''(m_k))^2 v_k + \eta^2 \max
    \Sigma` (maximum over :math:`m_k \pm 4 v_k^{1/2}`), capped by the pure-noise spread
    :math:`(\eta T \max\Sigma)^{1/2}` where the linearisation expands.  The domain check of
    :func:`_refine` catches a spread that is too small.
    """
    offsets = np.linspace(-4.0, 4.0, 9)
    try:
        return _region_path(problem, x0, eta, steps, offsets)
    except (OverflowError, FloatingPointError):
        raise DivergenceError(
            f"gradient descent from x0 = {x0:.10g} with eta = {eta:.10g} overflows: the process "
            "has no bounded region to compute on"
        ) from None


def _region_path(
    problem: Problem, x0: float, eta: float, steps: int, offsets: np.ndarray
) -> tuple[float, float, float]:
    m, v = x0, 0.0
    lo = hi = x0
    spread = 0.0
    noise = 0.0
    for k in range(steps):
        points = (m + math.sqrt(v) * offsets)[:, None]
        sigma = float(max(np.max(problem.jets(points, None, 0).sigma[:, 0, 0]), 0.0))
        here = problem.jets(np.array([[m]]), 2)
        gain = (1 - eta * float(here.hessian[0, 0, 0])) ** 2
        m = m - eta * float(here.gradient[0, 0])
        v = gain * v + eta * eta * sigma
        noise += eta * eta * sigma
        if not (math.isfinite(m) and math.isfinite(v)) or abs(m) > 1e8:
            raise DivergenceError(
                f"gradient descent from x0 = {x0:.10g} with eta = {eta:.10g} diverges at step "
                f"{k + 1}: the process has no bounded region to compute on"
            )
        v = min(v, noise)
        lo, hi = min(lo, m), max(hi, m)
        spread = max(spread, math.sqrt(v))
    if steps <= _PILOT_STEPS:
        plo, phi = _pilot(problem, x0, eta, steps)
        lo, hi = min(lo, plo), max(hi, phi)
    return lo, hi, spread


def _pilot(problem: Problem, x0: float, eta: float, steps: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    x = np.full((_PILOT_PATHS, 1), x0)
    lo = hi = x0
    finite = problem.per_sample_losses is not None
    for k in range(steps):
        if finite:
            assert problem.per_sample_losses is not None and problem.batch_size is not None
            grads = problem.per_sample_gradients(x)[:, :, 0]
            pick = rng.integers(len(problem.per_sample_losses), size=(len(x), problem.batch_size))
            x = x - eta * np.take_along_axis(grads, pick, axis=1).mean(axis=1)[:, None]
        else:
            jets = problem.jets(x, 1, 0)
            root = np.sqrt(np.maximum(jets.sigma[:, 0, 0], 0.0))
            x = x - eta * (jets.gradient + (root * rng.standard_normal(len(x)))[:, None])
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e8:
            raise DivergenceError(
                f"SGD from x0 = {x0:.10g} with eta = {eta:.10g} diverges at step {k + 1} "
                "(a pilot run): it has no bounded region to compute on"
            )
        lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
    return lo, hi


def _intervals(
    lo: float, hi: float, spread: float, widen: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The inner interval (everything that matters) and the grid's interval (plus the ramp)."""
    margin = widen * (8 * spread + 0.25)
    ramp = max(margin / 2, 0.25)
    inner = (lo - margin, hi + margin)
    return inner, (inner[0] - ramp, inner[1] + ramp)


def _grid_size(level: int, widen: float = 1.0) -> int:
    return 2 * round(_BASE_GRID * widen * 1.5**level / 2)


_WIDER = 1.5  # the domain check: margin and grid size times this
_MIN_LEVEL = 2  # coarser levels can agree by accident


def _refine(
    compute: Callable[[int, float], tuple[float, int, tuple[float, float]]],
    tol: float,
    what: str,
    applications: int,
) -> Expectation:
    r"""Refine the grid (and quadrature, time steps) on a fixed domain until two levels agree
    to ``tol`` (from grid size 108 on: coarser levels can agree by accident); then check the
    domain, with margin and grid size both 1.5 times larger (the same resolution); if that moves
    the value by more than ``tol``, refine on with the wider domain.  The
    bound is the sum of both differences, and at least the rounding estimate
    :math:`32\,\varepsilon\, n \max(1, |v|)` for ``applications`` = :math:`n` applications of
    the step matrix (rounding errors of float64 grow about linearly in :math:`n`)."""
    previous: float | None = None
    difference = math.inf
    base = 1.0
    size = 0
    floor = 32 * np.finfo(float).eps * max(1, applications)
    if floor > tol:
        raise AccuracyError(
            f"{what}: tol = {tol:.3g} is below the rounding floor {floor:.3g} of "
            f"{applications} steps in float64; ask for a looser tolerance"
        )
    for level in range(MAX_LEVELS):
        value, size, domain = compute(level, base)
        floor = 32 * np.finfo(float).eps * max(1, applications) * max(1.0, abs(value))
        if previous is not None:
            difference = abs(value - previous)
            if difference <= max(tol, floor) and level >= _MIN_LEVEL:
                wider, wider_size, wider_domain = compute(level, base * _WIDER)
                truncation = abs(wider - value)
                if truncation <= max(tol, floor):
                    bound = max(difference + truncation, floor)
                    if bound > tol and floor > tol:
                        raise AccuracyError(
                            f"{what}: tol = {tol:.3g} is below the rounding floor; the bound "
                            f"reached is {bound:.3g}"
                        )
                    return Expectation(value, float(bound), size, domain, level + 2)
                # the levels agreed by accident or the domain is too small: go on, wider
                base *= _WIDER
                difference = truncation
                value, size = wider, wider_size
        previous = value
    raise AccuracyError(
        f"{what}: the last refinements still differ by {difference:.3g} > tol = {tol:.3g} "
        f"(grid size {size}); ask for a looser tolerance"
    )


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < tol < 1):
        raise ShapeError(f"tol must be a number in (0, 1), got tol={tol!r}")
    return float(tol)


def sgd_expectation(
    problem: Problem,
    test: Problem,
    x0: Any,
    eta: Any,
    steps: int,
    *,
    noise: str | None = None,
    tol: float = 1e-10,
) -> Expectation:
    r""":math:`\mathbb{E}\varphi(x_K)` for SGD from ``x0``, ``steps`` = :math:`K` steps.

    Parameters
    ----------
    problem:
        A 1-D :class:`~symsme.problems.Problem`; a :meth:`~symsme.problems.Problem.finite_sum`
        uses its minibatches (with replacement) unless ``noise="gaussian"``.
    test:
        :math:`\varphi` as a 1-D problem in the same variable (``Problem("cos(x)", "x")``).
    noise:
        ``"gaussian"`` (Gaussian gradient noise of covariance :math:`\Sigma(x)`) or
        ``"minibatch"``; default: minibatches for a finite sum, else Gaussian.
    tol:
        Accuracy asked for (the refinement stops when two levels agree to ``tol``).

    Raises
    ------
    DimensionError
        ``d != 1``.
    NotPositiveSemidefiniteError
        :math:`\Sigma(x) < 0` at a grid point (named).
    DivergenceError
        Gradient descent from ``x0`` diverges.
    LimitError
        More than :data:`MAX_OUTCOMES` minibatches or :data:`MAX_STEPS` steps.
    AccuracyError
        ``tol`` not reached.
    """
    check_one_dimensional(problem)
    check_one_dimensional(test)
    check_test_variables(problem, test)
    eta_f = float(check_step_size(eta))
    steps = check_steps(steps)
    tol = _check_tol(tol)
    start = _check_start(problem, x0)
    finite = problem.per_sample_losses is not None
    noise = noise or ("minibatch" if finite else "gaussian")
    if noise not in ("gaussian", "minibatch"):
        raise ShapeError(f"noise must be 'gaussian' or 'minibatch', got {noise!r}")
    if noise == "minibatch" and not finite:
        raise ShapeError("minibatch noise needs a Problem.finite_sum(...)")
    mixture = _minibatches(problem) if noise == "minibatch" else None
    lo, hi, spread = _region(problem, start, eta_f, steps)

    def compute(level: int, widen: float) -> tuple[float, int, tuple[float, float]]:
        _, outer = _intervals(lo, hi, spread, widen)
        grid = ChebyshevGrid(_grid_size(level, widen), *outer)
        x = grid.nodes[:, None]
        if mixture is None:
            jets = problem.jets(x, 1, 0)
            sigma = jets.sigma[:, 0, 0]
            _check_variance(sigma, grid.nodes)
            z, w = hermite.hermgauss(16 + 8 * level)
            scale = eta_f * np.sqrt(2 * np.maximum(sigma, 0.0))
            new = (x[:, 0] - eta_f * jets.gradient[:, 0])[:, None] + scale[:, None] * z
            weights = w / math.sqrt(math.pi)
        else:
            combos, weights = mixture
            grads = problem.per_sample_gradients(x)[:, :, 0]  # (N+1, n)
            new = x - eta_f * grads[:, combos].mean(axis=2)
        step = grid.filter_matrix() @ grid.averaging_matrix(new, weights)
        u = test.values(x)
        for _ in range(steps):
            u = step @ u
        return float(grid.interpolate(u, start)), grid.size, outer

    return _refine(compute, tol, f"SGD's E phi(x_{steps}) at eta = {eta_f:.10g}", steps)


def _check_variance(sigma: np.ndarray, nodes: np.ndarray) -> None:
    scale = max(1.0, float(np.max(np.abs(sigma))))
    bad = sigma < -64 * np.finfo(float).eps * scale
    if np.any(bad):
        j = int(np.argmax(bad))
        raise NotPositiveSemidefiniteError(
            f"Sigma is negative at x = {nodes[j]:.10g}: Sigma = {sigma[j]:.10g} "
            "(Gaussian SGD needs Sigma >= 0 wherever the process can go)"
        )


def _minibatches(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Every multiset of ``B`` sample indices and its probability under drawing with
    replacement: :math:`B!/\\prod_i c_i!\\, n^{-B}`."""
    assert problem.per_sample_losses is not None and problem.batch_size is not None
    n, batch = len(problem.per_sample_losses), problem.batch_size
    count = math.comb(n + batch - 1, batch)
    if count > MAX_OUTCOMES:
        raise LimitError(
            f"the exact SGD mixture has {count} minibatches (n = {n}, B = {batch}), beyond the "
            f"limit {MAX_OUTCOMES}; use Monte Carlo"
        )
    combos = np.array(list(itertools.combinations_with_replacement(range(n), batch)))
    weights = np.empty(len(combos))
    for r, combo in enumerate(combos):
        counts = np.bincount(combo, minlength=n)
        weights[r] = math.factorial(batch) / math.prod(math.factorial(int(c)) for c in counts)
    return combos, weights / float(n) ** batch


_CONDITIONS = (HessianConditionError, NotPositiveSemidefiniteError, NonFiniteError)


def _coefficients(
    model: NumericModel, nodes: np.ndarray, inner: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    r"""The model's drift and diffusion at the nodes.  Where its conditions fail (HA-SME's
    :math:`\eta f'' < 1`, a PSD diffusion) outside the inner interval -- beyond the margin, where
    the process practically never goes -- the coefficients are frozen at the nearest node where
    they hold; a failure inside the inner interval is the model's error, naming the point."""
    try:
        drift, diffusion = model.drift_diffusion(nodes[:, None])
        return drift[:, 0], diffusion[:, 0, 0]
    except _CONDITIONS:
        pass
    inside = (nodes >= inner[0]) & (nodes <= inner[1])
    drift, diffusion = model.drift_diffusion(nodes[inside][:, None])  # raises if it fails there
    b, d = np.empty_like(nodes), np.empty_like(nodes)
    b[inside], d[inside] = drift[:, 0], diffusion[:, 0, 0]
    for part in (
        np.flatnonzero(~inside & (nodes > inner[1]))[::-1],
        np.flatnonzero(~inside & (nodes < inner[0])),
    ):
        last_b, last_d = None, None
        for j in part:  # from the inner interval outwards
            try:
                bj, dj = model.drift_diffusion(nodes[j : j + 1, None])
                last_b, last_d = float(bj[0, 0]), float(dj[0, 0, 0])
            except _CONDITIONS:
                if last_b is None:
                    neighbour = int(np.flatnonzero(inside)[0 if nodes[j] > inner[1] else -1])
                    last_b, last_d = float(b[neighbour]), float(d[neighbour])
            b[j], d[j] = last_b, last_d
    return b, d


def sde_expectation(
    model: NumericModel,
    test: Problem,
    x0: Any,
    time: Any,
    *,
    steps: int | None = None,
    tol: float = 1e-10,
) -> Expectation:
    r""":math:`\mathbb{E}\varphi(X_T)` for a bound 1-D model (:func:`symsme.models.sde_model`),
    :math:`X_0 = x_0`, ``time`` = :math:`T`.

    ``steps`` (the SGD steps :math:`K = T/\eta`) only sizes the domain like the SGD run's.
    The model's conditions are checked at every grid point (HA-SME: :math:`\eta f'' < 1`;
    :math:`D \ge 0`): a failure raises the model's error naming the point, since the process can
    reach it.  Raises as :func:`sgd_expectation`.
    """
    problem = model.problem
    if problem is None:
        raise ShapeError("the model is bound to no problem")
    check_one_dimensional(problem)
    check_one_dimensional(test)
    check_test_variables(problem, test)
    time_f = float(check_time(time))
    tol = _check_tol(tol)
    start = _check_start(problem, x0)
    eta_f = float(model.eta)
    k = check_steps(steps if steps is not None else max(1, round(time_f / eta_f)))
    lo, hi, spread = _region(problem, start, eta_f, k)

    def compute(level: int, widen: float) -> tuple[float, int, tuple[float, float]]:
        inner, outer = _intervals(lo, hi, spread, widen)
        grid = ChebyshevGrid(_grid_size(level, widen), *outer)
        b, d = _coefficients(model, grid.nodes, inner)
        chi = smooth_cutoff(grid.nodes, inner, outer)
        generator = b[:, None] * grid.derivative_matrix(1) + (0.5 * eta_f * chi * d)[
            :, None
        ] * grid.derivative_matrix(2)
        # grid.nodes[0] is the right end, nodes[-1] the left end
        if b[0] > 0:
            generator[0] = 0.0
        if b[-1] < 0:
            generator[-1] = 0.0
        n = math.ceil(time_f / _TIME_STEP) * (1 + level // 2)
        step = grid.filter_matrix() @ step_matrix(generator, time_f / n, _PADE)
        u = test.values(grid.nodes[:, None])
        for _ in range(n):
            u = step @ u
        return float(grid.interpolate(u, start)), grid.size, outer

    what = f"{model.spec.label}'s E phi(X_T) at eta = {eta_f:.10g}"
    return _refine(compute, tol, what, 3 * math.ceil(time_f / _TIME_STEP))
