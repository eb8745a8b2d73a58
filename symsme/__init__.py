"""symsme: stochastic modified equations of SGD, derived by exact computer algebra.

The pipeline, one front door per stage:

- :func:`modified_equation` derives :math:`b_0..b_K`, :math:`D_0..D_K` by stochastic backward
  error analysis (1-D jets or coordinate-free terms), with the moment mismatch report;
- :func:`identify_hessian_aware` selects the Hessian-aware terms and recovers the HA-SME
  closed form from them;
- :func:`sde_model` evaluates a registered model (SGF, SME-2, ME-K, HA-SME; :data:`MODELS`)
  for a :class:`Problem`, with numpy or mpmath; :func:`lambdify_1d` turns any 1-D coefficient
  into numeric functions;
- :mod:`symsme.exact` gives exact laws (SGD vs each model) on quadratics.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from symsme.derive import (
    Mismatch,
    ModifiedEquation,
    clear_cache,
    identify_hessian_aware,
    modified_equation,
)
from symsme.errors import (
    DimensionError,
    ExpressionError,
    HessianConditionError,
    MomentsError,
    NoiseModelError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    OrderError,
    ShapeError,
    StepSizeError,
    SymsmeError,
)

try:
    __version__ = version("symsme")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"


def __getattr__(name: str):
    # The numeric stage imports numpy/sympy-heavy modules: load it on first use only, so that
    # `symsme derive` starts fast.
    lazy = {
        "Problem": ("symsme.problems", "Problem"),
        "sde_model": ("symsme.models", "sde_model"),
        "get_model": ("symsme.models", "get_model"),
        "MODELS": ("symsme.models", "MODELS"),
        "lambdify_1d": ("symsme.numeric.lambdify", "lambdify_1d"),
        "psi": ("symsme.numeric.psi", "psi"),
        "mp_psi": ("symsme.numeric.psi", "mp_psi"),
        "Psi": ("symsme.numeric.psi", "Psi"),
        "sgd_law": ("symsme.exact.quadratic", "sgd_law"),
        "ou_law": ("symsme.exact.quadratic", "ou_law"),
    }
    if name in lazy:
        import importlib

        module, attr = lazy[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'symsme' has no attribute {name!r}")


__all__ = [
    "__version__",
    "modified_equation",
    "ModifiedEquation",
    "Mismatch",
    "identify_hessian_aware",
    "clear_cache",
    "Problem",
    "sde_model",
    "get_model",
    "MODELS",
    "lambdify_1d",
    "psi",
    "mp_psi",
    "Psi",
    "sgd_law",
    "ou_law",
    "SymsmeError",
    "DimensionError",
    "OrderError",
    "NoiseModelError",
    "MomentsError",
    "ExpressionError",
    "StepSizeError",
    "HessianConditionError",
    "NotPositiveSemidefiniteError",
    "ShapeError",
    "NonFiniteError",
]
