"""Opening the index: one engine per process, short sessions per request or batch.

SQLite runs in WAL mode so API readers never block on, nor see part of, the indexer's open
write transaction: a batch of blocks becomes visible all at once when it commits. PostgreSQL
(``postgresql+psycopg://user:password@host:port/db``) is tested the same way; any other
SQLAlchemy URL should work unchanged.

Several indexers may share one database (one per API worker, or two ``api serve`` on one
PostgreSQL). :meth:`Index.writing` serialises their write transactions (``BEGIN IMMEDIATE`` on
SQLite, a transaction-level advisory lock on PostgreSQL) and the indexer re-reads its cursor
under that lock, so two of them never apply the same block range twice (which would fail on
the primary keys: ``UniqueViolation``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fedmarket.config import Settings
from fedmarket.errors import ConfigError
from market_api.db.models import SCHEMA_VERSION, Base, IndexMeta

__all__ = ["Index", "index_url_for"]


def index_url_for(settings: Settings) -> str:
    """The configured index URL, else a SQLite file in the data dir."""
    if settings.index_url:
        return settings.index_url
    return f"sqlite:///{Path(settings.data_dir).resolve() / 'index.sqlite'}"


# Key of the PostgreSQL advisory lock that writers of the index take (any constant bigint).
WRITE_LOCK_KEY = 0x66656469_6E646578  # "fedindex"
_WRITE_OPTION = "fedmarket_write"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would BEGIN lazily (DEFERRED, before the first
    # write only); SQLAlchemy's "begin" event emits the BEGIN instead (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """A read is a snapshot (``BEGIN``); a write holds the lock from its first statement.

    ``BEGIN IMMEDIATE`` waits (``busy_timeout``) for any other writer to commit, then reads
    the state that writer left; a deferred write that read first would fail instead when
    another process committed in between (``SQLITE_BUSY_SNAPSHOT``).
    """
    write = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


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
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(f"cannot open the index at {_redacted(url)}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False)
        try:
            self._ensure_schema()
        except OperationalError as exc:
            self.engine.dispose()
            raise ConfigError(f"cannot open the index at {_redacted(url)}: "
                              f"{str(exc.orig).strip().splitlines()[0]}") from exc

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return _redacted(self.url)

    def _ensure_schema(self) -> None:
        """Create the tables; rebuild an index written by another schema version.

        The index holds nothing the chain and the store cannot give again, so a schema change
        costs a re-index, never a migration. Done under the write lock: two processes opening
        a new PostgreSQL index at once would otherwise race on ``CREATE TABLE``.
        """
        with self.writing() as session:
            connection = session.connection()
            existing = set(inspect(connection).get_table_names())
            if existing and "index_meta" not in existing:
                self._recreate(connection)
                return
            Base.metadata.create_all(connection)
            meta = session.get(IndexMeta, 1)
            if meta is None:
                session.add(IndexMeta(id=1, schema_version=SCHEMA_VERSION))
            elif meta.schema_version != SCHEMA_VERSION:
                session.expunge(meta)
                self._recreate(connection)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (no commit)."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction that holds the index's write lock; commits on success."""
        with self._write_sessions.begin() as session:
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": WRITE_LOCK_KEY})
            yield session

    def reset(self) -> None:
        """Drop and recreate every table (a deployment change or a reorg beyond the index)."""
        with self.writing() as session:
            self._recreate(session.connection())

    def _recreate(self, connection: Connection) -> None:
        found = MetaData()  # what is there, including tables of an older schema
        found.reflect(connection)
        found.drop_all(connection)
        Base.metadata.create_all(connection)
        connection.execute(insert(IndexMeta).values(id=1, schema_version=SCHEMA_VERSION))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
