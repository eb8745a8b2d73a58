"""Time genK's deterministic expectation against SME-2's (the same Chebyshev grid and Pade
steps without Dyson terms), in the three noise settings of the generator document.

Target: genK costs at most 50x SME-2's expectation at the same tolerance.  Measured at
eta = 1/16 (2 cores): gen1 2-5x (a wider grid: the cutoffs of the Dyson terms), gen2-gen5
5-35x, the dearest with state-dependent Sigma from gen3 on (Gauss-Legendre stages in time,
each a Pade matrix, and more grid levels).  Derivations are warmed up
first (disk cache), so only the numerics are timed.  Prints figures only.

    python benchmarks/bench_generator.py [--eta 1/16] [--tol 1e-11] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

from symsme.exact.backward import sde_expectation
from symsme.exact.generator import generator_expectation, generator_model
from symsme.models import sde_model
from symsme.problems import Problem
from symsme.report.generator_orders import LOSS


def best_of(run, repeat: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eta", default="1/16")
    ap.add_argument("--tol", type=float, default=1e-11)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    eta = Fraction(args.eta)
    test = Problem("cos(x)", "x")
    settings = {
        "constant": Problem(LOSS, "x", "1"),
        "state": Problem(LOSS, "x", "1 + sin(x)/2"),
        "minibatch": Problem.finite_sum([f"{LOSS} + x/2", f"{LOSS} + x/2", f"{LOSS} - x"], "x", 1),
    }
    print(f"eta = {eta}, T = 1, tol = {args.tol:g}; best of {args.repeat}")
    print(
        f"{'setting':>10} {'sme2 s':>8} "
        + " ".join(f"{'gen' + str(k) + ' x':>8}" for k in range(1, 6))
    )
    for name, problem in settings.items():
        sme = sde_model(problem, "sme2", eta)
        base = best_of(lambda sme=sme: sde_expectation(sme, test, 1, 1, tol=args.tol), args.repeat)
        ratios = []
        for k in range(1, 6):
            model = generator_model(problem, k, eta)
            seconds = best_of(
                lambda model=model: generator_expectation(model, test, 1, 1, tol=args.tol),
                args.repeat,
            )
            ratios.append(seconds / base)
        print(f"{name:>10} {base:8.3f} " + " ".join(f"{r:8.1f}" for r in ratios))


if __name__ == "__main__":
    main()
