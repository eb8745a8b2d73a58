r"""The derive stage: stochastic backward error analysis, exactly.

Front door: :func:`modified_equation` (a scheme's one-step moments matched order by order to an
ansatz's, over a term algebra), then :func:`identify_hessian_aware` (the Hessian-aware
selection and its closed form).  Plug-ins: :mod:`symsme.derive.schemes` (SGD),
:mod:`symsme.derive.ansatz` (the Gaussian SDE); results are cached on disk
(:mod:`symsme.derive.cache`).
"""

from __future__ import annotations

from symsme.derive.cache import clear_cache
from symsme.derive.hessian_aware import HessianAware, HessianAwareD, identify_hessian_aware
from symsme.derive.matching import Mismatch, ModifiedEquation, modified_equation

__all__ = [
    "HessianAware",
    "HessianAwareD",
    "Mismatch",
    "ModifiedEquation",
    "clear_cache",
    "identify_hessian_aware",
    "modified_equation",
]
