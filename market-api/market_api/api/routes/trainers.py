"""``/trainers/{address}``: stake, reputation, projects and rewards of a trainer."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from market_api.api.deps import AddressDep, SessionDep, cached
from market_api.api.rewards import trainer_rewards
from market_api.api.schemas import (
    ErrorPublic,
    ReputationPublic,
    TrainerProjectPublic,
    TrainerPublic,
    TrainerRewardsPublic,
)
from market_api.db import models as m

__all__ = ["router"]

router = APIRouter(prefix="/trainers", tags=["trainers"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "Trainer not found"},
    422: {"model": ErrorPublic, "description": "Malformed address"}}


def _known(session: Session, address: str) -> bool:
    for query in (select(m.Stake.account).where((m.Stake.account == address)
                                                & (m.Stake.kind == "trainer")),
                  select(m.Membership.account).where((m.Membership.account == address)
                                                     & (m.Membership.role == "trainer")),
                  select(m.Verdict.trainer).where(m.Verdict.trainer == address),
                  select(m.Claim.trainer).where(m.Claim.trainer == address)):
        if session.execute(query.limit(1)).first() is not None:
            return True
    return False


@router.get("/{address}", response_model=TrainerPublic, summary="A trainer",
            responses=NOT_FOUND)
def get_trainer(request: Request, session: SessionDep, address: AddressDep) -> Response:
    """Trainer stake, reputation and the projects it joined with its record in each."""
    return cached(request, session, lambda: _trainer(session, address))


def _trainer(session: Session, address: str) -> TrainerPublic:
    if not _known(session, address):
        raise HTTPException(status_code=404, detail="Trainer not found")
    stake = session.get(m.Stake, (address, "trainer"))
    rep = session.get(m.Reputation, address)
    accepted, rejected = (rep.accepted, rep.rejected) if rep else (0, 0)
    submitted: dict[int, int] = defaultdict(int)
    for s in session.scalars(select(m.Submission).where(m.Submission.trainer == address)):
        submitted[s.project_id] += 1 if s.commitment else 0
    accepted_in: dict[int, int] = defaultdict(int)
    earned: dict[int, int] = defaultdict(int)
    for v, status in session.execute(
            select(m.Verdict, m.Round.status).join(
                m.Round, (m.Round.project_id == m.Verdict.project_id)
                & (m.Round.round == m.Verdict.round)).where(m.Verdict.trainer == address)):
        accepted_in[v.project_id] += int(v.accepted)
        if status == "finalized":
            earned[v.project_id] += int(v.reward)
    projects = []
    for member, status in session.execute(
            select(m.Membership, m.Project.status)
            .join(m.Project, m.Project.id == m.Membership.project_id)
            .where((m.Membership.account == address) & (m.Membership.role == "trainer"))
            .order_by(m.Membership.project_id)):
        pid = member.project_id
        projects.append(TrainerProjectPublic(
            project=pid, status=status, joined_block=member.joined_block,
            left=member.left_block is not None, rounds_submitted=submitted[pid],
            rounds_accepted=accepted_in[pid], earned=str(earned[pid])))
    return TrainerPublic(
        address=address, stake=stake.amount if stake else "0",
        registered=bool(stake and stake.registered), bindings=stake.bindings if stake else 0,
        reputation=ReputationPublic(accepted=accepted, rejected=rejected,
                                    score=accepted - rejected),
        projects=projects)


@router.get("/{address}/rewards", response_model=TrainerRewardsPublic,
            summary="A trainer's rewards and claim proofs", responses=NOT_FOUND)
def get_rewards(request: Request, session: SessionDep, address: AddressDep) -> Response:
    """Earned, claimed, claimable and pending wei, each leaf with the proof for ``claim``."""
    return cached(request, session, lambda: _rewards(session, address))


def _rewards(session: Session, address: str) -> TrainerRewardsPublic:
    if not _known(session, address):
        raise HTTPException(status_code=404, detail="Trainer not found")
    return trainer_rewards(session, address)
