r"""The simulate stage: Monte Carlo of SGD and of its SDE models, with seeds as arguments.

Front door: :func:`simulate`.  ``process`` is ``"sgd"`` (Gaussian noise with :math:`\Sigma(x)`,
or minibatches of a :meth:`~symsme.problems.Problem.finite_sum`) or any registered model
(:data:`symsme.models.MODELS`, ``meK`` included), integrated by Euler-Maruyama
(:mod:`symsme.simulate.processes`).  Results for a seed do not depend on how the paths are
batched (:mod:`symsme.simulate.rng`).  Conditions of a model (HA-SME's
:math:`\eta\lambda_{\max} < 1`, a PSD diffusion) that fail at a visited point stop the run with
an error naming the point; a path that leaves the finite numbers stops it with a
:class:`~symsme.errors.DivergenceError` naming the step and the number of paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from symsme.errors import DivergenceError, LimitError, NonFiniteError, ShapeError, SymsmeError
from symsme.models import sde_model
from symsme.numeric.psd import PsdTally, check_psd_mode
from symsme.problems import Problem
from symsme.progress import progress_bar
from symsme.simulate.cluster import map_path_blocks
from symsme.simulate.processes import (
    EulerMaruyama,
    ExactOU,
    GaussianSGD,
    MinibatchSGD,
    PairedEuler,
    PlatenWeak2,
)
from symsme.simulate.rng import PathsRandom
from symsme.validate import check_choice, check_integer, check_step_size

__all__ = ["MAX_WORK", "Simulation", "simulate"]

MAX_WORK = 10**9
"""Largest ``paths * steps * substeps * d`` served without ``force=True``."""

SCHEMES = ("euler", "euler-paired", "weak2", "exact")
"""SDE integrators: ``euler`` (Euler-Maruyama, weak order 1), ``euler-paired`` (Euler-Maruyama on
the Brownian path of the ``euler`` run with twice the substeps and the same seed, for the
Talay-Tubaro extrapolation), ``weak2`` (Platen's explicit weak order 2.0 scheme,
non-commutative noise) and ``exact`` (exact Ornstein-Uhlenbeck sampling, for a quadratic loss
with constant noise)."""


@dataclass(frozen=True)
class Simulation:
    """The end states of the paths and their statistics at :math:`t = K\\eta`."""

    samples: np.ndarray
    """``(paths, d)`` end states."""
    t: float
    steps: int
    psd: PsdTally | None = None
    """With ``psd="clip"``: the points where the model's :math:`D` was indefinite and clipped."""

    @property
    def paths(self) -> int:
        return int(self.samples.shape[0])

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def _need_two(self, what: str) -> None:
        if self.paths < 2:
            raise ShapeError(f"the {what} needs at least 2 paths, the run has {self.paths}")

    @property
    def cov(self) -> np.ndarray:
        """Sample covariance (unbiased; needs 2 paths)."""
        self._need_two("sample covariance")
        return np.atleast_2d(np.cov(self.samples, rowvar=False, ddof=1))

    @property
    def stderr_mean(self) -> np.ndarray:
        """Standard error of each coordinate of :attr:`mean` (needs 2 paths)."""
        self._need_two("standard error")
        return self.samples.std(axis=0, ddof=1) / np.sqrt(self.paths)


def simulate(
    process: str,
    problem: Problem,
    x0: npt.ArrayLike,
    *,
    eta: Any,
    steps: int,
    paths: int,
    seed: int,
    scheme: str = "euler",
    substeps: int = 1,
    order: int | None = None,
    psd: str = "raise",
    replace: bool = True,
    progress: bool | None = None,
    force: bool = False,
    client: Any = None,
    scheduler: str | None = None,
) -> Simulation:
    r"""Simulate ``paths`` paths of ``process`` for ``steps`` SGD steps (time :math:`K\eta`).

    Parameters
    ----------
    process:
        ``"sgd"`` or a registered model (``"sgf"``, ``"sme2"``, ``"ha-sme"``, ``"meK"``).
    problem:
        The loss and noise; for a finite sum, SGD draws minibatches of its ``batch_size``.
    x0:
        The start, shape ``(d,)`` (every path starts there).
    eta, steps, paths, seed:
        Learning rate; number of SGD steps; number of paths; the seed (an int).
    scheme, substeps:
        SDE integrator (:data:`SCHEMES`) and its steps per SGD step (not for ``exact``).
    order, psd:
        The order of ``me`` and the PSD policy of the model (:mod:`symsme.numeric.psd`).
    replace:
        Minibatches with replacement (default) or without.
    progress:
        Show a bar (default: on a terminal): over the steps locally, over the finished tasks
        on Dask.
    client, scheduler:
        Run on a Dask cluster: a ``distributed.Client``, or a scheduler address to connect to.
        Paths go to the workers in whole blocks, so the numbers equal a local run's.
    """
    eta_f = float(check_step_size(eta))
    steps = check_integer(steps, "steps", 1)
    paths = check_integer(paths, "paths", 1)
    seed = check_integer(seed, "seed", 0)
    substeps = check_integer(substeps, "substeps", 1)
    check_choice(scheme, SCHEMES, "scheme")
    check_psd_mode(psd)
    process = str(process).strip().lower()
    if process == "sgd" and substeps != 1:
        raise ShapeError(f"substeps={substeps} applies to SDE models, not to SGD itself")
    start = problem.check_start(x0)
    work = paths * steps * substeps * problem.dim
    if work > MAX_WORK and not force:
        raise LimitError(
            f"paths*steps*substeps*d = {work:.3g} is beyond the limit {MAX_WORK:.0e}; "
            "pass force=True (--force) to simulate anyway"
        )
    if scheme == "exact" and (process == "sgd" or substeps != 1):
        raise ShapeError("scheme 'exact' samples an SDE model in one step per SGD step")
    settings = dict(
        scheme=scheme,
        process=process,
        problem=problem,
        start=start,
        eta=eta,
        steps=steps,
        seed=seed,
        order=order,
        psd=psd,
        substeps=substeps,
        replace=replace,
    )
    stepper = _make_stepper(**{k: settings[k] for k in _STEPPER_ARGS})  # fail before any work
    if hasattr(stepper, "check_stability"):
        stepper.check_stability(start)
    if client is None and scheduler is None:
        bar = progress_bar(progress, steps, "simulate", "step")
        try:
            samples, tally = _run_blocks(
                **settings, first_block=0, paths=paths, bar=bar, stepper=stepper
            )
        finally:
            if bar is not None:
                bar.close()
    else:
        samples, tally = _run_on_dask(settings, paths, client, scheduler, progress)
    return Simulation(samples, steps * eta_f, steps, tally if psd == "clip" else None)


_STEPPER_ARGS = ("process", "problem", "eta", "order", "psd", "substeps", "replace", "scheme")


def _make_stepper(
    process: str,
    problem: Problem,
    eta: Any,
    order: int | None,
    psd: str,
    substeps: int,
    replace: bool,
    scheme: str = "euler",
) -> Any:
    eta_f = float(check_step_size(eta))
    if process == "sgd":
        if problem.per_sample_losses is not None:
            return MinibatchSGD(problem, eta_f, replace=replace)
        return GaussianSGD(problem, eta_f)
    model = sde_model(problem, process, eta, order=order, psd=psd)  # type: ignore[arg-type]
    if scheme == "exact":
        return ExactOU(model, eta_f, problem.dim)
    if scheme == "weak2":
        return PlatenWeak2(model, eta_f, substeps)
    if scheme == "euler-paired":
        return PairedEuler(model, eta_f, substeps)
    return EulerMaruyama(model, eta_f, substeps)


def _run_blocks(
    *,
    scheme: str,
    process: str,
    problem: Problem,
    start: np.ndarray,
    eta: Any,
    steps: int,
    seed: int,
    order: int | None,
    psd: str,
    substeps: int,
    replace: bool,
    first_block: int,
    paths: int,
    bar: Any = None,
    stepper: Any = None,
) -> tuple[np.ndarray, PsdTally]:
    """End states of ``paths`` paths from block ``first_block`` on (a whole run, or one task of
    a Dask run: the numbers are the same either way), and the model's PSD tally."""
    if stepper is None:
        stepper = _make_stepper(process, problem, eta, order, psd, substeps, replace, scheme)
    model = getattr(stepper, "model", None)
    tally = PsdTally()
    if model is not None:
        model.psd_tally = tally
    rng = PathsRandom(seed, paths, first_block)
    x = np.broadcast_to(start, (paths, problem.dim)).copy()
    for k in range(steps):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                x = stepper.step(x, rng)
        except NonFiniteError as exc:
            raise DivergenceError(
                f"{process} left the finite numbers at step {k + 1} of {steps} "
                f"({str(exc).split(' (')[0][:100]})"
            ) from None
        bad = ~np.all(np.isfinite(x), axis=-1)
        if np.any(bad):
            raise DivergenceError(
                f"{process} diverged at step {k + 1} of {steps}: {int(bad.sum())} of "
                f"{paths} path(s) left the finite numbers"
            )
        if bar is not None:
            bar.update(1)
    return x, tally


def _run_on_dask(
    settings: dict, paths: int, client: Any, scheduler: str | None, progress: bool | None = None
) -> tuple[np.ndarray, PsdTally]:
    """The run as Dask tasks of whole blocks (:func:`~symsme.simulate.cluster.map_path_blocks`);
    the gathered chunks must account for every path, or the run fails."""
    chunks = map_path_blocks(
        _run_blocks, paths, client, scheduler, progress, "simulate", **settings
    )
    samples = np.concatenate([chunk for chunk, _ in chunks], axis=0)
    if samples.shape[0] != paths:
        raise SymsmeError(f"the Dask run returned {samples.shape[0]} of {paths} paths")
    tally = PsdTally()
    for _, part in chunks:
        tally.add(part)
    return samples, tally
