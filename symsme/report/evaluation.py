"""The output of ``symsme evaluate``: a model's drift and diffusion at a point, as text or JSON.

JSON (a contract): ``{"model", "eta", "at", "drift", "diffusion"}`` with floats, plus
``"order"`` for ``me`` and, with mpmath, ``"precision"``, ``"drift_digits"`` and
``"diffusion_digits"`` (decimal strings with that many significant digits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np

__all__ = ["render_evaluation"]


def render_evaluation(
    *,
    model: str,
    eta: Any,
    eta_text: str,
    point_text: Sequence[str],
    point: np.ndarray,
    drift: np.ndarray,
    diffusion: np.ndarray,
    order: int | None,
    precision: int | None,
    fmt: str,
) -> str:
    """Text or JSON (``fmt``) of one evaluation (see the module docstring)."""
    out: dict[str, Any] = {
        "model": model,
        "eta": float(eta),
        "at": [float(p) for p in point],
        "drift": [float(v) for v in np.ravel(drift)],
        "diffusion": [[float(v) for v in row] for row in np.asarray(diffusion)],
    }
    if order is not None:
        out["order"] = order
    if precision is not None:
        out["precision"] = precision
        out["drift_digits"] = [mpmath.nstr(v, precision) for v in np.ravel(drift)]
        out["diffusion_digits"] = [
            [mpmath.nstr(v, precision) for v in row] for row in np.asarray(diffusion)
        ]
    if fmt == "json":
        return json.dumps(out, indent=2) + "\n"
    lines = [
        f"model {model}, eta = {eta_text}, at x = ({', '.join(point_text)})",
        "dX = b dt + (eta D)^(1/2) dW with",
        "b = " + ", ".join(out.get("drift_digits", [repr(v) for v in out["drift"]])),
        "D = ",
    ]
    rows = out.get("diffusion_digits", [[repr(v) for v in r] for r in out["diffusion"]])
    lines += ["    [" + ", ".join(r) + "]" for r in rows]
    return "\n".join(lines) + "\n"
