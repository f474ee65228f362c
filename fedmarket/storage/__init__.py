"""Content-addressed storage: an embedded IPFS-compatible block store and a Kubo RPC client.

Everything stored gets the CID ``ipfs add`` (Kubo, default settings) would give the same bytes,
and everything read is checked against its CID before use::

    from fedmarket.storage import open_store

    with open_store(settings) as store:
        cid = store.put(Path("update.safetensors"))   # "Qm…" (or "bafy…" with CIDv1)
        with store.open(cid) as fh:                   # streamed, verified
            ...

Modules, one concern each: :mod:`~.dagpb` and :mod:`~.unixfs` (the two protobuf formats),
:mod:`~.blocks` (CIDs, hash checks), :mod:`~.importer` / :mod:`~.exporter` (file ⇄ DAG),
:mod:`~.blockstore` (blocks on disk), :mod:`~.car` (CAR files), :mod:`~.local` and
:mod:`~.kubo` (the two backends), :mod:`~.factory`.
"""

from fedmarket.storage.base import ContentStore, Source
from fedmarket.storage.factory import open_store
from fedmarket.storage.importer import CHUNK_SIZE, MAX_LINKS, ImportParams
from fedmarket.storage.kubo import KuboStore
from fedmarket.storage.local import LocalStore

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "ContentStore",
    "ImportParams",
    "KuboStore",
    "LocalStore",
    "Source",
    "open_store",
]
