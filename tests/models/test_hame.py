"""HA-ME-K (symsme.models.hame): exact in law on random quadratics (it is HA-SME there), agrees
with ME-K through eta^K (the difference scales as eta^(K+1)), reaches ME-K's weak order
(deterministic weak errors), and is named everywhere models are."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symsme.cli import main
from symsme.errors import HessianConditionError, OrderError
from symsme.exact.quadratic import ou_law, sgd_law
from symsme.models import get_model, sde_model
from symsme.problems import Problem
from symsme.testing import quadratics
from symsme.verify import weak_order


@settings(deadline=None, max_examples=20)
@given(quadratics(dim=(1, 3), definite=False), st.integers(1, 30), st.sampled_from([1, 2, 3]))
def test_exact_on_random_quadratics(q, steps: int, order: int) -> None:
    mean_sgd, cov_sgd = sgd_law(q.hessian, q.sigma, q.eta, q.x0, steps)
    mean, cov = ou_law(
        f"ha-me{order}", q.hessian, q.sigma, q.eta, q.x0, steps * q.eta, psd="ignore"
    )
    np.testing.assert_allclose(mean, mean_sgd, rtol=1e-10, atol=1e-12 * np.abs(q.x0).max())
    np.testing.assert_allclose(cov, cov_sgd, rtol=1e-10, atol=1e-12 * np.abs(cov_sgd).max())


@pytest.mark.parametrize("order", [1, 2, 3])
def test_agrees_with_me_k_through_eta_k(order: int) -> None:
    p = Problem("x1**4/4 + x2**2/2 + x1*x2/4 + log(cosh(x2))", "x1 x2",
                "[[1 + x1**2/2, x2/10], [x2/10, 1]]")  # fmt: skip
    points = np.array([[0.3, -0.2], [0.1, 0.5], [-0.4, 0.2]])
    gaps = []
    for eta in (0.02, 0.01):
        a = sde_model(p, f"ha-me{order}", eta).drift_diffusion(points)
        b = sde_model(p, f"me{order}", eta).drift_diffusion(points)
        gaps.append([np.abs(a[0] - b[0]).max(), np.abs(a[1] - b[1]).max()])
    for before, after in zip(gaps[0], gaps[1], strict=True):
        assert np.log2(before / after) == pytest.approx(order + 1, abs=0.2)


def test_weak_order_three_for_ha_me2():
    p = Problem("x**2/2 + log(cosh(x))", "x", "1")
    etas = [Fraction(1, 2**k) for k in (4, 5, 6, 7)]
    r = weak_order(p, "cos(x)", 1.0, 1, etas, ["ha-me2"], tol=3e-12)
    assert [s for s in r.local_slopes()["ha-me2"] if s is not None][-1] == pytest.approx(3, abs=0.1)


def test_names_conditions_and_cli(capsys):
    assert get_model("HA-ME3").order == 3 and get_model("ha-me", order=2).order == 2
    with pytest.raises(OrderError):
        get_model("ha-me2", order=3)
    p = Problem("x**2", "x", "1")
    with pytest.raises(HessianConditionError, match="eta\\*lambda_max"):
        sde_model(p, "ha-me2", 0.5).drift(np.array([[0.1]]))
    status = main(["evaluate", "--loss", "x1**4/4 + x2**2", "--vars", "x1,x2", "--sigma",
                   "[[1, 0], [0, 1]]", "--model", "ha-me", "--order", "2", "--eta", "0.05",
                   "--at", "0.1,0.2", "--format", "json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    data = json.loads(out)
    assert len(data["drift"]) == 2
