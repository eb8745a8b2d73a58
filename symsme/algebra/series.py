r"""Exact series over a canonical basis of terms, knowing the basis they live in.

A :class:`Series` is a finite sum :math:`\sum_t c_t\,t` of canonical terms :math:`t` with exact
rational coefficients (:class:`fractions.Fraction`), like BSeries.jl's truncated B-series (an
ordered dict from rooted trees to rationals; Ketcheson, Ranocha) or SymPy's ``PolyElement``,
which carries its ring.  The series carries its :class:`Basis` (1-D jet monomials,
:data:`symsme.algebra.jets.JETS`, or coordinate-free contraction graphs,
:data:`symsme.algebra.contractions.CONTRACTIONS`), so printing and evaluation dispatch on the
data and never ask "which dimension is this?".  A series is a read-only mapping key -> Fraction
with no zero values; it compares equal to a plain ``dict`` with the same items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, Protocol

__all__ = ["Basis", "Series"]


class Basis(Protocol):
    """What a basis of terms provides to the series over it."""

    name: str
    """Short name, e.g. ``"jets"`` (1-D) or ``"contractions"`` (coordinate-free)."""
    dim: int | str
    """``1`` or ``"d"``: the dimension the terms are valid in."""
    description: str
    """The dimension in a title: ``1``, ``d (coordinate-free)``."""
    legend: str
    """What the symbols of printed terms mean."""
    kramers: tuple[str, str]
    """How a generator's n-th Kramers-Moyal term acts, as text and LaTeX."""

    def text(self, terms: Mapping[Any, Fraction]) -> str: ...

    def latex(self, terms: Mapping[Any, Fraction]) -> str: ...

    def json(self, terms: Mapping[Any, Fraction]) -> Any: ...

    def is_hessian_aware(self, key: Any) -> bool:
        """Is the term one that survives for a quadratic loss with constant noise?"""
        ...

    def encode_key(self, key: Any) -> Any:
        """A term's key as JSON (nested lists of ints)."""
        ...

    def decode_key(self, data: Any) -> Any:
        """The key of :meth:`encode_key`, checked to be a valid canonical key of this basis
        (``ValueError``/``TypeError`` otherwise)."""
        ...

    def evaluate(self, terms: Mapping[Any, Fraction], jets: Mapping[tuple[str, int], Any]) -> Any:
        """Value at points from derivative tensors ``jets[("f", j)]``, ``jets[("S", j)]``."""
        ...


class Series(Mapping[Any, Fraction]):
    """An exact linear combination of the terms of ``basis`` (see the module docstring)."""

    __slots__ = ("basis", "_terms")

    def __init__(self, basis: Basis, terms: Mapping[Any, Any] | None = None) -> None:
        self.basis = basis
        self._terms: dict[Any, Fraction] = {k: Fraction(c) for k, c in (terms or {}).items() if c}

    def __getitem__(self, key: Any) -> Fraction:
        return self._terms[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    __hash__ = None  # type: ignore[assignment]  # equal to dicts, so not hashable

    def __repr__(self) -> str:
        return f"Series[{self.basis.name}]({self.text()})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Series, (self.basis, self._terms))

    def text(self) -> str:
        """Readable text (1-D: a SymPy-parseable string; d: ``-1/2 H g``)."""
        return self.basis.text(self._terms)

    def latex(self) -> str:
        """LaTeX of the series."""
        return self.basis.latex(self._terms)

    def to_json(self) -> Any:
        """The JSON form used by ``symsme derive --format json``."""
        return self.basis.json(self._terms)

    def evaluate(self, jets: Mapping[tuple[str, int], Any]) -> Any:
        """Evaluate at points, given the derivative tensors (see :meth:`Basis.evaluate`)."""
        return self.basis.evaluate(self._terms, jets)

    def to_data(self) -> list[list[Any]]:
        """Plain JSON data ``[[key, "p/q"], ...]`` read back by :meth:`from_data`, in the order
        of the terms (so that evaluation sums in the same order, to the last bit)."""
        return [[self.basis.encode_key(k), str(c)] for k, c in self._terms.items()]

    @classmethod
    def from_data(cls, basis: Basis, data: Any) -> Series:
        """The series of :meth:`to_data`, every key and coefficient checked (``ValueError`` or
        ``TypeError`` for anything else, e.g. a damaged cache entry)."""
        if not isinstance(data, list):
            raise TypeError("a series is a list of [key, coefficient] pairs")
        terms: dict[Any, Fraction] = {}
        for item in data:
            if not isinstance(item, list) or len(item) != 2:
                raise TypeError("a term is a [key, coefficient] pair")
            key = basis.decode_key(item[0])
            if key in terms:
                raise ValueError("repeated term")
            terms[key] = _rational(item[1])
        if any(not c for c in terms.values()):
            raise ValueError("zero coefficient stored")
        return cls(basis, terms)

    def select(self, keep: Any) -> Series:
        """The series of the terms whose key satisfies ``keep(key)``."""
        return Series(self.basis, {k: c for k, c in self._terms.items() if keep(k)})

    def __add__(self, other: Mapping[Any, Any]) -> Series:
        out = dict(self._terms)
        for k, c in other.items():
            out[k] = out.get(k, 0) + c
        return Series(self.basis, out)

    def __neg__(self) -> Series:
        return Series(self.basis, {k: -c for k, c in self._terms.items()})

    def __sub__(self, other: Mapping[Any, Any]) -> Series:
        return self + {k: -c for k, c in other.items()}


_RATIONAL = re.compile(r"-?(0|[1-9][0-9]{0,3999})(/[1-9][0-9]{0,3999})?")


def _rational(text: Any) -> Fraction:
    """``"p/q"`` as a Fraction, refusing anything else (and numbers of over 4000 digits)."""
    if not isinstance(text, str) or not _RATIONAL.fullmatch(text):
        raise ValueError("a coefficient is a string 'p/q'")
    value = Fraction(text)
    if str(value) != text:
        raise ValueError("a coefficient is not in lowest terms")
    return value
