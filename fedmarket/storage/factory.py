"""Pick the content store the configuration asks for.

``settings.ipfs_api`` (``FEDMARKET_IPFS_API``) set: a Kubo daemon over its RPC API; unset: the
embedded block store in ``settings.store_dir``. Both name content identically, so switching
backends never changes a CID recorded on chain.
"""

from __future__ import annotations

from fedmarket.config import Settings
from fedmarket.storage.base import ContentStore
from fedmarket.storage.kubo import KuboStore
from fedmarket.storage.local import LocalStore

__all__ = ["open_store"]


def open_store(settings: Settings) -> ContentStore:
    """The configured :class:`ContentStore`, with ``settings.cid_version`` as its default."""
    if settings.ipfs_api:
        return KuboStore(settings.ipfs_api, cid_version=settings.cid_version)
    return LocalStore(settings.store_dir, cid_version=settings.cid_version)
