"""Opening the index: one engine per process, short sessions per request or batch.

SQLite runs in WAL mode so API readers never block on, nor see part of, the indexer's open
write transaction: a batch of blocks becomes visible all at once when it commits. Any other
SQLAlchemy URL (``postgresql+psycopg://…``) works unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from fedmarket.config import Settings
from market_api.db.models import SCHEMA_VERSION, Base, IndexMeta

__all__ = ["Index", "index_url_for"]


def index_url_for(settings: Settings) -> str:
    """The configured index URL, else a SQLite file in the data dir."""
    if settings.index_url:
        return settings.index_url
    return f"sqlite:///{Path(settings.data_dir).resolve() / 'index.sqlite'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Index:
    """The index database: its engine, session factory and schema."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # The API's worker threads and the indexer thread share the engine's pool.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        """Create the tables; rebuild an index written by another schema version.

        The index holds nothing the chain and the store cannot give again, so a schema change
        costs a re-index, never a migration.
        """
        existing = set(inspect(self.engine).get_table_names())
        if existing and "index_meta" not in existing:
            self.reset()
            return
        Base.metadata.create_all(self.engine)
        with self.sessions() as session:
            meta = session.get(IndexMeta, 1)
            version = meta.schema_version if meta is not None else None
        if version is not None and version != SCHEMA_VERSION:
            self.reset()
        elif version is None:
            with self.sessions.begin() as session:
                session.merge(IndexMeta(id=1, schema_version=SCHEMA_VERSION))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (no commit)."""
        with self.sessions() as session:
            yield session

    def reset(self) -> None:
        """Drop and recreate every table (a deployment change or a reorg beyond the index)."""
        found = MetaData()  # what is there, including tables of an older schema
        found.reflect(self.engine)
        found.drop_all(self.engine)
        Base.metadata.create_all(self.engine)
        with self.sessions.begin() as session:
            session.merge(IndexMeta(id=1, schema_version=SCHEMA_VERSION))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
