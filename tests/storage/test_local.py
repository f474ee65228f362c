"""The embedded store on a real folder: round trips, streaming, corruption, pins."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest
from multiformats import CID

from fedmarket.config import load_settings
from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage import KuboStore, LocalStore, open_store

MiB = 1024 * 1024


def write_pattern(path: Path, size: int) -> str:
    """A file with varied (non-zero) content, written in pieces; returns its sha256."""
    digest = hashlib.sha256()
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB, not all-equal chunks
    with path.open("wb") as fh:
        for i in range(size // MiB):
            piece = bytes([i % 251]) + block[1:]
            fh.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def test_put_get_round_trip(store: LocalStore) -> None:
    cid = store.put(b"model update bytes")

    assert store.get(cid) == b"model update bytes"
    assert store.has(cid)


def test_put_path_and_stream_give_the_same_cid(store: LocalStore, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 100_000)

    with path.open("rb") as fh:
        from_stream = store.put(fh)

    assert store.put(path) == from_stream == store.put(path.read_bytes())


def test_cid_version_1_round_trip(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", cid_version=1, fsync=False)
    data = os.urandom(300_000)

    cid = store.put(data)

    assert cid.startswith("bafybei")
    assert store.get(cid) == data


def test_empty_file_round_trip(store: LocalStore) -> None:
    cid = store.put(b"")

    assert store.get(cid) == b""


def test_streams_20mib_with_bounded_memory(store: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    expected = write_pattern(source, 20 * MiB)

    tracemalloc.start()
    try:
        cid = store.put(source)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with store.open(cid) as fh:
            while piece := fh.read(64 * 1024):
                digest.update(piece)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == expected
    assert put_peak < 3 * MiB, f"put peaked at {put_peak} bytes"
    assert get_peak < 3 * MiB, f"get peaked at {get_peak} bytes"


def test_blocks_are_sharded_files_without_leftover_temporaries(store: LocalStore) -> None:
    cid = store.put(os.urandom(600_000))  # 3 leaves + root

    files = [p for p in (store.blocks.root / "blocks").rglob("*") if p.is_file()]

    assert len(files) == 4
    assert all(p.suffix == ".data" and p.parent.name == p.stem[-3:-1] for p in files)
    assert store.blocks.path_for(CID.decode(cid)) in files


def corrupt_one_leaf(store: LocalStore) -> Path:
    leaf = max((p for p in (store.blocks.root / "blocks").rglob("*.data")), key=os.path.getsize)
    raw = bytearray(leaf.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    leaf.write_bytes(bytes(raw))
    return leaf


def test_corrupted_block_is_detected_on_read(store: LocalStore) -> None:
    cid = store.put(os.urandom(600_000))
    leaf = corrupt_one_leaf(store)

    with pytest.raises(IntegrityError) as err:
        store.get(cid)

    message = str(err.value)
    assert cid in message and "corrupted" in message
    assert str(leaf) in message  # names the block's file, and the block's CID before it


def test_corrupted_block_fails_pin(store: LocalStore) -> None:
    cid = store.put(os.urandom(600_000))
    corrupt_one_leaf(store)

    with pytest.raises(IntegrityError):
        store.pin(cid)
    assert not store.is_pinned(cid)


def test_re_adding_repairs_a_corrupted_block(store: LocalStore) -> None:
    data = os.urandom(600_000)
    cid = store.put(data)
    corrupt_one_leaf(store)

    store.put(data)

    assert store.get(cid) == data


def test_missing_block_is_a_storage_error(store: LocalStore) -> None:
    cid = store.put(os.urandom(600_000))
    max((store.blocks.root / "blocks").rglob("*.data"), key=os.path.getsize).unlink()  # a leaf

    with pytest.raises(StorageError, match="incomplete"):
        store.get(cid)


def test_unknown_cid_is_not_there(store: LocalStore) -> None:
    absent = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"

    assert not store.has(absent)
    with pytest.raises(StorageError, match="not in the local store"):
        store.get(absent)


def test_invalid_cid_is_rejected_readably(store: LocalStore) -> None:
    with pytest.raises(StorageError, match="not a valid CID"):
        store.get("not-a-cid")


def test_pins_are_recorded_on_disk(tmp_path: Path) -> None:
    first = LocalStore(tmp_path / "s", fsync=False)
    cid = first.put(b"keep me")
    first.pin(cid)

    reopened = LocalStore(tmp_path / "s")

    assert reopened.is_pinned(cid)
    assert reopened.pins() == [cid]
    assert reopened.unpin(cid) and not reopened.is_pinned(cid)


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    no_toml = tmp_path / "absent.toml"
    local = open_store(load_settings({"data_dir": tmp_path}, env={}, toml_path=no_toml))
    kubo_env = {"FEDMARKET_IPFS_API": "/ip4/127.0.0.1/tcp/5001"}
    kubo = open_store(load_settings({"data_dir": tmp_path}, env=kubo_env, toml_path=no_toml))

    assert isinstance(local, LocalStore) and local.blocks.root == tmp_path / "store"
    assert isinstance(kubo, KuboStore) and kubo.url == "http://127.0.0.1:5001"
    kubo.close()
