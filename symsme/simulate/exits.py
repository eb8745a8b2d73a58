r"""Monte Carlo exit times: the first step at which a path leaves a region.

SGD exits at the first step :math:`k` with :math:`x_k` outside the region; an SDE model, integrated
with ``substeps`` steps per SGD step, at the first substep outside it (time :math:`k h`).  Paths
draw their random numbers as in :func:`symsme.simulate.simulate` (fixed blocks), so a path's
exit time depends only on (seed, path index).  Paths still inside after ``max_steps`` SGD steps
make the run fail, naming how many: a mean over the others would be biased low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from symsme.errors import LimitError, ShapeError
from symsme.models import sde_model
from symsme.problems import Problem
from symsme.simulate.cluster import map_path_blocks
from symsme.simulate.processes import EulerMaruyama, GaussianSGD, MinibatchSGD
from symsme.simulate.rng import PathsRandom
from symsme.validate import check_integer, check_step_size

__all__ = ["MAX_PATHS", "MAX_WORK", "Ball", "ExitSample", "Interval", "exit_times"]

MAX_PATHS = 10**8
"""Largest number of paths of an exit-time run."""
MAX_WORK = 10**9
"""Largest number of path-steps (paths still inside, summed over the steps, times d) of a run:
beyond it the run stops with a :class:`~symsme.errors.LimitError` naming how many paths are
still inside (a process that practically never leaves cannot hang the command)."""


@dataclass(frozen=True)
class Interval:
    """The open interval (a, b) in 1-D."""

    a: float
    b: float

    def inside(self, x: np.ndarray) -> np.ndarray:
        return (x[:, 0] > self.a) & (x[:, 0] < self.b)


@dataclass(frozen=True)
class Ball:
    """The open ball of ``radius`` around ``center``."""

    center: tuple[float, ...]
    radius: float

    def inside(self, x: np.ndarray) -> np.ndarray:
        return np.sum((x - np.asarray(self.center)) ** 2, axis=1) < self.radius**2


@dataclass(frozen=True)
class ExitSample:
    """Exit times (SGD's units) of every path, with their mean and its standard error."""

    times: np.ndarray
    step_times: np.ndarray | None = None
    """For a model: the exit times monitored only at whole SGD steps (as SGD is), from the
    same paths; ``None`` for SGD, whose ``times`` are those."""

    @property
    def mean(self) -> float:
        return float(self.times.mean())

    @property
    def step_mean(self) -> float | None:
        """Mean of :attr:`step_times` (``None`` for SGD)."""
        return None if self.step_times is None else float(self.step_times.mean())

    @property
    def step_stderr(self) -> float | None:
        """Standard error of :attr:`step_mean`."""
        if self.step_times is None:
            return None
        n = len(self.step_times)
        return float(self.step_times.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")

    @property
    def stderr(self) -> float:
        n = len(self.times)
        return float(self.times.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")


def exit_times(
    process: str,
    problem: Problem,
    x0: Any,
    region: Interval | Ball,
    *,
    eta: Any,
    paths: int,
    seed: int,
    substeps: int = 1,
    max_steps: int = 10**5,
    client: Any = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> ExitSample:
    """Exit times of ``paths`` paths of SGD (``"sgd"``) or a registered model from ``region``.

    With a Dask ``client`` (or a ``scheduler`` address) the paths run as tasks of whole blocks
    (:func:`~symsme.simulate.cluster.map_path_blocks`), with the same numbers as locally; the
    work limit then applies per task.

    A model is integrated by Euler-Maruyama with ``substeps`` per SGD step and monitored after
    every substep (:attr:`ExitSample.times`, the continuous exit approximated) and, on the
    same paths, only at whole SGD steps (:attr:`ExitSample.step_times`, monitored as SGD is:
    the d-dimensional counterpart of the Broadie-Glasserman-Kou correction).

    Raises
    ------
    ShapeError
        ``x0`` outside the region or of the wrong length.
    LimitError
        Paths still inside after ``max_steps`` SGD steps (naming how many).
    """
    check_step_size(eta)
    paths = check_integer(paths, "paths", 2)
    if paths > MAX_PATHS:
        raise LimitError(f"paths = {paths} is beyond the limit {MAX_PATHS:.0e} of an exit-time run")
    seed = check_integer(seed, "seed", 0)
    substeps = check_integer(substeps, "substeps", 1)
    max_steps = check_integer(max_steps, "max_steps", 1)
    start = problem.check_start(x0)
    if not region.inside(start[None, :])[0]:
        raise ShapeError(f"x0 = {start.tolist()} is not inside the region {region}")
    process = str(process).strip().lower()
    arguments = dict(
        process=process,
        problem=problem,
        start=start,
        region=region,
        eta=eta,
        seed=seed,
        substeps=substeps,
        max_steps=max_steps,
    )
    if client is None and scheduler is None:
        return _exit_block(**arguments, first_block=0, paths=paths)
    chunks = map_path_blocks(_exit_block, paths, client, scheduler, progress, "exits", **arguments)
    times = np.concatenate([c.times for c in chunks])
    if times.shape[0] != paths:
        raise LimitError(f"the Dask run returned {times.shape[0]} of {paths} exit times")
    steps = [c.step_times for c in chunks]
    return ExitSample(times, None if steps[0] is None else np.concatenate(steps))


def _exit_block(
    *,
    process: str,
    problem: Problem,
    start: np.ndarray,
    region: Interval | Ball,
    eta: Any,
    seed: int,
    substeps: int,
    max_steps: int,
    first_block: int,
    paths: int,
) -> ExitSample:
    """The exit times of ``paths`` paths from block ``first_block`` on (a whole run or a task)."""
    eta_f = float(eta)
    per_step = 1 if process == "sgd" else substeps
    stepper: Any
    if process != "sgd":  # one Euler-Maruyama substep per call, monitored after each
        stepper = EulerMaruyama(sde_model(problem, process, eta), eta_f / per_step, 1)
    elif problem.per_sample_losses is not None:
        stepper = MinibatchSGD(problem, eta_f)
    else:
        stepper = GaussianSGD(problem, eta_f)
    rng = PathsRandom(seed, paths, first_block)
    x = np.broadcast_to(start, (paths, problem.dim)).copy()
    times = np.full(paths, np.nan)
    step_times = np.full(paths, np.nan)
    alive = np.ones(paths, dtype=bool)  # not yet left at any substep
    moving = np.ones(paths, dtype=bool)  # not yet seen outside at a whole step
    h = eta_f / per_step
    work = 0
    for k in range(1, max_steps * per_step + 1):
        work += int(moving.sum()) * problem.dim
        if work > MAX_WORK:
            raise LimitError(
                f"{int(moving.sum())} of {paths} paths of {process} are still inside after "
                f"{k - 1} steps, and the run has done {MAX_WORK:.0e} path-steps; the process may "
                "practically never leave"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            moved = stepper.step(x, rng)
        x = np.where(moving[:, None], moved, x)
        outside = ~(region.inside(x) & np.all(np.isfinite(x), axis=1))
        left = alive & outside
        times[left] = k * h
        alive &= ~left
        if k % per_step == 0:
            gone = moving & outside
            step_times[gone] = k * h
            moving &= ~gone
        if not moving.any():
            return ExitSample(times, None if process == "sgd" else step_times)
    raise LimitError(
        f"{int(moving.sum())} of {paths} paths of {process} are still inside after {max_steps} "
        "steps; raise max_steps (--max-steps)"
    )
