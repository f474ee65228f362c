"""The dag-pb codec (multicodec 0x70), hand-written: two protobuf messages need no dependency.

Spec: https://ipld.io/specs/codecs/dag-pb/spec/ ::

    message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }

The encoding is canonical: links are written *before* data (field 2 before field 1), and each
link's fields in order. Byte-for-byte agreement with Go's encoder matters because a CID is the
hash of these bytes. Go (boxo/merkledag, which ``ipfs add`` uses) always writes a link's Name,
even when empty (``12 00``), so :class:`PBLink` defaults to ``name=""``.

The varint and length-delimited helpers are shared with :mod:`fedmarket.storage.unixfs`, whose
``Data`` message is a second protobuf nested inside ``PBNode.Data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fedmarket.errors import StorageError

__all__ = [
    "PBLink",
    "PBNode",
    "encode_node",
    "decode_node",
    "encode_varint",
    "decode_varint",
    "field_varint",
    "field_bytes",
    "iter_fields",
]

# Protobuf wire types used by dag-pb and UnixFS.
WIRE_VARINT = 0
WIRE_BYTES = 2


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, the protobuf varint (also the multiformats unsigned-varint)."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return ``(value, next_pos)``. Rejects truncation and overlong."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise StorageError("malformed protobuf: truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 64:
            raise StorageError("malformed protobuf: varint longer than 64 bits")


def field_varint(number: int, value: int) -> bytes:
    """One varint field: key then value."""
    return encode_varint(number << 3 | WIRE_VARINT) + encode_varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    """One length-delimited field: key, length, bytes."""
    return encode_varint(number << 3 | WIRE_BYTES) + encode_varint(len(value)) + value


def iter_fields(buf: bytes | memoryview) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into ``(field_number, wire_type, value)`` triples.

    Only the two wire types dag-pb and UnixFS use are accepted; anything else is a malformed
    block, not something to skip silently, because a block we cannot fully read cannot be
    trusted to mean what its hash says.
    """
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    view = memoryview(buf)
    while pos < len(view):
        key, pos = decode_varint(view, pos)
        number, wire = key >> 3, key & 7
        if wire == WIRE_VARINT:
            value, pos = decode_varint(view, pos)
            out.append((number, wire, value))
        elif wire == WIRE_BYTES:
            length, pos = decode_varint(view, pos)
            if pos + length > len(view):
                raise StorageError("malformed protobuf: field runs past the end of the block")
            out.append((number, wire, bytes(view[pos : pos + length])))
            pos += length
        else:
            raise StorageError(f"malformed protobuf: unsupported wire type {wire}")
    return out


@dataclass(frozen=True)
class PBLink:
    """A link to a child block: its CID (binary), an optional name and cumulative size."""

    hash: bytes
    name: str | None = ""
    # Size of the whole sub-DAG behind the link (its block plus all blocks below), as Kubo
    # records it; readers use it for progress and seeking, never for trust.
    tsize: int | None = None


@dataclass(frozen=True)
class PBNode:
    """A dag-pb block: links to children plus opaque data (UnixFS puts its message here)."""

    links: tuple[PBLink, ...] = field(default_factory=tuple)
    data: bytes | None = None


def encode_node(node: PBNode) -> bytes:
    """Encode canonically: links (field 2) first, then data (field 1)."""
    parts: list[bytes] = []
    for link in node.links:
        body = field_bytes(1, link.hash)
        if link.name is not None:
            body += field_bytes(2, link.name.encode("utf-8"))
        if link.tsize is not None:
            body += field_varint(3, link.tsize)
        parts.append(field_bytes(2, body))
    if node.data is not None:
        parts.append(field_bytes(1, node.data))
    return b"".join(parts)


def _decode_link(buf: bytes) -> PBLink:
    hash_: bytes | None = None
    name: str | None = None
    tsize: int | None = None
    last = 0
    for number, wire, value in iter_fields(buf):
        if number <= last:
            raise StorageError("malformed dag-pb: link fields out of order or repeated")
        last = number
        if number == 1 and wire == WIRE_BYTES:
            assert isinstance(value, bytes)
            hash_ = value
        elif number == 2 and wire == WIRE_BYTES:
            assert isinstance(value, bytes)
            try:
                name = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise StorageError("malformed dag-pb: link name is not UTF-8") from exc
        elif number == 3 and wire == WIRE_VARINT:
            assert isinstance(value, int)
            tsize = value
        else:
            raise StorageError(f"malformed dag-pb: unexpected link field {number}")
    if hash_ is None:
        raise StorageError("malformed dag-pb: link without a Hash")
    return PBLink(hash=hash_, name=name, tsize=tsize)


def decode_node(buf: bytes) -> PBNode:
    """Decode a dag-pb block strictly (links then at most one data field, per the spec)."""
    links: list[PBLink] = []
    data: bytes | None = None
    for number, wire, value in iter_fields(buf):
        if number == 2 and wire == WIRE_BYTES:
            if data is not None:
                raise StorageError("malformed dag-pb: a link follows the data field")
            assert isinstance(value, bytes)
            links.append(_decode_link(value))
        elif number == 1 and wire == WIRE_BYTES:
            if data is not None:
                raise StorageError("malformed dag-pb: more than one data field")
            assert isinstance(value, bytes)
            data = value
        else:
            raise StorageError(f"malformed dag-pb: unexpected node field {number}")
    return PBNode(links=tuple(links), data=data)
