"""The modified generator (symsme.derive.ansatz.generator) against an independent route, the
logarithm of SGD's transition operator, and the facts of symsme/DESIGN.md ("Beyond the cap").

Independent route (SymPy only, no symsme code): SGD's transition operator on smooth functions
is T h(y) = E h(y - eta G(y)) = h + sum_{p >= 1} ((-eta)^p mu_p(y) / p!) h^(p)(y), with mu_p the
raw moments of G; so T - I is a differential operator with coefficients in the derivatives of
f, Sigma and the cumulants, and eta L = log T = sum_m (-1)^(m+1) (T - I)^m / m is computed by
composing differential operators (Leibniz: a d^p o b d^r = sum_i C(p, i) a b^(i) d^(p+r-i)).
With L = sum_q (eta^(q-1)/q!) A_q d^q, A_q = q! [d^q] log T / eta^q.  (Debussche, Faou 2012.)
"""

from __future__ import annotations

from math import comb, factorial

import pytest
import sympy
from reference_expansion import ETA, SIGMA, F, X, to_jets

from symsme.derive import modified_equation
from symsme.errors import NoiseModelError


def _cumulant(j: int, noise: str) -> sympy.Expr:
    if j == 1:
        return sympy.diff(F(X), X)
    if j == 2:
        return SIGMA(X)
    return sympy.Function(f"kappa{j}")(X) if noise == "general" else sympy.Integer(0)


def _truncate(expr: sympy.Expr, power: int) -> sympy.Expr:
    expr = sympy.expand(expr)
    return sum((expr.coeff(ETA, p) * ETA**p for p in range(power + 1)), sympy.Integer(0))


def _compose(a: dict, b: dict, power: int) -> dict:
    out: dict = {}
    for p, ap in a.items():
        for r, br in b.items():
            for i in range(p + 1):
                term = comb(p, i) * ap * sympy.diff(br, X, i)
                out[p + r - i] = out.get(p + r - i, 0) + term
    return {q: t for q, t in ((q, _truncate(t, power)) for q, t in out.items()) if t != 0}


def log_transition_generator(order: int, noise: str) -> dict[tuple[int, int], sympy.Expr]:
    """A_{q,k} in jet symbols for q + k <= order + 1 (see the module docstring)."""
    power = order + 1
    mu = [sympy.Integer(1)]
    for m in range(1, power + 1):
        mu.append(
            sympy.expand(
                sum(comb(m - 1, j - 1) * _cumulant(j, noise) * mu[m - j] for j in range(1, m + 1))
            )
        )
    step = {p: (-ETA) ** p * mu[p] / factorial(p) for p in range(1, power + 1)}
    log_t: dict = {}
    term = dict(step)
    for m in range(1, power + 1):
        for q, t in term.items():
            log_t[q] = log_t.get(q, 0) + sympy.Rational((-1) ** (m + 1), m) * t
        term = _compose(term, step, power)
    out = {}
    for q in range(1, order + 2):
        coefficient = sympy.expand(factorial(q) * log_t.get(q, 0))
        for k in range(order + 2 - q):
            out[(q, k)] = sympy.expand(to_jets(coefficient.coeff(ETA, q + k)))
    return out


@pytest.mark.parametrize(("order", "noise"), [(3, "general"), (4, "gaussian")])
def test_generator_equals_the_log_of_the_transition_operator(order, noise):
    me = modified_equation(order, ansatz="generator", noise=noise, cache=False, progress=False)
    reference = log_transition_generator(order, noise)
    assert len(me.kramers_moyal) == order + 1
    for q, family in enumerate(me.kramers_moyal, start=1):
        assert len(family) == order + 2 - q  # the terms of L up to eta^K
        for k, a in enumerate(family):
            engine = sympy.expand(sympy.sympify(a.to_json()))
            assert engine == reference[(q, k)], (q, k)


def test_leading_coefficients():
    """A_{3,0} = -k3 (sign and scale: the third moment is -eta^3 E G^3), A_{4,0} = k4, and the
    Gaussian part of A_{3,1} is -(3/2) Sigma Sigma' (the defect behind the cap at 3)."""
    me = modified_equation(3, ansatz="generator", noise="general", cache=False, progress=False)
    a3, a4 = me.kramers_moyal[2], me.kramers_moyal[3]
    assert sympy.sympify(a3[0].to_json()) == -sympy.Symbol("k3_0")
    assert sympy.sympify(a4[0].to_json()) == sympy.Symbol("k4_0")
    gaussian = sympy.sympify(a3[1].to_json()).subs(
        {sympy.Symbol(n): 0 for n in ("k3_0", "k3_1", "k3_2")}
    )
    s0, s1 = sympy.symbols("s0 s1")
    assert sympy.expand(gaussian) == -sympy.Rational(3, 2) * s0 * s1


def test_quadratic_with_constant_gaussian_noise_has_no_higher_coefficients():
    """f''' = 0 and Sigma constant: SGD's step is Gaussian and exp(eta L) with A_1, A_2 alone
    reproduces it (HA-SME is exact there), so every A_n, n >= 3, vanishes."""
    me = modified_equation(4, ansatz="generator", sigma="constant", cache=False, progress=False)
    zero = {sympy.Symbol(f"g{k}"): 0 for k in range(2, 12)}
    for family in me.kramers_moyal[2:]:
        for a in family:
            assert sympy.sympify(a.to_json()).subs(zero) == 0


def test_drift_and_diffusion_agree_with_the_sde_where_higher_coefficients_cannot_reach():
    """A_{3,0} first enters the first and second moments at eta^4, so b_0..b_2 and D_0, D_1
    are the SDE's; the differences at b_3 and D_2 are exactly A_{3,0}'s contribution (zero
    for Gaussian noise), and with Gaussian state-dependent noise D_3 differs by A_{3,1}'s."""
    gen = modified_equation(3, ansatz="generator", noise="general", cache=False, progress=False)
    sde = modified_equation(3, noise="general", cache=False, progress=False)
    for k in range(3):
        assert gen.drift[k].to_json() == sde.drift[k].to_json()
    for k in range(2):
        assert gen.diffusion[k].to_json() == sde.diffusion[k].to_json()
    g2, g3, k30 = sympy.symbols("g2 g3 k3_0")
    b3 = sympy.sympify(gen.drift[3].to_json()) - sympy.sympify(sde.drift[3].to_json())
    d2 = sympy.sympify(gen.diffusion[2].to_json()) - sympy.sympify(sde.diffusion[2].to_json())
    # L_2 holds A_{3,0} d^3 / 6; (eta^2/2)(L_0 L_2 + L_2 L_0) z at z = 0 gives A_{3,0} f'''' / 12
    assert sympy.expand(b3) == -g3 * k30 / 12
    assert sympy.expand(d2) == -g2 * k30 / 2
    gauss_gen = modified_equation(4, ansatz="generator", cache=False, progress=False)
    gauss_sde = modified_equation(3, cache=False, progress=False)
    assert [b.to_json() for b in gauss_gen.drift[:4]] == [b.to_json() for b in gauss_sde.drift]
    d3 = sympy.sympify(gauss_gen.diffusion[3].to_json()) - sympy.sympify(
        gauss_sde.diffusion[3].to_json()
    )
    s0, s1 = sympy.symbols("s0 s1")
    assert sympy.expand(d3) == -sympy.Rational(3, 4) * g2 * s0 * s1


@pytest.mark.parametrize("noise", ["gaussian", "general"])
@pytest.mark.parametrize("sigma", ["state", "constant"])
def test_truncated_generator_matches_every_moment_through_order_plus_one(noise, sigma):
    """The mismatch report of the truncated generator: every moment agrees through
    eta^(K+1) (first difference at K+2 or none), where the Gaussian SDE stops at its cap."""
    K, M = 3, 6
    me = modified_equation(
        K, ansatz="generator", noise=noise, sigma=sigma, moments=M, cache=False, progress=False
    )
    assert all(m.eta_power is None or m.eta_power >= K + 2 for m in me.mismatch)
    sde = modified_equation(K, noise=noise, sigma=sigma, moments=M, cache=False, progress=False)
    cap = {("gaussian", "constant"): 5, ("gaussian", "state"): 4}.get((noise, sigma), 3)
    assert min(m.eta_power for m in sde.mismatch if m.eta_power) == cap


def test_coordinate_free_general_noise_stops_where_cumulants_need_derivatives():
    """Coordinate-free, A_{3,0} = -kappa_3 (order 2); from order 3 on a cumulant tensor would
    be differentiated, which the contraction terms do not represent: a clear error."""
    me = modified_equation(2, dim="d", ansatz="generator", noise="general", cache=False,
                           progress=False)  # fmt: skip
    assert me.kramers_moyal[2][0].text() == "-kappa3_{ijk}"
    with pytest.raises(NoiseModelError, match="cumulant"):
        modified_equation(3, dim="d", ansatz="generator", noise="general", cache=False,
                          progress=False)  # fmt: skip


def test_generator_round_trips_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SYMSME_CACHE", raising=False)
    first = modified_equation(3, ansatz="generator", noise="general", moments=4, progress=False)
    again = modified_equation(3, ansatz="generator", noise="general", moments=4, progress=False)
    assert any(tmp_path.iterdir())
    assert again.ansatz == "generator"
    assert [[a.to_json() for a in f] for f in again.kramers_moyal] == [
        [a.to_json() for a in f] for f in first.kramers_moyal
    ]
    assert [m.eta_power for m in again.mismatch] == [m.eta_power for m in first.mismatch]


def test_cli_contract_shape(capsys):
    import json

    from symsme.cli import main

    assert main(["derive", "--dim", "1", "--order", "2", "--ansatz", "generator",
                 "--noise", "general", "--moments", "4", "--format", "json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["ansatz"] == "generator"
    assert [len(f) for f in out["kramers_moyal"]] == [3, 2, 1]
    assert out["kramers_moyal"][0] == out["drift"] and out["kramers_moyal"][1] == out["diffusion"]
    assert out["kramers_moyal"][2] == ["-k3_0"]
    assert all(m["eta_power"] is None or m["eta_power"] >= 4 for m in out["mismatch"])
    assert main(["derive", "--dim", "d", "--order", "2", "--ansatz", "generator",
                 "--format", "json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert [len(f) for f in out["kramers_moyal_text"]] == [3, 2, 1]
    assert out["kramers_moyal_text"][2] == ["0"] and out["kramers_moyal_text"][1][0] == "Sigma"
    assert main(["derive", "--dim", "d", "--order", "3", "--ansatz", "generator",
                 "--noise", "general"]) == 2  # fmt: skip
    assert "cumulant" in capsys.readouterr().err


def test_review_cases(capsys):
    """Order 0 is the gradient flow (A_1 = -g0 alone; weak order 1); the Hessian-aware
    identification refuses the generator; LaTeX and Markdown name the generator."""
    from symsme.cli import main
    from symsme.derive import identify_hessian_aware
    from symsme.errors import SymsmeError
    from symsme.report import render

    me = modified_equation(0, ansatz="generator", moments=3, cache=False, progress=False)
    assert [a.to_json() for a in me.drift] == ["-g0"] and me.diffusion == ()
    assert [m.eta_power for m in me.mismatch] == [2, 2, 3]
    with pytest.raises(SymsmeError, match="SDE ansatz"):
        identify_hessian_aware(modified_equation(2, ansatz="generator", progress=False))
    assert main(["derive", "--order", "2", "--ansatz", "generator", "--hessian-aware"]) == 2
    assert "ansatz" in capsys.readouterr().err
    gen = modified_equation(1, ansatz="generator", moments=3, progress=False)
    for fmt in ("latex", "markdown"):
        text = render(gen, fmt)
        assert "A_n" in text and "dW" not in text and "generator minus SGD" in text
