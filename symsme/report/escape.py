"""The output of ``symsme escape``: mean exit times of SGD and of each model.

JSON (a contract): ``{"sgd": {"mean_exit_time": t, "stderr": s, "method": m}, "models": {name:
{"mfpt": t1, "mfpt_corrected": t2}}}`` in SGD's units (steps x eta); ``stderr`` is the error
bound of a deterministic method.  Also ``"error_bounds"`` per model, ``"paths"`` (Monte Carlo)
and ``"undefined"`` (``"<model> mfpt"`` -> reason) where a model has no number (``null``).
"""

from __future__ import annotations

import json
from typing import Any

from symsme.report.evaluation import number
from symsme.verify import Escape

__all__ = ["render_escape"]


def render_escape(result: Escape, *, fmt: str) -> str:
    """Text or JSON (``fmt``) of a :class:`~symsme.verify.Escape`."""
    data: dict[str, Any] = {
        "sgd": {
            "mean_exit_time": number(result.sgd.value),
            "stderr": number(result.sgd.error_bound),
            "method": result.sgd.method,
        },
        "models": {
            name: {key: None if t is None else number(t.value) for key, t in times.items()}
            for name, times in result.models.items()
        },
        "error_bounds": {
            name: {key: None if t is None else number(t.error_bound) for key, t in times.items()}
            for name, times in result.models.items()
        },
        "paths": result.paths,
        "undefined": dict(result.undefined),
    }
    if fmt == "json":
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    sgd = data["sgd"]
    lines = [
        f"mean exit time (steps x eta): SGD {sgd['mean_exit_time']:.6g} "
        f"(+- {sgd['stderr']:.2g}, {sgd['method']})",
        "",
        f"{'model':10s} {'mfpt':>14s} {'corrected':>14s}   (Broadie-Glasserman-Kou shift)",
    ]
    for name, times in data["models"].items():
        cells = [f"{'undefined':>14s}" if v is None else f"{v:14.6g}" for v in times.values()]
        lines.append(f"{name:10s} " + " ".join(cells))
    for what, reason in data["undefined"].items():
        lines.append(f"{what}: {reason}")
    return "\n".join(lines) + "\n"
