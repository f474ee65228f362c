"""One error body for every failure: ``{"detail": "<one sentence>"}``.

FastAPI answers an invalid request with a list of pydantic errors and Starlette answers an
unhandled exception with plain text, after which uvicorn drops the keep-alive connection
without ``Connection: close`` (the exception is re-raised once the 500 was sent), so a pooled
client's next request fails too. Here every status has the same JSON shape
(:class:`~market_api.api.schemas.ErrorPublic`, documented on every operation), and
:class:`CatchAllMiddleware` turns an unexpected exception into that body without re-raising
it, so the connection stays usable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from market_api.api.schemas import ErrorPublic

__all__ = ["install_error_handlers", "CatchAllMiddleware", "ERROR_RESPONSES",
           "INTERNAL_DETAIL", "UNAVAILABLE_DETAIL", "validation_detail"]

log = logging.getLogger(__name__)

INTERNAL_DETAIL = "Internal server error"
UNAVAILABLE_DETAIL = "The index database is unavailable; try again shortly"

# Documented on every operation, so the schema lists each status the API can answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorPublic, "description": "Invalid path or query parameter"},
    500: {"model": ErrorPublic, "description": "Unexpected server error (a bug)"},
    503: {"model": ErrorPublic, "description": "The index database is unavailable"},
}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def validation_detail(errors: Sequence[Any]) -> str:
    """One sentence naming each invalid parameter and why (pydantic's messages)."""
    parts = []
    for error in errors:
        loc = [str(x) for x in error.get("loc", ())]
        where = (f"{loc[0]} parameter {'.'.join(loc[1:])}" if len(loc) > 1
                 else (loc[0] if loc else "request"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _error(422, validation_detail(exc.errors()))


class CatchAllMiddleware:
    """Answer an unhandled exception with the error body instead of re-raising it.

    ``OperationalError`` (database gone, locked beyond the busy timeout) is a 503; anything
    else is a 500 and logged with its traceback. Once a response has started nothing can be
    sent any more, and the exception propagates as before.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer its unhandled exception if no response has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            if isinstance(exc, OperationalError):
                log.warning("index unavailable for %s: %s", scope.get("path"),
                            str(exc).splitlines()[0])
                response = _error(503, UNAVAILABLE_DETAIL, {"Retry-After": "1"})
            else:
                log.exception("unhandled error on %s", scope.get("path"))
                response = _error(500, INTERNAL_DETAIL)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through the one body format."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(CatchAllMiddleware)
