"""Time `symsme derive --dim 1 --order K --no-cache` (start-up included) against `import sympy`.

Targets (issue 2): order 6 within 8x the time of `python -c "import sympy"`; order 10 under
60 s.  Each figure is the best of ``--repeat`` fresh interpreter runs.  Prints figures only.

    python benchmarks/bench_derive.py [--orders 2-10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def best_of(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def parse_orders(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", default="2-10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dim", default="1")
    args = ap.parse_args()
    base = best_of([sys.executable, "-c", "import sympy"], args.repeat)
    print(f"python -c 'import sympy': {base:.3f} s (best of {args.repeat})")
    print(f"{'order':>5} {'seconds':>9} {'x import sympy':>15}")
    for K in parse_orders(args.orders):
        cmd = [
            sys.executable,
            "-m",
            "symsme",
            "derive",
            "--dim",
            args.dim,
            "--order",
            str(K),
            "--no-cache",
            "--format",
            "json",
        ]
        t = best_of(cmd, args.repeat if K < 9 else 1)
        print(f"{K:>5} {t:>9.3f} {t / base:>15.2f}", flush=True)


if __name__ == "__main__":
    main()
