r"""Mean exit times from an interval in 1-D, without sampling, with error bounds.

Times are in SGD's units (steps :math:`\times\,\eta`).

**An SDE model** :math:`dX = b\,dt + (\eta D)^{1/2} dW` started at :math:`x \in (A, B)`: its mean
first-passage time :math:`T(x)` solves :math:`a T'' + b T' = -1`, :math:`T(A) = T(B) = 0`,
:math:`a = \eta D/2` (Gardiner, *Stochastic Methods*, sec. 5.5).  With
:math:`u_1 = \int_A^x b/a`, :math:`s = e^{-u_1}`, :math:`G = \int_A^x dz/(a s)`,

.. math::

    T(x) = C \int_A^x s - \int_A^x s\,G, \qquad C = \frac{\int_A^B s\,G}{\int_A^B s},

four nested indefinite integrals, each the exact integral of a Chebyshev interpolant
(Clenshaw-Curtis; :func:`numpy.polynomial.chebyshev.chebint`), scaled so that no exponential
overflows before the final product; refined until two grids agree.

**The discrete-monitoring correction.**  SGD only looks at whole steps, so it exits later than
a continuously monitored diffusion; Broadie, Glasserman and Kou (Math. Finance 7, 1997) shift
each barrier outwards by :math:`\beta\,\sigma\sqrt{\Delta t}`, :math:`\beta =
-\zeta(1/2)/\sqrt{2\pi} \approx 0.5826`; here :math:`\sigma\sqrt{\Delta t} = \eta
D^{1/2}` (one step's standard deviation) at each barrier.  The shift is exact to first order
for Brownian motion with drift and helps when a step's spread is small against the interval;
it does not model overshoot of a drift step (large :math:`\eta f'`).

**SGD** :math:`x_{k+1} = x_k - \eta(f'(x_k) + \Sigma^{1/2} Z)` exits at the first :math:`k` with
:math:`x_k \notin (A, B)`.  The expected number of steps :math:`N` solves the integral equation
:math:`N(x) = 1 + \int_A^B p(x, y) N(y)\,dy` with :math:`p` the Gaussian transition density;
Nystrom discretisation on Gauss-Legendre nodes, refined until two sizes agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev, legendre

from symsme.errors import (
    AccuracyError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from symsme.exact.backward import check_one_dimensional
from symsme.models import NumericModel
from symsme.numeric.chebyshev import ChebyshevGrid
from symsme.problems import Problem
from symsme.validate import check_step_size

__all__ = ["BGK_BETA", "ExitTime", "sde_mean_exit_time", "sgd_mean_exit_time"]

BGK_BETA = 0.5825971579390106
r""":math:`-\zeta(1/2)/\sqrt{2\pi}` (Broadie, Glasserman, Kou 1997)."""

_GRIDS = (64, 96, 144, 216, 324, 486, 729)
_NODES = (100, 150, 225, 338, 506, 760, 1140)


@dataclass(frozen=True)
class ExitTime:
    """A mean exit time (SGD's units) with its error bound and how it was computed."""

    value: float
    error_bound: float
    method: str


def _interval(interval: Any, x0: Any) -> tuple[float, float, float]:
    try:
        a, b = (float(v) for v in interval)
        x = float(np.reshape(np.asarray(x0, dtype=np.float64), (-1,))[0])
    except (TypeError, ValueError):
        raise ShapeError(f"the interval must be two numbers A < B, got {interval!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ShapeError(f"the interval must be two finite numbers A < B, got ({a}, {b})")
    if not (a < x < b):
        raise ShapeError(f"x0 = {x:.10g} must lie inside the interval ({a:.10g}, {b:.10g})")
    return a, b, x


def _one_dimensional(problem: Problem | None) -> Problem:
    if problem is None:
        raise ShapeError("the model is bound to no problem")
    check_one_dimensional(problem, "exit times")
    return problem


def _model_time(
    model: NumericModel, a: float, b: float, x0: float, size: int, collocation: bool = False
) -> float:
    grid = ChebyshevGrid(size, a, b)
    drift, diffusion = model.drift_diffusion(grid.nodes[:, None])
    eta = float(model.eta)
    half = 0.5 * eta * diffusion[:, 0, 0]
    if np.any(half <= 0):
        j = int(np.argmin(half))
        raise NotPositiveSemidefiniteError(
            f"the {model.spec.label} diffusion must be positive on the interval for an exit "
            f"time; D = {diffusion[j, 0, 0]:.6g} at x = {grid.nodes[j]:.10g}"
        )
    if collocation:
        return _model_time_collocation(grid, drift[:, 0], half, x0)
    b_over_a = drift[:, 0] / half
    scale = (b - a) / 2

    def integral(values: np.ndarray) -> np.ndarray:
        """Node values of the indefinite integral from A of the interpolant of ``values``."""
        series = chebyshev.chebint(grid.to_coefficients @ values, lbnd=-1)
        return np.asarray(chebyshev.chebval(grid.reference, series)) * scale

    def at(values: np.ndarray) -> float:
        return float(grid.interpolate(values, x0))

    u1 = integral(b_over_a)
    top, bottom = float(np.max(u1)), float(np.min(u1))
    g = integral(np.exp(u1 - top) / half)  # G e^{-top}
    s = integral(np.exp(bottom - u1))  # (int s) e^{bottom}
    sg = integral(np.exp(bottom - u1) * g)  # (int s G) e^{bottom - top}
    # nodes[0] is B, nodes[-1] is A
    bracket = sg[0] * at(s) / s[0] - at(sg)
    with np.errstate(over="ignore"):
        value = math.exp(min(top - bottom, 700.0)) * bracket
    if top - bottom > 700 or not math.isfinite(value):
        return _model_time_collocation(grid, drift[:, 0], half, x0)
    return value


def _model_time_collocation(
    grid: ChebyshevGrid, drift: np.ndarray, half: np.ndarray, x0: float
) -> float:
    """The boundary value problem a T'' + b T' = -1, T(A) = T(B) = 0 by Chebyshev collocation:
    the route when the scale density spans more than e^700 (a drift that pushes strongly
    outwards, or a barrier far beyond any usable exit time, which then shows as a huge T)."""
    generator = drift[:, None] * grid.derivative_matrix(1) + half[:, None] * grid.derivative_matrix(
        2
    )
    rhs = -np.ones(grid.size + 1)
    for end in (0, grid.size):
        generator[end] = 0.0
        generator[end, end] = 1.0
        rhs[end] = 0.0
    values = np.linalg.solve(generator, rhs)
    value = float(grid.interpolate(values, x0))
    if not math.isfinite(value) or value > 1e12:
        raise NonFiniteError(f"the exit time is not usable ({value:.3g}): a barrier too high")
    return value


def sde_mean_exit_time(
    model: NumericModel,
    interval: Any,
    x0: Any,
    *,
    corrected: bool = False,
    tol: float = 1e-7,
) -> ExitTime:
    r"""Mean first-passage time of a bound 1-D model from ``interval`` = (A, B), started at
    ``x0``; ``corrected`` shifts both barriers outwards by :data:`BGK_BETA`
    :math:`\eta D^{1/2}` (discrete monitoring at SGD's steps).

    Raises
    ------
    ShapeError
        An interval that is not A < B, or x0 outside it.
    HessianConditionError, NotPositiveSemidefiniteError
        The model is not defined on the interval (HA-SME where :math:`\eta f'' \ge 1`), or its
        diffusion vanishes there.
    NonFiniteError
        An exit time beyond float64 (an exponentially high barrier).
    AccuracyError
        Grids up to 729 points do not agree to ``tol`` (relative).
    """
    _one_dimensional(model.problem)
    a, b, x = _interval(interval, x0)
    if corrected:
        eta = float(model.eta)
        d = model.diffusion(np.array([[a], [b]]))[:, 0, 0]
        a -= BGK_BETA * eta * math.sqrt(max(float(d[0]), 0.0))
        b += BGK_BETA * eta * math.sqrt(max(float(d[1]), 0.0))
    difference = math.inf
    ends = model.drift(np.array([[a], [b]]))[:, 0]
    routes = [(False, "chebyshev-quadrature"), (True, "chebyshev-collocation")]
    if ends[0] < 0 or ends[1] > 0:  # a drift pushing outwards: the formula cancels badly there
        routes.reverse()
    for collocation, method in routes:
        # the scale/speed formula by quadrature, or the boundary value problem by collocation;
        # the other route when one does not converge to a positive time
        previous: float | None = None
        for size in _GRIDS:
            value = _model_time(model, a, b, x, size, collocation)
            if not (math.isfinite(value) and value > 0):
                difference = math.inf
                break
            if previous is not None:
                difference = abs(value - previous)
                if difference <= tol * max(1.0, abs(value)):
                    bound = max(difference, 64 * np.finfo(float).eps * abs(value))
                    return ExitTime(float(value), float(bound), method)
            previous = value
    raise AccuracyError(
        f"the {model.spec.label} exit time did not converge to tol = {tol:.3g} (relative): "
        f"grids of {_GRIDS[-2]} and {_GRIDS[-1]} points differ by {difference:.3g}"
    )


def sgd_mean_exit_time(
    problem: Problem, interval: Any, x0: Any, eta: Any, *, tol: float = 1e-7
) -> ExitTime:
    r"""SGD's mean exit time (steps :math:`\times\,\eta`) from ``interval`` with Gaussian noise
    of variance :math:`\Sigma(x)`, by the Nystrom method (see the module docstring); the bound
    is the difference of the last two sizes.

    Raises
    ------
    ShapeError, DimensionError
        Bad interval, x0 outside it, ``d != 1``, or a finite sum (minibatch noise has no density:
        use Monte Carlo).
    NotPositiveSemidefiniteError
        :math:`\Sigma \le 0` somewhere on the interval (the transition has no density there).
    AccuracyError
        Up to 1140 nodes do not agree to ``tol`` (relative); also an expected exit time beyond
        :math:`10^{12}` steps.
    """
    _one_dimensional(problem)
    if problem.per_sample_losses is not None:
        raise ShapeError(
            "the deterministic SGD exit time needs Gaussian noise; minibatch noise has no "
            "density (use Monte Carlo)"
        )
    a, b, x = _interval(interval, x0)
    eta_f = float(check_step_size(eta))
    previous: float | None = None
    difference = math.inf
    for n in _NODES:
        t, w = legendre.leggauss(n)
        nodes = (a + b) / 2 + (b - a) / 2 * t
        weights = w * (b - a) / 2
        kernel_rows, kernel_width = _transition_rows(
            problem, np.append(nodes, x), nodes, eta_f, a, b
        )
        kernel = kernel_rows[:-1] * weights
        system = np.eye(n) - kernel
        try:
            steps = np.linalg.solve(system, np.ones(n))
        except np.linalg.LinAlgError:
            raise AccuracyError(
                "SGD's exit-time equation is singular: the process may never leave "
                f"({a:.10g}, {b:.10g})"
            ) from None
        count = 1.0 + float(kernel_rows[-1] * weights @ steps)
        if not math.isfinite(count) or count > 1e12 or count < 1:
            raise AccuracyError(
                f"SGD's expected exit time from ({a:.10g}, {b:.10g}) is not usable "
                f"({count:.3g} steps): the process may practically never leave"
            )
        value = count * eta_f
        resolved = bool(np.min(kernel_width) >= 3 * (b - a) * math.pi / (2 * n))
        if previous is not None and resolved:
            difference = abs(value - previous)
            if difference <= tol * max(1.0, value):
                bound = max(difference, 64 * np.finfo(float).eps * value)
                return ExitTime(float(value), float(bound), "nystrom")
        previous = value
    if not resolved:
        raise AccuracyError(
            f"SGD's one-step noise eta*Sigma^(1/2) (down to {float(np.min(kernel_width)):.3g}) is "
            f"too narrow for {_NODES[-1]} quadrature nodes on ({a:.10g}, {b:.10g}); use Monte "
            "Carlo (--method monte-carlo)"
        )
    raise AccuracyError(
        f"SGD's exit time did not converge to tol = {tol:.3g} (relative): {_NODES[-2]} and "
        f"{_NODES[-1]} nodes differ by {difference:.3g}"
    )


def _transition_rows(
    problem: Problem, points: np.ndarray, nodes: np.ndarray, eta: float, a: float, b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian densities p(x_i, y_j) of one SGD step from ``points`` to ``nodes``, and each
    row's standard deviation (the quadrature resolves a row only if it spans several nodes)."""
    jets = problem.jets(points[:, None], 1, 0)
    variance = jets.sigma[:, 0, 0]
    if np.any(variance <= 0):
        j = int(np.argmin(variance))
        raise NotPositiveSemidefiniteError(
            f"SGD's transition has no density where Sigma <= 0: Sigma = {variance[j]:.6g} at "
            f"x = {points[j]:.10g}"
        )
    mean = points - eta * jets.gradient[:, 0]
    sd = eta * np.sqrt(variance)
    z = (nodes[None, :] - mean[:, None]) / sd[:, None]
    return np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * sd[:, None]), sd
