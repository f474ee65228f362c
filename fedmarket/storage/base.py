"""The one interface every content store offers, whatever holds the bytes.

Callers (trainer, aggregator, verifier) only ever see :class:`ContentStore`: ``put`` returns
the CID ``ipfs add`` would print for the same bytes, and nothing read back reaches a caller
before it has been checked against the CID it was asked for. Backends implement
:meth:`~ContentStore.put`, :meth:`~ContentStore.iter`, :meth:`~ContentStore.has` and
:meth:`~ContentStore.pin`; ``get`` and ``open`` are built on ``iter``.
"""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, TypeAlias

__all__ = ["ContentStore", "Source", "open_source"]

# What can be stored: bytes in memory, a file by path, or any readable binary stream.
Source: TypeAlias = bytes | bytearray | memoryview | os.PathLike[str] | BinaryIO


@contextmanager
def open_source(source: Source) -> Iterator[BinaryIO]:
    """Present any :data:`Source` as a readable binary stream (closing only what it opened)."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
    elif isinstance(source, os.PathLike):
        with Path(source).open("rb") as fh:
            yield fh
    elif isinstance(source, str):
        raise TypeError("pass a pathlib.Path for a file name, or bytes for content")
    else:
        yield source


class _ChunkStream(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (closes the iterator on close)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # a generator: release its block files or HTTP response now
        super().close()


class ContentStore(ABC):
    """Content-addressed storage of files under IPFS CIDs (UnixFS, as ``ipfs add`` makes them).

    ``cid_version`` is the default for :meth:`put`: 0 (``Qm…``, Kubo's default) or 1
    (``bafy…``/``bafk…``, raw leaves, as ``ipfs add --cid-version=1``).
    """

    cid_version: int = 0

    @abstractmethod
    def put(self, source: Source, *, cid_version: int | None = None) -> str:
        """Store a file's bytes (streamed, never loaded whole); return its CID string."""

    @abstractmethod
    def iter(self, cid: str) -> Iterator[bytes]:
        """Yield the file's bytes in order; each piece has been verified against ``cid``.

        Raises :class:`~fedmarket.errors.IntegrityError` when stored or served bytes do not
        hash to the CID, :class:`~fedmarket.errors.StorageError` when content is missing.
        """

    @abstractmethod
    def has(self, cid: str) -> bool:
        """Whether the root block of ``cid`` is available here, without asking the network."""

    @abstractmethod
    def pin(self, cid: str) -> None:
        """Keep the whole DAG of ``cid`` (all of its blocks must be present and intact)."""

    def get(self, cid: str) -> bytes:
        """The whole file in memory; prefer :meth:`open` or :meth:`iter` for large files."""
        return b"".join(self.iter(cid))

    def open(self, cid: str) -> BinaryIO:
        """A buffered, read-only binary file object streaming the verified bytes of ``cid``."""
        return io.BufferedReader(_ChunkStream(self.iter(cid)))  # type: ignore[return-value]

    def close(self) -> None:
        """Release connections or handles (nothing for stores that hold none)."""
        return None

    def __enter__(self) -> ContentStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
