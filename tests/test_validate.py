"""The shared argument checks (symsme.validate): one behaviour for every entry point."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from symsme.errors import DimensionError, MomentsError, OrderError, StepSizeError, SymsmeError
from symsme.validate import (
    check_choice,
    check_dim,
    check_integer,
    check_moments,
    check_order,
    check_step_size,
    format_number,
)


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.int32(3)])
def test_numpy_integers_are_integers(value):
    assert check_integer(value, "n", 0) == 3 and type(check_integer(value, "n")) is int
    assert check_order(value) == 3 and check_moments(value) == 3


@pytest.mark.parametrize("value", [True, 3.0, "3", None, Fraction(3), np.float64(3)])
def test_non_integers_are_refused(value):
    with pytest.raises(OrderError, match="order must be an integer"):
        check_order(value)


def test_bounds_and_error_types():
    with pytest.raises(OrderError, match=">= 0, got -1"):
        check_order(-1)
    with pytest.raises(MomentsError):
        check_moments(0)
    assert check_moments(None) is None
    with pytest.raises(SymsmeError, match="steps"):
        check_integer(-2, "steps", 0)


@pytest.mark.parametrize(("dim", "want"), [(1, 1), (2, "d"), (np.int64(7), "d"), ("d", "d")])
def test_dimensions(dim, want):
    assert check_dim(dim) == want


@pytest.mark.parametrize("dim", [0, -1, True, "2", 1.0, None])
def test_bad_dimensions(dim):
    with pytest.raises(DimensionError):
        check_dim(dim)


def test_step_sizes_stay_exact():
    assert sp.Rational(check_step_size(0.1)) == sp.Rational(0.1)  # the binary value, no rounding
    assert check_step_size(Fraction(1, 10)) == sp.Rational(1, 10)
    assert sp.Rational(check_step_size(np.float32(0.5))) == sp.Rational(1, 2)
    for bad in (0, -1, float("nan"), float("inf"), "0.1", True, None, 1j):
        with pytest.raises(StepSizeError, match="eta"):
            check_step_size(bad)


def test_choices_and_formatting():
    assert check_choice("clip", ("raise", "clip"), "psd mode") == "clip"
    with pytest.raises(SymsmeError, match="unknown psd mode 'x' \\(known: raise, clip\\)"):
        check_choice("x", ("raise", "clip"), "psd mode")
    assert format_number(sp.Rational(3, 10)) == "3/10" and format_number(0.5) == "0.5"
