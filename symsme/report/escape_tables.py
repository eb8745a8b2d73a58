r"""Escape-time tables: SGD's mean exit time against every model's, with and without the
discrete-monitoring correction.

- :func:`render_escape_times` (the committed ``derivations/escape-times.md``, drift-checked):
  the two 1-D cases of the HA-SME paper's escape discussion (Li, Shen, Zhang, He, arXiv
  2405.18373), a quadratic maximum and a double-well basin, all deterministic except SGD's
  Monte Carlo column (fixed seed);
- :func:`render_saddle` (``derivations/escape-saddle.md``, an experiment: ``symsme derivations
  --experiments``): exit from a ball around a 2-D saddle by Monte Carlo, SGD and the models on
  common random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from symsme.problems import Problem
from symsme.simulate.exits import Interval, exit_times
from symsme.verify import escape, escape_ball

__all__ = ["ESCAPE_CASES", "ESCAPE_MODELS", "EscapeCase", "render_escape_times", "render_saddle"]

ESCAPE_MODELS = ("sgf", "sme2", "ha-sme", "me2", "ha-me2", "me3", "ha-me3")
"""The models compared (HA-ME-K beside ME-K, issue 10)."""


@dataclass(frozen=True)
class EscapeCase:
    """One 1-D exit problem."""

    title: str
    loss: str
    sigma: str
    eta: Fraction
    x0: float
    interval: tuple[float, float]
    paths: int
    """Monte Carlo paths for SGD's second estimate."""


ESCAPE_CASES = (
    EscapeCase("A quadratic maximum", "-x**2/2", "1", Fraction(1, 5), 0.0, (-1.0, 1.0), 100000),
    EscapeCase(
        "A double-well basin", "x**4/4 - x**2/2", "1", Fraction(1, 10), -1.0, (-1.8, 0.0), 10000
    ),
)


def _percent(value: float, reference: float) -> str:
    return f"{100 * (value / reference - 1):+.1f}%"


def escape_table(case: EscapeCase, models: tuple[str, ...] = ESCAPE_MODELS) -> list[str]:
    """The Markdown lines of one case: SGD (deterministic and Monte Carlo) and each model."""
    problem = Problem(case.loss, "x", case.sigma)
    result = escape(problem, case.interval, case.x0, case.eta, list(models))
    sample = exit_times(
        "sgd",
        problem,
        case.x0,
        Interval(*case.interval),
        eta=case.eta,
        paths=case.paths,
        seed=0,
    )
    sgd = result.sgd
    a, b = case.interval
    lines = [
        f"## {case.title}",
        "",
        f"f = {case.loss}, Sigma = {case.sigma}, eta = {case.eta}, x0 = {case.x0:g}, "
        f"interval ({a:g}, {b:g}).",
        "",
        f"SGD's mean exit time (steps x eta): {sgd.value:.6g} (error bound {sgd.error_bound:.1g}, "
        f"{sgd.method}); by Monte Carlo {sample.mean:.5g} ± {sample.stderr:.2g} "
        f"({case.paths} paths, seed 0, one standard error).",
        "",
        "| model | mfpt | vs SGD | corrected (BGK) | vs SGD |",
        "|---|---|---|---|---|",
    ]
    reasons = []
    for name, times in result.models.items():
        cells = []
        for key, t in times.items():
            if t is None:
                cells += ["undefined", "-"]
                reason = result.undefined.get(f"{name} {key}", "")
                reasons.append(f"- {name} {key}: {reason.split(';')[0]}")
            else:
                cells += [f"{t.value:.5g}", _percent(t.value, sgd.value)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if reasons:
        lines += ["", "Where a model has no number:", "", *reasons]
    return [*lines, ""]


def render_escape_times() -> str:
    """The document ``derivations/escape-times.md``."""
    out = [
        "# Escape times: SGD against its SDE models (1-D)",
        "",
        "Mean exit times from an interval in SGD's units (steps x eta).  SGD: the expected",
        "number of steps by Nystrom discretisation of its integral equation (with an error",
        "bound), and by Monte Carlo.  Each model: the mean first-passage time by quadrature of",
        "its ODE (error below 1e-7), plain and with the Broadie-Glasserman-Kou shift of each",
        "barrier by 0.5826 eta D^(1/2) for SGD's discrete monitoring (`symsme.exact.escape`;",
        "the same numbers from `symsme escape`).  ME-K is the eta^K truncation of the modified",
        "equation, HA-ME-K HA-SME's closed form plus ME-K's non-Hessian terms.",
        "",
    ]
    for case in ESCAPE_CASES:
        out += escape_table(case)
    return "\n".join(out)


SADDLE: dict[str, Any] = dict(
    loss="x**2/2 - y**2/2 + y**4/4",
    center=(0.0, 0.0),
    radius=0.5,
    eta=Fraction(1, 10),
    paths=100000,
    substeps=10,
    models=("sgf", "sme2", "ha-sme", "me2", "ha-me2"),
)


def render_saddle(settings: dict[str, Any] | None = None) -> str:
    """The document ``derivations/escape-saddle.md`` (Monte Carlo: about 5 minutes)."""
    s = dict(SADDLE, **(settings or {}))
    problem = Problem(s["loss"], "x y", [[1, 0], [0, 1]])
    r = escape_ball(
        problem,
        s["center"],
        s["radius"],
        s["center"],
        s["eta"],
        list(s["models"]),
        paths=s["paths"],
        seed=0,
        substeps=s["substeps"],
    )
    settings_line = "settings: " + "; ".join(f"{k}={v}" for k, v in s.items())
    sgd = r.sgd
    out = [
        "# Escape from a 2-D saddle: SGD against its SDE models",
        "",
        settings_line,
        "",
        f"f = {s['loss']} (a saddle at the origin between two wells at y = ±1), Sigma = I, "
        f"eta = {s['eta']}, start at the saddle; mean exit time (steps x eta) from the ball of "
        f"radius {s['radius']} around it, by Monte Carlo with {s['paths']} paths (seed 0).  SGD "
        "exits at the first step outside; each model (Euler-Maruyama with "
        f"{s['substeps']} substeps per SGD step, the same seed: common random numbers) at the "
        "first substep outside, and, for the comparison with SGD's discrete monitoring, at the "
        "first whole step outside.",
        "",
        f"SGD: {sgd.mean:.4f} ± {sgd.stderr:.1g} (one standard error).",
        "",
        "| model | exit, every substep | vs SGD | exit, whole steps | vs SGD |",
        "|---|---|---|---|---|",
    ]
    for name, sample in r.models.items():
        if sample is None or sample.step_mean is None:
            out.append(f"| {name} | undefined | - | undefined | - |")
        else:
            out.append(
                f"| {name} | {sample.mean:.4f} ± {sample.stderr:.1g} | "
                f"{_percent(sample.mean, sgd.mean)} | {sample.step_mean:.4f} ± "
                f"{sample.step_stderr:.1g} | {_percent(sample.step_mean, sgd.mean)} |"
            )
    for name, reason in r.undefined.items():
        out += ["", f"- {name}: {reason.split(';')[0]}"]
    return "\n".join(out) + "\n"
