"""The on-disk cache: content and version keyed, atomic, switchable."""

from __future__ import annotations

from symsme.derive import cache, modified_equation


def test_store_load_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SYMSME_CACHE", raising=False)
    me = modified_equation(3)
    files = list(tmp_path.glob("*.pickle"))
    assert len(files) == 1
    assert not list(tmp_path.glob(".tmp-*"))  # atomic: no temporaries left behind
    assert modified_equation(3) == me
    assert modified_equation(3, sigma="constant") != me  # content-keyed
    assert cache.clear_cache() == 2
    assert not list(tmp_path.glob("*.pickle"))


def test_off_switch_and_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SYMSME_CACHE", "off")
    modified_equation(2)
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("SYMSME_CACHE", "on")
    modified_equation(2, cache=False)
    assert not list(tmp_path.iterdir())


def test_version_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    cache.store(("k",), 1)
    assert cache.load(("k",)) == 1
    monkeypatch.setattr(cache, "_version", lambda: "999")
    assert cache.load(("k",)) is None


def test_corrupt_entry_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    cache.store(("k",), 1)
    (path,) = tmp_path.glob("*.pickle")
    path.write_bytes(b"not a pickle")
    assert cache.load(("k",)) is None


def test_engine_source_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSME_CACHE_DIR", str(tmp_path))
    cache.store(("k",), 1)
    assert cache.load(("k",)) == 1
    monkeypatch.setattr(cache, "engine_fingerprint", lambda: "edited engine")
    assert cache.load(("k",)) is None


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
