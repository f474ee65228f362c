"""``/verifiers/{address}``: stake, projects and attestations of a verifier."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from market_api.api.deps import AddressDep, SessionDep, cached
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
def get_verifier(request: Request, session: SessionDep, address: AddressDep) -> Response:
    """Verifier stake, the projects it verifies and every vote it cast."""
    return cached(request, session, lambda: _verifier(session, address))


def _verifier(session: Session, address: str) -> VerifierPublic:
    stake = session.get(m.Stake, (address, "verifier"))
    members = session.execute(
        select(m.Membership, m.Project.status)
        .join(m.Project, m.Project.id == m.Membership.project_id)
        .where((m.Membership.account == address) & (m.Membership.role == "verifier"))
        .order_by(m.Membership.project_id)).all()
    votes = list(session.scalars(select(m.Attestation).where(m.Attestation.verifier == address)
                                 .order_by(m.Attestation.block)))
    if stake is None and not members and not votes:
        raise HTTPException(status_code=404, detail="Verifier not found")
    return VerifierPublic(
        address=address, stake=stake.amount if stake else "0",
        registered=bool(stake and stake.registered), bindings=stake.bindings if stake else 0,
        agreed=sum(a.agree for a in votes), disagreed=sum(not a.agree for a in votes),
        projects=[VerifierProjectPublic(project=mem.project_id, status=status,
                                        joined_block=mem.joined_block,
                                        left=mem.left_block is not None)
                  for mem, status in members],
        attestations=[AttestationPublic(project=a.project_id, round=a.round,
                                        verifier=a.verifier, agree=a.agree,
                                        report_cid=a.report_cid, block=a.block)
                      for a in votes])
