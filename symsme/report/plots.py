"""Figures for the command line and the reports (matplotlib, optional: ``symsme[plot]``).

Every figure is written atomically (a temporary file in the target folder, then renamed), so a
failed run never leaves a half-written plot; the path is checked before any work is done.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from symsme.errors import SymsmeError

__all__ = ["check_plot_path", "pyplot", "save_figure"]

FORMATS = ("png", "svg", "pdf")


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """The plot file as a path, if its suffix is png, svg or pdf and its folder exists."""
    target = Path(path)
    if target.suffix.lower().lstrip(".") not in FORMATS:
        raise SymsmeError(f"the plot file must end in .png, .svg or .pdf, got {str(path)[:80]!r}")
    if not target.parent.is_dir():
        raise SymsmeError(
            f"the folder of the plot file does not exist: {str(target.parent)[:80]!r}"
        )
    if target.is_dir():
        raise SymsmeError(f"the plot file is a folder: {str(path)[:80]!r}")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend (a clear error without it)."""
    try:
        import matplotlib
    except ImportError:
        raise SymsmeError("plots need matplotlib: python3 -m pip install 'symsme[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix) and close it."""
    target = check_plot_path(path)
    suffix = target.suffix.lower().lstrip(".")
    try:
        try:
            handle, tmp = tempfile.mkstemp(dir=target.parent, suffix="." + suffix)
        except OSError as exc:
            raise SymsmeError(f"cannot write the plot {str(path)[:80]!r}: {exc.strerror}") from None
        os.close(handle)
        try:
            # no creation date in SVG/PDF, so that a regenerated figure is byte-identical
            metadata = {"Date": None} if suffix == "svg" else {"CreationDate": None}
            fig.savefig(tmp, format=suffix, metadata=None if suffix == "png" else metadata)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary file only
            os.replace(tmp, target)
        except OSError as exc:
            os.unlink(tmp)
            raise SymsmeError(f"cannot write the plot {str(path)[:80]!r}: {exc.strerror}") from None
        except BaseException:
            os.unlink(tmp)
            raise
    finally:
        pyplot().close(fig)
    return target
