"""``/verifiers/{address}``: stake, projects and attestations of a verifier.

Attestations come a page at a time (``?offset=&limit=``): a verifier of many projects casts
one vote per round of each, and a response holding all of them would grow with the index.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market_api.api.deps import AddressDep, Page, PageDep, SessionDep, cached
from market_api.api.schemas import (
    AttestationPublic,
    ErrorPublic,
    VerifierProjectPublic,
    VerifierPublic,
)
from market_api.db import models as m

__all__ = ["router"]

router = APIRouter(prefix="/verifiers", tags=["verifiers"])


@router.get("/{address}", response_model=VerifierPublic, summary="A verifier",
            responses={404: {"model": ErrorPublic, "description": "Verifier not found"},
                       422: {"model": ErrorPublic, "description": "Malformed address"}})
async def get_verifier(request: Request, session: SessionDep, address: AddressDep,
                 page: PageDep) -> Response:
    """Verifier stake, the projects it verifies and its votes (a page, oldest first)."""
    return cached(request, session, lambda: _verifier(session, address, page))


def _verifier(session: Session, address: str, page: Page) -> VerifierPublic:
    stake = session.get(m.Stake, (address, "verifier"))
    members = session.execute(
        select(m.Membership.project_id, m.Membership.joined_block, m.Membership.left_block,
               m.Project.status)
        .join(m.Project, m.Project.id == m.Membership.project_id)
        .where((m.Membership.account == address) & (m.Membership.role == "verifier"))
        .order_by(m.Membership.project_id)).all()
    tally: dict[bool, int] = {bool(agree): int(n) for agree, n in session.execute(
        select(m.Attestation.agree, func.count()).where(m.Attestation.verifier == address)
        .group_by(m.Attestation.agree))}
    if stake is None and not members and not tally:
        raise HTTPException(status_code=404, detail="Verifier not found")
    votes = session.execute(
        select(m.Attestation.project_id, m.Attestation.round, m.Attestation.agree,
               m.Attestation.report_cid, m.Attestation.block)
        .where(m.Attestation.verifier == address)
        .order_by(m.Attestation.block, m.Attestation.project_id, m.Attestation.round)
        .offset(page.offset).limit(page.limit))
    agreed, disagreed = tally.get(True, 0), tally.get(False, 0)
    return VerifierPublic(
        address=address, stake=stake.amount if stake else "0",
        registered=bool(stake and stake.registered), bindings=stake.bindings if stake else 0,
        agreed=agreed, disagreed=disagreed, attestation_count=agreed + disagreed,
        projects=[VerifierProjectPublic(project=project, status=status, joined_block=joined,
                                        left=left is not None)
                  for project, joined, left, status in members],
        attestations=[AttestationPublic(project=project, round=round_, verifier=address,
                                        agree=agree, report_cid=report, block=block)
                      for project, round_, agree, report, block in votes])
