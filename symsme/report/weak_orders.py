r"""The ``derivations/1d-weak-orders.md`` document: weak orders of the named models measured
against SGD without Monte Carlo (:func:`symsme.verify.weak_order`), in the three settings of the
Gaussian cap (``symsme/DESIGN.md``, "Stochastic backward error analysis", 6), and each model's
error against :math:`\eta L` at a fixed step size.

Errors below :data:`FLOOR` are shown as ``< 5e-12`` and left out of the slopes: the deterministic
expectations are accurate to about :math:`10^{-12}` here, and a fixed display floor and digits
far above that accuracy keep the document identical on every machine.
"""

from __future__ import annotations

from fractions import Fraction

from symsme.problems import Problem
from symsme.verify import WeakOrder, fit_slope, weak_order

__all__ = [
    "FLOOR",
    "error_cell",
    "local_slope_cells",
    "number_cell",
    "render_weak_orders",
    "usable",
]

FLOOR = 5e-12
LOSS = "x**2/2 + log(cosh(x))"
ETAS = [Fraction(1, 2**k) for k in range(2, 9)]  # 1/4 ... 1/256
MODELS = ["sgf", "sme2", "ha-sme", "me2", "ha-me2", "me3", "ha-me3", "me4", "me5"]
SAMPLES = ["(x-1)**2/2 + log(cosh(x))", "(x+1)**2/2", "x**2 + log(cosh(x+1))"]


def error_cell(result: WeakOrder, name: str, i: int) -> str:
    """A signed error as a table cell: ``not reached`` or ``undefined`` where there is none,
    ``< 5e-12`` below :data:`FLOOR` or unresolved, else digits far above the accuracy."""
    if i in result.not_reached.get(name, {}):
        return "not reached"
    error = result.signed_errors()[name][i]
    if error is None:
        return "undefined"
    if abs(error) < FLOOR or not result.resolved()[name][i]:
        return "< 5e-12"
    return number_cell(error)


def number_cell(error: float) -> str:
    """Only digits far above the ~1e-12 accuracy, so the document is the same on every
    machine: 4 significant digits from 1e-8 on, 3 from 1e-9, 2 from 1e-10, else 1."""
    size = abs(error)
    digits = 4 if size >= 1e-8 else 3 if size >= 1e-9 else 2 if size >= 1e-10 else 1
    return f"{error:.{digits - 1}e}"


def local_slope_cells(result: WeakOrder, name: str) -> list[str]:
    """Slopes between neighbouring step sizes where both errors are usable (``-`` elsewhere),
    with fewer decimals where an error is below 1e-9."""
    usable = _usable(result, name)
    errors = result.errors()[name]
    etas = result.etas
    row = []
    for i in range(len(etas) - 1):
        a, b = errors[i], errors[i + 1]
        if usable[i] and usable[i + 1] and a and b:
            slope = fit_slope([etas[i], etas[i + 1]], [a, b])
            small = min(a, b)
            row.append(f"{slope:.{2 if small >= 1e-9 else 1 if small >= 3e-11 else 0}f}")
        else:
            row.append("-")
    return row


def usable(result: WeakOrder, name: str) -> list[bool]:
    """Resolved errors at or above :data:`FLOOR` (those that enter slopes)."""
    return _usable(result, name)


def _usable(result: WeakOrder, name: str) -> list[bool]:
    errors = result.errors()[name]
    resolved = result.resolved()[name]
    return [
        bool(ok and e is not None and e >= FLOOR) for e, ok in zip(errors, resolved, strict=True)
    ]


def _table(result: WeakOrder) -> list[str]:
    names = list(result.models)
    lines = [
        "| eta | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for i, eta in enumerate(ETAS):
        lines.append(f"| {eta} | " + " | ".join(error_cell(result, n, i) for n in names) + " |")
    local_rows = {n: local_slope_cells(result, n) for n in names}
    lines += [
        "",
        "Local slopes between neighbouring step sizes (1/4-1/8, ..., 1/128-1/256; fewer "
        "decimals where an error is below 1e-9):",
        "",
    ]
    lines += [f"- {n}: " + ", ".join(local_rows[n]) for n in names]
    return lines


def _setting(title: str, problem: Problem, tol: float, note: str) -> list[str]:
    result = weak_order(problem, "cos(x)", 1, 1, ETAS, MODELS, tol=tol)
    return [f"## {title}", "", note, "", *_table(result), ""]


def _sweep() -> list[str]:
    eta = Fraction(1, 16)
    ratios = [Fraction(1, 5), Fraction(2, 5), Fraction(3, 5), Fraction(4, 5), Fraction(9, 10)]
    names = ["sgf", "sme2", "ha-sme", "me2", "ha-me2", "me3", "ha-me3"]
    lines = [
        "## Error against eta L at a fixed step size",
        "",
        "f = (L/2) x^2 + log cosh x (so L <= f'' <= L + 1 =: L_max), Sigma = 1, phi = cos,",
        f"x0 = 1, T = 1, eta = {eta}; L chosen so that eta L_max runs towards 1.  Signed errors",
        "E phi(X_T) - E phi(x_K):",
        "",
        "| eta L_max | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for r in ratios:
        big_l = r / eta - 1
        problem = Problem(f"({big_l})*x**2/2 + log(cosh(x))", "x", "1")
        result = weak_order(problem, "cos(x)", 1, 1, [eta], names, tol=3e-12)
        cells = [error_cell(result, n, 0) for n in names]
        lines.append(f"| {r} | " + " | ".join(cells) + " |")
    return lines


def render_weak_orders() -> str:
    """The document (about 20 s on two cores: every expectation to a few 1e-12 or 1e-11)."""
    head = [
        "# Weak orders of the modified equations, measured against SGD",
        "",
        "Weak errors E phi(X_T) - E phi(x_K) (signed), T = 1, K = T/eta, x0 = 1, phi = cos,",
        "both expectations computed without sampling (`symsme.exact.backward`: SGD by backward",
        "iteration of its transition operator, each SDE by its backward Kolmogorov equation),",
        "each with an a-posteriori error bound of a few 1e-12 (regenerate: `symsme derivations`;",
        "the same numbers from `symsme weak-order`).  ME-K is the eta^K truncation of the derived",
        "modified equation; HA-ME-K is HA-SME's closed form plus ME-K's non-Hessian terms.  The",
        "local (one-step) mismatch report predicts the global orders of ME-K and HA-ME-K:",
        "min(K + 1, 4) with constant Sigma, min(K + 1, 3) with state-dependent Sigma and 2 with",
        "minibatch noise; the tables measure them.",
        "",
    ]
    body = _setting(
        "Constant Sigma = 1, f = x^2/2 + log cosh x",
        Problem(LOSS, "x", "1"),
        3e-12,
        "Cap predicted: 4 (the third one-step moment differs at eta^5 by (1/2) f''' Sigma^2).",
    )
    body += _setting(
        "State-dependent Sigma = 1 + sin(x)/2, same loss",
        Problem(LOSS, "x", "1 + sin(x)/2"),
        1e-11,
        "Cap predicted: 3 (the third one-step moment differs at eta^4 by (3/2) Sigma Sigma').",
    )
    body += _setting(
        "Minibatch noise: f = mean of " + ", ".join(SAMPLES) + ", B = 1",
        Problem.finite_sum(SAMPLES, "x", 1),
        1e-11,
        "Cap predicted: 2 (the third gradient cumulant enters the third moment at eta^3).  SGD's "
        "expectation is the exact finite mixture over minibatches; the models use the minibatch "
        "covariance as Sigma(x).",
    )
    return "\n".join(head + body + _sweep()) + "\n"
