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
