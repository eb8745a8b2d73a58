r"""Hypothesis strategies for property tests of SGD models: yours and ours.

Needs the ``hypothesis`` package (in symsme's ``test`` extra).  Every strategy draws plain
numpy arrays (float64) or text, so the draws can be fed to any symsme entry point:

- :func:`psd_matrices`: symmetric positive semidefinite (optionally definite or singular)
  noise covariances :math:`\Sigma`;
- :func:`symmetric_matrices`: Hessians with a given spectrum range (PSD or indefinite);
- :func:`quadratics`: a :class:`Quadratic` -- Hessian :math:`A`, noise :math:`\Sigma`, step
  size :math:`\eta` with :math:`\eta\lambda_{\max}(A) < 1` (HA-SME's condition), start
  :math:`x_0` -- with :math:`A` and :math:`\Sigma` commuting or (generically) not;
- :func:`step_sizes`: :math:`\eta` with :math:`\eta\lambda_{\max} \le` a bound below 1, for a
  given Hessian;
- :func:`polynomial_losses`: small polynomial losses as text in given variables.

Example (a property of HA-SME, exact in law on quadratics; Li, Shen, Zhang, He,
arXiv 2405.18373)::

    from hypothesis import given
    from symsme import ou_law, sgd_law
    from symsme.testing import quadratics

    @given(quadratics(dim=3))
    def test_hasme_is_exact(q):
        m, c = sgd_law(q.hessian, q.sigma, q.eta, q.x0, 10)
        mh, ch = ou_law("ha-sme", q.hessian, q.sigma, q.eta, q.x0, 10 * q.eta, psd="ignore")
        assert np.allclose(mh, m) and np.allclose(ch, c)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError(
        "symsme.testing needs hypothesis: python3 -m pip install 'symsme[test]'"
    ) from exc

__all__ = [
    "Quadratic",
    "orthogonal_matrices",
    "polynomial_losses",
    "psd_matrices",
    "quadratics",
    "step_sizes",
    "symmetric_matrices",
]


@dataclass(frozen=True)
class Quadratic:
    r""":math:`f(x) = \tfrac12 x^\top A x` with constant noise :math:`\Sigma`, a step size and a
    start (all float64)."""

    hessian: np.ndarray
    sigma: np.ndarray
    eta: float
    x0: np.ndarray

    @property
    def commuting(self) -> bool:
        r"""Whether :math:`A\Sigma = \Sigma A` (to rounding)."""
        a, s = self.hessian, self.sigma
        return bool(np.allclose(a @ s, s @ a, atol=1e-12 * (1 + np.abs(a).max() * np.abs(s).max())))


def _dims(dim: int | tuple[int, int]) -> Any:
    if isinstance(dim, tuple):
        return st.integers(dim[0], dim[1])
    return st.just(dim)


@st.composite
def orthogonal_matrices(draw: Any, dim: int) -> np.ndarray:
    """Random orthogonal matrices (QR of a Gaussian matrix from a drawn seed)."""
    seed = draw(st.integers(0, 2**32 - 1))
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


@st.composite
def symmetric_matrices(
    draw: Any, dim: int, low: float = 0.1, high: float = 5.0, basis: np.ndarray | None = None
) -> np.ndarray:
    r"""Symmetric matrices :math:`V \operatorname{diag}(\lambda) V^\top` with eigenvalues in
    ``[low, high]`` (``low < 0`` for indefinite Hessians, saddles) in a random orthonormal basis
    (or the given ``basis``)."""
    lam = np.array(draw(st.lists(st.floats(low, high), min_size=dim, max_size=dim)))
    v = draw(orthogonal_matrices(dim)) if basis is None else basis
    a = (v * lam) @ v.T
    return (a + a.T) / 2


@st.composite
def psd_matrices(
    draw: Any,
    dim: int,
    *,
    scale: float = 1.0,
    rank: int | None = None,
    basis: np.ndarray | None = None,
) -> np.ndarray:
    r"""Positive semidefinite :math:`\Sigma` of the given ``rank`` (default: full rank):
    ``rank`` eigenvalues in :math:`[0.05, 1]\,` ``scale``, the others zero -- in exact arithmetic;
    in float64 a singular one may show eigenvalues of :math:`-10^{-16}` (within symsme's
    PSD tolerance)."""
    r = dim if rank is None else rank
    lam = draw(st.lists(st.floats(0.05 * scale, scale), min_size=r, max_size=r))
    lam += [0.0] * (dim - r)
    v = draw(orthogonal_matrices(dim)) if basis is None else basis
    s = (v * np.array(lam)) @ v.T
    return (s + s.T) / 2


def step_sizes(hessian: np.ndarray, max_eta_lambda: float = 0.95) -> Any:
    r"""Step sizes with :math:`0 < \eta\lambda_{\max}(A) \le` ``max_eta_lambda`` (< 1:
    HA-SME's condition); :math:`\eta \in [10^{-3}, 1]` when :math:`A` has no eigenvalue above
    :math:`10^{-8}\max(1, \|A\|)` (zero to rounding counts as not positive)."""
    lam = np.linalg.eigvalsh(hessian)
    lam_max = float(lam[-1])
    scale = max(1.0, float(np.abs(lam).max()))
    # eigenvalues within rounding of 0 are not positive: no condition from them
    top = max_eta_lambda / lam_max if lam_max > 1e-8 * scale else 1.0
    return st.floats(top * 1e-3, top)


@st.composite
def quadratics(
    draw: Any,
    dim: int | tuple[int, int] = (1, 4),
    *,
    commuting: bool | None = None,
    definite: bool = True,
    max_eta_lambda: float = 0.95,
) -> Quadratic:
    r"""A random :class:`Quadratic`: Hessian eigenvalues in :math:`[0.1, 5]` (``definite``) or
    :math:`[-3, 5]`, PSD :math:`\Sigma` sharing the Hessian's eigenvectors when ``commuting``
    is True, in an independent basis when False (generically non-commuting), either when None;
    :math:`\eta` from :func:`step_sizes`; :math:`x_0` in :math:`[-2, 2]^d`.  With
    ``commuting=False`` every draw has :math:`\|A\Sigma - \Sigma A\| > 10^{-3}` (so ``dim=1``
    then draws 2 x 2 problems: in one dimension everything commutes)."""
    d = draw(_dims(dim))
    if commuting is False and d == 1:
        d = 2  # in one dimension everything commutes
    v = draw(orthogonal_matrices(d))
    a = draw(symmetric_matrices(d, 0.1 if definite else -3.0, 5.0, basis=v))
    share = draw(st.booleans()) if commuting is None else commuting
    sigma = draw(psd_matrices(d, basis=v if share else None))
    if commuting is False:
        from hypothesis import assume

        assume(np.linalg.norm(a @ sigma - sigma @ a) > 1e-3)
    eta = draw(step_sizes(a, max_eta_lambda))
    x0 = np.array(draw(st.lists(st.floats(-2, 2), min_size=d, max_size=d)))
    return Quadratic(a, sigma, eta, x0)


def polynomial_losses(variables: tuple[str, ...] = ("x",), degree: int = 4) -> Any:
    """Small non-zero polynomial losses as text (integer coefficients over small denominators),
    e.g. ``"(3/2)*x1*x1 + (-1/4)*x1*x2"``: parseable by :class:`symsme.Problem`."""
    monomial = st.tuples(
        st.integers(-6, 6).filter(bool),
        st.integers(1, 4),
        st.lists(st.sampled_from(variables), min_size=1, max_size=degree),
    )

    def text(terms: list[tuple[int, int, list[str]]]) -> str:
        parts = [f"({c}/{q})*" + "*".join(names) for c, q, names in terms]
        return " + ".join(parts)

    def nonzero(terms: list[tuple[int, int, list[str]]]) -> bool:
        from fractions import Fraction

        total: dict[tuple[str, ...], Fraction] = {}
        for c, q, names in terms:
            key = tuple(sorted(names))
            total[key] = total.get(key, Fraction(0)) + Fraction(c, q)
        return any(total.values())

    return st.lists(monomial, min_size=1, max_size=4).filter(nonzero).map(text)
