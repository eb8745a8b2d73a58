"""On-disk cache of expensive symbolic results: plain JSON that is verified, never trusted.

An entry is one JSON document ``<digest>.json`` under ``$SYMSME_CACHE_DIR`` (default
``~/.cache/symsme``)::

    {"format": "symsme-cache", "schema": 2, "version": ..., "engine": ..., "key": [...],
     "sha256": ..., "value": {...}}

``key`` is the request, ``engine`` a fingerprint of the engine's own source files (an edited
engine never reads a stale entry), ``sha256`` the checksum of the canonical JSON of ``value``.
Nothing in a file can run code: there is no pickle, and JSON is read by :func:`json.loads` with
``NaN``/``Infinity`` refused.  An entry that cannot be read, is too large, has another format,
schema, version, engine or key, fails its checksum, or that the caller's decoder rejects is
ignored (and then recomputed and rewritten by the caller): never a traceback, never a wrong
result.  Writes are atomic (a temporary file in the same folder, then :func:`os.replace`).

The checksum detects damage; it is not a signature, and nothing keyed by a secret would help
against someone who can write the folder (they could read the key too).  So the cache is private:
the folder is created with mode 0700, and entries are read only from a folder owned by the
current user and writable by nobody else (on POSIX systems); a shared or world-writable
folder is written to but never read from.

``SYMSME_CACHE`` is ``on`` (default; also ``1``, ``true``, ``yes``) or ``off`` (also ``0``,
``false``, ``no``); any other value is a :class:`~symsme.errors.CacheSettingError`.
:func:`clear_cache` deletes the entries and the engine's in-memory memos.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from symsme.errors import CacheSettingError

__all__ = ["cache_dir", "enabled", "load", "store", "clear_cache", "MAX_ENTRY_BYTES"]

SCHEMA = 2  # bump when the document layout changes
FORMAT = "symsme-cache"
MAX_ENTRY_BYTES = 64 * 2**20
"""Entries larger than this are not read (a damaged or planted file must not exhaust memory;
the largest derivation within the default limits is a few MB)."""

_ON = {"on", "1", "true", "yes", ""}
_OFF = {"off", "0", "false", "no"}

T = TypeVar("T")


def cache_dir() -> Path:
    """The cache folder (``SYMSME_CACHE_DIR`` or ``~/.cache/symsme``)."""
    env = os.environ.get("SYMSME_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symsme"


def enabled() -> bool:
    """Whether ``SYMSME_CACHE`` switches the cache on (see the module notes)."""
    raw = os.environ.get("SYMSME_CACHE", "on")
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise CacheSettingError(
        f"SYMSME_CACHE must be 'on' or 'off' (or 1/0, true/false, yes/no), got {raw[:40]!r}"
    )


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


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _header(key: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schema": SCHEMA,
        "version": _version(),
        "engine": engine_fingerprint(),
        "key": json.loads(_canonical(key)),
    }


def _path(key: Any) -> Path:
    digest = hashlib.sha256(_canonical(_header(key))).hexdigest()
    return cache_dir() / f"{digest[:32]}.json"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in a cache entry")


def _private(folder: Path) -> bool:
    """Owned by the current user and writable by nobody else (always true where POSIX
    ownership does not exist)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # pragma: no cover - not POSIX
        return True
    info = folder.stat()
    return info.st_uid == getuid() and not info.st_mode & 0o022


def load(key: Any, decode: Callable[[Any], T]) -> T | None:
    """The cached value for ``key`` decoded by ``decode``, or ``None``.

    ``None`` when the cache is off, the entry is missing, or it fails any check of the module
    notes; ``decode`` must raise ``ValueError``, ``TypeError``, ``KeyError`` or
    ``ArithmeticError`` for a value it does not accept.
    """
    if not enabled():
        return None
    path = _path(key)
    try:
        if not _private(path.parent):
            return None
        if not path.is_file() or path.stat().st_size > MAX_ENTRY_BYTES:
            return None
        document = json.loads(path.read_bytes(), parse_constant=_refuse_constant)
        if not isinstance(document, dict) or set(document) != {*_header(key), "sha256", "value"}:
            return None
        if any(document[name] != want for name, want in _header(key).items()):
            return None
        value = document["value"]
        if hashlib.sha256(_canonical(value)).hexdigest() != document["sha256"]:
            return None
        return decode(value)
    except (OSError, ValueError, TypeError, KeyError, ArithmeticError, RecursionError):
        return None


def store(key: Any, value: Any) -> None:
    """Write the JSON-ready ``value`` for ``key`` atomically; a cache that cannot be written is
    skipped."""
    if not enabled():
        return
    path = _path(key)
    document = {**_header(key), "sha256": hashlib.sha256(_canonical(value)).hexdigest()}
    document["value"] = value
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_canonical(document))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return


def clear_cache() -> int:
    """Delete every cache entry and the engine's in-memory memos; return the files removed.

    Only regular files named like entries (``*.json``, and ``*.pickle`` from older versions)
    are removed; anything else in the folder is left alone.
    """
    from symsme.algebra import clear_memo

    clear_memo()
    folder = cache_dir()
    removed = 0
    if folder.is_dir():
        for pattern in ("*.json", "*.pickle"):
            for p in folder.glob(pattern):
                if p.is_file() and not p.is_symlink():
                    p.unlink(missing_ok=True)
                    removed += 1
    return removed
