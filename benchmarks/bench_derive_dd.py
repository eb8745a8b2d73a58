"""Time the coordinate-free derivation ``modified_equation(K, dim="d")`` in fresh processes.

Each figure is the wall time of a fresh ``python -c`` (interpreter start-up and imports
included, best of ``--repeat`` runs, disk cache off), compared with ``python -c "import sympy"``
on the same machine.  Targets: order 3 within 35x ``import sympy``, order 4 under 60 s.  Also
prints the number of distinct canonical terms of every b_k and D_k.

    python benchmarks/bench_derive_dd.py [--max-order 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def wall_time(code: str, repeat: int) -> float:
    """Best wall time of ``python -c code`` over ``repeat`` fresh processes."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-order", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sympy_time = wall_time("import sympy", args.repeat)
    print(f"python -c 'import sympy': {sympy_time:.3f} s")
    print(f"{'K':>2} {'time [s]':>9} {'x import sympy':>15}")
    for K in range(1, args.max_order + 1):
        code = (
            "from symsme.derive import modified_equation; "
            f"modified_equation({K}, dim='d', cache=False)"
        )
        t = wall_time(code, args.repeat)
        print(f"{K:>2} {t:>9.3f} {t / sympy_time:>15.2f}")

    from symsme.derive import modified_equation

    me = modified_equation(args.max_order, dim="d", cache=False)
    print("distinct terms:")
    print(f"{'k':>2} {'b_k':>6} {'D_k':>6}")
    for k, (b, D) in enumerate(zip(me.drift, me.diffusion, strict=True)):
        print(f"{k:>2} {len(b):>6} {len(D):>6}")


if __name__ == "__main__":
    main()
