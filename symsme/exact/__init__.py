"""exact stage: exact laws of SGD and of its SDE models (quadratic objectives first)."""
