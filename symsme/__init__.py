"""symsme: stochastic modified equations of SGD, derived by exact computer algebra."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

__all__ = [
    "__version__",
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
