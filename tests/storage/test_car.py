"""CAR export/import: byte-exact against Kubo-made CARs, round trips, tampering refused.

The expected archives are ``_dag`` fixtures of ipfs/gateway-conformance (test/fixtures.ts),
made by ``ipfs dag export``: a CIDv0 file, a CIDv1 raw file, and a CIDv1 directory tree.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage import LocalStore
from fedmarket.storage.car import read_car

KUBO_CAR_V0_FILE = base64.b64decode(
    "OKJlcm9vdHOB2CpYIwASIA+zwiNmeoWTSpdine1Yi+AciFQ3vivxDVhl7te8TcR1Z3ZlcnNpb24BSxIgD7PCI2Z6hZNK"
    "l2Kd7ViL4ByIVDe+K/ENWGXu17xNxHUKJwgCEiFnb29kYnllIGFwcGxpY2F0aW9uL3ZuZC5pcGxkLnJhdwoYIQ=="
)
KUBO_CAR_V1_RAW = base64.b64decode(
    "OqJlcm9vdHOB2CpYJQABVRIgjBw9gpsZP0kg1gMCZCqB32pyMhCeaOo+RZt+b2ApGCpndmVyc2lvbgFCAVUSIIwcPYKb"
    "GT9JINYDAmQqgd9qcjIQnmjqPkWbfm9gKRgqaGVsbG8gYXBwbGljYXRpb24vdm5kLmlwbGQuY2Fy"
)
KUBO_CAR_V1_DIR = base64.b64decode(
    "OqJlcm9vdHOB2CpYJQABcBIgcyhiRp6wXVfxL0ZOHIF6ZHSK5rPXSZlYHvNoOjWoa+pndmVyc2lvbgFaAXASIHMoYkae"
    "sF1X8S9GThyBemR0iuaz10mZWB7zaDo1qGvqEjAKJAFwEiADPmZkpB8u6GdDpgrmO4QgmG+MSEARx6AJkrh4+voTZBIG"
    "c3ViZGlyGFcKAggBXQFwEiADPmZkpB8u6GdDpgrmO4QgmG+MSEARx6AJkrh4+voTZBIzCiQBVRIgjBw9gpsZP0kg1gMC"
    "ZCqB32pyMhCeaOo+RZt+b2ApGCoSCWFzY2lpLnR4dBgeCgIIAUIBVRIgjBw9gpsZP0kg1gMCZCqB32pyMhCeaOo+RZt+"
    "b2ApGCpoZWxsbyBhcHBsaWNhdGlvbi92bmQuaXBsZC5jYXI="
)
DIR_ROOT = "bafybeidtfbrenhvqlvl7cl2gjyoic6teosfonm6xjgmvqhxtna5dlkdl5i"


def export(store: LocalStore, cid: str) -> bytes:
    out = io.BytesIO()
    store.export_car(cid, out)
    return out.getvalue()


def test_export_matches_kubo_dag_export_cidv0(store: LocalStore) -> None:
    cid = store.put(b"goodbye application/vnd.ipld.raw\n")

    assert cid == "QmPPwobbE7eyUTZukZxWVu3etJEc7bk3b35bs6LxkLECRa"
    assert export(store, cid) == KUBO_CAR_V0_FILE


def test_export_matches_kubo_dag_export_cidv1_raw(store: LocalStore) -> None:
    cid = store.put(b"hello application/vnd.ipld.car", cid_version=1)

    assert export(store, cid) == KUBO_CAR_V1_RAW


def test_import_kubo_directory_car_keeps_every_block(store: LocalStore) -> None:
    roots, blocks = store.import_car(io.BytesIO(KUBO_CAR_V1_DIR))
    store.pin(DIR_ROOT)  # walks and verifies the whole tree

    assert roots == [DIR_ROOT]
    assert blocks == 3
    assert store.get("bafkreiemdq6yfgyzh5esbvqdajscvao7njzdeee6ndvd4rm3pzxwakiyfi") == (
        b"hello application/vnd.ipld.car"
    )
    assert export(store, DIR_ROOT) == KUBO_CAR_V1_DIR


def test_directories_cannot_be_read_as_files(store: LocalStore) -> None:
    store.import_car(io.BytesIO(KUBO_CAR_V1_DIR))

    with pytest.raises(StorageError, match="directory"):
        store.get(DIR_ROOT)


@pytest.mark.parametrize("version", [0, 1])
def test_round_trip_into_an_empty_store(tmp_path: Path, version: int) -> None:
    source = LocalStore(tmp_path / "a", fsync=False)
    target = LocalStore(tmp_path / "b", fsync=False)
    data = os.urandom(3 * 256 * 1024 + 17)
    cid = source.put(data, cid_version=version)
    car = tmp_path / "f.car"

    with car.open("wb") as fh:
        written = source.export_car(cid, fh)
    with car.open("rb") as fh:
        roots, imported = target.import_car(fh)

    assert roots == [cid] and imported == written == 5
    assert target.get(cid) == data


def test_repeated_blocks_are_exported_once(store: LocalStore) -> None:
    cid = store.put(bytes(4 * 256 * 1024))  # four identical leaves

    _, sections = read_car(io.BytesIO(export(store, cid)))

    assert len(list(sections)) == 2


def test_tampered_block_in_car_is_refused(store: LocalStore) -> None:
    car = bytearray(KUBO_CAR_V0_FILE)
    car[-5] ^= 0x01  # inside the file's bytes

    with pytest.raises(IntegrityError):
        store.import_car(io.BytesIO(bytes(car)))


def test_truncated_car_is_refused(store: LocalStore) -> None:
    with pytest.raises(StorageError, match="truncated"):
        store.import_car(io.BytesIO(KUBO_CAR_V0_FILE[:-3]))


def test_not_a_car_is_refused(store: LocalStore) -> None:
    with pytest.raises(StorageError):
        store.import_car(io.BytesIO(b"\x05hello world"))


def test_carv2_payload_is_read(store: LocalStore) -> None:
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    offset = len(pragma) + 40
    header = bytes(16) + offset.to_bytes(8, "little") + len(KUBO_CAR_V0_FILE).to_bytes(8, "little")
    carv2 = pragma + header + bytes(8) + KUBO_CAR_V0_FILE

    roots, blocks = store.import_car(io.BytesIO(carv2))

    assert roots == ["QmPPwobbE7eyUTZukZxWVu3etJEc7bk3b35bs6LxkLECRa"] and blocks == 1
