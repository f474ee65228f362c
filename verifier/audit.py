"""``fedmarket audit PROJECT``: re-run every round from chain + storage and check the money.

Per round: the posted result re-executes to the same verdicts, scores, wei amounts and Merkle
root (:mod:`verifier.reexecution`); the distributor was funded with exactly the posted root
and total; what was claimed matches the settled leaves; a posted zero-knowledge proof verifies
(py-ecc). Per project: budget + released seats' penalties = everything finalized rounds
awarded + verification fees paid + escrow returned + escrow still held, to the wei.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aggregator.inputs import load_validation
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import ProjectStatus, RoundStatus
from fedmarket.errors import FedmarketError
from fedmarket.protocol import load_spec
from fedmarket.storage.base import ContentStore
from verifier.reexecution import reexecute_round

__all__ = ["AuditLine", "ProjectAudit", "audit_project"]


@dataclass
class AuditLine:
    """The verdict on one round (or on the project's books, round 0)."""

    round: int
    status: str
    passed: bool = True
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        """Record a failed check."""
        self.passed = False
        self.problems.append(problem)


@dataclass
class ProjectAudit:
    """Every line of one project's audit."""

    project: int
    lines: list[AuditLine] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every round and the books check out."""
        return all(line.passed for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        return {"project": self.project, "passed": self.passed, "lines": [
            {"round": x.round, "status": x.status, "passed": x.passed, "checks": x.checks,
             "problems": x.problems} for x in self.lines]}


def _proof_check(contracts: MarketContracts, store: ContentStore, project: int,
                 round_: int, from_block: int) -> tuple[bool | None, str]:
    from verifier.zk.market import check_round_proof

    try:
        return check_round_proof(contracts, store, project, round_, from_block)
    except FedmarketError as exc:
        return False, str(exc)


def audit_project(contracts: MarketContracts, store: ContentStore, project: int,
                  from_block: int = 0) -> ProjectAudit:
    """Audit every round of ``project`` and its escrow accounting."""
    market, rewards = contracts.market, contracts.rewards
    info = market.project(project)
    spec = load_spec(store, info.params.model_spec_cid)
    validation = load_validation(store, spec)
    audit = ProjectAudit(project)
    awarded = 0
    for round_ in range(1, info.current_round + 1):
        ri = market.round(project, round_)
        line = AuditLine(round_, ri.status.name.lower())
        audit.lines.append(line)
        funds = rewards.round_funds(project, round_)
        if ri.status in (RoundStatus.POSTED, RoundStatus.FINALIZED, RoundStatus.DISPUTED):
            try:
                report = reexecute_round(contracts, store, spec, ri, validation,
                                         "audit", from_block)
            except FedmarketError as exc:
                line.fail(f"re-execution failed: {exc}")
            else:
                if report.agree:
                    line.checks.append("result re-executed: verdicts, scores, wei, root match")
                for difference in report.differences:
                    line.fail(difference)
        if ri.status == RoundStatus.FINALIZED:
            awarded += ri.total_rewarded_wei
            if funds.root != ri.rewards_root or funds.total_wei != ri.total_rewarded_wei:
                line.fail("distributor funded with a different root or total than posted")
            else:
                line.checks.append("distributor funded with the posted root and total")
            if funds.claimed_wei > funds.total_wei:
                line.fail(f"claimed {funds.claimed_wei} wei exceeds the total "
                          f"{funds.total_wei} wei")
            else:
                line.checks.append(f"claimed {funds.claimed_wei} of {funds.total_wei} wei")
        elif funds.total_wei != 0:
            line.fail(f"a {line.status} round was funded with {funds.total_wei} wei")
        verified, why = _proof_check(contracts, store, project, round_, from_block)
        if verified is False:
            line.fail(f"zero-knowledge proof: {why}")
        elif verified:
            line.checks.append("zero-knowledge proof verified (py-ecc)")
    audit.lines.append(_books(contracts, project, awarded, from_block))
    return audit


def _books(contracts: MarketContracts, project: int, awarded: int,
           from_block: int) -> AuditLine:
    market = contracts.market
    info = market.project(project)
    line = AuditLine(0, f"books ({info.status.name.lower()})")
    returned = market.escrow_returned(project, from_block)
    if info.status == ProjectStatus.CANCELLED:
        returned = info.budget_wei - info.escrow_wei  # credited back before any round ran
    fees = market.verification_fees(project, from_block)
    penalties = market.seat_penalties(project, from_block)
    total = awarded + fees + returned + info.escrow_wei
    parts = (f"awarded {awarded} + fees {fees} + returned {returned} + held {info.escrow_wei}")
    if total != info.budget_wei + penalties:
        line.fail(f"budget {info.budget_wei} + penalties {penalties} != {parts}")
    else:
        line.checks.append(f"budget {info.budget_wei} + penalties {penalties} wei = {parts}")
    return line
