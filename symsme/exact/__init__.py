"""The exact stage: exact laws of SGD and of its SDE models (quadratic objectives:
:mod:`symsme.exact.quadratic`)."""
