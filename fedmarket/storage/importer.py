"""Bytes → UnixFS DAG, block for block what ``ipfs add`` (Kubo, default settings) builds.

Kubo's defaults, reproduced here because a CID is only "the same" if every byte of every
block is: fixed-size chunks of 256 KiB (``size-262144``), the *balanced* layout with at most
174 links per node, sha2-256, and

* CIDv0: leaves are dag-pb nodes carrying a UnixFS ``File`` message (no raw leaves);
* CIDv1 (``--cid-version=1``): Kubo switches raw leaves on, so a leaf is the chunk itself
  (codec ``raw``) and a file of one chunk is named by a ``bafkrei…`` raw CID.

The balanced layout grows upward like Kubo's ``balanced.Layout``: the first leaf is the root;
while data remains, the current root becomes the first child of a new root one level deeper,
which is then filled depth-first up to 174 children. Reading is a pull from the stream one
chunk ahead (Kubo's ``Done()`` look-ahead), so memory stays at one chunk plus one link list per
level, whatever the file size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fedmarket.storage.blocks import CID, DAG_PB, RAW, cid_for
from fedmarket.storage.dagpb import PBLink, PBNode, encode_node
from fedmarket.storage.unixfs import DataType, UnixFSData, encode_data

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "ImportParams",
    "ImportedNode",
    "BlockSink",
    "ByteReader",
    "import_stream",
]

CHUNK_SIZE = 256 * 1024  # Kubo's default chunker: size-262144
MAX_LINKS = 174  # boxo helpers.DefaultLinksPerBlock: keeps an internal node under 8 KiB

BlockSink = Callable[[CID, bytes], None]


class ByteReader(Protocol):
    """Anything with ``read(n) -> bytes``: files, sockets' file objects, HTTP body readers."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; ``b""`` only at the end."""
        ...


@dataclass(frozen=True)
class ImportParams:
    """How to cut and link a file. The defaults are ``ipfs add``'s; tests shrink them."""

    cid_version: int = 0
    # None: follow Kubo, where CIDv1 implies raw leaves and CIDv0 forbids them.
    raw_leaves: bool | None = None
    chunk_size: int = CHUNK_SIZE
    max_links: int = MAX_LINKS

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {self.cid_version}")
        if self.cid_version == 0 and self.raw_leaves:
            raise ValueError("raw leaves need CIDv1 (a CIDv0 can only name dag-pb)")
        if self.chunk_size < 1 or self.max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")

    @property
    def use_raw_leaves(self) -> bool:
        """Whether leaves are raw blocks (resolving Kubo's CIDv1 default)."""
        return self.cid_version == 1 if self.raw_leaves is None else self.raw_leaves


@dataclass(frozen=True)
class ImportedNode:
    """A built node: its CID, the file bytes below it and the DAG bytes below it (Tsize)."""

    cid: CID
    file_size: int
    dag_size: int


class _Builder:
    """One import: reads chunks on demand and emits each block to the sink as it is made."""

    def __init__(self, stream: ByteReader, sink: BlockSink | None, params: ImportParams):
        self._stream = stream
        self._sink = sink
        self._params = params
        self._raw = params.use_raw_leaves
        self._next: bytes | None = self._read_chunk()

    def _read_chunk(self) -> bytes | None:
        # Like Go's io.ReadFull: a pipe or socket may return short reads mid-file, and a
        # short chunk in the middle would change every CID above it.
        size = self._params.chunk_size
        parts: list[bytes] = []
        got = 0
        while got < size:
            part = self._stream.read(size - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        if not got:
            return None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def done(self) -> bool:
        return self._next is None

    def _emit(self, block: bytes, codec: str) -> CID:
        cid = cid_for(block, version=self._params.cid_version, codec=codec)
        if self._sink is not None:
            self._sink(cid, block)
        return cid

    def _leaf(self, chunk: bytes) -> ImportedNode:
        if self._raw:
            return ImportedNode(self._emit(chunk, RAW), len(chunk), len(chunk))
        msg = UnixFSData(DataType.FILE, data=chunk, filesize=len(chunk))
        block = encode_node(PBNode(data=encode_data(msg)))
        return ImportedNode(self._emit(block, DAG_PB), len(chunk), len(block))

    def next_leaf(self) -> ImportedNode:
        chunk = self._next
        assert chunk is not None, "next_leaf() called after the last chunk"
        self._next = self._read_chunk()
        return self._leaf(chunk)

    def _internal(self, children: list[ImportedNode]) -> ImportedNode:
        links = tuple(PBLink(hash=bytes(c.cid), name="", tsize=c.dag_size) for c in children)
        file_size = sum(c.file_size for c in children)
        msg = UnixFSData(
            DataType.FILE, filesize=file_size, blocksizes=tuple(c.file_size for c in children)
        )
        block = encode_node(PBNode(links=links, data=encode_data(msg)))
        dag_size = len(block) + sum(c.dag_size for c in children)
        return ImportedNode(self._emit(block, DAG_PB), file_size, dag_size)

    def _fill(self, children: list[ImportedNode], depth: int) -> ImportedNode:
        """Add children (leaves at depth 1, full subtrees deeper) until full or out of data."""
        while len(children) < self._params.max_links and not self.done():
            children.append(self.next_leaf() if depth == 1 else self._fill([], depth - 1))
        return self._internal(children)

    def layout(self) -> ImportedNode:
        if self.done():
            return self._leaf(b"")  # the empty file is a single empty leaf
        root = self.next_leaf()
        depth = 1
        while not self.done():
            root = self._fill([root], depth)
            depth += 1
        return root


def import_stream(
    stream: ByteReader, sink: BlockSink | None = None, params: ImportParams | None = None
) -> ImportedNode:
    """Chunk ``stream`` to its end and build its DAG; ``sink`` receives every block.

    With ``sink=None`` nothing is kept: this computes the CID only (``ipfs add --only-hash``).
    """
    return _Builder(stream, sink, params or ImportParams()).layout()
