"""The DAG's shape, where no published CID pins it down (20 MiB, CIDv1 multi-chunk, depth 2).

Kubo's balanced layout: chunks of 256 KiB as leaves; one root above up to 174 of them; a root
above full 174-leaf subtrees beyond that. Each internal node's UnixFS message records the
total ``filesize`` and per-link ``blocksizes``; each dag-pb link records the child's Tsize
(its block plus everything below it).
"""

from __future__ import annotations

import io

from fedmarket.storage.blocks import CID
from fedmarket.storage.dagpb import PBLink, PBNode, decode_node, encode_node
from fedmarket.storage.importer import ImportParams, import_stream
from fedmarket.storage.unixfs import DataType, UnixFSData, decode_data, encode_data

KiB = 1024
MiB = 1024 * KiB
LEAF_BLOCK_V0 = 262158  # a full 256 KiB chunk wrapped in UnixFS + dag-pb, as Kubo's Tsize


def build(stream, params: ImportParams | None = None) -> tuple[CID, dict[bytes, bytes]]:  # type: ignore[no-untyped-def]
    blocks: dict[bytes, bytes] = {}

    def sink(cid: CID, block: bytes) -> None:
        blocks[bytes(cid)] = block

    root = import_stream(stream, sink, params)
    return root.cid, blocks


def node_of(blocks: dict[bytes, bytes], cid: CID) -> tuple[PBNode, UnixFSData]:
    node = decode_node(blocks[bytes(cid)])
    assert node.data is not None
    return node, decode_data(node.data)


def test_20mib_file_is_one_root_over_80_full_leaves(zeros) -> None:
    root, blocks = build(zeros(20 * MiB))

    node, meta = node_of(blocks, root)

    assert len(node.links) == 80
    assert meta.type == DataType.FILE and meta.data is None
    assert meta.filesize == 20 * MiB
    assert meta.blocksizes == (256 * KiB,) * 80
    assert {link.tsize for link in node.links} == {LEAF_BLOCK_V0}
    assert {link.name for link in node.links} == {""}


def test_20mib_random_file_leaves_hold_the_chunks_in_order() -> None:
    data = bytes(range(256)) * (20 * MiB // 256 // 16)  # 1.25 MiB of varied bytes
    data += b"tail"
    root, blocks = build(io.BytesIO(data))

    node, meta = node_of(blocks, root)
    pieces = [node_of(blocks, CID.decode(link.hash))[1].data for link in node.links]

    assert b"".join(p or b"" for p in pieces) == data
    assert meta.blocksizes[-1] == len(data) - 5 * 256 * KiB
    assert node.links[-1].tsize == len(blocks[node.links[-1].hash])


def test_256k_plus_one_has_two_leaves() -> None:
    root, blocks = build(io.BytesIO(b"\x01" * (256 * KiB + 1)))

    node, meta = node_of(blocks, root)

    assert meta.blocksizes == (256 * KiB, 1)
    assert meta.filesize == 256 * KiB + 1
    # 1-byte leaf: 0a 07 | 08 02 12 01 01 18 01
    assert [link.tsize for link in node.links] == [LEAF_BLOCK_V0, 9]


def test_one_chunk_file_is_its_own_leaf() -> None:
    root, blocks = build(io.BytesIO(b"\x07" * (256 * KiB)))

    node, meta = node_of(blocks, root)

    assert node.links == ()
    assert meta.data == b"\x07" * (256 * KiB) and meta.filesize == 256 * KiB
    assert len(blocks[bytes(root)]) == LEAF_BLOCK_V0


def test_fanout_stops_at_174_then_grows_a_level() -> None:
    # Same algorithm with 1-byte chunks: 174 leaves fill one node, the 175th byte adds a level.
    params = ImportParams(chunk_size=1)
    full_root, full = build(io.BytesIO(bytes(174)), params)
    over_root, over = build(io.BytesIO(bytes(175)), params)

    full_node, _ = node_of(full, full_root)
    over_node, over_meta = node_of(over, over_root)
    first, first_meta = node_of(over, CID.decode(over_node.links[0].hash))

    assert len(full_node.links) == 174
    assert len(over_node.links) == 2
    assert over_meta.blocksizes == (174, 1)
    assert len(first.links) == 174 and first_meta.filesize == 174
    assert bytes(CID.decode(over_node.links[0].hash)) == bytes(full_root)


def test_second_level_fills_depth_first() -> None:
    params = ImportParams(chunk_size=1, max_links=3)
    root, blocks = build(io.BytesIO(bytes(10)), params)  # 10 leaves, 3 per node

    node, meta = node_of(blocks, root)
    child_sizes = [node_of(blocks, CID.decode(link.hash))[1].filesize for link in node.links]

    assert meta.blocksizes == (9, 1)  # a full 9-leaf subtree, then the rest
    assert child_sizes == [9, 1]


def test_root_tsize_is_every_block_of_the_dag() -> None:
    data = b"".join(bytes([i]) * (256 * KiB) for i in range(3)) + b"end"
    blocks: dict[bytes, bytes] = {}

    root = import_stream(io.BytesIO(data), lambda c, b: blocks.__setitem__(bytes(c), b))
    node, _ = node_of(blocks, root.cid)

    assert root.dag_size == sum(len(b) for b in blocks.values())
    assert root.dag_size == len(blocks[bytes(root.cid)]) + sum(lk.tsize or 0 for lk in node.links)
    assert root.file_size == len(data)


def test_cidv1_multichunk_file_links_raw_leaves(zeros) -> None:
    root, blocks = build(zeros(256 * KiB + 1), ImportParams(cid_version=1))

    node, meta = node_of(blocks, root)
    leaves = [CID.decode(link.hash) for link in node.links]

    assert str(root).startswith("bafybei")
    assert [c.codec.name for c in leaves] == ["raw", "raw"]
    assert [link.tsize for link in node.links] == [256 * KiB, 1]
    assert meta.blocksizes == (256 * KiB, 1)


def test_cidv1_without_raw_leaves_wraps_them(zeros) -> None:
    root, blocks = build(zeros(256 * KiB + 1), ImportParams(cid_version=1, raw_leaves=False))

    node, _ = node_of(blocks, root)

    assert {CID.decode(link.hash).codec.name for link in node.links} == {"dag-pb"}
    assert {CID.decode(link.hash).version for link in node.links} == {1}
    assert node.links[0].tsize == LEAF_BLOCK_V0  # leaves have no links: same bytes as v0


def test_dagpb_writes_links_before_data_and_empty_names() -> None:
    block = encode_node(PBNode(links=(PBLink(hash=b"\x12\x20" + bytes(32), tsize=5),), data=b"d"))

    assert block.hex() == "12" + "28" + "0a22" + "1220" + "00" * 32 + "1200" + "1805" + "0a0164"
    assert decode_node(block).links[0].name == ""


def test_unixfs_empty_file_message_keeps_zero_filesize() -> None:
    assert encode_data(UnixFSData(DataType.FILE, data=b"", filesize=0)) == bytes.fromhex("08021800")
