"""The exact stage: exact laws of SGD and of its SDE models (quadratic objectives:
:mod:`symsme.exact.quadratic`), deterministic 1-D expectations of SGD and of each model
(:mod:`symsme.exact.backward`) and of SGD's truncated modified generator
(:mod:`symsme.exact.generator`), and exit times (:mod:`symsme.exact.escape`)."""
