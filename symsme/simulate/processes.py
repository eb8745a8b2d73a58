r"""One step of SGD or of an SDE model for a batch of paths, with a given generator.

- SGD with Gaussian gradient noise (Li, Tai, E 2019): :math:`x_{k+1} = x_k - \eta(\nabla f(x_k)
  + L(x_k)\xi_k)`, :math:`L L^\top = \Sigma(x_k)` (symmetric square root, factorised per point;
  :math:`\Sigma` must be PSD up to the shared tolerance of :mod:`symsme.numeric.psd`).
- SGD on a finite sum :math:`f = \frac1n\sum_i f_i` with minibatches of size :math:`B`, drawn
  with replacement or without: the gradient is the minibatch mean of :math:`\nabla f_i`.
- Euler-Maruyama for a registered model (:mod:`symsme.models`), time step :math:`h`:
  :math:`X \leftarrow X + b(X)h + (\eta h)^{1/2} L(X)\xi`, :math:`LL^\top = D(X)`; one step
  of SGD is :math:`\eta/h` steps (weak order 1 in :math:`h`).  Model conditions
  (HA-SME: :math:`\eta\lambda_{\max} < 1`, PSD :math:`D`) are checked at every point: a
  violation is an error naming the point (``psd="clip"`` only when asked).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from symsme.errors import NotPositiveSemidefiniteError, ShapeError, UnstableSchemeError
from symsme.models import NumericModel
from symsme.numeric.backend import NumpyBackend
from symsme.numeric.psd import point_text, psd_tolerance
from symsme.problems import Problem
from symsme.simulate.rng import PathsRandom

__all__ = [
    "EulerMaruyama",
    "ExactOU",
    "GaussianSGD",
    "MinibatchSGD",
    "PairedEuler",
    "PlatenWeak2",
    "apply_sqrt",
]

_NUMPY = NumpyBackend()


def _checked_eigh(
    matrices: np.ndarray, points: np.ndarray, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and vectors of symmetric matrices ``(..., d, d)``; an eigenvalue below the
    shared tolerance (:func:`~symsme.numeric.psd.psd_tolerance`) is an error naming the point."""
    lam, v = np.linalg.eigh(matrices)
    tol = psd_tolerance(matrices.shape[-1], _NUMPY.norm(matrices), _NUMPY.eps)
    bad = lam[..., 0] < -tol
    if np.any(bad):
        index = tuple(np.argwhere(bad)[0])
        raise NotPositiveSemidefiniteError(
            f"{what} is not positive semidefinite at {point_text(points, index, _NUMPY)}: "
            f"eigenvalue {lam[index][0]:.10g}"
        )
    return lam, v


def apply_sqrt(matrices: np.ndarray, z: np.ndarray, points: np.ndarray, what: str) -> np.ndarray:
    """:math:`L z` with :math:`L = M^{1/2}` the symmetric square root, for PSD matrices
    ``(..., d, d)`` and vectors ``(..., d)``; each path's factor depends on its own matrix only
    (never on a choice made for the batch), so a path's numbers do not depend on its
    neighbours.  Diagonal batches take the square root of the diagonal (the same root, cheaply);
    eigenvalues below the shared tolerance (:func:`~symsme.numeric.psd.psd_tolerance`) are an
    error naming the point."""
    d = matrices.shape[-1]
    diagonal = np.diagonal(matrices, axis1=-2, axis2=-1)
    off = ~np.eye(d, dtype=bool)
    if not np.any(matrices[..., off]) and np.all(diagonal >= 0):
        return np.sqrt(diagonal) * z
    lam, v = _checked_eigh(matrices, points, what)
    # L z = V diag(sqrt(lam)) V^T z, without forming L
    rotated = np.einsum("...ji,...j->...i", v, z)
    return np.einsum("...ij,...j->...i", v, np.sqrt(np.maximum(lam, 0.0)) * rotated)


class GaussianSGD:
    """SGD with Gaussian gradient noise of covariance :math:`\\Sigma(x)`."""

    name = "sgd"

    def __init__(self, problem: Problem, eta: float) -> None:
        self.problem = problem
        self.eta = eta
        self.diagonal = problem.diagonal_sigma

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        if self.diagonal:  # the same root, without forming the matrices
            gradient = self.problem.jets(x, 1).gradient
            variance = self.problem.sigma_diagonal(x)
            if np.any(variance < 0):
                tol = psd_tolerance(x.shape[-1], np.linalg.norm(variance, axis=-1), _NUMPY.eps)
                bad = np.min(variance, axis=-1) < -tol
                if np.any(bad):
                    index = (int(np.argmax(bad)),)
                    raise NotPositiveSemidefiniteError(
                        f"Sigma is not positive semidefinite at {point_text(x, index, _NUMPY)}: "
                        f"eigenvalue {float(np.min(variance[index])):.10g}"
                    )
            noise = np.sqrt(np.maximum(variance, 0.0)) * rng.standard_normal(x.shape)
            return x - self.eta * (gradient + noise)
        jets = self.problem.jets(x, 1, 0)
        noise = apply_sqrt(jets.sigma, rng.standard_normal(x.shape), x, "Sigma")
        return x - self.eta * (jets.gradient + noise)


class MinibatchSGD:
    """SGD on a finite sum with minibatches of size ``batch``, with or without replacement."""

    name = "sgd"

    def __init__(self, problem: Problem, eta: float, replace: bool = True) -> None:
        if problem.per_sample_losses is None or problem.batch_size is None:
            raise ShapeError("minibatch SGD needs a Problem.finite_sum(...)")
        self.problem = problem
        self.eta = eta
        self.replace = replace
        self.n = len(problem.per_sample_losses)
        self.batch = problem.batch_size
        if not replace and self.batch > self.n:
            raise ShapeError(
                f"a minibatch of {self.batch} without replacement needs at least {self.batch} "
                f"samples, the sum has {self.n}"
            )

    def per_sample_gradients(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\nabla f_i(x)` for every path and sample, shape ``(paths, n, d)``."""
        return self.problem.per_sample_gradients(x)

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        grads = self.per_sample_gradients(x)
        paths = x.shape[0]
        if self.replace:
            index = rng.integers(self.n, (paths, self.batch))
        else:
            index = np.argsort(rng.random((paths, self.n)), axis=1)[:, : self.batch]
        chosen = np.take_along_axis(grads, index[..., None], axis=1)
        return x - self.eta * chosen.mean(axis=1)


class EulerMaruyama:
    """Euler-Maruyama for a bound model, ``substeps`` steps of size :math:`\\eta/` ``substeps``
    per SGD step (so that one call advances time by :math:`\\eta`).  ``eta`` is the time one call
    advances; the noise scale is the model's own :math:`\\eta` (they are the same in
    :func:`~symsme.simulate.simulate`)."""

    def __init__(self, model: NumericModel, eta: float, substeps: int = 1) -> None:
        self.model = model
        self.name = model.model
        self.eta = eta
        self.scale = float(model.eta)
        self.substeps = substeps
        self.h = eta / substeps

    def check_stability(self, x0: np.ndarray) -> None:
        r"""Refuse a step size at which Euler-Maruyama is unstable at the start: with
        :math:`\rho` the dominant eigenvalue magnitude of the drift's Jacobian at ``x0``
        (five power iterations on finite differences), explicit Euler amplifies
        errors when :math:`h\rho > 2` -- HA-SME's drift rate :math:`-\log(1 - \eta\lambda)/\eta`
        grows without bound as :math:`\eta\lambda \to 1`."""
        x0 = np.asarray(x0, dtype=float)
        b0 = self.model.drift(x0)
        v = np.random.default_rng(0).standard_normal(x0.shape)
        v /= np.linalg.norm(v)
        eps = 1e-6 * max(1.0, float(np.linalg.norm(x0)))
        rho = 0.0
        for _ in range(5):
            jv = (self.model.drift(x0 + eps * v) - b0) / eps
            rho = float(np.linalg.norm(jv))
            if not np.isfinite(rho) or rho == 0:
                return
            v = jv / rho
        if self.h * rho > 2:
            need = self.eta * rho / 2
            advice = (
                f"use substeps >= {int(np.ceil(need))}"
                if need <= 10**6
                else "the step size is far too large for an explicit scheme"
            )
            raise UnstableSchemeError(
                f"Euler-Maruyama is unstable for {self.name} at x0: h*rho = {self.h * rho:.3g} > 2 "
                f"(rho = {rho:.4g}, the drift's stiffness); {advice}"
            )

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        for _ in range(self.substeps):
            b, d = self.model.drift_diffusion(x)
            noise = apply_sqrt(d, rng.standard_normal(x.shape), x, f"the {self.name} diffusion")
            x = x + self.h * b + np.sqrt(self.scale * self.h) * noise
        return x


class PairedEuler(EulerMaruyama):
    r"""Euler-Maruyama driven by the Brownian path of :class:`EulerMaruyama` with twice the
    substeps: each increment is the sum of two consecutive fine increments, so a run with
    ``substeps`` :math:`s` and the same seed follows the same Brownian path as the ``euler``
    run with :math:`2s`.  Their combination :math:`2\,\mathbb{E}\varphi(X^{h/2}) -
    \mathbb{E}\varphi(X^{h})` is the Talay-Tubaro extrapolation (Talay, Tubaro, Stoch. Anal.
    Appl. 8, 1990): weak order 2, and, the paths being coupled, a per-path difference of small
    variance."""

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        for _ in range(self.substeps):
            b, d = self.model.drift_diffusion(x)
            z = (rng.standard_normal(x.shape) + rng.standard_normal(x.shape)) / np.sqrt(2.0)
            noise = apply_sqrt(d, z, x, f"the {self.name} diffusion")
            x = x + self.h * b + np.sqrt(self.scale * self.h) * noise
        return x


def sqrt_matrices(matrices: np.ndarray, points: np.ndarray, what: str) -> np.ndarray:
    """The symmetric square roots of PSD matrices ``(..., d, d)`` (the root :func:`apply_sqrt`
    applies), with the same tolerance and error naming the point."""
    lam, v = _checked_eigh(matrices, points, what)
    return np.einsum("...ik,...k,...jk->...ij", v, np.sqrt(np.maximum(lam, 0.0)), v)


class PlatenWeak2(EulerMaruyama):
    r"""Platen's explicit weak order 2.0 scheme for Ito SDEs with multi-dimensional,
    non-commutative noise (Kloeden, Platen, *Numerical Solution of SDEs*, sec. 15.1,
    eq. (15.1.3)): derivative-free, so it needs only :math:`b` and :math:`B = (\eta D)^{1/2}`
    (the symmetric root, columns :math:`B^j`) at supporting values.  With step :math:`h`,
    Gaussian increments :math:`\Delta W^j` and independent two-point
    :math:`V_{r,j} = \pm h` (:math:`V_{j,r} = -V_{r,j}`),

    .. math::

        \bar\Upsilon &= x + b h + \textstyle\sum_j B^j \Delta W^j, \quad
        R^j_\pm = x + b h \pm B^j \sqrt h, \quad U^r_\pm = x \pm B^r \sqrt h,\\
        x' &= x + \tfrac12 (b(\bar\Upsilon) + b) h
          + \tfrac14 \textstyle\sum_j \big[(B^j(R^j_+) + B^j(R^j_-) + 2B^j)\Delta W^j
          + \sum_{r \ne j} (B^j(U^r_+) + B^j(U^r_-) - 2B^j)\Delta W^j\big]\\
        &\quad + \tfrac14 \textstyle\sum_j \big[(B^j(R^j_+) - B^j(R^j_-))((\Delta W^j)^2 - h)
          + \sum_{r \ne j} (B^j(U^r_+) - B^j(U^r_-))(\Delta W^j \Delta W^r + V_{r,j})\big]
          h^{-1/2}.

    Its Taylor expansion is the simplified weak order 2.0 Taylor scheme (KP eq. (14.2.6)): the
    :math:`R` terms give :math:`B^j\Delta W^j + \tfrac12 L^j B^j((\Delta W^j)^2 - h)` and, with the
    :math:`U` sums, :math:`\tfrac12 L^0 B^j \Delta W^j h` (each :math:`U^r` sum supplies
    :math:`\tfrac14 h (B^r B^r : \nabla^2) B^j \Delta W^j`, hence the factor :math:`\Delta W^j`
    there); the :math:`U` differences give :math:`\tfrac12 L^r B^j(\Delta W^r \Delta W^j +
    V_{r,j})` and the averaged drift :math:`\tfrac12 L^0 b\, h^2 + \tfrac12 L^j b\,\Delta W^j h`.
    So the weak error is :math:`O(h^2)` for smooth :math:`b, D` with :math:`D` positive definite
    (where the root is smooth).  Cost per step: :math:`4d + 2` evaluations of the model.
    """

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        h, root = self.h, np.sqrt(self.h)
        d = x.shape[-1]
        off = ~np.eye(d, dtype=bool)
        what = f"the {self.name} diffusion"
        for _ in range(self.substeps):
            b, diffusion = self.model.drift_diffusion(x)
            big = sqrt_matrices(self.scale * diffusion, x, what)  # B, (P, d, d)
            dw = rng.standard_normal(x.shape) * root
            signs = np.where(rng.random((x.shape[0], d, d)) < 0.5, h, -h)
            upper = np.triu(signs, 1)
            v = upper - np.swapaxes(upper, 1, 2)  # V[r, j], antisymmetric
            base = x + h * b
            columns = np.swapaxes(big, 1, 2)  # columns[p, j] = B^j
            r_plus, r_minus = base[:, None] + root * columns, base[:, None] - root * columns
            u_plus, u_minus = x[:, None] + root * columns, x[:, None] - root * columns
            upsilon = base + np.einsum("pij,pj->pi", big, dw)
            stack = np.concatenate(
                [upsilon[:, None], r_plus, r_minus, u_plus, u_minus], axis=1
            )  # (P, 4d + 1, d)
            b_all, d_all = self.model.drift_diffusion(stack)
            roots = sqrt_matrices(self.scale * d_all, stack, what)  # (P, 4d + 1, d, d)
            b_upsilon = b_all[:, 0]
            # B^j at R^j_+-: roots[p, 1 + j][:, j]
            rp = np.einsum("pjij->pji", roots[:, 1 : 1 + d])
            rm = np.einsum("pjij->pji", roots[:, 1 + d : 1 + 2 * d])
            # B^j at U^r_+-: up[p, r, j, :] = roots[p, 1 + 2d + r][:, j]
            up = np.swapaxes(roots[:, 1 + 2 * d : 1 + 3 * d], 2, 3)
            um = np.swapaxes(roots[:, 1 + 3 * d :], 2, 3)
            mask = off[None, :, :, None]
            new = x + 0.5 * (b_upsilon + b) * h
            new += 0.25 * np.einsum("pji,pj->pi", rp + rm + 2 * columns, dw)
            new += 0.25 * np.einsum(
                "prji,pj->pi", np.where(mask, up + um - 2 * columns[:, None], 0), dw
            )
            new += 0.25 * np.einsum("pji,pj->pi", rp - rm, dw**2 - h) / root
            pair = dw[:, :, None] * dw[:, None, :] + v  # [p, r, j] = dW^r dW^j + V[r, j]
            new += 0.25 * np.einsum("prji,prj->pi", np.where(mask, up - um, 0), pair) / root
            x = new
        return x


class ExactOU:
    r"""Exact sampling of a model whose drift is affine and diffusion constant -- every
    registered model on a quadratic loss with constant noise, where
    :math:`b(x) = -Bx + \beta` with :math:`B` symmetric (a function of the Hessian):

    .. math::

        X_{t+\eta} = e^{-\eta B} X_t + \Big(\int_0^\eta e^{-sB}ds\Big)\beta + \xi,\qquad
        \operatorname{Cov}\xi = \eta\int_0^\eta e^{-sB} D e^{-sB}ds,

    in the eigenbasis of :math:`B` (as :func:`symsme.exact.quadratic.ou_law`): no time-step
    error and no stiffness, however close :math:`\eta\lambda_{\max}` is to 1."""

    def __init__(self, model: NumericModel, eta: float, dim: int) -> None:
        problem = model.problem
        if problem is None or not _is_quadratic(problem):
            raise ShapeError(
                "scheme 'exact' needs a quadratic loss with constant Sigma (affine drift, "
                "constant diffusion)"
            )
        self.name = model.model
        zero = np.zeros(dim)
        beta, d0 = model.drift_diffusion(zero)
        columns = model.drift(np.eye(dim)) - beta  # b(e_j) - b(0) = -B e_j
        b_matrix = -columns.T
        b_matrix = (b_matrix + b_matrix.T) / 2
        rates, w = np.linalg.eigh(b_matrix)
        h = eta
        decay = np.exp(-h * rates)
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = np.where(rates == 0, h, -np.expm1(-h * rates) / rates)
            pair = rates[:, None] + rates[None, :]
            integral = np.where(pair == 0, h, -np.expm1(-h * pair) / pair)
        self._propagator = (w * decay) @ w.T
        self._shift = (w * phi) @ (w.T @ beta)
        cov = w @ (eta * (w.T @ d0 @ w) * integral) @ w.T
        self._cov = (cov + cov.T) / 2
        self._zero = zero

    def step(self, x: np.ndarray, rng: PathsRandom) -> np.ndarray:
        noise = apply_sqrt(
            np.broadcast_to(self._cov, (*x.shape, x.shape[-1])),
            rng.standard_normal(x.shape),
            x,
            f"the {self.name} one-step covariance",
        )
        return x @ self._propagator.T + self._shift + noise


def _is_quadratic(problem: Problem) -> bool:
    """A loss of total degree <= 2 in the variables and a constant Sigma."""
    if any(
        problem.sigma[i, j].free_symbols for i in range(problem.dim) for j in range(problem.dim)
    ):
        return False
    try:
        return sp.Poly(problem.loss, *problem.variables).total_degree() <= 2
    except sp.PolynomialError:
        return False


def describe(process: Any) -> str:
    """The process's name for messages."""
    return str(getattr(process, "name", type(process).__name__))
