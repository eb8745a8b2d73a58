"""Cost of one HA-SME step against one SGD step in d = 20 (issue 8, item 8: within 10x).

f = sum_i (i/d) x_i^2 / 2 + sum_i log cosh x_i, Sigma = I/2 (+ a coupling), 2000 paths:
SGD (Gaussian noise), HA-SME by Euler-Maruyama (one eigendecomposition per path per step for
psi(M), one more for the noise root) and by the weak order 2 scheme (4d + 2 model evaluations
per step), and the Talay-Tubaro pair that the Monte Carlo weak errors use instead in higher
dimensions (Euler-Maruyama with 2 and, on the paired Brownian path, 1 substep: weak order 2
at 3 evaluations per SGD step).  Prints seconds per step and the ratios; not a timed test.
"""

from __future__ import annotations

import time

from symsme.problems import Problem
from symsme.simulate import simulate


def main() -> None:
    d, paths, steps = 20, 2000, 10
    names = [f"x{i + 1}" for i in range(d)]
    loss = " + ".join(f"{(i + 1) / d}*{v}**2/2 + log(cosh({v}))" for i, v in enumerate(names))
    sigma = [
        [("1/2" if i == j else "1/10" if abs(i - j) == 1 else "0") for j in range(d)]
        for i in range(d)
    ]
    problem = Problem(loss, names, sigma)
    x0 = [0.5] * d
    timings = {}
    for label, process, scheme, n in [
        ("SGD", "sgd", "euler", steps),
        ("HA-SME Euler-Maruyama", "ha-sme", "euler", steps),
        ("HA-SME weak2", "ha-sme", "weak2", 2),
        ("HA-SME extrapolated pair", "ha-sme", "pair", steps),
    ]:
        runs = [(scheme, 1)] if scheme != "pair" else [("euler", 2), ("euler-paired", 1)]
        for how, substeps in runs:
            simulate(
                process, problem, x0, eta=0.05, steps=1, paths=256, seed=0, scheme=how,
                substeps=substeps,
            )  # fmt: skip
        start = time.perf_counter()
        for how, substeps in runs:
            simulate(
                process, problem, x0, eta=0.05, steps=n, paths=paths, seed=1, scheme=how,
                substeps=substeps,
            )  # fmt: skip
        timings[label] = (time.perf_counter() - start) / n
        print(f"{label:24s} {timings[label] * 1e3:8.2f} ms per step ({paths} paths, d = {d})")
    for label in ("HA-SME Euler-Maruyama", "HA-SME weak2", "HA-SME extrapolated pair"):
        print(f"{label} / SGD: {timings[label] / timings['SGD']:.1f}x")


if __name__ == "__main__":
    main()
