r"""The policy for diffusion matrices that are not positive semidefinite, in one place.

A model's :math:`D` must be positive semidefinite for :math:`(\eta D)^{1/2}` to exist.  With
:math:`\tau =` ``psd_rtol`` :math:`\cdot\|D\|_F` (default ``psd_rtol`` :math:`= 64\,d\,
\varepsilon`, :math:`\varepsilon` the unit roundoff of the backend: :math:`2^{-52}` for numpy,
:math:`2^{1-\text{prec}}` for mpmath), a point fails when the most negative eigenvalue of
:math:`D` is :math:`< -\tau`.  ``psd=`` chooses what happens then:

- ``"raise"`` (default): :class:`~symsme.errors.NotPositiveSemidefiniteError` naming the most
  negative eigenvalue, the tolerance, the point and how many points fail;
- ``"clip"``: the projection onto the PSD cone (negative eigenvalues set to zero, at every
  point with a negative eigenvalue);
- ``"ignore"``: :math:`D` as computed.

:math:`D` is always PSD for SGF/SME-2 with a PSD :math:`\Sigma(x)` and for HA-SME when
:math:`H` and :math:`\Sigma` commute, not in general.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from symsme.errors import NotPositiveSemidefiniteError
from symsme.numeric.backend import Backend
from symsme.validate import check_choice

__all__ = [
    "PSD_MODES",
    "PsdMode",
    "check_psd_mode",
    "PsdTally",
    "enforce_psd",
    "point_text",
    "psd_tolerance",
]

PsdMode = Literal["raise", "clip", "ignore"]
PSD_MODES: tuple[str, ...] = ("raise", "clip", "ignore")


def psd_tolerance(dim: int, norm: Any, eps: Any, psd_rtol: Any = None) -> Any:
    r""":math:`\tau = ` ``psd_rtol`` :math:`\cdot \|D\|_F`, default ``psd_rtol`` :math:`= 64\,d\,
    \varepsilon`: the one tolerance of every PSD check (numeric diffusions, and a constant
    :math:`\Sigma` given by the user, checked with float64's :math:`\varepsilon` because that is
    how its entries were usually rounded)."""
    rtol = 64 * dim * eps if psd_rtol is None else psd_rtol
    return rtol * norm


def check_psd_mode(psd: Any) -> str:
    """``psd`` if it is one of :data:`PSD_MODES`, else a :class:`~symsme.errors.SymsmeError`."""
    return check_choice(psd, PSD_MODES, "psd mode")


def point_text(points: np.ndarray | None, index: tuple[int, ...], backend: Backend) -> str:
    """``x = [...]`` for the point at batch ``index`` (or the index if points are unknown)."""
    if points is None:
        return f"batch index {index}"
    return "x = " + backend.format_point(points[index])


@dataclass
class PsdTally:
    r"""What ``psd="clip"`` did: of ``points`` evaluated, ``clipped`` had an eigenvalue below
    the tolerance, the most negative being ``worst`` times :math:`\|D\|_F` there."""

    points: int = 0
    clipped: int = 0
    worst: float = 0.0

    def add(self, other: PsdTally) -> None:
        self.points += other.points
        self.clipped += other.clipped
        self.worst = min(self.worst, other.worst)


def enforce_psd(
    d_matrix: np.ndarray,
    psd: str,
    psd_rtol: Any,
    what: str,
    points: np.ndarray | None,
    backend: Backend,
    tally: PsdTally | None = None,
) -> np.ndarray:
    """Apply the policy of the module notes to symmetric matrices ``(..., d, d)``; with
    ``psd="clip"`` a ``tally`` counts the points beyond the tolerance."""
    if psd == "ignore":
        return d_matrix
    dim = d_matrix.shape[-1]
    rtol = None if psd_rtol is None else backend.convert(psd_rtol)
    norm = backend.norm(d_matrix)
    tol = psd_tolerance(dim, norm, backend.eps, rtol)
    if psd == "raise" and backend.surely_psd(d_matrix, tol):
        return d_matrix
    smallest = backend.eigvalsh(d_matrix)[..., 0]
    if tally is not None and psd == "clip":
        beyond = np.asarray(smallest < -tol, dtype=bool)
        tally.points += int(beyond.size)
        tally.clipped += int(beyond.sum())
        if np.any(beyond):
            low = np.asarray(np.asarray(smallest)[beyond], dtype=float)
            ratio = low / np.asarray(np.asarray(norm)[beyond], dtype=float)
            tally.worst = min(tally.worst, float(ratio.min()))
    if psd == "raise":
        bad = np.asarray(smallest < -tol, dtype=bool)
        if np.any(bad):
            where = np.argwhere(bad)
            worst = np.argmin(np.asarray(smallest[bad], dtype=float)) if bad.ndim else 0
            index = tuple(where[worst]) if bad.ndim else ()
            raise NotPositiveSemidefiniteError(
                f"the {what} diffusion D is not positive semidefinite at "
                f"{point_text(points, index, backend)}: most negative eigenvalue "
                f"{backend.format(smallest[index])} < -{backend.format(tol[index])} (tolerance "
                f"psd_rtol*||D||_F); {int(bad.sum())} of {bad.size} point(s); pass psd='clip' "
                "to project onto the PSD cone or psd='ignore' to keep D as it is"
            )
        return d_matrix
    negative = np.asarray(smallest < 0, dtype=bool)
    if np.any(negative):
        d_matrix = d_matrix.copy()
        mu, w = backend.eigh(d_matrix[negative])
        clipped = np.where(np.asarray(mu < 0, dtype=bool), 0, mu)
        d_matrix[negative] = (w * clipped[..., None, :]) @ np.swapaxes(w, -1, -2)
    return d_matrix
