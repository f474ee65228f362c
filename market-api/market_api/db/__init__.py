"""The SQL index the indexer writes and the API reads (SQLAlchemy 2; SQLite by default)."""

from market_api.db.models import Base
from market_api.db.session import Index, index_url_for

__all__ = ["Base", "Index", "index_url_for"]
