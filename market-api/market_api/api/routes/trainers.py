"""``/trainers/{address}``: stake, reputation, projects and rewards of a trainer."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import bindparam, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

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


# Statements built once and bound per request; rows are read plain, without ORM objects.
_ADDRESS: BindParameter[str] = bindparam("address")
# One round trip: staked, joined, judged or paid as a trainer.
_KNOWN = select(literal(True)).where(or_(
    select(m.Stake.account).where((m.Stake.account == _ADDRESS)
                                  & (m.Stake.kind == "trainer")).exists(),
    select(m.Membership.account).where((m.Membership.account == _ADDRESS)
                                       & (m.Membership.role == "trainer")).exists(),
    select(m.Verdict.trainer).where(m.Verdict.trainer == _ADDRESS).exists(),
    select(m.Claim.trainer).where(m.Claim.trainer == _ADDRESS).exists()))
_SUBMITTED = (select(m.Submission.project_id, func.count())
              .where((m.Submission.trainer == _ADDRESS) & m.Submission.commitment.is_not(None))
              .group_by(m.Submission.project_id))
# Earned = what was claimed or can still be claimed, as /trainers/{a}/rewards counts it: a leaf
# left unclaimed past its round's claim window went back to the owner and is not earned.
_VERDICTS = (select(m.Verdict.project_id, m.Verdict.accepted, m.Verdict.reward, m.Round.status,
                    m.Round.unclaimed_returned.is_not(None), m.Claim.amount.is_not(None))
             .join(m.Round, (m.Round.project_id == m.Verdict.project_id)
                   & (m.Round.round == m.Verdict.round))
             .outerjoin(m.Claim, (m.Claim.project_id == m.Verdict.project_id)
                        & (m.Claim.round == m.Verdict.round)
                        & (m.Claim.trainer == m.Verdict.trainer))
             .where(m.Verdict.trainer == _ADDRESS))
_PROJECTS = (select(m.Membership.project_id, m.Membership.joined_block, m.Membership.left_block,
                    m.Project.status, m.Membership.released_round)
             .join(m.Project, m.Project.id == m.Membership.project_id)
             .where((m.Membership.account == _ADDRESS) & (m.Membership.role == "trainer"))
             .order_by(m.Membership.project_id))


def _known(session: Session, address: str) -> bool:
    return session.connection().execute(_KNOWN, {"address": address}).first() is not None


@router.get("/{address}", response_model=TrainerPublic, summary="A trainer",
            responses=NOT_FOUND)
async def get_trainer(request: Request, session: SessionDep, address: AddressDep) -> Response:
    """Trainer stake, reputation and the projects it joined with its record in each."""
    return cached(request, session, lambda: _trainer(session, address))


def _trainer(session: Session, address: str) -> TrainerPublic:
    if not _known(session, address):
        raise HTTPException(status_code=404, detail="Trainer not found")
    bound = {"address": address}
    connection = session.connection()
    stake = session.get(m.Stake, (address, "trainer"))
    rep = session.get(m.Reputation, address)
    accepted, rejected = (rep.accepted, rep.rejected) if rep else (0, 0)
    submitted = {project: int(n) for project, n in connection.execute(_SUBMITTED, bound)}
    accepted_in: dict[int, int] = defaultdict(int)
    earned: dict[int, int] = defaultdict(int)
    for project, was_accepted, reward, status, returned, claimed in connection.execute(
            _VERDICTS, bound):
        accepted_in[project] += int(bool(was_accepted))
        if status == "finalized" and (claimed or not returned):
            earned[project] += int(reward)
    projects = [TrainerProjectPublic(
        project=pid, status=status, joined_block=joined, left=left is not None,
        released_round=released, rounds_submitted=submitted.get(pid, 0),
        rounds_accepted=accepted_in[pid],
        earned=str(earned[pid])) for pid, joined, left, status, released in connection.execute(
            _PROJECTS, bound)]
    return TrainerPublic(
        address=address, stake=stake.amount if stake else "0",
        registered=bool(stake and stake.registered), bindings=stake.bindings if stake else 0,
        reputation=ReputationPublic(accepted=accepted, rejected=rejected,
                                    score=accepted - rejected),
        projects=projects)


@router.get("/{address}/rewards", response_model=TrainerRewardsPublic,
            summary="A trainer's rewards and claim proofs", responses=NOT_FOUND)
async def get_rewards(request: Request, session: SessionDep, address: AddressDep) -> Response:
    """Earned, claimed, claimable and pending wei, each leaf with the proof for ``claim``."""
    return cached(request, session, lambda: _rewards(session, address))


def _rewards(session: Session, address: str) -> TrainerRewardsPublic:
    if not _known(session, address):
        raise HTTPException(status_code=404, detail="Trainer not found")
    return trainer_rewards(session, address)
