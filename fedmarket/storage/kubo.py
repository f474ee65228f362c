"""A Kubo (go-ipfs) daemon as the content store, over its RPC API (``ipfs daemon``, port 5001).

Endpoints used, as documented at https://docs.ipfs.tech/reference/kubo/rpc/ (all ``POST``):
``/api/v0/add`` (multipart upload, NDJSON ``{Name, Hash, Size}`` reply), ``/api/v0/cat``,
``/api/v0/pin/add`` and ``/api/v0/block/stat``. Errors come back as HTTP 500 with
``{"Message", "Code", "Type"}``.

The daemon is not trusted with integrity: :meth:`KuboStore.put` computes the CID locally and
rejects a different answer, and :meth:`KuboStore.iter` re-imports what ``cat`` returns with
the same chunker and DAG code as the embedded store and compares CIDs *before* handing out a
byte (the download is spooled to a temporary file meanwhile, so memory stays bounded). The
price: only content added with Kubo's default import settings (256 KiB chunks, balanced, 174
links; raw leaves with CIDv1) can be read through this backend; other DAGs fail the check.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

import httpx

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage.base import ContentStore, Source, open_source
from fedmarket.storage.blocks import CID, RAW, parse_cid
from fedmarket.storage.importer import CHUNK_SIZE, ImportParams, import_stream

__all__ = ["KuboStore", "api_base_url"]

_SPOOL_READ = 1 << 16


def api_base_url(api: str) -> str:
    """Turn ``http://host:5001`` or a multiaddr like ``/ip4/127.0.0.1/tcp/5001`` into a URL."""
    api = api.strip()
    if api.startswith("/"):
        parts = api.strip("/").split("/")
        if (
            len(parts) >= 4
            and parts[0] in ("ip4", "ip6", "dns", "dns4", "dns6")
            and (parts[2] == "tcp")
        ):
            host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
            scheme = "https" if "https" in parts[4:] else "http"
            return f"{scheme}://{host}:{parts[3]}"
        raise StorageError(f"cannot use IPFS API address {api!r} (need /ip4/HOST/tcp/PORT)")
    if not api.startswith(("http://", "https://")):
        api = "http://" + api
    return api.rstrip("/")


class _TeeReader:
    """Read from an iterator of chunks while copying every byte read into a spool file."""

    def __init__(self, chunks: Iterator[bytes], spool: IO[bytes]):
        self._chunks = chunks
        self._spool = spool
        self._pending = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._pending) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        if n < 0:
            n = len(self._pending)
        out, self._pending = self._pending[:n], self._pending[n:]
        self._spool.write(out)
        return out


def _verification_params(cid: CID) -> list[ImportParams]:
    """Import settings under which Kubo could have produced ``cid`` by default."""
    if cid.version == 0:
        return [ImportParams(cid_version=0)]
    if cid.codec.name == RAW:
        return [ImportParams(cid_version=1, raw_leaves=True)]
    # --cid-version=1 implies raw leaves, but --raw-leaves=false is common enough to accept.
    return [
        ImportParams(cid_version=1, raw_leaves=True),
        ImportParams(cid_version=1, raw_leaves=False),
    ]


class KuboStore(ContentStore):
    """Content store backed by a Kubo daemon's RPC API; every read is re-hashed locally."""

    def __init__(
        self,
        api: str,
        *,
        cid_version: int = 0,
        timeout: float = 120.0,
        client: httpx.Client | None = None,
    ):
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {cid_version}")
        self.url = api_base_url(api)
        self.cid_version = cid_version
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"KuboStore({self.url!r}, cid_version={self.cid_version})"

    def close(self) -> None:
        """Close the HTTP client (if this store created it)."""
        if self._owns_client:
            self._client.close()

    # -- RPC plumbing -----------------------------------------------------------------------

    def _endpoint(self, command: str) -> str:
        return f"{self.url}/api/v0/{command}"

    def _error(self, command: str, response: httpx.Response) -> StorageError:
        try:
            message = json.loads(response.read()).get("Message") or response.reason_phrase
        except (ValueError, AttributeError):
            message = response.text[:200] or response.reason_phrase
        return StorageError(f"Kubo {command} failed (HTTP {response.status_code}): {message}")

    def _post(self, command: str, params: dict[str, str], **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(self._endpoint(command), params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot reach Kubo RPC at {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise self._error(command, response)
        return response

    # -- the interface ------------------------------------------------------------------------

    def put(self, source: Source, *, cid_version: int | None = None) -> str:
        """Upload with Kubo's ``add`` and check its CID against the one computed here."""
        version = self.cid_version if cid_version is None else cid_version
        params = ImportParams(cid_version=version)
        with open_source(source) as stream, tempfile.TemporaryFile() as spool:
            if isinstance(source, os.PathLike):
                expected = import_stream(stream, None, params).cid
                stream.seek(0)
                upload: BinaryIO = stream
            else:  # bytes or a one-shot stream: hash while copying to a seekable spool
                expected = import_stream(
                    _TeeReader(iter(lambda: stream.read(CHUNK_SIZE), b""), spool), None, params
                ).cid
                spool.seek(0)
                upload = spool  # type: ignore[assignment]
            response = self._post(
                "add",
                {
                    "cid-version": str(version),
                    "raw-leaves": "true" if params.use_raw_leaves else "false",
                    "chunker": f"size-{params.chunk_size}",
                    "hash": "sha2-256",
                    "pin": "false",
                    "progress": "false",
                },
                files={"file": ("file", upload, "application/octet-stream")},
            )
        answered = self._added_hash(response)
        if bytes(answered) != bytes(expected):
            raise IntegrityError(
                f"Kubo at {self.url} named the upload {answered}, but its bytes are {expected}"
            )
        return str(expected)

    @staticmethod
    def _added_hash(response: httpx.Response) -> CID:
        lines = [line for line in response.text.splitlines() if line.strip()]
        try:
            entries = [json.loads(line) for line in lines]
            hashes = [e["Hash"] for e in entries if isinstance(e, dict) and "Hash" in e]
        except (ValueError, KeyError) as exc:
            raise StorageError(f"Kubo add: unreadable reply {response.text[:200]!r}") from exc
        if not hashes:
            raise StorageError(f"Kubo add: reply names no CID: {response.text[:200]!r}")
        return parse_cid(hashes[-1])

    def iter(self, cid: str) -> Iterator[bytes]:
        """Download with ``cat``, verify the whole file against ``cid``, then stream it."""
        root = parse_cid(cid)
        candidates = _verification_params(root)
        spool = tempfile.TemporaryFile()
        try:
            got = self._download(root, spool, candidates[0])
            for params in candidates[1:]:
                if bytes(got) == bytes(root):
                    break
                spool.seek(0)
                got = import_stream(spool, None, params).cid
            if bytes(got) != bytes(root):
                raise IntegrityError(
                    f"Kubo at {self.url} served bytes for {root} that hash to {got}: refusing "
                    "them (content tampered with, or added with non-default import settings)"
                )
        except BaseException:
            spool.close()
            raise
        return self._replay(spool)

    def _download(self, root: CID, spool: IO[bytes], params: ImportParams) -> CID:
        try:
            with self._client.stream(
                "POST", self._endpoint("cat"), params={"arg": str(root)}
            ) as response:
                if response.status_code != 200:
                    raise self._error("cat", response)
                reader = _TeeReader(response.iter_bytes(_SPOOL_READ), spool)
                got = import_stream(reader, None, params).cid
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot reach Kubo RPC at {self.url}: {exc}") from exc
        return got

    @staticmethod
    def _replay(spool: IO[bytes]) -> Iterator[bytes]:
        with spool:
            spool.seek(0)
            while chunk := spool.read(CHUNK_SIZE):
                yield chunk

    def has(self, cid: str) -> bool:
        """Whether the daemon holds the root block locally (``block/stat`` with offline=true)."""
        root = parse_cid(cid)
        try:
            self._post("block/stat", {"arg": str(root), "offline": "true"})
        except StorageError as exc:
            text = str(exc).lower()
            if "not found" in text or "could not find" in text:
                return False
            raise
        return True

    def pin(self, cid: str) -> None:
        """Pin the whole DAG on the daemon (``pin/add``, recursive)."""
        root = parse_cid(cid)
        reply = self._post("pin/add", {"arg": str(root), "recursive": "true"})
        try:
            pins = reply.json().get("Pins")
        except ValueError as exc:
            raise StorageError(f"Kubo pin/add: unreadable reply {reply.text[:200]!r}") from exc
        if not isinstance(pins, list):
            raise StorageError(f"Kubo pin/add: reply lists no pins: {reply.text[:200]!r}")
