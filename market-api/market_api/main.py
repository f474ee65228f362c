"""The FastAPI app: read endpoints over the index, and the dashboard at ``/``.

Requests read the index only; the chain is read by the indexer (and by ``/health`` for the
head). The app never holds a key: nothing here signs. ``/docs`` is Swagger UI served from the
package (vendored, so it works offline); every error has the body of
:mod:`market_api.api.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from market_api.api.cache import ResponseCache
from market_api.api.errors import ERROR_RESPONSES, install_error_handlers
from market_api.api.routes import health, projects, trainers, verifiers
from market_api.db import Index
from market_api.indexer import BackgroundIndexer

__all__ = ["create_app", "STATIC_DIR", "SWAGGER_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_DIR = STATIC_DIR / "vendor" / "swagger-ui"

DESCRIPTION = """Read API of a fedmarket deployment: projects, rounds, per-trainer verdicts,
contribution scores and rewards (with the Merkle proofs to claim them), verifier attestations.
Amounts are wei as decimal strings. Lists take `?offset=&limit=` (limit 1-200). Integers are
int64; addresses are `0x` and 40 hex digits (EIP-55 checksummed when mixed case). Every error
answers `{"detail": "<sentence>"}`."""


def _as_callable(value: int | Callable[[], int]) -> Callable[[], int]:
    if callable(value):
        return value
    return lambda: value


def create_app(index: Index, chain_id: int | Callable[[], int],
               chain_head: Callable[[], int] | None = None,
               confirmations: int | Callable[[], int] = 0,
               background: BackgroundIndexer | None = None) -> FastAPI:
    """The app over ``index``; ``background`` (if given) runs while the app is up.

    ``chain_id`` and ``confirmations`` may be callables: the API follows a node whose
    deployment can change while it runs.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    app = FastAPI(title="fedmarket", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.index = index
    app.state.chain_id = _as_callable(chain_id)
    app.state.chain_head = chain_head
    app.state.confirmations = _as_callable(confirmations)
    app.state.background = background
    app.state.responses = ResponseCache()
    install_error_handlers(app)
    for module in (health, projects, trainers, verifiers):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        vendor = "/static/vendor/swagger-ui"
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="fedmarket API",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/favicon-32x32.png")

    return app
