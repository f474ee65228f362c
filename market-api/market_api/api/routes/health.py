"""``/health``: the one endpoint that reads the chain (its head), to show the index's lag."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from market_api.api.deps import SessionDep
from market_api.api.schemas import HealthPublic
from market_api.db import models as m

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Chain head vs indexed head")
def health(request: Request, session: SessionDep) -> HealthPublic:
    """``ok`` when the index is within ``confirmations`` (+1) blocks of the chain head."""
    state = request.app.state
    sync = session.scalar(select(m.SyncState).where(m.SyncState.id == 1))
    indexed = sync.last_block if sync and sync.last_block >= sync.start_block else None
    try:
        head: int | None = int(state.chain_head()) if state.chain_head else None
    except Exception:  # noqa: BLE001 - an unreachable node is a health status, not a 500
        head = None
    background = state.background
    error = background.last_error if background is not None else None
    confirmations = int(state.confirmations())
    if head is None:
        status = "chain_unreachable"
    elif indexed is None:
        status = "not_indexed"
    elif head - indexed <= confirmations + 1:
        status = "ok"
    else:
        status = "syncing"
    return HealthPublic(
        status=status, chain_id=int(state.chain_id()), chain_head=head, indexed_block=indexed,
        lag=None if head is None or indexed is None else head - indexed,
        confirmations=confirmations, indexer_error=error)
