"""Scale-out on Dask: whole blocks of paths as tasks.

Paths draw their numbers block by block (:mod:`symsme.simulate.rng`), so a task that runs the
paths of blocks ``first .. first + k`` produces exactly the numbers of a local run; the caller's
function takes ``first_block`` and ``paths`` and returns its chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symsme.errors import SymsmeError
from symsme.progress import progress_bar
from symsme.simulate.rng import BLOCK

__all__ = ["map_path_blocks"]


def map_path_blocks(
    function: Callable[..., Any],
    paths: int,
    client: Any,
    scheduler: str | None,
    progress: bool | None,
    desc: str,
    **arguments: Any,
) -> list[Any]:
    """Run ``function(first_block=b, paths=n, **arguments)`` on chunks of whole blocks covering
    ``paths`` paths, on ``client`` or on a new client of ``scheduler`` (closed afterwards); about
    two tasks per worker, each retried twice if its worker is lost.  Returns the chunks in path
    order.  Progress is shown per finished task."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is in the dask extra
        raise SymsmeError(
            "Dask scale-out needs distributed: python3 -m pip install 'symsme[dask]'"
        ) from exc
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SymsmeError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_blocks = -(-paths // BLOCK)
        per_task = max(1, -(-n_blocks // (2 * workers)))
        futures = []
        for first in range(0, n_blocks, per_task):
            count = min(per_task * BLOCK, paths - first * BLOCK)
            futures.append(
                client.submit(
                    function, **arguments, first_block=first, paths=count, pure=False, retries=2
                )
            )
        bar = progress_bar(progress, len(futures), desc, "task")
        if bar is not None:
            from distributed import as_completed

            try:
                for _ in as_completed(futures):
                    bar.update(1)
            finally:
                bar.close()
        return list(client.gather(futures))
    finally:
        if own:
            client.close()
