"""Reading a posted round result from the content store into verdict rows.

The ``ResultSubmitted`` event carries the result's CID and hash; the JSON itself (per trainer
verdicts, robustness scores, contributions, rewards, and the round's ``metrics`` such as the
new global model's ``accuracy``) lives in storage and is parsed with
:mod:`fedmarket.round_result`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import keccak

from fedmarket.errors import FedmarketError, IntegrityError, StorageError
from fedmarket.round_result import RoundResult
from fedmarket.storage.base import ContentStore

__all__ = [
    "ParsedResult", "ResultFetcher", "parse_result", "store_fetcher",
]

# cid -> bytes, or None while the content is not (yet) available.
ResultFetcher = Callable[[str], bytes | None]


@dataclass(frozen=True)
class ParsedResult:
    """A round result with the metrics the dashboard shows."""

    result: RoundResult
    accuracy: float | None
    hash_matches: bool


def parse_result(data: bytes, expected_hash: str | None) -> ParsedResult:
    """Parse and validate ``data``; raise :class:`FedmarketError` when it is not a result."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FedmarketError(f"round result is not JSON: {exc}") from exc
    result = RoundResult.from_json(obj)
    accuracy = result.metrics.get("accuracy")
    digest = "0x" + keccak(data).hex()
    matches = expected_hash is None or digest == expected_hash.lower()
    return ParsedResult(result, None if accuracy is None else float(accuracy), matches)


def store_fetcher(store: ContentStore) -> ResultFetcher:
    """Read results from ``store``: None while the content is absent (the indexer retries)."""

    def fetch(cid: str) -> bytes | None:
        try:
            return store.get(cid)
        except IntegrityError:
            raise
        except StorageError:
            return None

    return fetch
