"""Throughput of SGD Monte Carlo (`symsme.simulate`) against a hand-written numpy loop doing the
same updates, in one run (issue 8 target: within 1.5x).

Problem: d = 10, f = sum_i (x_i^4/4 + x_i^2/2) + sum_i x_i x_{i+1}/4, Sigma(x) = diag(1 + x_i^2/2)
(state dependent, so both sides factorise Sigma per point).  Prints figures, no assertions.
Run: ``python benchmarks/bench_simulate.py [paths] [steps]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from symsme import Problem
from symsme.simulate import simulate
from symsme.simulate.rng import BlockRandom, blocks


def main() -> None:
    paths = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    d, eta = 10, 0.05
    names = [f"x{i}" for i in range(d)]
    loss = " + ".join(f"{x}**4/4 + {x}**2/2" for x in names)
    loss += " + " + " + ".join(f"{a}*{b}/4" for a, b in zip(names, names[1:], strict=False))
    sigma = [[f"1 + {x}**2/2" if i == j else "0" for j in range(d)] for i, x in enumerate(names)]
    problem = Problem(loss, names, sigma)
    x0 = np.full(d, 0.5)
    simulate("sgd", problem, x0, eta=eta, steps=1, paths=10, seed=0)  # lambdify once

    start = time.perf_counter()
    result = simulate("sgd", problem, x0, eta=eta, steps=steps, paths=paths, seed=1)
    t_symsme = time.perf_counter() - start

    def by_hand() -> np.ndarray:
        out = np.empty((paths, d))
        for block, first, count in blocks(paths):
            rng = BlockRandom(1, block, count)
            x = np.broadcast_to(x0, (count, d)).copy()
            for _ in range(steps):
                grad = x**3 + x
                grad[:, :-1] += x[:, 1:] / 4
                grad[:, 1:] += x[:, :-1] / 4
                noise = np.sqrt(1 + x**2 / 2) * rng.standard_normal(x.shape)
                x = x - eta * (grad + noise)
            out[first : first + count] = x
        return out

    start = time.perf_counter()
    reference = by_hand()
    t_hand = time.perf_counter() - start
    agree = np.max(np.abs(reference - result.samples))
    print(f"{paths} paths x {steps} steps, d = {d}")
    print(f"symsme.simulate('sgd'):      {t_symsme:.3f} s")
    print(f"hand-written numpy loop:      {t_hand:.3f} s")
    print(f"ratio symsme / hand-written:  {t_symsme / t_hand:.2f}  (target <= 1.5)")
    print(f"max |difference| of the end states: {agree:.2e}")


if __name__ == "__main__":
    main()
