"""UnixFS DAG → bytes, streamed: walk a file's DAG depth-first and yield its chunks in order.

Every block comes from a ``get_block`` callable that has already checked it against its CID,
so the walk only has to check *shape*: a node's ``blocksizes`` must match what its children
actually hold and its ``filesize`` what it holds in total. A hash-valid but ill-formed DAG
(someone else's importer, a crafted CAR) then fails loudly instead of returning wrong bytes.
Memory is one block plus one link list per level.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

from fedmarket.errors import StorageError
from fedmarket.storage.blocks import CID, DAG_PB, RAW, cid_from_bytes
from fedmarket.storage.dagpb import decode_node
from fedmarket.storage.unixfs import DataType, decode_data

__all__ = ["BlockGetter", "iter_file", "iter_dag"]

BlockGetter = Callable[[CID], bytes]

# Far beyond any real file (174**8 chunks); stops a crafted DAG from exhausting the stack.
_MAX_DEPTH = 32


def iter_file(root: CID, get_block: BlockGetter) -> Iterator[bytes]:
    """Yield the bytes of the UnixFS file ``root`` names, chunk by chunk."""
    yield from _walk(root, get_block, 0)


def _walk(cid: CID, get_block: BlockGetter, depth: int) -> Generator[bytes, None, int]:
    if depth > _MAX_DEPTH:
        raise StorageError(f"{cid}: DAG deeper than {_MAX_DEPTH} levels")
    block = get_block(cid)
    if cid.codec.name == RAW:
        if block:
            yield block
        return len(block)
    if cid.codec.name != DAG_PB:
        raise StorageError(f"{cid}: codec {cid.codec.name} is not part of a UnixFS file")
    node = decode_node(block)
    if node.data is None:
        raise StorageError(f"{cid}: dag-pb node without UnixFS data")
    meta = decode_data(node.data)
    if meta.type == DataType.DIRECTORY or meta.type == DataType.HAMT_SHARD:
        raise StorageError(f"{cid} is a UnixFS directory; only files can be read")
    if meta.type not in (DataType.FILE, DataType.RAW):
        raise StorageError(f"{cid}: UnixFS node of type {meta.type.name} is not a file")
    if meta.blocksizes and len(meta.blocksizes) != len(node.links):
        raise StorageError(f"{cid}: {len(node.links)} links but {len(meta.blocksizes)} sizes")
    total = 0
    if meta.data:
        yield meta.data
        total += len(meta.data)
    for index, link in enumerate(node.links):
        child = cid_from_bytes(link.hash)
        got = yield from _walk(child, get_block, depth + 1)
        if meta.blocksizes and got != meta.blocksizes[index]:
            raise StorageError(
                f"{cid}: child {child} holds {got} bytes, parent records {meta.blocksizes[index]}"
            )
        total += got
    if meta.filesize is not None and total != meta.filesize:
        raise StorageError(f"{cid}: holds {total} bytes but records filesize {meta.filesize}")
    return total


def iter_dag(root: CID, get_block: BlockGetter) -> Iterator[tuple[CID, bytes]]:
    """Yield every distinct block of the DAG under ``root``, depth-first pre-order.

    This is the order ``ipfs dag export`` writes a CAR in; repeated blocks (a file of zeros has
    many identical leaves) are yielded once. Only dag-pb blocks have links to follow.
    """
    seen: set[bytes] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        key = bytes(cid)
        if key in seen:
            continue
        seen.add(key)
        block = get_block(cid)
        yield cid, block
        if cid.codec.name == DAG_PB:
            children = [cid_from_bytes(link.hash) for link in decode_node(block).links]
            stack.extend(reversed(children))
