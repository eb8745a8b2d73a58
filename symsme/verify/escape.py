r"""Escape: SGD's mean exit time from an interval against each model's mean first-passage time.

Front door :func:`escape`.  In 1-D (``symsme/DESIGN.md``, "Verification routes"):

- SGD's mean exit time deterministically (:func:`symsme.exact.escape.sgd_mean_exit_time`,
  Gaussian noise) or by Monte Carlo with a standard error (:func:`symsme.simulate.exits.
  exit_times`; minibatch noise always);
- each model's mean first-passage time by quadrature, and the same with the discrete-monitoring
  correction of Broadie, Glasserman and Kou (1997) (:func:`symsme.exact.escape.
  sde_mean_exit_time`).

A model that is not defined on the interval (HA-SME where :math:`\eta f'' \ge 1`) gets no number
but the reason.  Times are in SGD's units: steps :math:`\times\,\eta`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symsme.errors import (
    AccuracyError,
    HessianConditionError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from symsme.exact.escape import ExitTime, sde_mean_exit_time, sgd_mean_exit_time
from symsme.models import get_model, sde_model
from symsme.problems import Problem
from symsme.simulate.exits import Ball, ExitSample, Interval, exit_times
from symsme.validate import check_choice, check_step_size

__all__ = ["BallEscape", "Escape", "escape", "escape_ball"]


@dataclass
class Escape:
    """SGD's exit time and each model's, with the reasons where a model has none."""

    sgd: ExitTime
    paths: int | None
    models: dict[str, dict[str, ExitTime | None]]
    undefined: dict[str, str] = field(default_factory=dict)
    """``"<model> mfpt"`` or ``"<model> mfpt_corrected"`` -> why there is no number."""


def escape(
    problem: Problem,
    interval: Any,
    x0: Any,
    eta: Any,
    models: Sequence[str] = ("sgf", "sme2", "ha-sme"),
    *,
    method: str | None = None,
    paths: int = 100000,
    seed: int = 0,
    tol: float = 1e-7,
    max_steps: int = 10**5,
) -> Escape:
    """Mean exit times from ``interval`` = (A, B) of SGD and of each model (see the module).

    ``method`` is SGD's: ``"deterministic"`` (default for Gaussian noise) or
    ``"monte-carlo"`` (``paths``, ``seed``, ``max_steps``; default for a finite sum).
    """
    check_step_size(eta)
    if isinstance(models, str):
        models = models.split(",")
    names = [str(m).strip().lower() for m in models]
    if not all(names):
        raise ShapeError(f"give models by name, got {models!r}")
    for name in names:
        get_model(name)
    finite = problem.per_sample_losses is not None
    method = method or ("monte-carlo" if finite else "deterministic")
    check_choice(method, ("deterministic", "monte-carlo"), "method")
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ShapeError(f"the interval must be two numbers A < B, got {interval!r}") from None
    if method == "deterministic":
        sgd = sgd_mean_exit_time(problem, (a, b), x0, eta, tol=tol)
        count = None
    else:
        if not a < b:
            raise ShapeError(f"the interval must be two finite numbers A < B, got ({a}, {b})")
        sample = exit_times(
            "sgd", problem, x0, Interval(a, b), eta=eta, paths=paths, seed=seed,
            max_steps=max_steps,
        )  # fmt: skip
        sgd, count = ExitTime(sample.mean, sample.stderr, "monte-carlo"), paths
    result = Escape(sgd, count, {})
    for name in names:
        model = sde_model(problem, name, eta)
        result.models[name] = {}
        for key, corrected in (("mfpt", False), ("mfpt_corrected", True)):
            try:
                time = sde_mean_exit_time(model, (a, b), x0, corrected=corrected, tol=tol)
            except _UNDEFINED as exc:
                time = None
                result.undefined[f"{name} {key}"] = str(exc)
            result.models[name][key] = time
    return result


_UNDEFINED = (HessianConditionError, NotPositiveSemidefiniteError, NonFiniteError, AccuracyError)


@dataclass
class BallEscape:
    """Monte Carlo exit times from a ball (any dimension): SGD's and each model's samples."""

    sgd: ExitSample
    models: dict[str, ExitSample | None]
    undefined: dict[str, str] = field(default_factory=dict)


def escape_ball(
    problem: Problem,
    center: Any,
    radius: float,
    x0: Any,
    eta: Any,
    models: Sequence[str] = ("sgf", "sme2", "ha-sme"),
    *,
    paths: int = 20000,
    seed: int = 0,
    substeps: int = 10,
    max_steps: int = 10**5,
    client: Any = None,
    scheduler: str | None = None,
) -> BallEscape:
    """Mean exit times from the ball of ``radius`` around ``center`` (e.g. a saddle point), by
    Monte Carlo: SGD exits at the first step outside, each model (Euler-Maruyama with
    ``substeps`` per SGD step) at the first substep outside and, on the same paths, at the
    first whole SGD step outside (:attr:`~symsme.simulate.exits.ExitSample.step_times`: the
    discrete monitoring SGD has).  A model whose conditions fail along a path gets no number
    but the reason.  ``client``/``scheduler``: run on Dask (the same numbers)."""
    check_step_size(eta)
    if isinstance(models, str):
        models = models.split(",")
    names = [str(m).strip().lower() for m in models]
    for name in names:
        get_model(name)
    try:
        ball = Ball(tuple(float(c) for c in center), float(radius))
    except (TypeError, ValueError):
        raise ShapeError(
            f"the ball needs a centre and a radius, got {center!r}, {radius!r}"
        ) from None
    if len(ball.center) != problem.dim or not ball.radius > 0:
        raise ShapeError(
            f"the ball needs a centre of length {problem.dim} and a radius > 0, got "
            f"{list(ball.center)}, {ball.radius}"
        )
    common = dict(
        eta=eta, paths=paths, seed=seed, max_steps=max_steps, client=client, scheduler=scheduler
    )
    result = BallEscape(exit_times("sgd", problem, x0, ball, **common), {})  # type: ignore[arg-type]
    for name in names:
        try:
            result.models[name] = exit_times(
                name,
                problem,
                x0,
                ball,
                substeps=substeps,
                **common,  # type: ignore[arg-type]
            )
        except _UNDEFINED as exc:
            result.models[name] = None
            result.undefined[name] = str(exc)
    return result
