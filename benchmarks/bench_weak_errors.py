"""Deterministic weak errors against Monte Carlo at equal accuracy (issue 8, item 8).

One expectation E cos(x_K) of SGD on f = x^2/2 + log cosh x, Sigma = 1, x0 = 1, eta = 1/16,
K = 16: the deterministic route (symsme.exact.backward, accuracy asked 1e-6 and 1e-10) against
Monte Carlo (symsme.simulate), whose time for a standard error of 1e-6 is extrapolated from a
measured run (paths needed = (std / 1e-6)^2).  Prints the figures; not a timed test.
"""

from __future__ import annotations

import time

import numpy as np

from symsme.exact.backward import sgd_expectation
from symsme.problems import Problem
from symsme.simulate import simulate


def main() -> None:
    problem = Problem("x**2/2 + log(cosh(x))", "x", "1")
    test = Problem("cos(x)", "x")
    eta, steps = 1 / 16, 16
    for tol in (1e-6, 1e-10):
        start = time.perf_counter()
        e = sgd_expectation(problem, test, 1.0, eta, steps, tol=tol)
        det = time.perf_counter() - start
        print(f"deterministic, tol {tol:.0e}: {det:.3f} s, value {e.value:.12f}, ", end="")
        print(f"bound {e.error_bound:.1e}")
    paths = 200_000
    start = time.perf_counter()
    run = simulate("sgd", problem, [1.0], eta=eta, steps=steps, paths=paths, seed=1, progress=False)
    mc = time.perf_counter() - start
    values = np.cos(run.samples[:, 0])
    std = float(values.std(ddof=1))
    print(f"Monte Carlo: {paths} paths in {mc:.3f} s, ", end="")
    print(f"mean {values.mean():.6f} +- {std / paths**0.5:.1e}")
    for target in (1e-4, 1e-6):
        need = (std / target) ** 2
        t = mc * need / paths
        print(f"Monte Carlo to a standard error of {target:.0e}: {need:.2e} paths, ~{t:.3g} s")
    start = time.perf_counter()
    sgd_expectation(problem, test, 1.0, eta, steps, tol=1e-6)
    det = time.perf_counter() - start
    print(
        f"speed-up of the deterministic route at 1e-6: ~{mc * (std / 1e-6) ** 2 / paths / det:.2g}x"
    )


if __name__ == "__main__":
    main()
