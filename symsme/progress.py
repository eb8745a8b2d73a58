"""Progress bars, in one place: tqdm on stderr, shown when asked (``progress=True``) or, by
default, when stderr is a terminal; ``None`` otherwise, so callers skip all bar work."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(
    progress: bool | None, total: float, desc: str, unit: str, **options: Any
) -> Any | None:
    """A tqdm bar of ``total`` units (left behind on nothing: ``leave=False``), or ``None``."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, **options)
