"""Response schemas, in families: ``XPublic`` for one thing, ``XsPublic`` for a page of them.

Amounts are wei as decimal strings (``"1500000000000000000"``): JSON numbers lose precision
past 2**53 in most clients. Addresses are EIP-55 checksummed; hashes are ``0x`` hex.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "ErrorPublic", "HealthPublic", "ProjectPublic", "ProjectsPublic", "RoundPublic", "RoundsPublic",
    "RoundTrainerPublic", "AttestationPublic", "RoundDetailPublic", "ReputationPublic",
    "TrainerProjectPublic", "TrainerPublic", "RewardPublic", "TrainerRewardsPublic",
    "VerifierPublic", "SlashPublic", "CompensationPublic",
]

Wei = str


class ErrorPublic(BaseModel):
    """The body of every error, whatever its status."""

    detail: str = Field(description="one sentence saying what went wrong")


class HealthPublic(BaseModel):
    """Chain head versus indexed head."""

    status: str = Field(description="ok | syncing | chain_unreachable | not_indexed")
    chain_id: int
    chain_head: int | None = Field(description="latest block of the node (None: unreachable)")
    indexed_block: int | None = Field(description="last block applied to the index")
    lag: int | None = Field(description="chain_head - indexed_block")
    confirmations: int = Field(description="blocks the indexer stays behind the head")
    indexer_error: str | None = None


class TaskPublic(BaseModel):
    """What a project learns and with which model, from its model spec."""

    model: str = Field(description="mlp | cnn | transformer")
    input_kind: str = Field(description="features | image | tokens")
    input_shape: list[int] = Field(description="one sample's shape, e.g. [3, 16, 16]")
    num_classes: int
    num_params: int = Field(description="scalars in the model (each update's size)")
    lora_rank: int | None = Field(None, description="LoRA adapter rank; null: full training")
    base_params: int | None = Field(None, description="LoRA: scalars of the frozen base")


class ProjectPublic(BaseModel):
    """A training project."""

    id: int
    owner: str
    aggregator: str
    status: str = Field(description="created | running | finished | cancelled | aborted")
    budget: Wei
    rounds: int
    current_round: int
    model_spec_cid: str
    initial_weights_cid: str
    aggregator_bond: Wei | None
    min_trainers: int | None
    max_trainers: int | None
    verifier_quorum: int | None = Field(description="smallest winning side that settles")
    committee_size: int | None = Field(description="verifiers drawn per round from the registry")
    verifier_fee_bps: int | None = Field(description="share of each pool paid to the winners")
    min_reputation: int | None
    trainers: int
    total_rewarded: Wei = Field(description="sum over finalized rounds")
    escrow_returned: Wei
    bond_slashed: Wei = Field(description="aggregator bond taken; it compensates trainers")
    posted_block: int
    posted_at: int | None = Field(description="unix seconds of the posting block")
    task: TaskPublic | None = Field(
        default=None, description="the spec's task and model; None when it could not be read")


class ProjectsPublic(BaseModel):
    """A page of projects (newest first) and the total count."""

    data: list[ProjectPublic]
    count: int


class CompensationPublic(BaseModel):
    """A slashed aggregator bond shared by the round's revealed trainers."""

    per_trainer: Wei
    total: Wei
    expires_at: int = Field(description="unix seconds; unclaimed shares are burned after it")
    claimed: Wei
    burned: Wei | None = Field(description="None until the unclaimed rest was burned")


class SlashPublic(BaseModel):
    """A committee member on the losing side of a settled round lost stake."""

    project: int
    round: int
    verifier: str
    amount: Wei
    block: int


class RoundPublic(BaseModel):
    """One round: state, pool, result pointers, committee and its verdict, payouts."""

    project: int
    round: int
    status: str = Field(description="open | posted | finalized | disputed | refunded")
    pool: Wei
    total_rewarded: Wei = Field(description="paid to trainers: 0 unless finalized")
    posted_total: Wei | None = Field(description="total the posted result claimed")
    commit_deadline: int
    reveal_deadline: int
    result_deadline: int
    verify_deadline: int | None
    commits: int
    reveals: int
    accepted: int = Field(description="updates accepted by the result")
    rejected: int = Field(description="updates rejected by the result")
    agrees: int
    disagrees: int
    verifier_quorum: int | None
    committee_size: int | None = Field(description="seats: min(committeeSize, verifier pool)")
    verifier_pool: int | None = Field(description="registered verifiers when the round started")
    verdict: str | None = Field(description="agree | disagree | none (tie or no quorum); "
                                            "None until the votes are settled")
    contested: bool = Field(description="agrees and disagrees both cast")
    winners: int = Field(description="committee members on the winning side")
    fee: Wei = Field(description="the round's verifier fee (part of the pool)")
    fee_paid: Wei = Field(description="fee paid to the winning side (0 without a verdict)")
    verifiers_slashed: Wei = Field(description="stake slashed from the losing side")
    verifiers_paid: Wei = Field(description="fee_paid + verifiers_slashed, shared by winners")
    proof_verified: bool
    model_cid: str | None
    result_cid: str | None
    result_hash: str | None
    rewards_root: str | None
    result_status: str = Field(description="pending | fetched | missing | invalid")
    result_error: str | None
    rule: str | None
    scorer: str | None
    accuracy: float | None = Field(description="global model accuracy, if the result has it")
    refund_reason: str | None = Field(
        description="not_enough_trainers | aggregator_silent | no_verifier_quorum | disputed | "
                    "contested; None unless refunded")
    funded: bool = Field(description="the distributor holds the round's rewards")
    claim_expires_at: int | None = Field(description="unix seconds the leaves stop settling")
    unclaimed_returned: Wei | None = Field(
        description="unclaimed rest returned to the owner after expiry (None: not yet)")
    compensation: CompensationPublic | None = Field(
        description="the slashed bond's compensation (aborted rounds only)")


class RoundsPublic(BaseModel):
    """A page of rounds (ascending) and the total count."""

    data: list[RoundPublic]
    count: int


class RoundTrainerPublic(BaseModel):
    """One trainer in one round: submission, verdict, scores, reward."""

    address: str
    commitment: str | None
    update_cid: str | None
    committed: bool
    revealed: bool
    accepted: bool | None = Field(description="None until the result is read")
    reason: str | None
    samples: int | None
    robustness: dict[str, float]
    contribution: int | None = Field(description="micro-units (1e6 = everything)")
    reward: Wei = Field(description="the result's reward; paid only if the round finalized")
    claimed: bool
    compensation: Wei = Field(description="slashed-bond share claimed (0: none)")


class AttestationPublic(BaseModel):
    """A committee member's vote on a posted result and what it brought."""

    project: int
    round: int
    verifier: str
    agree: bool
    report_cid: str
    block: int
    outcome: str = Field(description="pending (not settled) | won | lost | no_verdict")
    reward: Wei = Field(description="fee share + slashed stakes credited for this vote")
    slashed: Wei = Field(description="stake slashed for this vote")


class RoundDetailPublic(RoundPublic):
    """A round with every trainer, attestation and slash."""

    trainers: list[RoundTrainerPublic]
    attestations: list[AttestationPublic]
    slashes: list[SlashPublic]


class ReputationPublic(BaseModel):
    """Finalized rounds accepted and rejected; score = accepted - rejected."""

    accepted: int
    rejected: int
    score: int


class TrainerProjectPublic(BaseModel):
    """A project a trainer joined."""

    project: int
    status: str
    joined_block: int
    left: bool
    released_round: int | None = Field(description="round its seat was released as a no-show")
    rounds_submitted: int
    rounds_accepted: int
    earned: Wei


class TrainerPublic(BaseModel):
    """A trainer's stake, reputation and projects."""

    address: str
    stake: Wei
    registered: bool
    bindings: int
    reputation: ReputationPublic
    projects: list[TrainerProjectPublic]


class RewardPublic(BaseModel):
    """One reward leaf and what to send to claim it."""

    project: int
    round: int
    amount: Wei
    status: str = Field(description="claimed | claimable | pending (round not finalized) | "
                                    "lost (round disputed or refunded) | expired (claim "
                                    "window over)")
    rewards_root: str | None
    claim_expires_at: int | None = Field(description="unix seconds the leaf stops settling")
    proof: list[str] | None = Field(description="Merkle proof for claim(); claimable only")


class TrainerRewardsPublic(BaseModel):
    """Earned (finalized), claimed and claimable rewards with their proofs."""

    address: str
    earned: Wei
    claimed: Wei
    claimable: Wei
    pending: Wei
    compensated: Wei = Field(description="slashed-bond compensation claimed, all rounds")
    rewards: list[RewardPublic]


class VerifierPublic(BaseModel):
    """A verifier's stake, earnings, slashes and a page of its committee votes."""

    address: str
    stake: Wei
    registered: bool
    bindings: int = Field(description="unsettled votes holding the stake")
    agreed: int
    disagreed: int
    attestation_count: int = Field(description="votes cast in all (agreed + disagreed)")
    won: int = Field(description="votes on the winning side of a verdict")
    lost: int = Field(description="votes on the losing side (slashed)")
    rewarded: Wei = Field(description="verification fees and slashed stakes credited")
    slashed: Wei = Field(description="stake lost on losing votes")
    slashes: list[SlashPublic]
    attestations: list[AttestationPublic] = Field(
        description="a page of the votes (?offset=&limit=), oldest first")
