"""Shared test configuration: a hypothesis profile for slow symbolic work, an isolated cache."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile(
    "symsme",
    deadline=None,  # symbolic work is slow and uneven
    max_examples=25,
    derandomize=True,  # the suite (and CI) sees the same examples on every machine
    suppress_health_check=[HealthCheck.too_slow],
)
# HYPOTHESIS_PROFILE=explore searches new random examples (for development, not CI).
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "symsme"))

# Never read a developer's cache from tests: every run starts from an empty cache folder.
os.environ["SYMSME_CACHE_DIR"] = tempfile.mkdtemp(prefix="symsme-test-cache-")
