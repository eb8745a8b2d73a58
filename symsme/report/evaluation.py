r"""The output of ``symsme evaluate``: a model's drift and diffusion at a point, as text or JSON.

JSON (a contract): ``{"model", "eta", "at", "drift", "diffusion"}`` with floats, plus
``"order"`` for ``me`` and ``genK`` (then also ``"kramers_moyal"``: the values of
:math:`A_1, \dots, A_{K+1}`, :math:`A_1` the drift and :math:`A_2` the diffusion) and, with
mpmath, ``"precision"``, ``"drift_digits"`` and ``"diffusion_digits"`` (and
``"kramers_moyal_digits"``: decimal strings with that many significant digits).  The JSON is
strict: a number that float64 cannot hold (an mpmath result beyond its range, or a step size
such as ``1e-400``) is written as a decimal string with 17 significant digits instead of
``Infinity`` or ``0.0``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

__all__ = ["number", "render_evaluation"]


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
    kramers_moyal: Sequence[Any] | None = None,
) -> str:
    """Text or JSON (``fmt``) of one evaluation (see the module docstring)."""
    out: dict[str, Any] = {
        "model": model,
        "eta": number(eta),
        "at": [number(p) for p in point],
        "drift": [number(v) for v in np.ravel(drift)],
        "diffusion": [[number(v) for v in row] for row in np.asarray(diffusion)],
    }
    if order is not None:
        out["order"] = order
    if precision is not None:
        out["precision"] = precision
        out["drift_digits"] = [mpmath.nstr(v, precision) for v in np.ravel(drift)]
        out["diffusion_digits"] = [
            [mpmath.nstr(v, precision) for v in row] for row in np.asarray(diffusion)
        ]
    if kramers_moyal is not None:
        out["kramers_moyal"] = [number(v) for v in kramers_moyal]
        if precision is not None:
            out["kramers_moyal_digits"] = [mpmath.nstr(v, precision) for v in kramers_moyal]
    if fmt == "json":
        return json.dumps(out, indent=2, allow_nan=False) + "\n"
    if kramers_moyal is not None:
        shown = out.get("kramers_moyal_digits", [repr(v) for v in out["kramers_moyal"]])
        return (
            f"model {model}, eta = {eta_text}, at x = ({', '.join(point_text)})\n"
            "L = sum_n eta^(n-1)/n! A_n d^n (SGD's modified generator, truncated) with\n"
            + "".join(f"A_{n} = {v}\n" for n, v in enumerate(shown, start=1))
        )
    lines = [
        f"model {model}, eta = {eta_text}, at x = ({', '.join(point_text)})",
        "dX = b dt + (eta D)^(1/2) dW with",
        "b = " + ", ".join(out.get("drift_digits", [repr(v) for v in out["drift"]])),
        "D = ",
    ]
    rows = out.get("diffusion_digits", [[repr(v) for v in r] for r in out["diffusion"]])
    lines += ["    [" + ", ".join(r) + "]" for r in rows]
    return "\n".join(lines) + "\n"


def number(value: Any) -> float | str:
    """A float when float64 holds the value (to its precision), else a decimal string."""
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if math.isfinite(as_float) and (as_float != 0 or value == 0):
        return as_float
    if math.isnan(as_float) or (isinstance(value, float) and math.isinf(value)):
        from symsme.errors import NonFiniteError

        raise NonFiniteError("a result is not finite (NaN or infinity): nothing is printed")
    if isinstance(value, Fraction):
        with mpmath.workdps(20):
            return mpmath.nstr(mpmath.mpf(value.numerator) / value.denominator, 17)
    return mpmath.nstr(mpmath.mpf(value), 17)
