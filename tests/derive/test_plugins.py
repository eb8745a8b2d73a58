"""Schemes and ansatze are plug-ins: registries, protocol objects, and an identity for a new
scheme that the engine never saw."""

from __future__ import annotations

from fractions import Fraction

import pytest

from symsme.derive import modified_equation
from symsme.derive.ansatz import ANSATZE, get_ansatz
from symsme.derive.schemes import SCHEMES, get_scheme
from symsme.derive.schemes.sgd import SGD
from symsme.errors import SymsmeError


class ScaledSGD:
    r"""SGD with learning rate :math:`c\eta`: :math:`x_1 = x - c\eta G`."""

    def __init__(self, c: Fraction) -> None:
        self.c = c
        self.name = f"sgd-times-{c}"

    def one_step_moments(self, n, algebra, noise):
        moments = SGD().one_step_moments(n, algebra, noise)
        return {p: {k: v * self.c**p for k, v in m.items()} for p, m in moments.items()}


def test_registries():
    assert SCHEMES == ("sgd",) and ANSATZE == ("sde", "generator")
    assert get_scheme("sgd").name == "sgd" and get_ansatz("sde").families_for(5) == (
        ("drift", 1),
        ("diffusion", 2),
    )
    assert get_ansatz("generator").families_for(2) == (("drift", 1), ("diffusion", 2), ("A3", 3))
    assert [get_ansatz("generator").count(2, n) for n in (1, 2, 3)] == [3, 2, 1]
    with pytest.raises(SymsmeError, match="unknown scheme 'adam'"):
        get_scheme("adam")
    with pytest.raises(SymsmeError, match="unknown ansatz"):
        modified_equation(1, ansatz="kramers")


@pytest.mark.parametrize("dim", [1, "d"])
def test_a_new_scheme_plugs_in(dim):
    r"""SGD at step :math:`c\eta` is SGD at step :math:`\eta' = c\eta`, so its modified equation
    in powers of :math:`\eta` is :math:`b_k \to c^{k+1} b_k`, :math:`D_k \to c^{k+2} D_k`
    (:math:`dX = b\,dt + (\eta D)^{1/2} dW` in the time :math:`t = k\eta`)."""
    c = Fraction(3, 2)
    plain = modified_equation(3, dim=dim, cache=False)
    scaled = modified_equation(3, dim=dim, scheme=ScaledSGD(c), cache=True)
    assert scaled.scheme == "sgd-times-3/2"
    for k in range(4):
        assert scaled.drift[k] == {t: c ** (k + 1) * v for t, v in plain.drift[k].items()}
        assert scaled.diffusion[k] == {t: c ** (k + 2) * v for t, v in plain.diffusion[k].items()}
