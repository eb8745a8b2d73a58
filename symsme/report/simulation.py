"""The output of ``symsme simulate``: Monte Carlo statistics at :math:`t = K\\eta`.

JSON (a contract): ``{"mean": [...], "cov": [[...]], "stderr_mean": [...], "paths": N}``, plus
``"model"``, ``"steps"`` and ``"t"``.
"""

from __future__ import annotations

import json
from typing import Any

from symsme.report.evaluation import number

__all__ = ["render_simulation"]


def render_simulation(result: Any, *, model: str, fmt: str) -> str:
    """Text or JSON (``fmt``) of a :class:`symsme.simulate.Simulation`."""
    out: dict[str, Any] = {
        "mean": [number(v) for v in result.mean],
        "cov": [[number(v) for v in row] for row in result.cov],
        "stderr_mean": [number(v) for v in result.stderr_mean],
        "paths": result.paths,
        "model": model,
        "steps": result.steps,
        "t": number(result.t),
    }
    if fmt == "json":
        return json.dumps(out, indent=2, allow_nan=False) + "\n"
    lines = [
        f"{model}: {result.paths} paths, {result.steps} steps (t = {out['t']})",
        f"mean   {out['mean']}",
        f"stderr {out['stderr_mean']}",
        f"cov    {out['cov']}",
    ]
    return "\n".join(lines) + "\n"
