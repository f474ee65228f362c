"""The Kubo RPC backend against a fake daemon that speaks Kubo's documented RPC.

(No Kubo daemon can run on the test machines; see conftest.py for what the fake does.)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage import KuboStore
from fedmarket.storage.kubo import api_base_url


@pytest.fixture
def kubo(fake_kubo):  # type: ignore[no-untyped-def]
    store = KuboStore(fake_kubo.url, timeout=10)
    yield store
    store.close()


def test_put_returns_the_ipfs_add_cid(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    cid = kubo.put(b"hello world\n")

    path, ctype, query = fake_kubo.requests[-1]
    assert cid == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert path == "/api/v0/add" and ctype.startswith("multipart/form-data")
    assert query["cid-version"] == ["0"] and query["raw-leaves"] == ["false"]
    assert query["chunker"] == ["size-262144"]


def test_put_file_and_get_round_trip(kubo: KuboStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 256 * 1024 + 5)
    path = tmp_path / "update.bin"
    path.write_bytes(data)

    cid = kubo.put(path)

    assert kubo.get(cid) == data
    with kubo.open(cid) as fh:
        assert fh.read() == data


def test_cidv1_round_trip(fake_kubo) -> None:  # type: ignore[no-untyped-def]
    with KuboStore(fake_kubo.url, cid_version=1) as store:
        cid = store.put(os.urandom(300_000))

        assert cid.startswith("bafybei")
        assert fake_kubo.requests[-1][2]["raw-leaves"] == ["true"]
        assert len(store.get(cid)) == 300_000


def test_wrong_bytes_from_kubo_are_caught(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    cid = kubo.put(b"the real model update")
    fake_kubo.serve_wrong_bytes = True

    with pytest.raises(IntegrityError, match="refusing"):
        kubo.get(cid)


def test_wrong_bytes_are_caught_before_any_byte_is_streamed(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    cid = kubo.put(os.urandom(600_000))
    fake_kubo.serve_wrong_bytes = True

    with pytest.raises(IntegrityError):
        kubo.iter(cid)  # raises on the call, not after the first chunks


def test_wrong_cid_from_kubo_add_is_caught(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    fake_kubo.answer_wrong_cid = True

    with pytest.raises(IntegrityError, match="named the upload"):
        kubo.put(b"some bytes")


def test_has_uses_offline_block_stat(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    cid = kubo.put(b"present")

    assert kubo.has(cid)
    assert not kubo.has("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
    assert fake_kubo.requests[-1][0] == "/api/v0/block/stat"
    assert fake_kubo.requests[-1][2]["offline"] == ["true"]


def test_pin_calls_pin_add(kubo: KuboStore, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    cid = kubo.put(b"pin me")

    kubo.pin(cid)

    assert cid in fake_kubo.pins


def test_kubo_errors_carry_its_message(kubo: KuboStore) -> None:
    with pytest.raises(StorageError, match="could not find"):
        kubo.get("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")


def test_unreachable_daemon_is_a_storage_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    store = KuboStore(f"http://127.0.0.1:{port}", timeout=2)

    with pytest.raises(StorageError, match="cannot reach Kubo"):
        store.put(b"x")
    store.close()


@pytest.mark.parametrize(
    ("api", "url"),
    [
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5001"),
        ("127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("/ip4/10.0.0.2/tcp/5001", "http://10.0.0.2:5001"),
        ("/dns4/ipfs.local/tcp/443/https", "https://ipfs.local:443"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
    ],
)
def test_api_address_forms(api: str, url: str) -> None:
    assert api_base_url(api) == url
