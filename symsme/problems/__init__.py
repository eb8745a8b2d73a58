r"""Problems: objectives and noise models, symbolic and as numeric jets.

:class:`Problem` (a loss with :math:`\Sigma(x)`, a finite sum with minibatch noise, or a
quadratic; a two-layer network in :mod:`symsme.problems.networks`) holds :math:`f`,
:math:`\Sigma` and their derivative tensors exactly
(:mod:`symsme.problems.problem`); :meth:`Problem.jets` evaluates them at batches of points
(:mod:`symsme.problems.jets`).
"""

from __future__ import annotations

from symsme.problems.jets import Jets
from symsme.problems.networks import network_variables, two_layer_tanh
from symsme.problems.problem import Problem

__all__ = ["Jets", "Problem", "network_variables", "two_layer_tanh"]
