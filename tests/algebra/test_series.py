"""Series that know their basis: mapping behaviour, arithmetic, dispatch, pickling, and the 1-D
jet evaluation against the coordinate-free evaluation of the same derivation at d = 1."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pytest

from symsme.algebra.contractions import CONTRACTIONS, to_jets
from symsme.algebra.jets import JETS, G, S, poly_to_latex, poly_to_str
from symsme.algebra.series import Series
from symsme.derive import modified_equation
from symsme.problems import Problem


def test_series_is_a_read_only_mapping_equal_to_dicts():
    s = Series(JETS, {(G(0), G(1)): Fraction(-1, 2), (S(0),): 0})
    assert s == {(G(0), G(1)): Fraction(-1, 2)}  # zero coefficients are never stored
    assert len(s) == 1 and list(s) == [(G(0), G(1))]
    with pytest.raises(TypeError):
        s[(S(0),)] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(s)


def test_arithmetic_and_selection_keep_the_basis():
    a = Series(JETS, {(G(0),): 1, (S(0),): 2})
    b = a + {(G(0),): -1}
    assert b == {(S(0),): 2} and b.basis is JETS
    assert (a - a) == {} and (-a)[(S(0),)] == -2
    assert a.select(lambda m: S(0) in m) == {(S(0),): 2}


def test_printing_dispatches_on_the_basis():
    me1 = modified_equation(2, cache=False)
    med = modified_equation(2, dim="d", cache=False)
    b1 = me1.drift[1]
    assert b1.text() == poly_to_str(dict(b1)) == "-1/2*g0*g1"
    assert b1.latex() == poly_to_latex(dict(b1)) and b1.to_json() == b1.text()
    assert med.drift[1].text() == "-1/2 H g" and med.drift[1].basis is CONTRACTIONS
    assert isinstance(med.diffusion[1].to_json(), list)
    assert repr(med.drift[1]) == "Series[contractions](-1/2 H g)"


def test_pickling_keeps_the_singleton_basis():
    med = modified_equation(2, dim="d", cache=False)
    again = pickle.loads(pickle.dumps(med))
    assert again.drift[2] == med.drift[2] and again.drift[2].basis is CONTRACTIONS
    me1 = modified_equation(1, cache=False)
    assert pickle.loads(pickle.dumps(me1.diffusion[1])).basis is JETS


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_jet_evaluation_equals_coordinate_free_evaluation_in_1d(k):
    """Two routes to the value of b_k and D_k at points of a 1-D problem: the 1-D engine's jet
    polynomial and the coordinate-free engine's contraction terms, both evaluated on the same
    derivative tensors."""
    me1 = modified_equation(3, cache=False)
    med = modified_equation(3, dim="d", cache=False)
    assert to_jets(med.drift[k]) == dict(me1.drift[k])  # same series at d = 1 ...
    problem = Problem("x**4/4 - x**2/2 + sin(x)/3", "x", "1 + x**2/2")
    points = np.linspace(-1.5, 1.5, 7)[:, None]
    tensors = problem.jets(points, 5, 4).tensors
    for one, many in ((me1.drift[k], med.drift[k]), (me1.diffusion[k], med.diffusion[k])):
        flat = np.asarray(many.evaluate(tensors)).reshape(len(points), -1)[:, 0]
        np.testing.assert_allclose(one.evaluate(tensors), flat, rtol=1e-13, atol=1e-13)


def test_jet_evaluation_is_exact_with_object_arrays():
    from symsme.algebra.jets import gradient_moment

    # E G^2 = g0^2 + s0 at g0 = 1/3, s0 = 1/5, in exact Fractions
    series = Series(JETS, gradient_moment(2))
    tensors = {
        ("f", 1): np.array([[Fraction(1, 3)]], dtype=object),
        ("S", 0): np.array([[[Fraction(1, 5)]]], dtype=object),
    }
    assert series.evaluate(tensors)[0] == Fraction(1, 9) + Fraction(1, 5)
