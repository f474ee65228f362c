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
    "VerifierProjectPublic", "VerifierPublic",
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
    verifier_quorum: int | None
    min_reputation: int | None
    trainers: int
    verifiers: int
    total_rewarded: Wei = Field(description="sum over finalized rounds")
    escrow_returned: Wei
    bond_slashed: Wei
    posted_block: int
    posted_at: int | None = Field(description="unix seconds of the posting block")


class ProjectsPublic(BaseModel):
    """A page of projects (newest first) and the total count."""

    data: list[ProjectPublic]
    count: int


class RoundPublic(BaseModel):
    """One round: state, pool, result pointers, verification."""

    project: int
    round: int
    status: str = Field(description="open | posted | finalized | disputed | refunded")
    pool: Wei
    total_rewarded: Wei
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
    refund_reason: str | None
    funded: bool = Field(description="the distributor holds the round's rewards")


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
    reward: Wei
    claimed: bool


class AttestationPublic(BaseModel):
    """A verifier's vote on a posted result."""

    project: int
    round: int
    verifier: str
    agree: bool
    report_cid: str
    block: int


class RoundDetailPublic(RoundPublic):
    """A round with every trainer and attestation."""

    trainers: list[RoundTrainerPublic]
    attestations: list[AttestationPublic]


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
                                    "lost (round disputed or refunded)")
    rewards_root: str | None
    proof: list[str] | None = Field(description="Merkle proof for claim(); claimable only")


class TrainerRewardsPublic(BaseModel):
    """Earned (finalized), claimed and claimable rewards with their proofs."""

    address: str
    earned: Wei
    claimed: Wei
    claimable: Wei
    pending: Wei
    rewards: list[RewardPublic]


class VerifierProjectPublic(BaseModel):
    """A project a verifier joined."""

    project: int
    status: str
    joined_block: int
    left: bool


class VerifierPublic(BaseModel):
    """A verifier's stake, projects and a page of its votes."""

    address: str
    stake: Wei
    registered: bool
    bindings: int
    agreed: int
    disagreed: int
    attestation_count: int = Field(description="votes cast in all (agreed + disagreed)")
    projects: list[VerifierProjectPublic]
    attestations: list[AttestationPublic] = Field(
        description="a page of the votes (?offset=&limit=), oldest first")
