"""CAR (Content-Addressable aRchive) files: a DAG's blocks in one file, to move between stores.

Spec: https://ipld.io/specs/transport/car/carv1/ ::

    varint(len(header)) | header (dag-cbor: {"roots": [CID, ...], "version": 1})
    then per block:  varint(len(cid) + len(block)) | binary CID | block bytes

This writes CARv1 (what ``ipfs dag export`` writes and ``ipfs dag import`` reads) and reads
CARv1 and the CARv1 payload inside a CARv2. The header is the only CBOR in a CAR, so the
encoder writes that one map shape and the decoder reads the small CBOR subset headers use,
instead of pulling in a CBOR dependency. Sections are read one at a time from a stream, so
archives of any size pass through bounded memory.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from fedmarket.errors import StorageError
from fedmarket.storage.blocks import CID, MAX_BLOCK_SIZE, cid_from_bytes, cid_length
from fedmarket.storage.dagpb import encode_varint

__all__ = ["CarHeader", "write_car", "read_car"]

_CID_TAG = 42  # CBOR tag for CIDs in dag-cbor; the byte string carries a 0x00 prefix
_CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")  # {"version": 2}, length-prefixed
_MAX_HEADER = 1024 * 1024


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class CarHeader:
    """The roots a CAR declares (the DAG tops its blocks belong to) and its version."""

    roots: tuple[CID, ...]
    version: int = 1


# -- the CBOR subset of CAR headers -------------------------------------------------------------


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, value)
    raise ValueError("CBOR integer too large")


def _encode_header(roots: Sequence[CID]) -> bytes:
    # dag-cbor sorts map keys by length then bytes: "roots" (5) before "version" (7).
    out = _cbor_head(5, 2)
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\x00" + bytes(root)
        out += _cbor_head(6, _CID_TAG) + _cbor_head(2, len(raw)) + raw
    out += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return out


class _CborReader:
    """Decode the CBOR a CAR header can hold: ints, strings, bytes, arrays, maps, CID tags."""

    def __init__(self, buf: bytes):
        self._buf = buf
        self._pos = 0

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            raise StorageError("malformed CAR header: truncated CBOR")
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def _head(self) -> tuple[int, int]:
        first = self._take(1)[0]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise StorageError("malformed CAR header: indefinite or reserved CBOR length")
        return major, int.from_bytes(self._take(sizes[info]), "big")

    def item(self, depth: int = 0) -> Any:
        if depth > 16:
            raise StorageError("malformed CAR header: nested too deeply")
        major, value = self._head()
        if major == 0:
            return value
        if major in (2, 3):
            raw = self._take(value)
            return raw if major == 2 else raw.decode("utf-8", errors="strict")
        if major == 4:
            return [self.item(depth + 1) for _ in range(value)]
        if major == 5:
            return {self.item(depth + 1): self.item(depth + 1) for _ in range(value)}
        if major == 6 and value == _CID_TAG:
            raw = self.item(depth + 1)
            if not isinstance(raw, bytes) or not raw.startswith(b"\x00"):
                raise StorageError("malformed CAR header: bad CID in roots")
            return cid_from_bytes(raw[1:])
        raise StorageError(f"malformed CAR header: unsupported CBOR major type {major}")

    def at_end(self) -> bool:
        return self._pos == len(self._buf)


# -- framing ------------------------------------------------------------------------------------


def _read_varint(stream: _Readable) -> int | None:
    """Read one varint from a stream; None at a clean end of stream."""
    value = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift:
                raise StorageError("malformed CAR: truncated length prefix")
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift >= 64:
            raise StorageError("malformed CAR: length prefix too long")


def _read_exact(stream: _Readable, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            raise StorageError(f"malformed CAR: truncated section ({got} of {n} bytes)")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def write_car(out: BinaryIO, roots: Sequence[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CARv1 with ``roots`` and the given blocks; return the number of blocks."""
    header = _encode_header(roots)
    out.write(encode_varint(len(header)) + header)
    count = 0
    for cid, block in blocks:
        raw = bytes(cid)
        out.write(encode_varint(len(raw) + len(block)))
        out.write(raw)
        out.write(block)
        count += 1
    return count


def _parse_header(stream: _Readable) -> CarHeader:
    length = _read_varint(stream)
    if length is None:
        raise StorageError("not a CAR file: empty")
    if length == 0 or length > _MAX_HEADER:
        raise StorageError(f"not a CAR file: implausible header length {length}")
    reader = _CborReader(_read_exact(stream, length))
    header = reader.item()
    if not reader.at_end() or not isinstance(header, dict):
        raise StorageError("malformed CAR header: not a single CBOR map")
    version = header.get("version")
    roots = header.get("roots", [])
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise StorageError("malformed CAR header: roots must be a list of CIDs")
    if not isinstance(version, int):
        raise StorageError("malformed CAR header: missing version")
    return CarHeader(roots=tuple(roots), version=version)


def _enter_carv2(stream: _Readable) -> None:
    """Position ``stream`` at the CARv1 payload of a CARv2 (pragma already consumed)."""
    fixed = _read_exact(stream, 40)  # 16 bytes characteristics, then 3 little-endian u64s
    data_offset = int.from_bytes(fixed[16:24], "little")
    skip = data_offset - len(_CARV2_PRAGMA) - 40
    if skip < 0:
        raise StorageError("malformed CARv2: data offset inside its header")
    while skip > 0:
        skip -= len(_read_exact(stream, min(skip, 1 << 16)))


def read_car(stream: BinaryIO) -> tuple[CarHeader, Iterator[tuple[CID, bytes]]]:
    """Read a CAR's header now and return an iterator over its ``(cid, block)`` sections.

    Blocks are *not* verified here: the store that receives them verifies each one.
    """
    head = stream.read(len(_CARV2_PRAGMA))
    source: _Readable
    if head == _CARV2_PRAGMA:
        _enter_carv2(stream)
        source = stream
    else:
        source = _Prefixed(head, stream)  # a CARv1: the sniffed bytes are its start
    header = _parse_header(source)
    if header.version != 1:
        raise StorageError(f"unsupported CAR version {header.version}")
    return header, _sections(source)


class _Prefixed:
    """Read some already-consumed bytes first, then the rest of the stream."""

    def __init__(self, prefix: bytes, rest: _Readable):
        self._prefix = memoryview(prefix)
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            data, self._prefix = bytes(self._prefix), memoryview(b"")
            return data + self._rest.read()
        data = bytes(self._prefix[:n])
        self._prefix = self._prefix[len(data) :]
        if len(data) < n:
            data += self._rest.read(n - len(data))
        return data


def _sections(stream: _Readable) -> Iterator[tuple[CID, bytes]]:
    while True:
        length = _read_varint(stream)
        if length is None:
            return
        if length == 0 or length > MAX_BLOCK_SIZE + 128:
            raise StorageError(f"malformed CAR: implausible section length {length}")
        section = _read_exact(stream, length)
        split = cid_length(section)
        yield cid_from_bytes(section[:split]), section[split:]
