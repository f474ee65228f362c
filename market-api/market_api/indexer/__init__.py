"""The chain indexer: contract events → SQL tables, batch by batch, resumable.

:mod:`~.events` decodes logs from the compiled ABIs, :mod:`~.handlers` maps events to tables
(the one module to adjust when events change), :mod:`~.results` reads posted round results
from the content store, :mod:`~.runner` follows the chain.
"""

from market_api.indexer.runner import BackgroundIndexer, Indexer, SyncReport

__all__ = ["BackgroundIndexer", "Indexer", "SyncReport"]
