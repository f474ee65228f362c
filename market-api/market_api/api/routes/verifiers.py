"""``/verifiers/{address}``: stake, committee votes, fees earned and stake slashed.

Verifiers no longer join projects: each round's committee is drawn from the registry's whole
pool, so a verifier is known by its stake and its votes. Votes come a page at a time
(``?offset=&limit=``): a verifier sits on rounds of many projects, and a response holding
all of them would grow with the index.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market_api.api.deps import AddressDep, Page, PageDep, SessionDep, cached
from market_api.api.routes.projects import vote_outcome
from market_api.api.schemas import AttestationPublic, ErrorPublic, SlashPublic, VerifierPublic
from market_api.db import models as m

__all__ = ["router"]

router = APIRouter(prefix="/verifiers", tags=["verifiers"])

_SAME_ROUND = ((m.Round.project_id == m.Attestation.project_id)
               & (m.Round.round == m.Attestation.round))


@router.get("/{address}", response_model=VerifierPublic, summary="A verifier",
            responses={404: {"model": ErrorPublic, "description": "Verifier not found"},
                       422: {"model": ErrorPublic, "description": "Malformed address"}})
async def get_verifier(request: Request, session: SessionDep, address: AddressDep,
                       page: PageDep) -> Response:
    """Verifier stake, fees earned, stake slashed and its votes (a page, oldest first)."""
    return cached(request, session, lambda: _verifier(session, address, page))


def _verifier(session: Session, address: str, page: Page) -> VerifierPublic:
    stake = session.get(m.Stake, (address, "verifier"))
    outcomes: dict[str, int] = {"won": 0, "lost": 0}
    tally: dict[bool, int] = {True: 0, False: 0}
    for agree, verdict, n in session.execute(
            select(m.Attestation.agree, m.Round.verdict, func.count())
            .join(m.Round, _SAME_ROUND).where(m.Attestation.verifier == address)
            .group_by(m.Attestation.agree, m.Round.verdict)):
        tally[bool(agree)] += int(n)
        outcome = vote_outcome(verdict, bool(agree))
        if outcome in outcomes:
            outcomes[outcome] += int(n)
    if stake is None and not any(tally.values()):
        raise HTTPException(status_code=404, detail="Verifier not found")
    slashes = [SlashPublic(project=p, round=r, verifier=address, amount=amount, block=block)
               for p, r, amount, block in session.execute(
                   select(m.VerifierSlash.project_id, m.VerifierSlash.round,
                          m.VerifierSlash.amount, m.VerifierSlash.block)
                   .where(m.VerifierSlash.verifier == address)
                   .order_by(m.VerifierSlash.block, m.VerifierSlash.project_id))]
    fees: dict[tuple[int, int | None], int] = {}
    for p, r, amount in session.execute(
            select(m.Credit.project_id, m.Credit.round, m.Credit.amount)
            .where((m.Credit.account == address) & (m.Credit.reason == "verification_fee"))):
        fees[(p, r)] = fees.get((p, r), 0) + int(amount)
    lost_in = {(s.project, s.round): s.amount for s in slashes}
    votes = session.execute(
        select(m.Attestation.project_id, m.Attestation.round, m.Attestation.agree,
               m.Attestation.report_cid, m.Attestation.block, m.Round.verdict)
        .join(m.Round, _SAME_ROUND)
        .where(m.Attestation.verifier == address)
        .order_by(m.Attestation.block, m.Attestation.project_id, m.Attestation.round)
        .offset(page.offset).limit(page.limit))
    return VerifierPublic(
        address=address, stake=stake.amount if stake else "0",
        registered=bool(stake and stake.registered), bindings=stake.bindings if stake else 0,
        agreed=tally[True], disagreed=tally[False],
        attestation_count=tally[True] + tally[False], won=outcomes["won"],
        lost=outcomes["lost"], rewarded=str(sum(fees.values())),
        slashed=str(sum(int(s.amount) for s in slashes)), slashes=slashes,
        attestations=[AttestationPublic(
            project=project, round=round_, verifier=address, agree=agree, report_cid=report,
            block=block, outcome=vote_outcome(verdict, bool(agree)),
            reward=str(fees.get((project, round_), 0)),
            slashed=lost_in.get((project, round_), "0"))
            for project, round_, agree, report, block, verdict in votes])
