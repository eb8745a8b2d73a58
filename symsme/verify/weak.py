r"""Weak errors of SDE models against SGD, and their fitted orders.

For step sizes :math:`\eta_i` with :math:`K_i = T/\eta_i` steps, the weak error of a model is

.. math::

    e(\eta) = \mathbb{E}\varphi(X_T) - \mathbb{E}\varphi(x_K)

(signed; the contract reports :math:`|e|`).  A model of weak order :math:`p` has
:math:`e(\eta) \approx c\,\eta^p` as :math:`\eta \to 0` (``symsme/DESIGN.md``, "Stochastic
backward error analysis", 5-6), so the order is the slope of :math:`\log|e|` against
:math:`\log\eta`: :attr:`WeakOrder.slopes` fits it by least squares over the resolved step
sizes; :attr:`WeakOrder.local_slopes` gives the slope between neighbouring step sizes, which
shows where it settles.  An error is *resolved* when it exceeds twice its error bound.

Two methods:

- ``"deterministic"`` (1-D): both expectations without sampling
  (:mod:`symsme.exact.backward`), each accurate to ``tol`` with an error bound;
- ``"monte-carlo"`` (any dimension): :func:`symsme.simulate.simulate` of SGD and of each model
  (Platen's weak order 2 scheme with ``substeps`` per SGD step, whose own bias is *not* in the
  bound), with
  the bound twice the combined standard error.

A model that is undefined at a step size (HA-SME where :math:`\eta f'' \ge 1` on the region
the process can reach, a diffusion that is not PSD) gets no error there, and so does one whose
expectation does not reach ``tol`` (:attr:`WeakOrder.not_reached`, e.g. a model that is
nearly singular there); the reason is kept in
:attr:`WeakOrder.undefined` and shown, never a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from symsme.errors import (
    AccuracyError,
    HessianConditionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
    StepSizeError,
)
from symsme.exact.backward import sde_expectation, sgd_expectation
from symsme.models import get_model, sde_model
from symsme.problems import Problem
from symsme.progress import progress_bar
from symsme.simulate import simulate
from symsme.validate import check_choice, check_integer, check_step_size

__all__ = ["METHODS", "Estimate", "WeakOrder", "fit_slope", "weak_order"]

METHODS = ("deterministic", "monte-carlo")


@dataclass(frozen=True)
class Estimate:
    r""":math:`\mathbb{E}\varphi` with an error bound (deterministic: refinement bound; Monte
    Carlo: one standard error, with the number of paths)."""

    value: float
    error_bound: float
    paths: int | None = None


@dataclass
class WeakOrder:
    """Weak errors of models against SGD over step sizes (see the module docstring)."""

    etas: tuple[float, ...]
    time: float
    method: str
    sgd: list[Estimate]
    models: dict[str, list[Estimate | None]]
    undefined: dict[str, dict[int, str]] = field(default_factory=dict)
    """Model -> {step-size index: reason} where the model is not defined (its conditions fail
    where the process can go)."""
    not_reached: dict[str, dict[int, str]] = field(default_factory=dict)
    """Model -> {step-size index: reason} where its expectation did not reach ``tol``."""

    def signed_errors(self) -> dict[str, list[float | None]]:
        r""":math:`\mathbb{E}\varphi(X_T) - \mathbb{E}\varphi(x_K)` per model and step size."""
        return {
            name: [
                None if e is None else e.value - s.value
                for e, s in zip(values, self.sgd, strict=False)
            ]
            for name, values in self.models.items()
        }

    def errors(self) -> dict[str, list[float | None]]:
        """Absolute weak errors."""
        return {
            name: [None if e is None else abs(e) for e in values]
            for name, values in self.signed_errors().items()
        }

    def error_bounds(self) -> dict[str, list[float | None]]:
        """Bounds on the error of each weak error (SGD's and the model's, added; Monte Carlo:
        twice the combined standard error)."""
        out: dict[str, list[float | None]] = {}
        for name, values in self.models.items():
            row: list[float | None] = []
            for e, s in zip(values, self.sgd, strict=False):
                if e is None:
                    row.append(None)
                elif self.method == "monte-carlo":
                    row.append(2 * math.hypot(e.error_bound, s.error_bound))
                else:
                    row.append(e.error_bound + s.error_bound)
            out[name] = row
        return out

    def resolved(self) -> dict[str, list[bool]]:
        """Whether each error exceeds twice its bound (only those enter the fits)."""
        errors, bounds = self.errors(), self.error_bounds()
        return {
            name: [
                bool(e is not None and b is not None and e > 2 * b)
                for e, b in zip(errors[name], bounds[name], strict=False)
            ]
            for name in self.models
        }

    def slopes(self) -> dict[str, float | None]:
        """Least-squares slope of log|error| against log(eta) over the resolved step sizes
        (``None`` with fewer than two)."""
        errors, resolved = self.errors(), self.resolved()
        return {
            name: fit_slope(
                [eta for eta, ok in zip(self.etas, resolved[name], strict=False) if ok],
                [e for e, ok in zip(errors[name], resolved[name], strict=False) if e and ok],
            )
            for name in self.models
        }

    def local_slopes(self) -> dict[str, list[float | None]]:
        """Slopes between neighbouring step sizes (in the order given; ``None`` where either
        error is unresolved)."""
        errors, resolved = self.errors(), self.resolved()
        out: dict[str, list[float | None]] = {}
        for name in self.models:
            row: list[float | None] = []
            for i in range(len(self.etas) - 1):
                a, b = errors[name][i], errors[name][i + 1]
                if resolved[name][i] and resolved[name][i + 1] and a and b:
                    row.append(math.log(a / b) / math.log(self.etas[i] / self.etas[i + 1]))
                else:
                    row.append(None)
            out[name] = row
        return out


def fit_slope(etas: Sequence[float], errors: Sequence[float]) -> float | None:
    """The least-squares slope of ``log(errors)`` against ``log(etas)``."""
    if len(etas) < 2:
        return None
    slope, _ = np.polyfit(np.log(np.asarray(etas)), np.log(np.asarray(errors)), 1)
    return float(slope)


def _steps(time: Any, eta: Any) -> int:
    """:math:`K = T/\\eta`, which must be a whole number."""
    ratio = Fraction(str(time)) / Fraction(str(eta)) if _exact(time, eta) else None
    if ratio is None:
        value = float(time) / float(eta)
        k = round(value)
        if k < 1 or abs(value - k) > 1e-9 * max(1, k):
            raise StepSizeError(f"T/eta must be a whole number of steps, got T/eta = {value:.10g}")
        return k
    if ratio.denominator != 1 or ratio < 1:
        raise StepSizeError(
            f"T/eta must be a whole number of steps, got T/eta = {ratio} (T = {time}, eta = {eta})"
        )
    return int(ratio)


def _exact(*values: Any) -> bool:
    import sympy as sp

    return all(isinstance(v, (int, Fraction, sp.Rational)) for v in values)


def weak_order(
    problem: Problem,
    test: Problem | str,
    x0: Any,
    time: Any,
    etas: Sequence[Any],
    models: Sequence[str],
    *,
    method: str | None = None,
    tol: float = 1e-10,
    paths: int = 100000,
    seed: int = 0,
    substeps: int = 8,
    progress: bool | None = None,
    force: bool = False,
) -> WeakOrder:
    r"""Weak errors of ``models`` against SGD at each step size, with error bounds.

    Parameters
    ----------
    problem:
        The loss and its noise (a :meth:`~symsme.problems.Problem.finite_sum`: minibatch SGD,
        with its minibatch covariance as the models' :math:`\Sigma`).
    test:
        :math:`\varphi`, a problem in the same variables or its text (``"cos(x)"``).
    x0, time:
        Start and horizon :math:`T`; every :math:`T/\eta` must be a whole number.
    etas:
        Step sizes (exact rationals or floats).
    models:
        Registered model names (``"sgf"``, ``"sme2"``, ``"ha-sme"``, ``"me3"``, ...).
    method:
        ``"deterministic"`` (default in 1-D) or ``"monte-carlo"`` (default for ``d > 1``).
    tol:
        Accuracy of each deterministic expectation.
    paths, seed, substeps:
        Monte Carlo only: paths per process, seed, and the substeps per SGD step of the weak
        order 2 integrator (its bias, :math:`O((\eta/\text{substeps})^2)`, is not in the
        bound: with one substep it can exceed the weak error itself).

    Raises
    ------
    StepSizeError
        A step size that is not > 0 or does not divide ``time``.
    SymsmeError
        Unknown model or method; others as :func:`~symsme.exact.backward.sgd_expectation` and
        :func:`~symsme.simulate.simulate`.  A model that is undefined at some step size does
        not raise: see :attr:`WeakOrder.undefined`.
    """
    if isinstance(test, str):
        test = Problem(test, problem.variables, what="test function")
    if test.variables != problem.variables:
        raise ShapeError(
            "the test function must be in the problem's variables "
            f"({', '.join(v.name for v in problem.variables)})"
        )
    method = method or ("deterministic" if problem.dim == 1 else "monte-carlo")
    check_choice(method, METHODS, "method")
    if isinstance(etas, np.ndarray):
        etas = [e.item() for e in etas.ravel()]
    if isinstance(etas, str) or not isinstance(etas, Sequence) or not etas:
        raise StepSizeError(f"etas must be a non-empty list of step sizes, got {etas!r}")
    exact_etas = [check_step_size(eta) for eta in etas]
    if len({float(e) for e in exact_etas}) != len(exact_etas):
        shown = ", ".join(str(e) for e in exact_etas)
        raise StepSizeError(f"the step sizes must be distinct, got {shown}")
    check_step_size(time)
    steps = [_steps(time, eta) for eta in etas]
    if isinstance(models, str):
        models = models.split(",")
    names = [str(m).strip().lower() for m in models]
    if not names or not all(names):
        raise ShapeError(f"give models by name, got {models!r}")
    try:
        start = np.reshape(np.asarray(x0, dtype=np.float64), (-1,))
    except (TypeError, ValueError):
        raise ShapeError(f"x0 must be a point of {problem.dim} numbers, got {x0!r}") from None
    if start.shape != (problem.dim,) or not np.all(np.isfinite(start)):
        raise ShapeError(f"x0 must be a point of {problem.dim} finite numbers, got {x0!r}")
    for name in names:
        get_model(name, force=force)
    paths = check_integer(paths, "paths", 2)
    total = len(etas) * (len(names) + 1)
    bar = progress_bar(progress, total, "weak-order", "run")
    result = WeakOrder(
        tuple(float(e) for e in etas), float(time), method, [], {n: [] for n in names}, {}
    )
    try:
        for i, (eta, k) in enumerate(zip(etas, steps, strict=False)):
            if method == "deterministic":
                e = sgd_expectation(problem, test, start, eta, k, tol=tol)
                result.sgd.append(Estimate(e.value, e.error_bound))
            else:
                result.sgd.append(_monte_carlo("sgd", problem, test, start, eta, k, paths, seed, 1))
            _tick(bar)
            for name in names:
                try:
                    if method == "deterministic":
                        model = sde_model(problem, name, eta, force=force)
                        m = sde_expectation(model, test, start, time, steps=k, tol=tol)
                        estimate: Estimate | None = Estimate(m.value, m.error_bound)
                    else:
                        estimate = _monte_carlo(
                            name, problem, test, start, eta, k, paths, seed + 1, substeps
                        )
                except (HessianConditionError, NotPositiveSemidefiniteError, NonFiniteError) as exc:
                    estimate = None
                    result.undefined.setdefault(name, {})[i] = str(exc)
                except AccuracyError as exc:
                    estimate = None
                    result.not_reached.setdefault(name, {})[i] = str(exc)
                result.models[name].append(estimate)
                _tick(bar)
    finally:
        if bar is not None:
            bar.close()
    return result


def _monte_carlo(
    process: str,
    problem: Problem,
    test: Problem,
    x0: Any,
    eta: Any,
    steps: int,
    paths: int,
    seed: int,
    substeps: int,
) -> Estimate:
    run = simulate(
        process,
        problem,
        np.reshape(np.asarray(x0, dtype=np.float64), (-1,)),
        eta=eta,
        steps=steps,
        paths=paths,
        seed=seed,
        substeps=substeps if process != "sgd" else 1,
        scheme="weak2" if process != "sgd" else "euler",
        progress=False,
    )
    values = test.values(run.samples)
    return Estimate(
        float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values)
    )


def _tick(bar: Any) -> None:
    if bar is not None:
        bar.update(1)
