"""The FastAPI app: read endpoints over the index, and the dashboard at ``/``.

Requests read the index only; the chain is read by the indexer (and by ``/health`` for the
head). The app never holds a key: nothing here signs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from market_api.api.cache import ResponseCache
from market_api.api.rewards import RoundTrees
from market_api.api.routes import health, projects, trainers, verifiers
from market_api.db import Index
from market_api.indexer import BackgroundIndexer

__all__ = ["create_app", "STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """Read API of a fedmarket deployment: projects, rounds, per-trainer verdicts,
contribution scores and rewards (with the Merkle proofs to claim them), verifier attestations.
Amounts are wei as decimal strings. Lists take `?offset=&limit=` (limit 1-200)."""


def create_app(index: Index, chain_id: int, chain_head: Callable[[], int] | None = None,
               confirmations: int = 0, background: BackgroundIndexer | None = None) -> FastAPI:
    """The app over ``index``; ``background`` (if given) runs while the app is up."""

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
                  lifespan=lifespan)
    app.state.index = index
    app.state.chain_id = chain_id
    app.state.chain_head = chain_head
    app.state.confirmations = confirmations
    app.state.background = background
    app.state.round_trees = RoundTrees()
    app.state.responses = ResponseCache()
    for module in (health, projects, trainers, verifiers):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
