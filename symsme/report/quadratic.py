"""The output of ``symsme quadratic``: exact laws of SGD and of each model on a quadratic.

JSON (a contract): ``{"t": K*eta, "sgd": {"mean": [...], "cov": [[...]]}, "models": {name:
{"mean": ..., "cov": ...}, ...}}``, plus ``"steps"`` and ``"eta"``; with mpmath also
``"precision"``.  Numbers are floats (a value float64 cannot hold is a decimal string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from symsme.report.evaluation import number

__all__ = ["render_quadratic"]


def _law(mean: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    return {
        "mean": [number(v) for v in np.ravel(mean)],
        "cov": [[number(v) for v in row] for row in np.asarray(cov)],
    }


def render_quadratic(
    *,
    t: Any,
    eta: Any,
    steps: int,
    sgd: tuple[np.ndarray, np.ndarray],
    models: Mapping[str, tuple[np.ndarray, np.ndarray]],
    precision: int | None,
    fmt: str,
) -> str:
    """Text or JSON (``fmt``) of the laws (see the module docstring)."""
    out: dict[str, Any] = {
        "t": number(t),
        "eta": number(eta),
        "steps": steps,
        "sgd": _law(*sgd),
        "models": {name: _law(*law) for name, law in models.items()},
    }
    if precision is not None:
        out["precision"] = precision
    if fmt == "json":
        return json.dumps(out, indent=2, allow_nan=False) + "\n"
    lines = [f"exact laws after {steps} steps of SGD (t = {out['t']}), f = x^T H x / 2"]
    for name, law in [("sgd", out["sgd"]), *out["models"].items()]:
        lines.append(f"{name:>8}: mean {law['mean']}")
        lines.append(f"{'':>8}  cov  {law['cov']}")
    return "\n".join(lines) + "\n"


def plot_quadratic(
    hessian: Any,
    sigma: Any,
    eta: Any,
    x0: Any,
    steps: int,
    models: list[str],
    path: Any,
    *,
    psd: str = "raise",
) -> Any:
    """Exact laws over time: SGD's mean (first coordinate) and trace of the covariance at
    every step (markers, at most 60 shown) against each model's OU law (lines), float64.
    Written atomically to ``path``."""
    from symsme.exact.quadratic import ou_law, sgd_law
    from symsme.report.plots import check_plot_path, pyplot, save_figure

    check_plot_path(path)
    plt = pyplot()
    eta_f = float(eta)
    shown = np.unique(np.linspace(0, steps, min(steps, 60) + 1).round().astype(int))
    sgd = [sgd_law(hessian, sigma, eta, x0, 0)]
    for before, k in zip(shown[:-1], shown[1:], strict=True):  # each from the previous one
        mean, cov = sgd[-1]
        sgd.append(sgd_law(hessian, sigma, eta, mean, int(k - before), cov0=cov))
    times = np.linspace(0.0, steps * eta_f, 200)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    try:
        left.plot(shown * eta_f, [m[0] for m, _ in sgd], "ko", ms=3, label="SGD (exact)")
        right.plot(shown * eta_f, [np.trace(c) for _, c in sgd], "ko", ms=3, label="SGD (exact)")
        for name in models:
            laws = [ou_law(name, hessian, sigma, eta, x0, t, psd=psd) for t in times]  # type: ignore[arg-type]
            left.plot(times, [m[0] for m, _ in laws], "-", label=name)
            right.plot(times, [np.trace(c) for _, c in laws], "-", label=name)
        left.set_xlabel("t = k eta")
        left.set_ylabel("mean of x_1")
        right.set_xlabel("t = k eta")
        right.set_ylabel("trace of the covariance")
        for ax in (left, right):
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"exact laws on the quadratic, eta = {eta_f:g}")
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path)
