"""``/projects``: projects, their rounds, and one round in full."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from market_api.api.deps import INT64_MAX, Page, PageDep, SessionDep, cached
from market_api.api.schemas import (
    AttestationPublic,
    CompensationPublic,
    ErrorPublic,
    ProjectPublic,
    ProjectsPublic,
    RoundDetailPublic,
    RoundPublic,
    RoundsPublic,
    RoundTrainerPublic,
    SlashPublic,
    TaskPublic,
)
from market_api.db import models as m

__all__ = ["router", "project_public", "round_public"]

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectId = Annotated[int, Path(ge=1, le=INT64_MAX, description="project id (from 1)")]
RoundNo = Annotated[int, Path(ge=1, le=INT64_MAX, description="round number (from 1)")]


def project_public(project: m.Project, total_rewarded: int) -> ProjectPublic:
    """Schema of a project row."""
    return ProjectPublic(
        id=project.id, owner=project.owner, aggregator=project.aggregator,
        status=project.status, budget=project.budget, rounds=project.rounds,
        current_round=project.current_round, model_spec_cid=project.model_spec_cid,
        initial_weights_cid=project.initial_weights_cid,
        aggregator_bond=project.aggregator_bond, min_trainers=project.min_trainers,
        max_trainers=project.max_trainers, verifier_quorum=project.verifier_quorum,
        committee_size=project.committee_size, verifier_fee_bps=project.verifier_fee_bps,
        min_reputation=project.min_reputation, trainers=project.trainer_count,
        total_rewarded=str(total_rewarded),
        escrow_returned=project.escrow_returned, bond_slashed=project.bond_slashed,
        posted_block=project.posted_block, posted_at=project.posted_at,
        task=_task(project))


def _task(project: m.Project) -> TaskPublic | None:
    if project.task_model is None or project.task_input_shape is None:
        return None
    return TaskPublic(model=project.task_model, input_kind=project.task_input_kind or "",
                      input_shape=[int(d) for d in project.task_input_shape.split("x")],
                      num_classes=project.task_num_classes or 0,
                      num_params=project.task_num_params or 0,
                      lora_rank=project.task_lora_rank, base_params=project.task_base_params)


def _rewarded(session: Session, ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(m.Round.project_id, m.Round.total_rewarded).where(
        m.Round.project_id.in_(ids), m.Round.status == "finalized"))
    totals: dict[int, int] = dict.fromkeys(ids, 0)
    for project_id, total in rows:
        totals[project_id] += int(total)
    return totals


def _project_or_404(session: Session, project_id: int) -> m.Project:
    project = session.get(m.Project, project_id)
    if project is None:
        raise HTTPException(status_code=404, detail="Project not found")
    return project


def vote_outcome(verdict: str | None, agree: bool) -> str:
    """What a vote came to under the round's settled verdict."""
    if verdict is None:
        return "pending"
    if verdict not in ("agree", "disagree"):
        return "no_verdict"
    return "won" if (verdict == "agree") == agree else "lost"


def _compensation(row: m.Round) -> CompensationPublic | None:
    if row.compensation_total is None:
        return None
    return CompensationPublic(
        per_trainer=row.compensation_per_trainer or "0", total=row.compensation_total,
        expires_at=row.compensation_expires_at or 0, claimed=row.compensation_claimed or "0",
        burned=row.compensation_burned)


def round_public(row: m.Round, quorum: int | None, verdicts: Counter[bool],
                 cls: type[RoundPublic] = RoundPublic, **extra: object) -> RoundPublic:
    """Schema of a round row (``verdicts`` counts accepted / rejected updates).

    A round that did not finalize shows ``total_rewarded`` 0 whatever was posted: refunded
    and disputed rounds never paid their trainers.
    """
    settled = row.verdict in ("agree", "disagree")
    slashed = int(row.verifiers_slashed or "0")
    paid = int(row.verifiers_paid or "0")
    return cls(
        project=row.project_id, round=row.round, status=row.status, pool=row.pool,
        total_rewarded=row.total_rewarded if row.status == "finalized" else "0",
        posted_total=row.posted_total, commit_deadline=row.commit_deadline,
        reveal_deadline=row.reveal_deadline, result_deadline=row.result_deadline,
        verify_deadline=row.verify_deadline, commits=row.commits, reveals=row.reveals,
        accepted=verdicts[True], rejected=verdicts[False], agrees=row.agrees,
        disagrees=row.disagrees, verifier_quorum=quorum, committee_size=row.committee_size,
        verifier_pool=row.verifier_pool, verdict=row.verdict,
        contested=row.agrees > 0 and row.disagrees > 0, winners=row.winners, fee=row.fee,
        fee_paid=str(paid - slashed) if settled else "0", verifiers_slashed=str(slashed),
        verifiers_paid=str(paid), proof_verified=row.proof_verified,
        model_cid=row.model_cid, result_cid=row.result_cid, result_hash=row.result_hash,
        rewards_root=row.rewards_root, result_status=row.result_status,
        result_error=row.result_error, rule=row.rule, scorer=row.scorer, accuracy=row.accuracy,
        refund_reason=row.refund_reason, funded=row.funded_root is not None,
        claim_expires_at=row.claim_expires_at, unclaimed_returned=row.unclaimed_returned,
        compensation=_compensation(row), **extra)


@router.get("", response_model=ProjectsPublic, summary="List projects, newest first")
async def list_projects(request: Request, session: SessionDep, page: PageDep) -> Response:
    """Projects with their status, budget and totals."""
    return cached(request, session, lambda: _projects(session, page))


def _projects(session: Session, page: Page) -> ProjectsPublic:
    count = session.scalar(select(func.count()).select_from(m.Project)) or 0
    rows = list(session.scalars(select(m.Project).order_by(m.Project.id.desc())
                                .offset(page.offset).limit(page.limit)))
    totals = _rewarded(session, [p.id for p in rows])
    return ProjectsPublic(data=[project_public(p, totals[p.id]) for p in rows], count=count)


@router.get("/{project_id}", response_model=ProjectPublic, summary="One project",
            responses={404: {"model": ErrorPublic, "description": "Project not found"}})
async def get_project(request: Request, session: SessionDep, project_id: ProjectId) -> Response:
    """A project's parameters, status and totals."""
    return cached(request, session, lambda: _project(session, project_id))


def _project(session: Session, project_id: int) -> ProjectPublic:
    project = _project_or_404(session, project_id)
    return project_public(project, _rewarded(session, [project.id])[project.id])


@router.get("/{project_id}/rounds", response_model=RoundsPublic, summary="A project's rounds",
            responses={404: {"model": ErrorPublic, "description": "Project not found"}})
async def list_rounds(request: Request, session: SessionDep, project_id: ProjectId,
                page: PageDep) -> Response:
    """Rounds in ascending order with their verification state and accuracy."""
    return cached(request, session, lambda: _rounds(session, project_id, page))


def _rounds(session: Session, project_id: int, page: Page) -> RoundsPublic:
    project = _project_or_404(session, project_id)
    where = m.Round.project_id == project_id
    count = session.scalar(select(func.count()).select_from(m.Round).where(where)) or 0
    rows = list(session.scalars(select(m.Round).where(where).order_by(m.Round.round)
                                .offset(page.offset).limit(page.limit)))
    counts: dict[int, Counter[bool]] = {r.round: Counter() for r in rows}
    verdicts = session.execute(
        select(m.Verdict.round, m.Verdict.accepted, func.count())
        .where(m.Verdict.project_id == project_id, m.Verdict.round.in_(list(counts)))
        .group_by(m.Verdict.round, m.Verdict.accepted))
    for round_, accepted, n in verdicts:
        counts[round_][bool(accepted)] = n
    return RoundsPublic(data=[round_public(r, project.verifier_quorum, counts[r.round])
                              for r in rows], count=count)


@router.get("/{project_id}/rounds/{round_no}", response_model=RoundDetailPublic,
            summary="One round in full",
            responses={404: {"model": ErrorPublic,
                             "description": "Project not found / Round not found"}})
async def get_round(request: Request, session: SessionDep, project_id: ProjectId,
              round_no: RoundNo) -> Response:
    """Per-trainer verdicts, scores, rewards and CIDs; attestations; proof status."""
    return cached(request, session, lambda: _round(session, project_id, round_no))


# The round detail is the heaviest read (every trainer of the round): its statements are
# built once, bound per request, and read plain rows through the connection (no ORM objects).
_KEY: dict[str, BindParameter[int]] = {"project": bindparam("project"),
                                      "round": bindparam("round")}
_QUORUM = select(m.Project.verifier_quorum).where(m.Project.id == _KEY["project"])
_VERDICTS = select(
    m.Verdict.trainer, m.Verdict.update_cid, m.Verdict.samples, m.Verdict.accepted,
    m.Verdict.reason, m.Verdict.robustness, m.Verdict.contribution, m.Verdict.reward,
).where((m.Verdict.project_id == _KEY["project"]) & (m.Verdict.round == _KEY["round"]))
_SUBMISSIONS = select(m.Submission.trainer, m.Submission.commitment, m.Submission.cid).where(
    (m.Submission.project_id == _KEY["project"]) & (m.Submission.round == _KEY["round"]))
_CLAIMED = select(m.Claim.trainer).where(
    (m.Claim.project_id == _KEY["project"]) & (m.Claim.round == _KEY["round"]))
_ATTESTATIONS = select(
    m.Attestation.verifier, m.Attestation.agree, m.Attestation.report_cid, m.Attestation.block,
).where((m.Attestation.project_id == _KEY["project"]) & (m.Attestation.round == _KEY["round"])
        ).order_by(m.Attestation.block, m.Attestation.verifier)
_SLASHES = select(m.VerifierSlash.verifier, m.VerifierSlash.amount, m.VerifierSlash.block).where(
    (m.VerifierSlash.project_id == _KEY["project"]) & (m.VerifierSlash.round == _KEY["round"])
).order_by(m.VerifierSlash.block, m.VerifierSlash.verifier)
_FEES = select(m.Credit.account, m.Credit.amount).where(
    (m.Credit.project_id == _KEY["project"]) & (m.Credit.round == _KEY["round"])
    & (m.Credit.reason == "verification_fee"))
_COMPENSATED = select(m.CompensationClaim.trainer, m.CompensationClaim.amount).where(
    (m.CompensationClaim.project_id == _KEY["project"])
    & (m.CompensationClaim.round == _KEY["round"]))


def _round(session: Session, project_id: int, round_no: int) -> RoundPublic:
    key = {"project": project_id, "round": round_no}
    connection = session.connection()
    quorum = connection.execute(_QUORUM, key).first()
    if quorum is None:
        raise HTTPException(status_code=404, detail="Project not found")
    row = session.get(m.Round, (project_id, round_no))
    if row is None:
        raise HTTPException(status_code=404, detail="Round not found")
    verdicts = {v.trainer: v for v in connection.execute(_VERDICTS, key)}
    submissions = {s.trainer: s for s in connection.execute(_SUBMISSIONS, key)}
    claimed = set(connection.execute(_CLAIMED, key).scalars())
    compensated = {t: a for t, a in connection.execute(_COMPENSATED, key)}
    trainers = []
    for address in sorted(verdicts.keys() | submissions.keys(), key=str.lower):
        v, s = verdicts.get(address), submissions.get(address)
        # model_construct: every field comes typed from the index's own columns.
        trainers.append(RoundTrainerPublic.model_construct(
            address=address, commitment=s.commitment if s else None,
            update_cid=(s.cid if s and s.cid else v.update_cid if v else None),
            committed=bool(s and s.commitment), revealed=bool(s and s.cid),
            accepted=bool(v.accepted) if v else None, reason=v.reason if v else None,
            samples=v.samples if v else None,
            robustness=json.loads(v.robustness) if v else {},
            contribution=v.contribution if v else None, reward=v.reward if v else "0",
            claimed=address in claimed, compensation=compensated.get(address, "0")))
    slashes = [SlashPublic.model_construct(project=project_id, round=round_no, verifier=v,
                                           amount=amount, block=block)
               for v, amount, block in connection.execute(_SLASHES, key)]
    slashed = {s.verifier: s.amount for s in slashes}
    fees: dict[str, int] = {}
    for account, amount in connection.execute(_FEES, key):
        fees[account] = fees.get(account, 0) + int(amount)
    attestations = [
        AttestationPublic.model_construct(
            project=project_id, round=round_no, verifier=verifier, agree=bool(agree),
            report_cid=report, block=block, outcome=vote_outcome(row.verdict, bool(agree)),
            reward=str(fees.get(verifier, 0)), slashed=slashed.get(verifier, "0"))
        for verifier, agree, report, block in connection.execute(_ATTESTATIONS, key)]
    counts = Counter(bool(v.accepted) for v in verdicts.values())
    return round_public(row, quorum[0], counts, RoundDetailPublic,
                        trainers=trainers, attestations=attestations, slashes=slashes)
