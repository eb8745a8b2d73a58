r"""Time the numeric HA-SME drift and diffusion at many points in moderate dimension.

HA-SME (Li, Shen, Zhang, He, arXiv 2405.18373) evaluates, at every point,
:math:`b = -\psi(M)\nabla f` and :math:`\operatorname{vec} D = \psi(M \otimes M)
\operatorname{vec}\Sigma` with :math:`M = I - \eta\nabla^2 f`: one symmetric eigendecomposition
per point plus a few batched matrix products and the PSD check.

Problem: d = 20, a coupled quartic loss with a cosine perturbation and a state-dependent
:math:`\Sigma(x) = \tfrac12\operatorname{diag}(1 + x_i^2) + \tfrac1{10} x x^{\top}`; 10^4 points.
Prints figures (no assertions).  Run: ``python benchmarks/bench_evaluate.py [n_points] [d]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from symsme.models import sde_model
from symsme.problems import Problem


def build_problem(d: int) -> Problem:
    names = [f"x{i + 1}" for i in range(d)]
    terms = [f"{x}**4/4 + {x}**2/2 + cos({x})/10" for x in names]
    terms += [f"{a}*{b}/4" for a, b in zip(names, names[1:], strict=False)]
    sigma = [
        [(f"(1 + {a}**2)/2 + {a}**2/10" if i == j else f"{a}*{b}/10") for j, b in enumerate(names)]
        for i, a in enumerate(names)
    ]
    return Problem(" + ".join(terms), names, sigma)


def best_of(repeats: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    d = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    eta = 0.05
    start = time.perf_counter()
    problem = build_problem(d)
    print(f"problem construction (parse, checks):     {time.perf_counter() - start:8.3f} s")
    points = np.random.default_rng(0).normal(scale=0.5, size=(n, d))

    start = time.perf_counter()
    problem.jets(points[:1], 2, 0)
    print(f"first jets call (differentiate, lambdify): {time.perf_counter() - start:8.3f} s")

    jets = problem.jets(points, 2, 0)
    t_jets = best_of(3, lambda: problem.jets(points, 2, 0))
    print(f"jets grad f, Hessian, Sigma at {n} points (d = {d}): {t_jets:8.3f} s")

    model = sde_model(problem, "ha-sme", eta)
    t_eval = best_of(3, lambda: model.from_jets(jets))
    t_total = best_of(3, lambda: model.drift_diffusion(points))
    print(f"HA-SME drift + diffusion from jets:       {t_eval:8.3f} s   (target < 1 s)")
    print(f"HA-SME drift_diffusion(points), total:    {t_total:8.3f} s")
    t_drift = best_of(3, lambda: model.from_jets(jets, diffusion=False))
    print(f"HA-SME drift only from jets:              {t_drift:8.3f} s")
    for name in ("sgf", "sme2"):
        other = sde_model(problem, name, eta)
        t_other = best_of(3, lambda other=other: other.from_jets(jets))
        print(f"{name.upper():6s} drift + diffusion from jets:       {t_other:8.3f} s")
    lam_max = np.linalg.eigvalsh(jets.hessian)[:, -1].max()
    print(f"max eta*lambda_max over the points: {eta * lam_max:.3f}")


if __name__ == "__main__":
    main()
