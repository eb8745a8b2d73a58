"""Canonical contraction graphs (symsme.algebra.contractions): canonical form, product rule,
contraction, evaluation and printing."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from symsme.algebra.contractions import (
    F_KIND,
    K_KIND,
    S_KIND,
    Z_CODE,
    ContractionAlgebra,
    canonical_key,
    check_key,
    decode,
    evaluate,
    gradient,
    hessian_aware_exponents,
    hessian_power_gradient,
    hessian_sandwich,
    jet_orders,
    sympy_jets,
    term,
    term_to_json,
    term_to_latex,
    term_to_text,
    to_json,
    to_latex,
    to_text,
    transpose,
    type_code,
    type_rank,
)
from symsme.algebra.contractions.graphs import _encode
from symsme.derive import modified_equation

g, H, T = (type_code(F_KIND, j) for j in (1, 2, 3))
SIGMA, DSIGMA = type_code(S_KIND, 0), type_code(S_KIND, 1)

# ---------------------------------------------------------------------------------------------
# random terms

POOL = [g, H, T, type_code(F_KIND, 4), SIGMA, DSIGMA, type_code(S_KIND, 2), Z_CODE]


def _legs(code: int, u: int) -> list[int]:
    if code & 3 == S_KIND:
        return [2 * u, 2 * u] + [2 * u + 1] * (code >> 2)
    return [2 * u] * type_rank(code)


def random_term(types: list[int], rng: random.Random, max_free: int = 4):
    """A random raw term (types, edges, free) with the given node types: the legs are shuffled,
    the first ``r`` become free legs and the rest are paired into edges."""
    slots = [p for u, code in enumerate(types) for p in _legs(code, u)]
    rng.shuffle(slots)
    r = len(slots) % 2
    while r + 2 <= min(max_free, len(slots)) and rng.random() < 0.5:
        r += 2
    free = tuple(slots[:r])
    rest = slots[r:]
    edges = [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]
    return tuple(types), edges, free


def relabel(raw, rng: random.Random):
    """The same term with the nodes renumbered, the edges reordered and reversed at random."""
    types, edges, free = raw
    n = len(types)
    perm = list(range(n))
    rng.shuffle(perm)
    new_types = [0] * n
    for u in range(n):
        new_types[perm[u]] = types[u]

    def port(p: int) -> int:
        return 2 * perm[p >> 1] + (p & 1)

    new_edges = [(port(q), port(p)) if rng.random() < 0.5 else (port(p), port(q)) for p, q in edges]
    rng.shuffle(new_edges)
    return tuple(new_types), new_edges, tuple(port(p) for p in free)


def brute_force_key(raw):
    """Canonical key by exhaustive search over all node orderings (small graphs only)."""
    types, edges, free = raw
    return min(
        _encode(types, edges, free, list(perm))
        for perm in itertools.permutations(range(len(types)))
    )


terms_strategy = st.tuples(
    st.lists(st.sampled_from(POOL), min_size=1, max_size=7), st.integers(0, 2**32 - 1)
)


@given(terms_strategy)
def test_canonical_key_is_invariant_under_relabelling(data):
    types, seed = data
    rng = random.Random(seed)
    raw = random_term(types, rng)
    key = canonical_key(*raw)
    check_key(key)
    for _ in range(5):
        assert canonical_key(*relabel(raw, rng)) == key


@given(
    st.lists(st.sampled_from([g, H, SIGMA, T, DSIGMA]), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
)
def test_canonical_key_separates_exactly_the_isomorphism_classes(types, seed):
    """Equal keys iff isomorphic: compare with the exhaustive search over all orderings, on
    pairs of random terms with the same node types (often isomorphic, often not)."""
    rng = random.Random(seed)
    raws = [random_term(types, rng, max_free=2) for _ in range(4)]
    ours = [canonical_key(*r) for r in raws]
    brute = [brute_force_key(r) for r in raws]
    for i, j in itertools.combinations(range(4), 2):
        assert (ours[i] == ours[j]) == (brute[i] == brute[j])


def test_free_legs_are_labelled_and_symmetric_classes_are_not():
    # H Sigma != Sigma H (free legs labelled), but both legs of Sigma are interchangeable
    h_sigma = term([H, SIGMA], [((0, 0), (1, 0))], [(0, 0), (1, 0)])
    sigma_h = term([H, SIGMA], [((0, 0), (1, 0))], [(1, 0), (0, 0)])
    assert h_sigma != sigma_h
    assert transpose({h_sigma: Fraction(1)}) == {sigma_h: Fraction(1)}
    # grad Sigma[g] (derivative leg to g) is not Sigma g-with-a-derivative-leg-free
    a = term([DSIGMA, g], [((0, 1), (1, 0))], [(0, 0), (0, 0)])
    b = term([DSIGMA, g], [((0, 0), (1, 0))], [(0, 0), (0, 1)])
    assert a != b
    # the cycle T_iab Sigma_ab differs from the tree T_iab g_a g_b
    assert term([T, SIGMA], [((0, 0), (1, 0))] * 2, [(0, 0)]) != term(
        [T, g, g], [((0, 0), (1, 0)), ((0, 0), (2, 0))], [(0, 0)]
    )


# ---------------------------------------------------------------------------------------------
# product rule and contraction


def test_gradient_small_cases():
    """grad g = H;  grad (H g)_i = T_{i a new} g_a + H_{ia} H_{a new};  grad z = delta."""
    assert gradient(term([g], [], [(0, 0)])) == ((term([H], [], [(0, 0), (0, 0)]), 1),)
    hg = hessian_power_gradient(1)
    expected = {
        term([T, g], [((0, 0), (1, 0))], [(0, 0), (0, 0)]): 1,
        term([H, H], [((0, 0), (1, 0))], [(0, 0), (1, 0)]): 1,
    }
    assert dict(gradient(hg)) == expected
    z = next(iter(ContractionAlgebra().phi(1)))
    ((delta, m),) = gradient(z)
    assert m == 1 and delta == ((), (), (-2, -1))
    # product rule on z (x) z: two terms, one delta each
    zz = next(iter(ContractionAlgebra().phi(2)))
    grads = dict(gradient(zz))
    assert len(grads) == 2 and set(grads.values()) == {1}
    assert all(k[0] == (Z_CODE,) for k in grads)
    # Sigma_ij: the new index goes to the derivative class
    ((dS, _),) = gradient(term([SIGMA], [], [(0, 0), (0, 0)]))
    assert dS == term([DSIGMA], [], [(0, 0), (0, 0), (0, 1)])


def test_gradient_options():
    """constant Sigma drops grad Sigma; quadratic also drops grad^3 f."""
    sigma_h = hessian_sandwich(0, 1)
    assert len(gradient(sigma_h)) == 2
    assert [k[0] for k, _ in gradient(sigma_h, constant_sigma=True)] == [(SIGMA, T)]
    assert gradient(sigma_h, quadratic=True) == ()
    assert len(gradient(hessian_power_gradient(2), quadratic=True)) == 1


X = sympy.symbols("x0:2")
ZS = sympy.symbols("z0:2")
LOSS = X[0] ** 4 / 4 + X[0] * X[1] ** 2 - X[0] * X[1] + X[1] ** 3 / 3
SIG = sympy.Matrix([[1 + X[0] ** 2, X[0] * X[1]], [X[0] * X[1], 2 + X[1] + X[0] ** 3]])


def _object_jets(order: int) -> dict:
    fd, sd = sympy_jets(LOSS, X, SIG, order)
    jets = {("f", j): np.array(a.tolist(), dtype=object) for j, a in fd.items()}
    jets.update({("S", j): np.array(a.tolist(), dtype=object) for j, a in sd.items()})
    jets[("z", 0)] = np.array(ZS, dtype=object)
    return jets


def _expand(a):
    return np.vectorize(sympy.expand, otypes=[object])(np.asarray(a, dtype=object))


def _total_gradient(a):
    r"""d/dy of a function of the moving point y (symbols X) and z = y - x (symbols ZS): the new
    index last, as in :func:`gradient`."""
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape + (2,), dtype=object)
    for idx in np.ndindex(a.shape):
        for k in range(2):
            out[idx + (k,)] = sympy.diff(a[idx], X[k]) + sympy.diff(a[idx], ZS[k])
    return out


def _sample_terms():
    me = modified_equation(2, dim="d", cache=False)
    alg = ContractionAlgebra()
    zterms = alg.drift_action(me.drift[1], alg.diffusion_action(me.diffusion[0], alg.phi(3)))
    keys = [k for c in me.drift + me.diffusion for k in c] + list(zterms)
    return keys


def test_gradient_matches_coordinates():
    """The product rule on graphs equals differentiation in coordinates (d = 2, polynomial
    f and state-dependent Sigma; z-dependent terms included)."""
    jets = _object_jets(6)
    for key in _sample_terms():
        lhs = _expand(evaluate(dict(gradient(key)), jets))
        rhs = _expand(_total_gradient(evaluate({key: Fraction(1)}, jets)))
        assert (lhs == rhs).all(), term_to_text(key)


def test_drift_and_diffusion_actions_match_coordinates():
    r"""b . grad a and D : grad^2 a in coordinates."""
    jets = _object_jets(6)
    me = modified_equation(1, dim="d", cache=False)
    alg = ContractionAlgebra()
    b, D = me.drift[1], me.diffusion[1]
    bv, Dm = evaluate(b, jets), evaluate(D, jets)
    for key in _sample_terms()[:12]:
        a = {key: Fraction(1)}
        ga = _total_gradient(evaluate(a, jets))
        lhs = _expand(evaluate(alg.drift_action(b, a), jets))
        rhs = _expand(np.einsum("...p,p->...", ga, bv))
        assert (lhs == rhs).all(), term_to_text(key)
        lhs = _expand(evaluate(alg.diffusion_action(D, a), jets))
        rhs = _expand(np.einsum("...pq,pq->...", _total_gradient(ga), Dm))
        assert (lhs == rhs).all(), term_to_text(key)


# ---------------------------------------------------------------------------------------------
# evaluation, classification, printing


def test_evaluate_batched_float_and_exact():
    rng = np.random.default_rng(7)
    d, n = 3, 4
    A = rng.normal(size=(n, d, d))
    jets = {
        ("f", 1): rng.normal(size=(n, d)),
        ("f", 2): A + A.transpose(0, 2, 1),
        ("S", 0): A @ A.transpose(0, 2, 1),
    }
    hsh = hessian_sandwich(1, 2)
    out = evaluate({hsh: Fraction(1, 3)}, jets)
    Hm, S = jets[("f", 2)], jets[("S", 0)]
    assert out.shape == (n, d, d)
    assert np.allclose(out, Hm @ S @ Hm @ Hm / 3)
    assert np.allclose(
        evaluate({hessian_power_gradient(2): 1}, jets)[2], Hm[2] @ Hm[2] @ jets[("f", 1)][2]
    )
    # Fractions in, Fractions out
    fr = {
        k: np.array([[Fraction(i + j, 3) for j in range(2)] for i in range(2)], dtype=object)
        for k in [("f", 2), ("S", 0)]
    }
    val = evaluate({hsh: Fraction(1, 2)}, fr)
    M = fr[("f", 2)]
    assert (val == (M.dot(M).dot(M).dot(M)) * Fraction(1, 2)).all()


def test_hessian_aware_exponents():
    assert hessian_aware_exponents(hessian_power_gradient(0)) == (0,)
    assert hessian_aware_exponents(hessian_power_gradient(4)) == (4,)
    for a, b in [(0, 0), (2, 0), (0, 3), (1, 2), (3, 1)]:
        assert hessian_aware_exponents(hessian_sandwich(a, b)) == (a, b)
    # g g^T, tr(H Sigma)-like and T terms are not Hessian-aware
    assert hessian_aware_exponents(term([g, g], [], [(0, 0), (1, 0)])) is None
    assert hessian_aware_exponents(term([H, SIGMA, g], [((0, 0), (1, 0))] * 2, [(2, 0)])) is None
    assert (
        hessian_aware_exponents(term([T, g, g], [((0, 0), (1, 0)), ((0, 0), (2, 0))], [(0, 0)]))
        is None
    )


def test_printing():
    me = modified_equation(2, dim="d", cache=False)
    assert to_text(me.drift[0]) == "-g"
    assert to_text(me.drift[1]) == "-1/2 H g"
    assert to_latex(me.drift[1]) == r"-\frac{1}{2} H g"
    assert to_text(me.diffusion[1]) == "1/2 H Sigma + 1/2 Sigma H + 1/2 grad Sigma[g]"
    assert to_latex(me.diffusion[1]) == (
        r"\frac{1}{2} H \Sigma + \frac{1}{2} \Sigma H + \frac{1}{2} \nabla\Sigma[g]"
    )
    assert to_text(me.drift[2]) == "1/4 T[Sigma] - 1/12 T[g, g] - 1/3 H^2 g"
    assert term_to_text(hessian_sandwich(2, 1)) == "H^2 Sigma H"
    assert term_to_latex(hessian_sandwich(2, 1)) == r"H^{2} \Sigma H"
    assert to_text({}) == "0"
    k3 = term([type_code(K_KIND, 3)], [], [(0, 0)] * 3)
    assert term_to_text(k3) == "kappa3_{ijk}"
    gg = term([g, H, g], [((1, 0), (2, 0))], [(1, 0), (0, 0)])
    assert term_to_text(gg) == "outer(H g, g)"


def test_json_structure_uses_every_leg_once():
    me = modified_equation(3, dim="d", cache=False)
    rows = to_json(me.diffusion[3])
    assert len(rows) == len(me.diffusion[3])
    for row in rows:
        assert Fraction(row["coefficient"]) != 0
        s = row["structure"]
        assert s["text"] == row["term"]
        used = [tuple(e) for pair in s["edges"] for e in pair] + [tuple(f) for f in s["free"]]
        assert len(used) == len(set(used))
        want = {(n["id"], leg) for n in s["nodes"] for leg in range(n["rank"])}
        assert set(used) == want
    js = term_to_json(hessian_sandwich(1, 0))
    assert [n["tensor"] for n in js["nodes"]] == ["Sigma", "H"]


@pytest.mark.parametrize("K", [3, 4])
def test_all_derived_keys_are_valid(K):
    me = modified_equation(K, dim="d", cache=False)
    for c in me.drift + me.diffusion:
        for key in c:
            check_key(key)
            assert canonical_key(*decode(key)) == key


def test_evaluate_on_problem_jets_numpy_and_mpmath():
    """Batched float64 and mpmath evaluation on ``Problem.jets`` agree with exact SymPy."""
    import mpmath

    from symsme.algebra.contractions import evaluate_sympy
    from symsme.problems import Problem

    problem = Problem(LOSS, X, SIG)
    me = modified_equation(3, dim="d", cache=False)
    points = np.array([[0.5, -0.25], [1.0, 2.0], [-1.5, 0.75]])
    jets = problem.jets(points, 5, 4)
    mp_jets = problem.jets([["1/2", "-1/4"]], 5, 4, backend="mpmath")
    fd, sd = sympy_jets(LOSS, X, SIG, 5)
    for c in (me.drift[3], me.diffusion[3]):
        batched = c.evaluate(jets.tensors)  # the series dispatches on its basis
        mp_value = evaluate(c, mp_jets.tensors)
        for i, pt in enumerate(points):
            at = {X[0]: sympy.nsimplify(pt[0]), X[1]: sympy.nsimplify(pt[1])}
            exact = np.array(evaluate_sympy(c, fd, sd).subs(at).tolist(), dtype=float)
            assert np.allclose(batched[i], exact.reshape(batched[i].shape), rtol=1e-12)
            if i == 0:
                assert isinstance(mp_value.flat[0], mpmath.mpf)
                got = np.array(mp_value[0].tolist(), dtype=float)
                assert np.allclose(got, exact.reshape(got.shape), rtol=1e-14)


def test_jet_orders():
    """b_k needs grad^{k+1} f and grad^{k-2} Sigma, D_k grad^{k+1} f and grad^k Sigma (k >= 2);
    compare the 1-D jets g_k, s_k of the same coefficients."""
    me = modified_equation(4, dim="d", cache=False)
    assert [jet_orders(b) for b in me.drift] == [(1, -1), (2, -1), (3, 0), (4, 1), (5, 2)]
    assert [jet_orders(D) for D in me.diffusion] == [(-1, 0), (2, 1), (3, 2), (4, 3), (5, 4)]
