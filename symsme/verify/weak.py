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
the process can reach, a diffusion that is not PSD, Monte Carlo paths that leave the finite
numbers) gets no error there, and so does one whose
expectation does not reach ``tol`` (:attr:`WeakOrder.not_reached`, e.g. a model that is
nearly singular there); the reason is kept in
:attr:`WeakOrder.undefined` and shown, never a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from symsme.errors import (
    AccuracyError,
    DivergenceError,
    HessianConditionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
    StepSizeError,
)
from symsme.exact.backward import sde_expectation, sgd_expectation
from symsme.exact.generator import generator_expectation, generator_model, generator_order
from symsme.models import get_model, sde_model
from symsme.numeric.psd import PsdMode, PsdTally, check_psd_mode
from symsme.problems import Problem
from symsme.progress import progress_bar
from symsme.simulate import simulate
from symsme.validate import check_choice, check_integer, check_order, check_step_size

__all__ = [
    "MC_SCHEMES",
    "METHODS",
    "Estimate",
    "WeakOrder",
    "fit_slope",
    "weak_order",
    "weak_orders",
]

METHODS = ("deterministic", "monte-carlo")

MC_SCHEMES = ("weak2", "extrapolated")
"""The models' integrators for the Monte Carlo method (see :func:`weak_order`)."""


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
    psd_clipped: dict[str, dict[int, PsdTally]] = field(default_factory=dict)
    """Monte Carlo with ``psd="clip"``: model -> {step-size index: the points evaluated along
    the paths and those where the diffusion was indefinite and clipped}."""

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
    scheme: str = "weak2",
    sgd_paths: int | None = None,
    psd: PsdMode = "raise",
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
        Registered model names (``"sgf"``, ``"sme2"``, ``"ha-sme"``, ``"me3"``, ...), or
        ``"genK"``: SGD's modified generator truncated through :math:`\eta^K`
        (:mod:`symsme.exact.generator`; deterministic method, 1-D, weak order :math:`K + 1`).
    method:
        ``"deterministic"`` (default in 1-D) or ``"monte-carlo"`` (default for ``d > 1``).
    tol:
        Accuracy of each deterministic expectation.
    paths, seed, substeps, scheme, sgd_paths:
        Monte Carlo only: paths per model (``sgd_paths`` for SGD, default ``paths``), seed, and
        the integrator of the models (:data:`MC_SCHEMES`): ``"weak2"``, Platen's weak order 2
        scheme with ``substeps`` per SGD step, or ``"extrapolated"``, the Talay-Tubaro
        extrapolation :math:`2\,\mathbb{E}\varphi(X^{h/2}) - \mathbb{E}\varphi(X^{h})` of
        Euler-Maruyama with :math:`h = \eta/` ``substeps``, on coupled Brownian paths (weak
        order 2 at a fraction of the cost in higher dimensions).  The integrator's own bias,
        :math:`O((\eta/\text{substeps})^2)`, is not in the bound.
    psd:
        The models' policy for an indefinite diffusion (:mod:`symsme.numeric.psd`); with
        ``"clip"`` the Monte Carlo route counts the clipped points
        (:attr:`WeakOrder.psd_clipped`).

    Raises
    ------
    StepSizeError
        A step size that is not > 0 or does not divide ``time``.
    SymsmeError
        Unknown model or method; others as :func:`~symsme.exact.backward.sgd_expectation` and
        :func:`~symsme.simulate.simulate`.  A model that is undefined at some step size does
        not raise: see :attr:`WeakOrder.undefined`.
    """
    return weak_orders(
        problem,
        {"test": test},
        x0,
        time,
        etas,
        models,
        method=method,
        tol=tol,
        paths=paths,
        seed=seed,
        substeps=substeps,
        scheme=scheme,
        sgd_paths=sgd_paths,
        psd=psd,
        progress=progress,
        force=force,
    )["test"]


def weak_orders(
    problem: Problem,
    tests: Mapping[str, Problem | str],
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
    scheme: str = "weak2",
    sgd_paths: int | None = None,
    psd: PsdMode = "raise",
    progress: bool | None = None,
    force: bool = False,
) -> dict[str, WeakOrder]:
    r""":func:`weak_order` for several named test functions at once: by Monte Carlo every test
    is evaluated on the same end states (one simulation per process and step size)."""
    if not isinstance(tests, Mapping) or not tests:
        raise ShapeError(f"give the test functions as a non-empty mapping, got {tests!r}")
    checked: dict[str, Problem] = {}
    for label, test in tests.items():
        if isinstance(test, str):
            test = Problem(test, problem.variables, what="test function")
        if test.variables != problem.variables:
            raise ShapeError(
                "the test function must be in the problem's variables "
                f"({', '.join(v.name for v in problem.variables)})"
            )
        checked[str(label)] = test
    method = method or ("deterministic" if problem.dim == 1 else "monte-carlo")
    check_choice(method, METHODS, "method")
    check_choice(scheme, MC_SCHEMES, "scheme")
    if method == "deterministic" and scheme != "weak2":
        raise ShapeError(f"scheme={scheme!r} applies to the monte-carlo method only")
    check_psd_mode(psd)
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
    start = problem.check_start(x0)
    generators = {name: generator_order(name) for name in names}
    seen: dict[tuple[str, int | None], str] = {}
    for name in names:
        order = generators[name]
        if order is None:
            registered = get_model(name, force=force)
            key: tuple[str, int | None] = (registered.name, getattr(registered, "order", None))
        elif method != "deterministic":
            raise ShapeError(
                f"model {name!r} (the modified generator) has no sample paths: it is computed "
                "with method='deterministic' only (1-D)"
            )
        elif psd == "ignore":
            raise ShapeError(
                f"psd='ignore' does not apply to model {name!r} (the modified generator): a "
                "negative A_2 leaves no well-posed Gaussian part; use 'raise' or 'clip'"
            )
        else:
            key = ("gen", check_order(order))
        if key in seen:
            raise ShapeError(f"model {name!r} is given twice (as {seen[key]!r} too)")
        seen[key] = name
    paths = check_integer(paths, "paths", 2)
    sgd_paths = paths if sgd_paths is None else check_integer(sgd_paths, "sgd_paths", 2)
    substeps = check_integer(substeps, "substeps", 1)
    runs = len(checked) if method == "deterministic" else 1
    bar = progress_bar(progress, runs * len(etas) * (len(names) + 1), "weak-order", "run")
    results = {
        label: WeakOrder(
            tuple(float(e) for e in etas), float(time), method, [], {n: [] for n in names}, {}
        )
        for label in checked
    }
    monte_carlo = _MonteCarlo(problem, checked, start, seed, substeps, scheme, psd)
    try:
        for i, (eta, k) in enumerate(zip(etas, steps, strict=False)):
            if method == "deterministic":
                for label, test in checked.items():
                    e = sgd_expectation(problem, test, start, eta, k, tol=tol)
                    results[label].sgd.append(Estimate(e.value, e.error_bound))
                    _tick(bar)
            else:
                for label, estimate in monte_carlo.run("sgd", eta, k, sgd_paths).items():
                    results[label].sgd.append(estimate)
                _tick(bar)
            for name in names:
                found: dict[str, Estimate | None] = {}
                try:
                    if method == "deterministic":
                        order = generators[name]
                        if order is None:
                            model = sde_model(problem, name, eta, psd=psd, force=force)
                        else:
                            gen = generator_model(problem, order, eta, psd=psd, force=force)
                        for label, test in checked.items():
                            if order is None:
                                m = sde_expectation(model, test, start, time, steps=k, tol=tol)
                            else:
                                m = generator_expectation(gen, test, start, time, steps=k, tol=tol)
                            found[label] = Estimate(m.value, m.error_bound)
                            _tick(bar)
                    else:
                        found.update(monte_carlo.run(name, eta, k, paths))
                        if monte_carlo.tally is not None and monte_carlo.tally.points:
                            for result in results.values():
                                result.psd_clipped.setdefault(name, {})[i] = monte_carlo.tally
                        _tick(bar)
                except (
                    HessianConditionError,
                    NotPositiveSemidefiniteError,
                    NonFiniteError,
                    DivergenceError,
                ) as exc:
                    for result in results.values():
                        result.undefined.setdefault(name, {})[i] = str(exc)
                except AccuracyError as exc:
                    for result in results.values():
                        result.not_reached.setdefault(name, {})[i] = str(exc)
                for label, result in results.items():
                    result.models[name].append(found.get(label))
    finally:
        if bar is not None:
            bar.close()
    return results


class _MonteCarlo:
    """End states of SGD or a model, and every test's mean with its standard error."""

    def __init__(
        self,
        problem: Problem,
        tests: dict[str, Problem],
        start: np.ndarray,
        seed: int,
        substeps: int,
        scheme: str,
        psd: str,
    ) -> None:
        self.problem, self.tests, self.start = problem, tests, start
        self.seed, self.substeps, self.scheme, self.psd = seed, substeps, scheme, psd
        self.tally: PsdTally | None = None

    def _simulate(self, process: str, eta: Any, steps: int, paths: int, **options: Any) -> Any:
        return simulate(
            process,
            self.problem,
            self.start,
            eta=eta,
            steps=steps,
            paths=paths,
            progress=False,
            **options,
        )

    def run(self, process: str, eta: Any, steps: int, paths: int) -> dict[str, Estimate]:
        self.tally = None
        if process == "sgd":
            run = self._simulate("sgd", eta, steps, paths, seed=self.seed)
            values = {label: t.values(run.samples) for label, t in self.tests.items()}
        elif self.scheme == "weak2":
            run = self._simulate(
                process,
                eta,
                steps,
                paths,
                seed=self.seed + 1,
                scheme="weak2",
                substeps=self.substeps,
                psd=self.psd,
            )
            self.tally = run.psd
            values = {label: t.values(run.samples) for label, t in self.tests.items()}
        else:
            options = dict(seed=self.seed + 1, psd=self.psd)
            fine = self._simulate(
                process, eta, steps, paths, scheme="euler", substeps=2 * self.substeps, **options
            )
            coarse = self._simulate(
                process, eta, steps, paths, scheme="euler-paired", substeps=self.substeps, **options
            )
            if fine.psd is not None and coarse.psd is not None:
                self.tally = PsdTally()
                self.tally.add(fine.psd)
                self.tally.add(coarse.psd)
            values = {
                label: 2 * t.values(fine.samples) - t.values(coarse.samples)
                for label, t in self.tests.items()
            }
        out = {}
        for label, v in values.items():
            with np.errstate(over="ignore", invalid="ignore"):
                mean, spread = float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
            if not (math.isfinite(mean) and math.isfinite(spread)):
                raise NonFiniteError(
                    f"{process} at eta = {float(eta):.6g}: E {label} or its standard error is "
                    "not finite (paths ran away)"
                )
            out[label] = Estimate(mean, spread, len(v))
        return out


def _tick(bar: Any) -> None:
    if bar is not None:
        bar.update(1)
