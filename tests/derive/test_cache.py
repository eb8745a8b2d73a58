"""The on-disk cache: content and version keyed, atomic, switchable, and never trusted: JSON
with a checksum, every entry verified, damaged or planted files ignored and rewritten."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symsme.derive import cache, modified_equation
from symsme.errors import CacheSettingError


def _ident(value):
    return value


def test_store_load_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SYMSME_CACHE", raising=False)
    me = modified_equation(3)
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    assert not list(tmp_path.glob(".tmp-*"))  # atomic: no temporaries left behind
    assert modified_equation(3) == me
    assert modified_equation(3, sigma="constant") != me  # content-keyed
    assert cache.clear_cache() == 2
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize("dim", [1, "d"])
def test_round_trip_is_exact(tmp_path, monkeypatch, dim):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    fresh = modified_equation(3, dim=dim, moments=4, noise="general")
    again = modified_equation(3, dim=dim, moments=4, noise="general")
    assert again == fresh and again.drift[2].basis is fresh.drift[2].basis
    assert again.mismatch == fresh.mismatch


def test_off_switch_and_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SYMSME_CACHE", "off")
    modified_equation(2)
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("SYMSME_CACHE", "on")
    modified_equation(2, cache=False)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("value", ["disabled", "of", "2", "nope"])
def test_unknown_setting_is_an_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SYMSME_CACHE", value)
    with pytest.raises(CacheSettingError, match="SYMSME_CACHE must be 'on' or 'off'"):
        modified_equation(1)


def test_version_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    cache.store(["k"], 1)
    assert cache.load(["k"], _ident) == 1
    monkeypatch.setattr(cache, "_version", lambda: "999")
    assert cache.load(["k"], _ident) is None


def test_engine_source_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    cache.store(["k"], 1)
    assert cache.load(["k"], _ident) == 1
    monkeypatch.setattr(cache, "engine_fingerprint", lambda: "edited engine")
    assert cache.load(["k"], _ident) is None


def _entry(tmp_path):
    (path,) = tmp_path.glob("*.json")
    return path


def test_planted_and_damaged_entries_are_ignored_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    me = modified_equation(2, cache=True)
    path = _entry(tmp_path)
    good = path.read_bytes()

    class Boom:
        def __reduce__(self):
            return (exec, ("open('planted', 'w').close()",))

    monkeypatch.chdir(tmp_path)
    for planted in (
        pickle.dumps(Boom()),  # a pickle that would run code
        pickle.dumps((["modified_equation"], me)),  # a valid pickle of the right object
        b"",
        b"{}",
        b"[1, 2]",
        good[: len(good) // 2],
        good.replace(b'"sha256":"', b'"sha256":"0'),
        b"\xff" * 100,
    ):
        path.write_bytes(planted)
        assert modified_equation(2, cache=True) == me  # recomputed ...
        assert path.read_bytes() == good  # ... and rewritten
    assert not (tmp_path / "planted").exists()


def test_a_consistent_forgery_with_a_wrong_value_is_rejected(tmp_path, monkeypatch):
    """Even with a matching checksum, a value that is not a canonical derivation is refused."""
    import hashlib

    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    me = modified_equation(1, dim="d", cache=True)
    path = _entry(tmp_path)
    document = json.loads(path.read_bytes())
    types, edges, free = document["value"]["coefficients"]["drift"][1][0][0]
    document["value"]["coefficients"]["drift"][1][0][0] = [types, edges, free[::-1] + [0]]
    value = json.dumps(document["value"], sort_keys=True, separators=(",", ":")).encode()
    document["sha256"] = hashlib.sha256(value).hexdigest()
    path.write_text(json.dumps(document))
    assert modified_equation(1, dim="d", cache=True) == me


@settings(max_examples=150, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_single_byte_flips_never_load_a_different_derivation(tmp_path_factory, data):
    """Budget: 150 examples of one flipped byte anywhere in a 1-D order-2 entry with a mismatch
    report.  Every flip loads the same derivation (a flip in insignificant whitespace cannot
    happen: entries have none) or is detected: no traceback, no different result."""
    folder = tmp_path_factory.mktemp("flip")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMSME_CACHE_DIR", str(folder))
        me = modified_equation(2, moments=3, cache=True)
        path = _entry(folder)
        good = bytearray(path.read_bytes())
        i = data.draw(st.integers(0, len(good) - 1))
        flipped = bytearray(good)
        flipped[i] = data.draw(st.integers(0, 255).filter(lambda b: b != good[i]))
        path.write_bytes(bytes(flipped))
        assert modified_equation(2, moments=3, cache=True) == me


def test_clear_cache_leaves_other_things_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    modified_equation(1)
    (tmp_path / "a-folder.json").mkdir()
    (tmp_path / "notes.txt").write_text("keep me")
    assert cache.clear_cache() == 1
    assert (tmp_path / "a-folder.json").is_dir() and (tmp_path / "notes.txt").exists()


def test_clear_cache_forgets_in_memory_memos(tmp_path, monkeypatch):
    from symsme.algebra import jets
    from symsme.algebra.contractions import calculus as contractions

    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    modified_equation(2, dim="d", cache=False)
    modified_equation(2, cache=False)
    assert contractions._GRADIENT and jets.mono_derivative.cache_info().currsize
    cache.clear_cache()
    assert not contractions._GRADIENT and not jets.mono_derivative.cache_info().currsize
    assert modified_equation(2, dim="d", cache=False).drift[1]  # still works afterwards


def test_a_folder_others_can_write_is_never_read(tmp_path, monkeypatch):
    """A consistent forgery needs write access: entries are read only from a private folder."""
    import os

    folder = tmp_path / "shared"
    folder.mkdir()
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(folder))
    cache.store(["k"], 1)
    assert cache.load(["k"], _ident) == 1
    os.chmod(folder, 0o777)
    assert cache.load(["k"], _ident) is None
    os.chmod(folder, 0o700)
    assert cache.load(["k"], _ident) == 1


def test_new_cache_folders_are_private(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "cache"
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(folder))
    cache.store(["k"], 1)
    assert folder.stat().st_mode & 0o077 == 0
