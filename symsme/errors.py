"""Exception types raised by symsme.

Every error a user can cause is a :class:`SymsmeError`; the command line turns it into one
line on stderr and exit status 2.  Each subclass names the offending value in its message.
"""

from __future__ import annotations

__all__ = [
    "SymsmeError",
    "OrderError",
    "NoiseModelError",
    "MomentsError",
    "ExpressionError",
    "StepSizeError",
    "HessianConditionError",
    "NotPositiveSemidefiniteError",
    "ShapeError",
    "NonFiniteError",
    "DimensionError",
    "CacheSettingError",
    "LimitError",
    "DivergenceError",
    "UnstableSchemeError",
]


class SymsmeError(ValueError):
    """Base class of all errors caused by bad input to symsme."""


class OrderError(SymsmeError):
    """An expansion order that is negative or not an integer."""


class NoiseModelError(SymsmeError):
    """A noise model that symsme does not know (known: ``gaussian``, ``general``)."""


class MomentsError(SymsmeError):
    """A number of moments for the mismatch report that is not an integer >= 1."""


class ExpressionError(SymsmeError):
    """A loss, noise or matrix expression that cannot be parsed or has the wrong variables."""


class StepSizeError(SymsmeError):
    """A learning rate eta that is not a finite number > 0."""


class HessianConditionError(SymsmeError):
    r"""The HA-SME closed form is undefined: :math:`\eta\,\lambda_{\max}(\nabla^2 f) \ge 1`.

    :math:`\psi(M)` with :math:`M = I - \eta\nabla^2 f` needs SGD's one-step multiplier to be
    positive definite.  The message names the point and :math:`\eta\lambda_{\max}`.
    """


class NotPositiveSemidefiniteError(SymsmeError):
    """A diffusion (or noise covariance) that is not positive semidefinite.

    The message names the most negative eigenvalue.
    """


class ShapeError(SymsmeError):
    """Arrays, points or matrices of inconsistent sizes (e.g. Sigma not d x d)."""


class NonFiniteError(SymsmeError):
    """A NaN or infinite value where a finite number is required."""


class DimensionError(SymsmeError):
    """A dimension that is neither 1, an integer >= 2, nor ``"d"`` (coordinate-free)."""


class CacheSettingError(SymsmeError):
    """An environment setting of the cache (``SYMSME_CACHE``) that symsme does not know."""


class LimitError(SymsmeError):
    """A request beyond a documented limit on work (order, moments, precision, exponents);
    the message names the limit and how to lift it where that is possible."""


class DivergenceError(SymsmeError):
    """A simulated path left every finite number (SGD or an SDE diverged); the message names
    the step and how many paths."""


class UnstableSchemeError(SymsmeError):
    """A time step at which an explicit integrator is unstable (the drift is too stiff); the
    message says how many substeps are needed."""


class AccuracyError(SymsmeError):
    """A requested accuracy that a deterministic computation could not reach within its limits;
    the message names the bound that was reached."""
