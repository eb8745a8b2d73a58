"""On-disk cache of expensive symbolic results.

Entries are keyed by a hash of their content key, the package version and a fingerprint of
the engine's own source files (so an edited engine never reads a stale entry), stored as pickles
under ``$SYMSME_CACHE_DIR`` (default ``~/.cache/symsme``) and written atomically (a temporary
file in the same folder, then :func:`os.replace`), so a reader never sees half an entry.
``SYMSME_CACHE=off`` disables reading and writing; :func:`clear_cache` empties the folder.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "enabled", "load", "store", "clear_cache"]

SCHEMA = 1  # bump when the pickled representation changes


def cache_dir() -> Path:
    """The cache folder (``SYMSME_CACHE_DIR`` or ``~/.cache/symsme``)."""
    env = os.environ.get("SYMSME_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symsme"


def enabled() -> bool:
    """False when ``SYMSME_CACHE`` is ``off`` (also ``0``, ``false``, ``no``)."""
    return os.environ.get("SYMSME_CACHE", "on").strip().lower() not in {"off", "0", "false", "no"}


@functools.cache
def engine_fingerprint() -> str:
    """SHA-256 of the source of the derivation engine: the packages that compute what is cached
    (:mod:`symsme.algebra` and :mod:`symsme.derive`, every module in them)."""
    from symsme.algebra import series

    h = hashlib.sha256()
    for name, module in (("algebra", series.__file__), ("derive", __file__)):
        root = Path(module).resolve().parent
        for f in sorted(root.rglob("*.py")):
            h.update(f"{name}/{f.relative_to(root).as_posix()}".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("symsme")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _path(key: Any) -> Path:
    fingerprint = (SCHEMA, _version(), engine_fingerprint(), key)
    digest = hashlib.sha256(repr(fingerprint).encode()).hexdigest()
    return cache_dir() / f"{digest[:32]}.pickle"


def load(key: Any) -> Any | None:
    """The cached value for ``key``, or ``None`` (missing, disabled or unreadable)."""
    if not enabled():
        return None
    path = _path(key)
    try:
        with open(path, "rb") as fh:
            stored_key, value = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError):
        return None
    return value if stored_key == key else None


def store(key: Any, value: Any) -> None:
    """Write ``value`` for ``key`` atomically; a cache that cannot be written is skipped."""
    if not enabled():
        return
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, value), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return


def clear_cache() -> int:
    """Delete every cache entry and the engine's in-memory memos; return the files removed."""
    from symsme.algebra import clear_memo

    clear_memo()
    folder = cache_dir()
    removed = 0
    if folder.is_dir():
        for p in folder.glob("*.pickle"):
            p.unlink(missing_ok=True)
            removed += 1
    return removed
