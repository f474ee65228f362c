"""Dependencies of the routes, as ``Annotated`` aliases.

The index session, a checked address and pagination bounds. They are ``async`` (so are the
routes that read the index): FastAPI runs a sync dependency or route in a worker thread, and
the thread hand-offs cost more than the index reads themselves (about 1 ms a request here,
against reads of 0.1-2 ms that never wait on a lock: SQLite readers in WAL mode and
PostgreSQL readers do not block on the indexer's writes).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from web3 import Web3

from market_api.db import Index

__all__ = [
    "get_index", "get_session", "IndexDep", "SessionDep", "AddressDep", "PageDep", "Page",
    "MAX_LIMIT", "INT64_MAX", "ADDRESS_PATTERN", "ADDRESS_DETAIL", "CHECKSUM_DETAIL", "cached",
]

MAX_LIMIT = 200
# Every integer a request carries must fit the index's BIGINT columns (SQLite and PostgreSQL
# alike): larger values are a 422 by the schema, never an overflow in the driver.
INT64_MAX = 2**63 - 1
# Documented in the OpenAPI schema, whose regex dialect (ECMA-262) reads ``$`` as the end of
# the text; it is checked with ``fullmatch`` here, never ``re.match`` with ``$``, which
# Python lets match before a trailing newline.
ADDRESS_PATTERN = "^0x[0-9a-fA-F]{40}$"
ADDRESS_DETAIL = "Malformed address: expected 0x followed by 40 hex digits"
CHECKSUM_DETAIL = "Malformed address: mixed-case address with a wrong EIP-55 checksum"
_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")


async def get_index(request: Request) -> Index:
    """The app's index (set by :func:`market_api.main.create_app`)."""
    return request.app.state.index  # type: ignore[no-any-return]


IndexDep = Annotated[Index, Depends(get_index)]


async def get_session(index: IndexDep) -> AsyncIterator[Session]:
    """One read session per request."""
    with index.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def checked_address(
    address: Annotated[str, Path(description="0x-prefixed account (EIP-55 checksum when mixed "
                                             "case)", json_schema_extra={
                                                 "pattern": ADDRESS_PATTERN})],
) -> str:
    """The path's address, checksummed; 422 when it is not an address.

    The pattern is declared for the schema only (``json_schema_extra``) and checked here, so a
    malformed address gets this sentence rather than the regex it failed.
    """
    if not _HEX40.fullmatch(address):
        raise HTTPException(status_code=422, detail=ADDRESS_DETAIL)
    body = address[2:]
    if body != body.lower() and body != body.upper() and not Web3.is_checksum_address(address):
        raise HTTPException(status_code=422, detail=CHECKSUM_DETAIL)
    return str(Web3.to_checksum_address(address))


AddressDep = Annotated[str, Depends(checked_address)]


@dataclass(frozen=True)
class Page:
    """Offset and limit of a list request."""

    offset: int
    limit: int


async def pagination(
    offset: Annotated[int, Query(ge=0, le=INT64_MAX, description="items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items to return")] = 50,
) -> Page:
    """``?offset=&limit=`` with bounds (422 outside them)."""
    return Page(offset, limit)


PageDep = Annotated[Page, Depends(pagination)]


def cached(request: Request, session: Session, build: Callable[[], BaseModel]) -> Response:
    """``build()``'s JSON, served from the app's cache while the index is unchanged."""
    return request.app.state.responses.respond(request, session, build)  # type: ignore[no-any-return]
