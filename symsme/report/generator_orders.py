r"""The ``derivations/1d-generator-weak-orders.md`` document: weak orders of ME-K against those
of SGD's truncated modified generator ``genK``, K = 1..5, in the three settings of the Gaussian
cap (``symsme/DESIGN.md``, "Stochastic backward error analysis", 6, and "The modified
generator"), measured against SGD without Monte Carlo (:func:`symsme.verify.weak_order`).

The loss :math:`f = x^2/2 + \log\cosh(x - 1)` has its minimum at :math:`x \approx 0.43`, where
:math:`f''' \ne 0`: the constant-:math:`\Sigma` cap (the third one-step moment's defect
:math:`\tfrac12 f''' \Sigma^2 \eta^5`) is then visible at moderate step sizes.  The minibatch
setting adds the per-sample gradients :math:`(1/2, 1/2, -1)` to the same loss (batch 1): constant
but skewed noise, :math:`\kappa_3 = -1/4`.

For each model the table gives the least-squares slope over the step sizes where it has
*settled*: going from the smallest resolved step size towards larger ones, as long as the local
slopes stay within :data:`SETTLED` of the last one.
"""

from __future__ import annotations

from fractions import Fraction

from symsme.problems import Problem
from symsme.report.weak_orders import error_cell, local_slope_cells, usable
from symsme.verify import WeakOrder, fit_slope, weak_order

__all__ = [
    "ETAS",
    "LOSS",
    "ORDERS",
    "SETTLED",
    "measure",
    "render_generator_weak_orders",
    "settings",
    "settled",
    "slope_cell",
]

LOSS = "x**2/2 + log(cosh(x - 1))"
ETAS = [Fraction(1, 2**k) for k in range(2, 8)]  # 1/4 ... 1/128
ORDERS = range(1, 6)
SETTLED = 0.15
"""Local slopes within this of the last one count as settled."""
TEST, X0, TIME, TOL = "cos(x)", 1, 1, 1e-11


def settings() -> list[tuple[str, Problem, int, str]]:
    """(title, problem, Gaussian cap, why) of the three noise settings."""
    return [
        (
            "Constant Sigma = 1",
            Problem(LOSS, "x", "1"),
            4,
            "the third one-step moment differs at eta^5 by (1/2) f''' Sigma^2",
        ),
        (
            "State-dependent Sigma = 1 + sin(x)/2",
            Problem(LOSS, "x", "1 + sin(x)/2"),
            3,
            "the third one-step moment differs at eta^4 by (3/2) Sigma Sigma'",
        ),
        (
            "Minibatch noise: per-sample losses f + x/2, f + x/2, f - x, batch 1",
            Problem.finite_sum([f"{LOSS} + x/2", f"{LOSS} + x/2", f"{LOSS} - x"], "x", 1),
            2,
            "the third gradient cumulant (-1/4) enters the third moment at eta^3",
        ),
    ]


def settled(result: WeakOrder, name: str) -> tuple[float, int, int] | None:
    """``(slope, first, last)``: the least-squares slope over the step sizes ``etas[first]``
    to ``etas[last]`` where the local slopes stay within :data:`SETTLED` of the last
    resolved one (``None`` with fewer than two usable errors in a row at the small end)."""
    good = usable(result, name)
    errors = result.errors()[name]
    last = max((i for i, ok in enumerate(good) if ok), default=None)
    if last is None or last == 0 or not good[last - 1]:
        return None

    def local(i: int) -> float:
        a, b = errors[i], errors[i + 1]
        assert a is not None and b is not None
        return fit_slope([result.etas[i], result.etas[i + 1]], [a, b]) or 0.0

    final = local(last - 1)
    first = last - 1
    while first > 0 and good[first - 1] and abs(local(first - 1) - final) <= SETTLED:
        first -= 1
    points = range(first, last + 1)
    slope = fit_slope([result.etas[i] for i in points], [errors[i] or 0.0 for i in points])
    assert slope is not None
    return slope, first, last


def slope_cell(result: WeakOrder, name: str) -> str:
    """The settled slope with its step-size range, ``-`` when none."""
    found = settled(result, name)
    if found is None:
        return "-"
    slope, first, last = found
    return f"{slope:.2f} ({ETAS[last]}-{ETAS[first]})"


def _local_slopes(result: WeakOrder, name: str) -> str:
    return ", ".join(local_slope_cells(result, name))


def measure() -> list[tuple[str, int, str, WeakOrder]]:
    """Every setting's weak errors (about 30 s on two cores)."""
    models = [f"me{k}" for k in ORDERS] + [f"gen{k}" for k in ORDERS]
    return [
        (title, cap, why, weak_order(problem, TEST, X0, TIME, ETAS, models, tol=TOL))
        for title, problem, cap, why in settings()
    ]


def render_generator_weak_orders(
    results: list[tuple[str, int, str, WeakOrder]] | None = None,
) -> str:
    """The document (from :func:`measure`, or the results given)."""
    results = measure() if results is None else results
    head = [
        "# Beyond the Gaussian cap: weak orders of ME-K and of the modified generator genK",
        "",
        f"f = {LOSS}, phi = {TEST}, x0 = {X0}, T = {TIME}, K = T/eta steps; weak errors",
        "E phi(X_T) - E phi(x_K) (signed), both expectations without sampling, each to about",
        "1e-12 (`symsme.exact.backward` for SGD and ME-K; `symsme.exact.generator` for genK:",
        "the Gaussian part's Kolmogorov solution plus Dyson corrections).  ME-K is the eta^K",
        "truncation of the Gaussian modified equation; genK the eta^K truncation of SGD's",
        "modified generator (Kramers-Moyal coefficients A_1 .. A_{K+1}).  Expected: ME-K",
        "reaches min(K + 1, cap), genK reaches K + 1.  Regenerate: `symsme derivations`; the",
        "same numbers from `symsme weak-order --models me3,gen3 ...`.",
        "",
        "## Fitted weak orders",
        "",
        "Least-squares slope of log|error| over the step sizes where the local slopes have",
        f"settled (within {SETTLED} of the last resolved pair; range in parentheses):",
        "",
        "| setting | cap | K | ME-K | genK |",
        "|---|---|---|---|---|",
    ]
    body: list[str] = []
    for title, cap, why, result in results:
        for k in ORDERS:
            head.append(
                f"| {title.split(':')[0]} | {cap} | {k} | {slope_cell(result, f'me{k}')} | "
                f"{slope_cell(result, f'gen{k}')} |"
            )
        names = list(result.models)
        body += [
            f"## {title}",
            "",
            f"Gaussian cap {cap}: {why}.",
            "",
            "| eta | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for i, eta in enumerate(ETAS):
            body.append(f"| {eta} | " + " | ".join(error_cell(result, n, i) for n in names) + " |")
        body += [
            "",
            "Local slopes between neighbouring step sizes (1/4-1/8, ..., 1/64-1/128):",
            "",
        ]
        body += [f"- {n}: {_local_slopes(result, n)}" for n in names]
        body.append("")
    return "\n".join([*head, "", *body]).rstrip("\n") + "\n"
