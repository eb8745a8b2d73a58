r"""The output of ``symsme weak-order``: weak errors, bounds and fitted orders, and their plot.

JSON (a contract): ``{"etas": [...], "errors": {model: [...]}, "slopes": {model: s},
"method": "deterministic" | "monte-carlo", "error_bounds": {model: [...]}}``, plus
``"signed_errors"`` (:math:`\mathbb{E}\varphi(X_T) - \mathbb{E}\varphi(x_K)`), ``"local_slopes"``
(between neighbouring step sizes), ``"resolved"``, ``"sgd"`` (SGD's expectations and their
bounds), ``"T"`` and ``"undefined"`` (model -> {eta: reason}) for step sizes at which a model is
not defined, ``"not_reached"`` likewise where its expectation did not reach the tolerance,
``"psd_clipped"`` (model -> {eta: {"points", "clipped", "worst"}}) with ``--psd clip``.
An undefined or unresolved value is ``null``, never NaN.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from symsme.report.evaluation import number
from symsme.report.plots import check_plot_path, pyplot, save_figure
from symsme.verify import WeakOrder

__all__ = ["check_plot_path", "plot_weak_order", "render_weak_order"]  # check_plot_path: re-export


def _maybe(value: float | None) -> Any:
    return None if value is None else number(value)


def weak_order_data(result: WeakOrder) -> dict[str, Any]:
    """The JSON-ready dictionary of the contract."""
    slopes = result.slopes()
    undefined = {
        name: {repr(result.etas[i]): reason for i, reason in sorted(reasons.items())}
        for name, reasons in result.undefined.items()
    }
    return {
        "etas": [number(e) for e in result.etas],
        "T": number(result.time),
        "method": result.method,
        "errors": {m: [_maybe(e) for e in row] for m, row in result.errors().items()},
        "slopes": {m: _maybe(s) for m, s in slopes.items()},
        "error_bounds": {m: [_maybe(b) for b in row] for m, row in result.error_bounds().items()},
        "signed_errors": {m: [_maybe(e) for e in row] for m, row in result.signed_errors().items()},
        "local_slopes": {m: [_maybe(s) for s in row] for m, row in result.local_slopes().items()},
        "resolved": result.resolved(),
        "sgd": {
            "values": [number(s.value) for s in result.sgd],
            "error_bounds": [number(s.error_bound) for s in result.sgd],
            "paths": [s.paths for s in result.sgd] if result.method == "monte-carlo" else None,
        },
        "undefined": undefined,
        "not_reached": {
            name: {repr(result.etas[i]): reason for i, reason in sorted(reasons.items())}
            for name, reasons in result.not_reached.items()
        },
        "psd_clipped": {
            name: {
                repr(result.etas[i]): {
                    "points": t.points,
                    "clipped": t.clipped,
                    "worst": number(t.worst),
                }
                for i, t in sorted(tallies.items())
            }
            for name, tallies in result.psd_clipped.items()
        },
    }


def render_weak_order(result: WeakOrder, *, fmt: str) -> str:
    """Text or JSON (``fmt``) of a :class:`~symsme.verify.WeakOrder`."""
    data = weak_order_data(result)
    if fmt == "json":
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    lines = [
        f"weak errors |E phi(X_T) - E phi(x_K)| at T = {data['T']} ({result.method}; "
        "an error counts when it exceeds twice its bound)",
        "",
        "eta          " + "".join(f"{m:>12s}" for m in result.models),
    ]
    errors = result.errors()
    resolved = result.resolved()
    for i, eta in enumerate(result.etas):
        cells = []
        for m in result.models:
            e = errors[m][i]
            cells.append(
                f"{'undefined' if i in result.undefined.get(m, {}) else 'n/a':>12s}"
                if e is None
                else f"{e:12.3e}"
                if resolved[m][i]
                else f"{'<' + format(e, '.1e'):>12s}"
            )
        lines.append(f"{eta:<13.6g}" + "".join(cells))
    slopes = result.slopes()
    lines.append(
        "slope        "
        + "".join(f"{'-' if s is None else format(s, '.2f'):>12s}" for s in slopes.values())
    )
    local = result.local_slopes()
    lines.append("")
    lines.append("local slopes between neighbouring step sizes:")
    for m, row in local.items():
        lines.append(f"  {m:8s} " + " ".join("-" if s is None else f"{s:.2f}" for s in row))
    for m, reasons in data["undefined"].items():
        for eta, reason in reasons.items():
            lines.append(f"{m} undefined at eta = {eta}: {reason}")
    for m, reasons in data["not_reached"].items():
        for eta, reason in reasons.items():
            lines.append(f"{m} not computed at eta = {eta}: {reason}")
    for m, tallies in data["psd_clipped"].items():
        for eta, t in tallies.items():
            if t["clipped"]:
                lines.append(
                    f"{m} at eta = {eta}: D indefinite and clipped at {t['clipped']} of "
                    f"{t['points']} evaluated points (most negative eigenvalue "
                    f"{t['worst']:.1e} ||D||_F)"
                )
    return "\n".join(lines) + "\n"


def plot_weak_order(result: WeakOrder, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """A log-log plot of the resolved weak errors against eta, fitted slopes in the legend,
    written atomically to ``path`` (the format from its suffix: png, svg or pdf)."""
    check_plot_path(path)
    plt = pyplot()
    errors, resolved, slopes = result.errors(), result.resolved(), result.slopes()
    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    try:
        for name in result.models:
            xs = [eta for eta, ok in zip(result.etas, resolved[name], strict=False) if ok]
            ys = [e for e, ok in zip(errors[name], resolved[name], strict=False) if ok]
            if not xs:
                continue
            slope = slopes[name]
            label = name if slope is None else f"{name} (slope {slope:.2f})"
            ax.loglog(xs, ys, "o-", label=label)
        ax.set_xlabel("eta")
        ax.set_ylabel("|E phi(X_T) - E phi(x_K)|")
        ax.set_title(title or f"weak errors at T = {result.time:g} ({result.method})")
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path)
