"""Random streams that do not depend on how paths are split into batches or workers.

Paths are grouped in fixed blocks of :data:`BLOCK` paths; block ``b`` draws from its own
generator, ``numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(b,))))``, and every
draw is made for the whole block (:class:`BlockRandom` keeps the rows of the paths asked for),
so path ``i`` sees the same numbers whether 1, 300 or a million paths are simulated, in one
batch or on another worker.  Seeds are arguments, never global state.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from symsme.validate import check_integer

__all__ = ["BLOCK", "BlockRandom", "PathsRandom", "blocks", "block_generator"]

BLOCK = 256
"""Paths per random stream."""


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The generator of block ``block`` for ``seed``."""
    sequence = np.random.SeedSequence(check_integer(seed, "seed", 0), spawn_key=(block,))
    return np.random.Generator(np.random.PCG64(sequence))


def blocks(paths: int) -> Iterator[tuple[int, int, int]]:
    """``(block, first path, number of paths)`` covering ``paths`` paths."""
    for block, start in enumerate(range(0, paths, BLOCK)):
        yield block, start, min(BLOCK, paths - start)


class BlockRandom:
    """The draws of one block, always made for :data:`BLOCK` rows, cut to ``rows``."""

    def __init__(self, seed: int, block: int, rows: int) -> None:
        self.generator = block_generator(seed, block)
        self.rows = rows

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        """Normals of shape ``(rows, *shape[1:])``."""
        return self.generator.standard_normal((BLOCK, *shape[1:]))[: self.rows]

    def integers(self, high: int, size: tuple[int, ...]) -> np.ndarray:
        """Uniform integers in ``[0, high)`` of shape ``(rows, *size[1:])``."""
        return self.generator.integers(0, high, size=(BLOCK, *size[1:]))[: self.rows]

    def random(self, size: tuple[int, ...]) -> np.ndarray:
        """Uniform floats in ``[0, 1)`` of shape ``(rows, *size[1:])``."""
        return self.generator.random((BLOCK, *size[1:]))[: self.rows]


class PathsRandom:
    """The draws of ``paths`` paths starting at block ``first_block``, block by block
    (:class:`BlockRandom`), stacked: all paths advance together (one vectorised step), with
    each block's numbers its own."""

    def __init__(self, seed: int, paths: int, first_block: int = 0) -> None:
        self.parts = [
            BlockRandom(seed, first_block + block, count) for block, _, count in blocks(paths)
        ]

    def _stack(self, draw: str, *args: object) -> np.ndarray:
        return np.concatenate([getattr(part, draw)(*args) for part in self.parts], axis=0)

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._stack("standard_normal", shape)

    def integers(self, high: int, size: tuple[int, ...]) -> np.ndarray:
        return self._stack("integers", high, size)

    def random(self, size: tuple[int, ...]) -> np.ndarray:
        return self._stack("random", size)
