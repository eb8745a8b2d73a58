"""The numeric stage: backend objects (numpy float64, mpmath at a precision), the stable
:math:`\\psi` of HA-SME, the PSD policy for diffusions, and
:func:`symsme.numeric.lambdify.lambdify_1d` for 1-D jet expressions."""
