"""The UnixFS ``Data`` message: what a dag-pb block of a file says about its bytes.

Spec: https://specs.ipfs.tech/unixfs/ ::

    message Data {
      required DataType Type = 1;      // Raw=0 Directory=1 File=2 Metadata=3 Symlink=4 HAMT=5
      optional bytes Data = 2;         // the file's bytes, in leaves
      optional uint64 filesize = 3;    // bytes of file below this node
      repeated uint64 blocksizes = 4;  // file bytes under each link, in link order (not packed)
      optional uint64 hashType = 5; optional uint64 fanout = 6;
      optional uint32 mode = 7; optional UnixTime mtime = 8;
    }

The encoder writes exactly what Go's ``unixfs.FSNode`` writes for ``ipfs add``: Type, Data only
when there is some, filesize always (even 0: the empty file is ``08 02 18 00``), then one
field per blocksize. Only files are produced; the decoder also reads fields 5–8 so a file
imported from elsewhere with a mode or mtime still reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from fedmarket.errors import StorageError
from fedmarket.storage.dagpb import WIRE_BYTES, WIRE_VARINT, field_bytes, field_varint, iter_fields

__all__ = ["DataType", "UnixFSData", "encode_data", "decode_data"]


class DataType(IntEnum):
    """UnixFS node types; a file is made of ``File`` nodes (and ``Raw`` in old DAGs)."""

    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True)
class UnixFSData:
    """One UnixFS message. ``filesize`` counts file bytes below (and in) this node."""

    type: DataType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default_factory=tuple)


def encode_data(msg: UnixFSData) -> bytes:
    """Encode in Go's field order, so the enclosing block hashes like Kubo's."""
    out = field_varint(1, int(msg.type))
    if msg.data:
        out += field_bytes(2, msg.data)
    if msg.filesize is not None:
        out += field_varint(3, msg.filesize)
    for size in msg.blocksizes:
        out += field_varint(4, size)
    return out


def decode_data(buf: bytes) -> UnixFSData:
    """Decode a UnixFS message; unknown or mistyped fields make the block malformed."""
    type_: DataType | None = None
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, wire, value in iter_fields(buf):
        if number == 1 and wire == WIRE_VARINT:
            assert isinstance(value, int)
            try:
                type_ = DataType(value)
            except ValueError as exc:
                raise StorageError(f"malformed UnixFS: unknown node type {value}") from exc
        elif number == 2 and wire == WIRE_BYTES:
            assert isinstance(value, bytes)
            data = value
        elif number == 3 and wire == WIRE_VARINT:
            assert isinstance(value, int)
            filesize = value
        elif number == 4 and wire == WIRE_VARINT:
            assert isinstance(value, int)
            blocksizes.append(value)
        elif number in (5, 6, 7) and wire == WIRE_VARINT or number == 8 and wire == WIRE_BYTES:
            continue  # hashType/fanout (directories), mode, mtime: metadata we do not need
        else:
            raise StorageError(f"malformed UnixFS: unexpected field {number}")
    if type_ is None:
        raise StorageError("malformed UnixFS: missing Type")
    return UnixFSData(type=type_, data=data, filesize=filesize, blocksizes=tuple(blocksizes))
