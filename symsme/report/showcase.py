r"""``symsme report DIR``: the showcase.  A compact run of the derivations, checks and
experiments, written as a Markdown report with figures.

Sections: the derived modified equation and HA-SME's closed form; exact laws on a quadratic
(HA-SME against SGD, figure); weak errors without Monte Carlo (figure, fitted slopes); the
Gaussian cap; escape times; HA-ME-K against ME-K and HA-SME; a neural-network loss (Monte
Carlo, figure).  ``small=True`` uses fewer step sizes and looser tolerances (a few
seconds).  The report is built in a temporary folder beside ``DIR`` and moved into place only
when complete, so a run that fails midway leaves nothing that looks like a report; a non-empty
``DIR`` is refused unless ``force=True`` (then it is replaced, again only at the end).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from symsme.errors import SymsmeError
from symsme.progress import progress_bar
from symsme.report.weak import plot_weak_order

__all__ = ["write_report"]

LOSS = "x**2/2 + log(cosh(x))"


def _derivation(out: Path, small: bool) -> list[str]:
    from symsme.derive import identify_hessian_aware, modified_equation
    from symsme.report.render import render

    me = modified_equation(2 if small else 3, progress=False)
    ha = identify_hessian_aware(modified_equation(4 if small else 8, progress=False))
    return [
        "## 1. The modified equation of SGD, derived",
        "",
        "Stochastic backward error analysis in 1-D (Gaussian noise, state-dependent Sigma): every",
        "coefficient exact, in the jet symbols g_k = f^(k+1)(x), s_k = Sigma^(k)(x).",
        "",
        "```",
        render(me, "text").rstrip(),
        "```",
        "",
        "The Hessian-aware terms (built from f', f'', Sigma only), summed in closed form from the",
        f"derived series (identified through eta^{ha.identified_through}):",
        "",
        f"- drift `{ha.drift_closed_form}`",
        f"- diffusion `{ha.diffusion_closed_form}`",
        "",
    ]


def _quadratic(out: Path, small: bool) -> list[str]:
    from symsme.exact.quadratic import ou_law, sgd_law
    from symsme.report.quadratic import plot_quadratic

    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    sigma = np.array([[1.0, 0.3], [0.3, 0.5]])
    x0, eta, steps = np.array([1.0, -1.0]), 0.2, 20
    mean_sgd, cov_sgd = sgd_law(h, sigma, eta, x0, steps)
    lines = [
        "## 2. Exact laws on a quadratic",
        "",
        "f = x^T H x / 2, H = [[2, 0.5], [0.5, 1]], constant Sigma = [[1, 0.3], [0.3, 0.5]] (H and",
        f"Sigma do not commute), x0 = (1, -1), eta = {eta}, K = {steps}: largest differences from",
        "SGD's exact mean and covariance.",
        "",
        "| model | mean | covariance |",
        "|---|---|---|",
    ]
    models = ["sgf", "sme2", "ha-sme", "ha-me2"]
    for name in models:
        mean, cov = ou_law(name, h, sigma, eta, x0, steps * eta)
        lines.append(
            f"| {name} | {np.abs(mean - mean_sgd).max():.1e} | {np.abs(cov - cov_sgd).max():.1e} |"
        )
    plot_quadratic(h, sigma, eta, x0, steps, models[:3], out / "quadratic.png")
    lines += ["", "![exact laws over time](quadratic.png)", ""]
    return lines


def _weak(out: Path, small: bool) -> list[str]:
    from symsme.problems import Problem
    from symsme.verify import weak_order

    etas = [Fraction(1, 2**k) for k in (range(3, 6) if small else range(3, 8))]
    tol = 1e-10 if small else 3e-12
    models = ["sgf", "sme2", "ha-sme", "me2", "ha-me2", "me3", "ha-me3"]
    result = weak_order(Problem(LOSS, "x", "1"), "cos(x)", 1, 1, etas, models, tol=tol)
    plot_weak_order(result, out / "weak-orders.png", title="weak errors, f = x^2/2 + log cosh x")
    errors, slopes = result.errors(), result.slopes()
    lines = [
        "## 3. Weak errors against SGD, without Monte Carlo",
        "",
        "|E cos(X_T) - E cos(x_K)|, f = x^2/2 + log cosh x, Sigma = 1, x0 = 1, T = 1; both",
        f"expectations computed deterministically to {tol:.0e} (with error bounds).",
        "",
        "| eta | " + " | ".join(models) + " |",
        "|---" * (len(models) + 1) + "|",
    ]
    for i, eta in enumerate(etas):
        cells = ["-" if errors[m][i] is None else f"{errors[m][i]:.2e}" for m in models]
        lines.append(f"| {eta} | " + " | ".join(cells) + " |")
    fitted = ["-" if slopes[m] is None else f"{slopes[m]:.2f}" for m in models]
    lines += ["| fitted slope | " + " | ".join(fitted) + " |", ""]
    lines += ["![weak errors](weak-orders.png)", ""]
    return lines


def _cap(out: Path, small: bool) -> list[str]:
    from symsme.problems import Problem
    from symsme.verify import weak_order

    etas = [Fraction(1, 2**k) for k in ((5, 6) if small else (6, 7))]
    samples = ["(x-1)**2/2 + log(cosh(x))", "(x+1)**2/2", "x**2 + log(cosh(x+1))"]
    settings = [
        ("constant Sigma", Problem(LOSS, "x", "1"), "4", 3e-12),
        ("Sigma = 1 + sin(x)/2", Problem(LOSS, "x", "1 + sin(x)/2"), "3", 1e-11),
        ("minibatches (3 samples, B = 1)", Problem.finite_sum(samples, "x", 1), "2", 1e-11),
    ]
    lines = [
        "## 4. The Gaussian cap",
        "",
        "No Gaussian SDE matches SGD's third one-step moment beyond a fixed power of eta, so",
        f"ME-K's weak order stops growing.  Local slopes between eta = {etas[0]} and {etas[1]}:",
        "",
        "| setting | predicted cap | ME-2 | ME-3 | ME-4 |",
        "|---|---|---|---|---|",
    ]
    for title, problem, cap, tol in settings:
        r = weak_order(problem, "cos(x)", 1, 1, etas, ["me2", "me3", "me4"], tol=tol)
        cells = ["-" if s[0] is None else f"{s[0]:.2f}" for s in r.local_slopes().values()]
        lines.append(f"| {title} | {cap} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "(With constant Sigma ME-4's eta^5 term has the opposite sign of the eta^4 one, so its",
        "slope reads higher until eta ~ 1/128: `derivations/1d-weak-orders.md`.)",
        "",
    ]
    return lines


def _escape(out: Path, small: bool) -> list[str]:
    from dataclasses import replace

    from symsme.report.escape_tables import ESCAPE_CASES, escape_table

    lines = [
        "## 5. Escape times",
        "",
        "Mean exit times (steps x eta) of SGD and of each model, the models' plain and with the",
        "Broadie-Glasserman-Kou correction for SGD's discrete monitoring (the full document:",
        "`derivations/escape-times.md`).",
        "",
    ]
    for case in ESCAPE_CASES:
        case = replace(case, paths=2000 if small else case.paths)
        lines += ["#" + line if line.startswith("## ") else line for line in escape_table(case)]
    return lines


def _hame(out: Path, small: bool) -> list[str]:
    from symsme.problems import Problem
    from symsme.verify import weak_order

    models = ["ha-sme", "me2", "ha-me2", "me3", "ha-me3"]
    etas = [Fraction(1, 2**k) for k in ((4, 5) if small else (4, 5, 6))]
    tol = 1e-10 if small else 3e-12
    lines = [
        "## 6. HA-ME-K: HA-SME completed by the engine's higher-order terms",
        "",
        "HA-ME-K is HA-SME's closed form plus ME-K's non-Hessian terms: ME-K's weak order,",
        "HA-SME's exactness on quadratics.  Signed weak errors E cos(X_T) - E cos(x_K) with",
        "state-dependent Sigma = 1 + sin(x)/2 (same loss, x0 = 1, T = 1):",
        "",
        "| eta | " + " | ".join(models) + " |",
        "|---" * (len(models) + 1) + "|",
    ]
    r = weak_order(Problem(LOSS, "x", "1 + sin(x)/2"), "cos(x)", 1, 1, etas, models, tol=tol)
    signed = r.signed_errors()
    for i, eta in enumerate(etas):
        cells = ["-" if signed[m][i] is None else f"{signed[m][i]:+.2e}" for m in models]
        lines.append(f"| {eta} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Towards eta L = 1: f = (L/2) x^2 + log cosh x, Sigma = 1, eta = 1/16, L_max = L + 1:",
        "",
        "| eta L_max | " + " | ".join(models) + " |",
        "|---" * (len(models) + 1) + "|",
    ]
    eta = Fraction(1, 16)
    for ratio in (
        (Fraction(1, 5), Fraction(9, 10)) if small else (Fraction(k, 10) for k in (2, 5, 8, 9))
    ):
        loss = f"({ratio / eta - 1})*x**2/2 + log(cosh(x))"
        r = weak_order(Problem(loss, "x", "1"), "cos(x)", 1, 1, [eta], models, tol=tol)
        signed = r.signed_errors()
        cells = ["-" if signed[m][0] is None else f"{signed[m][0]:+.2e}" for m in models]
        lines.append(f"| {ratio} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _neural(out: Path, small: bool) -> list[str]:
    from dataclasses import replace

    from symsme.report.neural import NeuralSettings, plot_neural, run_neural

    settings = NeuralSettings.small()
    settings = replace(settings, models=("sgf", "sme2", "ha-sme"))
    if not small:
        etas = tuple(Fraction(e) for e in ("1", "1/2", "1/3", "1/4", "1/5"))
        settings = replace(settings, etas=etas, paths=20000, sgd_paths=200000)
    run = run_neural(settings, progress=False)
    plot_neural(run, out / "neural.png")
    result = run.results["loss f"]
    signed, bounds = result.signed_errors(), result.error_bounds()
    lines = [
        "## 7. A neural-network loss",
        "",
        "A two-layer tanh network with 6 parameters on 8 points, minibatches of one sample",
        f"(`symsme.report.neural`), T = {settings.time}: weak errors of the loss by Monte Carlo",
        f"({settings.paths} paths per model, {settings.sgd_paths} for SGD), ± twice the standard",
        "error.  The full run with ME-2 and 40,000 paths: `derivations/nn-weak-errors.md`.",
        "",
        "| eta | " + " | ".join(settings.models) + " |",
        "|---" * (len(settings.models) + 1) + "|",
    ]
    for i, eta in enumerate(settings.etas):
        cells = [
            "undefined" if signed[m][i] is None else f"{signed[m][i]:+.1e} ± {bounds[m][i]:.0e}"
            for m in settings.models
        ]
        lines.append(f"| {eta} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "SGD paths that visit eta lambda_max >= 1 (where HA-SME is undefined): "
        + ", ".join(
            f"{100 * f:.0f}% at eta = {e}" for e, f in zip(settings.etas, run.outside, strict=True)
        ),
        "",
        "![neural-network weak errors](neural.png)",
        "",
    ]
    return lines


def _generator(out: Path, small: bool) -> list[str]:
    from symsme.report.generator_orders import ORDERS, measure, settings, slope_cell
    from symsme.verify import weak_order

    lines = [
        "## 8. Beyond the Gaussian cap: SGD's modified generator",
        "",
        "ME-K is a Gaussian SDE and stalls at the cap of its setting (4, 3, 2); genK, the eta^K",
        "truncation of SGD's modified generator (Kramers-Moyal coefficients A_1..A_{K+1}),",
        "does not (`derivations/1d-generator-weak-orders.md`).  f = x^2/2 + log cosh(x - 1),",
        "phi = cos, x0 = 1, T = 1, deterministic weak errors.",
        "",
    ]
    if small:
        etas = [Fraction(1, 16), Fraction(1, 32), Fraction(1, 64)]
        names = ["me4", "gen2", "gen3", "gen4"]
        lines += [
            "Local slopes between eta = 1/32 and 1/64:",
            "",
            "| setting | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for title, problem, _, _ in settings():
            r = weak_order(problem, "cos(x)", 1, 1, etas, names, tol=1e-11)
            slopes = r.local_slopes()
            cells = ["-" if slopes[n][-1] is None else f"{slopes[n][-1]:.2f}" for n in names]
            lines.append(f"| {title.split(':')[0]} | " + " | ".join(cells) + " |")
        return [*lines, ""]
    lines += [
        "Fitted weak orders over the step sizes where the local slopes have settled:",
        "",
        "| setting | cap | K | ME-K | genK |",
        "|---|---|---|---|---|",
    ]
    for title, cap, _, result in measure():
        for k in ORDERS:
            cells = [slope_cell(result, f"me{k}"), slope_cell(result, f"gen{k}")]
            lines.append(f"| {title.split(':')[0]} | {cap} | {k} | " + " | ".join(cells) + " |")
    return [*lines, ""]


SECTIONS: list[tuple[str, Callable[[Path, bool], list[str]]]] = [
    ("derivation", _derivation),
    ("exact laws", _quadratic),
    ("weak errors", _weak),
    ("Gaussian cap", _cap),
    ("escape", _escape),
    ("HA-ME-K", _hame),
    ("neural network", _neural),
    ("modified generator", _generator),
]


def write_report(
    folder: str | os.PathLike[str],
    *,
    small: bool = False,
    force: bool = False,
    progress: bool | None = None,
) -> Path:
    """Write the report into ``folder`` (``report.md`` and PNG figures); return its path.

    Raises
    ------
    SymsmeError
        ``folder`` is a file, or a non-empty folder without ``force``; or its parent does not
        exist.  Errors of the computations propagate; nothing is left behind then.
    """
    target = Path(folder)
    if not str(folder).strip():
        raise SymsmeError("name the folder to write the report into")
    if target.exists() and not target.is_dir():
        raise SymsmeError(f"{str(target)[:80]!r} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise SymsmeError(f"{str(target)[:80]!r} is not empty; pass --force to replace it")
    if target.resolve() == Path.cwd().resolve() or target.resolve() == target.resolve().parent:
        raise SymsmeError(
            "the report folder cannot be the current folder or a root; name a new one"
        )
    parent = target.resolve().parent
    if not parent.is_dir():
        raise SymsmeError(f"the folder {str(parent)[:80]!r} does not exist")
    work = Path(tempfile.mkdtemp(prefix=".symsme-report-", dir=parent))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(work, 0o777 & ~mask)  # an ordinary folder once in place
        lines = [
            "# symsme report" + (" (small)" if small else ""),
            "",
            "Generated by `symsme report`: a compact run of the derivations, checks and "
            "experiments (symsme/DESIGN.md).",
            "",
        ]
        bar = progress_bar(progress, len(SECTIONS), "report", "section")
        try:
            for _, section in SECTIONS:
                lines += section(work, small)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        (work / "report.md").write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
        old = None
        try:
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=".symsme-old-", dir=parent))
                os.replace(target, old / "previous")
            os.replace(work, target)
        except OSError as exc:
            if old is not None and (old / "previous").exists() and not target.exists():
                os.replace(old / "previous", target)  # put the old report back
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            raise SymsmeError(
                f"cannot move the report into {str(target)[:80]!r}: {exc.strerror}"
            ) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target / "report.md"
