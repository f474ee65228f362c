"""Blocks as files in a folder, each checked against its CID whenever it is read.

Layout under the store root (``settings.store_dir``)::

    blocks/<shard>/<key>.data   key = base32 multihash; shard = key[-3:-1] (Kubo's flatfs
                                "next-to-last/2": the hash's tail is uniformly spread, its
                                head is a constant multihash prefix)
    pins/<cidv1-base32>         one small file per pinned root, holding the CID as given

Writes go to a temporary file in the same folder and are renamed into place, so a crash
never leaves a half-written block under a real name, and concurrent writers of the same block
(same bytes, by definition) cannot corrupt each other. A pin is a file rather than a line in a
shared list for the same reason.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage.blocks import CID, MAX_BLOCK_SIZE, block_key, parse_cid, verify_block

__all__ = ["BlockStore"]


class BlockStore:
    """A content-addressed block folder with on-disk pins.

    ``fsync=True`` makes each block durable before it is visible; turn it off only for
    throw-away stores (it costs a disk flush per 256 KiB block).
    """

    def __init__(self, root: Path, *, fsync: bool = True):
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._fsync = fsync

    def path_for(self, cid: CID) -> Path:
        """Where the block named ``cid`` lives (whether or not it is there)."""
        key = block_key(cid)
        return self._blocks / key[-3:-1] / f"{key}.data"

    def has(self, cid: CID) -> bool:
        """Whether the block is on disk (not whether it is intact: :meth:`get` checks that)."""
        return self.path_for(cid).is_file()

    def get(self, cid: CID) -> bytes:
        """Read a block and verify it; :class:`IntegrityError` names the CID and file if not."""
        path = self.path_for(cid)
        try:
            with path.open("rb") as fh:
                if os.fstat(fh.fileno()).st_size > MAX_BLOCK_SIZE:
                    raise IntegrityError(f"block {cid} is corrupted ({path}): too large")
                block = fh.read()
        except FileNotFoundError:
            raise StorageError(f"block {cid} is not in the store") from None
        except OSError as exc:
            raise StorageError(f"block {cid}: cannot read {path}: {exc}") from exc
        verify_block(cid, block, where=str(path))
        return block

    def put(self, cid: CID, block: bytes, *, hashed: bool = False) -> None:
        """Store a block after checking it hashes to ``cid``.

        ``hashed=True`` skips that check for a CID just computed from these very bytes (the
        importer's). An existing copy is kept if intact and replaced if not, so re-adding a
        file repairs a corrupted block instead of trusting it.
        """
        if not hashed:
            verify_block(cid, block)
        if len(block) > MAX_BLOCK_SIZE:
            raise StorageError(f"block {cid} is {len(block)} bytes, above {MAX_BLOCK_SIZE}")
        path = self.path_for(cid)
        if path.is_file():
            try:
                self.get(cid)
                return
            except IntegrityError:
                pass  # fall through: overwrite the damaged copy
        self._write_atomically(path, block)

    def _write_atomically(self, path: Path, payload: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                if self._fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # -- pins ---------------------------------------------------------------------------------

    def _pin_path(self, cid: CID) -> Path:
        return self._pins / str(cid.set(version=1, base="base32"))

    def add_pin(self, cid: CID) -> None:
        """Record that ``cid`` (a DAG root) must be kept."""
        path = self._pin_path(cid)
        if not path.is_file():
            self._write_atomically(path, str(cid).encode())

    def remove_pin(self, cid: CID) -> bool:
        """Forget a pin; True if there was one."""
        try:
            self._pin_path(cid).unlink()
            return True
        except FileNotFoundError:
            return False

    def is_pinned(self, cid: CID) -> bool:
        """Whether ``cid`` is pinned (under either CID version)."""
        return self._pin_path(cid).is_file()

    def pins(self) -> Iterator[CID]:
        """Pinned roots, as they were given when pinned."""
        if not self._pins.is_dir():
            return
        for path in sorted(self._pins.iterdir()):
            if path.name.startswith(".tmp-"):
                continue
            yield parse_cid(path.read_text().strip())
