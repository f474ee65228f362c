"""Typed bindings of the FedMarket contract: one method per external function.

The trainer, aggregator and verifier loops and the CLI call these instead of raw web3, so every
call is simulated first (a revert surfaces as a decoded :class:`~fedmarket.errors.ContractRevert`,
e.g. ``FedMarketRevealLate``) and every view comes back as a dataclass of
:mod:`fedmarket.chain.types`. State-changing methods return the receipt (gas, logs) unless a
value from the event is the point, as with :meth:`Market.post_project`.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.types import TxReceipt

from fedmarket.chain.client import BoundContract, ChainClient
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.participants import Registry
from fedmarket.chain.rewards import Rewards
from fedmarket.chain.types import (
    Attestation,
    Deadlines,
    Membership,
    ProjectInfo,
    ProjectParams,
    RevealedUpdate,
    RoundInfo,
    RoundPayout,
    RoundPhase,
    RoundProof,
    RoundProofState,
    RoundResult,
    SubmissionStatus,
    VerifiedProof,
    commitment_for,
)
from fedmarket.errors import ChainError

__all__ = ["Market", "MarketContracts"]


class Market:
    """The FedMarket contract as seen by one account."""

    def __init__(self, contract: BoundContract, proofs: BoundContract | None = None):
        self.contract = contract
        # RoundProofs: kept apart from the market (code-size limit); None where not deployed.
        self.proofs = proofs

    @classmethod
    def at(cls, client: ChainClient, deployment: Deployment) -> Market:
        """Bind the deployment's FedMarket (and its RoundProofs) for ``client``'s account."""
        proofs = (client.bind("RoundProofs", deployment.address("RoundProofs"))
                  if "RoundProofs" in deployment.contracts else None)
        return cls(client.bind("FedMarket", deployment.address("FedMarket")), proofs)

    @property
    def address(self) -> str:
        """The contract's address."""
        return self.contract.address

    # -- projects (owner, aggregator, participants)

    def post_project(self, params: ProjectParams, budget_wei: int) -> int:
        """Post a project escrowing ``budget_wei``; returns its id (from ``ProjectPosted``)."""
        receipt = self.contract.transact("postProject", params.to_abi(), value=budget_wei)
        events = self.contract.events("ProjectPosted", receipt)
        if not events:
            raise ChainError("postProject succeeded but emitted no ProjectPosted event")
        return int(events[0]["project"])

    def start_project(self, project: int, bond_wei: int) -> TxReceipt:
        """Aggregator: accept the project by bonding exactly its bond; round 1 starts now."""
        return self.contract.transact("startProject", project, value=bond_wei)

    def cancel_project(self, project: int) -> TxReceipt:
        """Owner: cancel before the aggregator bonded; the escrow is credited back."""
        return self.contract.transact("cancelProject", project)

    def join_as_trainer(self, project: int) -> TxReceipt:
        """Join as a trainer (locks the registry trainer stake until :meth:`leave`)."""
        return self.contract.transact("joinAsTrainer", project)

    def leave(self, project: int) -> TxReceipt:
        """Leave a project that is not running, so the stake can be withdrawn."""
        return self.contract.transact("leave", project)

    def release(self, project: int, trainer: str) -> TxReceipt:
        """Anyone: free the seat of a trainer who did not commit in the current round."""
        return self.contract.transact("release", project, trainer)

    def claim_compensation(self, project: int, round_: int) -> int:
        """Revealed trainer of a round whose aggregator was slashed: credit its bond share."""
        receipt = self.contract.transact("claimCompensation", project, round_)
        return sum(int(e["amount"]) for e in self.contract.events("CompensationClaimed", receipt))

    def burn_expired_compensation(self, project: int, round_: int) -> TxReceipt:
        """Anyone, after the claim window: burn the compensation nobody claimed."""
        return self.contract.transact("burnExpiredCompensation", project, round_)

    # -- rounds

    def commitment_for(self, cid: str, salt: bytes, project: int, round_: int,
                       trainer: str | None = None) -> bytes:
        """The commitment for ``cid``/``salt`` (computed locally; equals the contract's)."""
        return commitment_for(cid, salt, trainer or self.contract.client.address, project,
                              round_)

    def commit(self, project: int, round_: int, commitment: bytes) -> TxReceipt:
        """Trainer: commit to an update before the commit deadline."""
        return self.contract.transact("commit", project, round_, commitment)

    def commit_update(self, project: int, round_: int, cid: str, salt: bytes) -> TxReceipt:
        """Trainer: commit to ``cid`` with ``salt`` (keep both to reveal later)."""
        return self.commit(project, round_, self.commitment_for(cid, salt, project, round_))

    def reveal(self, project: int, round_: int, cid: str, salt: bytes) -> TxReceipt:
        """Trainer: reveal the committed CID and salt before the reveal deadline."""
        return self.contract.transact("reveal", project, round_, cid, salt)

    def submit_result(self, project: int, round_: int, result: RoundResult) -> TxReceipt:
        """Aggregator: post the round result (total at most the round pool)."""
        return self.contract.transact("submitResult", project, round_, result.to_abi())

    def attest(self, project: int, round_: int, agree: bool, report_cid: str) -> TxReceipt:
        """Verifier: agree or disagree with the posted resultHash, pointing at a report."""
        return self.contract.transact("attest", project, round_, agree, report_cid)

    def finalize(self, project: int) -> TxReceipt:
        """Anyone: finalize the current round (quorum agreed, verify window over)."""
        return self.contract.transact("finalize", project)

    def advance(self, project: int) -> TxReceipt:
        """Anyone: close the current round whose deadline passed (refund, slash or finalize)."""
        return self.contract.transact("advance", project)

    def finish(self, project: int) -> TxReceipt:
        """Anyone: after the last round, credit unspent escrow to the owner and the bond back."""
        return self.contract.transact("finish", project)

    def submit_proof(self, project: int, round_: int, proof: RoundProof,
                     payout: RoundPayout) -> TxReceipt:
        """Anyone, until the verify deadline: have the payout verifier check a round's proof.

        The market supplies pool and reveal count; ``payout`` must rebuild the posted rewards
        root and total, and gives the payout binding (r, h); ``proof``'s measurements root and
        params must hash to the result's posted ``proofClaim``.
        """
        return self._proofs().transact("submitProof", project, round_, proof.to_abi(),
                                       payout.to_abi(project, round_))

    def _proofs(self) -> BoundContract:
        if self.proofs is None:
            raise ChainError("this deployment has no RoundProofs contract: proofs are off")
        return self.proofs

    def withdraw(self) -> int:
        """Withdraw everything credited to this account; returns the wei paid."""
        receipt = self.contract.transact("withdraw")
        return sum(int(e["amount"]) for e in self.contract.events("Withdrawn", receipt))

    # -- views

    def project_count(self) -> int:
        """Number of projects posted (ids are 1..count)."""
        return int(self.contract.call("projectCount"))

    def project(self, project: int) -> ProjectInfo:
        """A project's parameters and state."""
        return ProjectInfo.from_abi(project, self.contract.call("getProject", project))

    def round(self, project: int, round_: int) -> RoundInfo:
        """A round's state with its deadlines and current phase."""
        raw = self.contract.call("getRound", project, round_)
        phase = self.contract.call("roundPhase", project, round_)
        deadlines = self.contract.call("roundDeadlines", project, round_)
        verified = (bool(self.proofs.call("isVerified", project, round_))
                    if self.proofs is not None else False)
        return RoundInfo.from_abi(project, round_, raw, phase, deadlines, verified)

    def current_round(self, project: int) -> RoundInfo:
        """The project's current round (round 0 before it starts)."""
        return self.round(project, self.project(project).current_round)

    def round_proof(self, project: int, round_: int) -> RoundProofState:
        """What a round's payout proof is checked against (whether verified: ``round()``)."""
        return RoundProofState.from_abi(self.contract.call("getRoundProof", project, round_))

    def round_seed(self, project: int, round_: int) -> int:
        """The round's seed (committee draw), final once reveals are over."""
        return int(self.contract.call("roundSeed", project, round_))

    def on_committee(self, project: int, round_: int, account: str | None = None) -> bool:
        """Whether ``account`` (default: this client's) sits on the round's committee."""
        return bool(self.contract.call("isOnCommittee", project, round_,
                                       account or self.contract.client.address))

    def trainer_status(self, project: int, trainer: str | None = None) -> tuple[int, bool]:
        """(first round ``trainer`` may commit in, whether its seat was released)."""
        first, released = self.contract.call("trainerStatus", project,
                                              trainer or self.contract.client.address)
        return int(first), bool(released)

    def compensation(self, project: int, round_: int) -> tuple[int, int, int]:
        """(per revealed trainer, left, expiry) of a round's slashed-bond compensation."""
        per, left, expires = self.contract.call("compensationOf", project, round_)
        return int(per), int(left), int(expires)

    def min_phase_duration(self) -> int:
        """The deployment's shortest allowed phase, in seconds."""
        return int(self.contract.call("minPhaseDuration"))

    def verified_proof(self, project: int, round_: int, from_block: int = 0
                       ) -> VerifiedProof | None:
        """The proof recorded for the round and its payout binding (``RoundProofVerified``)."""
        if self.proofs is None:
            return None
        event = self.proofs.contract.events.RoundProofVerified()
        logs = event.get_logs(argument_filters={"project": project, "round": round_},
                              from_block=from_block, to_block="latest")
        if not logs:
            return None
        args = logs[-1]["args"]
        return VerifiedProof(RoundProof.from_abi(args["proof"]), str(args["prover"]),
                             int(args["challenge"]), int(args["binding"]),
                             int(logs[-1]["blockNumber"]))

    def phase(self, project: int, round_: int) -> RoundPhase:
        """A round's phase at the chain's current time."""
        return RoundPhase(self.contract.call("roundPhase", project, round_))

    def deadlines(self, project: int, round_: int) -> Deadlines:
        """A round's deadlines."""
        return Deadlines(*(int(v) for v in self.contract.call("roundDeadlines", project, round_)))

    def current_model_cid(self, project: int) -> str:
        """The global model trainers start from: last finalized round's, else the initial."""
        return str(self.contract.call("currentModelCid", project))

    def membership(self, project: int, account: str | None = None) -> Membership:
        """How ``account`` (default: this client's) takes part in ``project``."""
        return Membership(self.contract.call(
            "membershipOf", project, account or self.contract.client.address))

    def submission(self, project: int, round_: int, trainer: str | None = None
                   ) -> SubmissionStatus:
        """Whether ``trainer`` (default: this client's account) committed / revealed."""
        return SubmissionStatus(self.contract.call(
            "submissionOf", project, round_, trainer or self.contract.client.address))

    def attestation(self, project: int, round_: int, verifier: str | None = None
                    ) -> Attestation:
        """``verifier``'s vote on the round (default: this client's account)."""
        return Attestation(self.contract.call(
            "attestationOf", project, round_, verifier or self.contract.client.address))

    def credit_of(self, account: str | None = None) -> int:
        """Wei credited to ``account`` and waiting for :meth:`withdraw`."""
        return int(self.contract.call("creditOf", account or self.contract.client.address))

    def total_owed(self) -> int:
        """Escrow + bonds + compensation + credits: what the contract's balance must equal."""
        return int(self.contract.call("totalOwed"))

    def escrow_returned(self, project: int, from_block: int = 0) -> int:
        """Escrow credited back to the owner when the project finished or was aborted.

        Read from the ``ProjectFinished``/``ProjectAborted`` events: once credited, the amount
        is no longer visible in the project's state.
        """
        events = self.contract.contract.events
        return sum(int(log["args"]["escrowReturned"])
                   for event in (events.ProjectFinished(), events.ProjectAborted())
                   for log in event.get_logs(argument_filters={"project": project},
                                             from_block=from_block))

    def verification_fees(self, project: int, from_block: int = 0) -> int:
        """Fees paid out of the escrow to the winning verifiers of the project's settled rounds.

        A round with a verdict (``VotesSettled`` with verdict 1 or 2) pays its fee; a round
        without one keeps it in the escrow.
        """
        logs = self.contract.contract.events.VotesSettled().get_logs(
            argument_filters={"project": project}, from_block=from_block)
        return sum(self.round(project, int(log["args"]["round"])).fee_wei
                   for log in logs if int(log["args"]["verdict"]))

    def seat_penalties(self, project: int, from_block: int = 0) -> int:
        """Stake slashed from released no-show trainers into the project's escrow."""
        logs = self.contract.contract.events.SeatReleased().get_logs(
            argument_filters={"project": project}, from_block=from_block)
        return sum(int(log["args"]["penalty"]) for log in logs)

    def revealed_updates(self, project: int, round_: int, from_block: int = 0
                         ) -> list[RevealedUpdate]:
        """The round's revealed update CIDs, in reveal order (from ``UpdateRevealed`` logs)."""
        event = self.contract.contract.events.UpdateRevealed()
        logs = event.get_logs(argument_filters={"project": project, "round": round_},
                              from_block=from_block, to_block="latest")
        return [RevealedUpdate(project, round_, str(log["args"]["trainer"]),
                               str(log["args"]["cid"]), int(log["blockNumber"]))
                for log in logs]


@dataclass(frozen=True)
class MarketContracts:
    """The three contracts of a deployment, bound for one account."""

    registry: Registry
    market: Market
    rewards: Rewards

    @classmethod
    def at(cls, client: ChainClient, deployment: Deployment) -> MarketContracts:
        """Bind every contract of ``deployment`` for ``client``'s account."""
        return cls(Registry.at(client, deployment), Market.at(client, deployment),
                   Rewards.at(client, deployment))
