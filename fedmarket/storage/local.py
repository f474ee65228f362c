"""The embedded store (the default): UnixFS DAGs in a local :class:`BlockStore`, no daemon.

It names content exactly as ``ipfs add`` does, so a file put here can later be served by any
IPFS node under the same CID, and CAR export/import moves DAGs between this store and Kubo
(``ipfs dag import`` / ``ipfs dag export``) or between two machines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage.base import ContentStore, Source, open_source
from fedmarket.storage.blocks import CID, parse_cid, verify_block
from fedmarket.storage.blockstore import BlockStore
from fedmarket.storage.car import read_car, write_car
from fedmarket.storage.exporter import BlockGetter, iter_dag, iter_file
from fedmarket.storage.importer import ImportParams, import_stream

__all__ = ["LocalStore"]


class LocalStore(ContentStore):
    """Files as UnixFS DAGs under ``root`` (``settings.store_dir``), verified on every read."""

    def __init__(self, root: Path, *, cid_version: int = 0, fsync: bool = True):
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {cid_version}")
        self.blocks = BlockStore(Path(root), fsync=fsync)
        self.cid_version = cid_version

    def __repr__(self) -> str:
        return f"LocalStore({str(self.blocks.root)!r}, cid_version={self.cid_version})"

    def put(self, source: Source, *, cid_version: int | None = None) -> str:
        """Chunk, link and store ``source`` block by block; return its CID."""
        params = ImportParams(cid_version=self.cid_version if cid_version is None else cid_version)
        with open_source(source) as stream:
            root = import_stream(stream, self._put_hashed, params)
        return str(root.cid)

    def _put_hashed(self, cid: CID, block: bytes) -> None:
        self.blocks.put(cid, block, hashed=True)

    def iter(self, cid: str) -> Iterator[bytes]:
        """Yield the file's bytes; each block is hashed and checked before its bytes leave."""
        root = parse_cid(cid)
        if not self.blocks.has(root):
            raise StorageError(f"{cid} is not in the local store ({self.blocks.root})")
        return iter_file(root, self._block_reader(root))

    def _block_reader(self, root: CID) -> BlockGetter:
        """Block reads for one DAG, with errors that name the file's CID as well."""

        def get(cid: CID) -> bytes:
            try:
                return self.blocks.get(cid)
            except IntegrityError as exc:
                raise IntegrityError(f"{root}: {exc}") from exc
            except StorageError as exc:
                raise StorageError(f"{root} is incomplete: {exc}") from exc

        return get

    def has(self, cid: str) -> bool:
        """Whether the root block is on disk (:meth:`pin` checks the whole DAG)."""
        return self.blocks.has(parse_cid(cid))

    def pin(self, cid: str) -> None:
        """Check every block of the DAG is present and intact, then record the pin on disk."""
        root = parse_cid(cid)
        for _ in iter_dag(root, self._block_reader(root)):
            pass
        self.blocks.add_pin(root)

    def unpin(self, cid: str) -> bool:
        """Remove a pin; True if ``cid`` was pinned."""
        return self.blocks.remove_pin(parse_cid(cid))

    def pins(self) -> list[str]:
        """The pinned roots."""
        return [str(c) for c in self.blocks.pins()]

    def is_pinned(self, cid: str) -> bool:
        """Whether ``cid`` is pinned."""
        return self.blocks.is_pinned(parse_cid(cid))

    def export_car(self, cid: str, out: BinaryIO) -> int:
        """Write the DAG of ``cid`` as a CARv1 (like ``ipfs dag export``); return block count."""
        root = parse_cid(cid)
        return write_car(out, [root], iter_dag(root, self._block_reader(root)))

    def import_car(self, stream: BinaryIO) -> tuple[list[str], int]:
        """Store every block of a CAR after verifying it; return (roots, blocks stored).

        A block whose bytes do not match its CID aborts the import with
        :class:`IntegrityError`; blocks stored before it are valid and stay.
        """
        header, sections = read_car(stream)
        count = 0
        for cid, block in sections:
            verify_block(cid, block, where="in the CAR")
            self.blocks.put(cid, block, hashed=True)
            count += 1
        return [str(r) for r in header.roots], count
