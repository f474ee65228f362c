"""The index schema: one table per thing the API serves, filled only by the indexer.

Amounts are wei as decimal strings (``String(78)`` holds any uint256): SQLite integers stop
at 2**63 and the API returns strings anyway. Primary keys are the chain's own identities
(project id, (project, round), (project, round, trainer) ...), so re-applying an event
updates a row instead of adding one.

Every integer the chain or a request can set is ``BigInteger``: PostgreSQL's ``INTEGER`` stops
at 2**31 - 1 while the API accepts any int64 (a round number of 2**31 must be a 404, not an
``integer out of range``), and SQLite stores both the same way.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "SCHEMA_VERSION", "Base", "IndexMeta", "SyncState", "AppliedLog", "Project", "Membership",
    "Round", "Submission", "Verdict", "Attestation", "Claim", "Stake", "Reputation", "Credit",
    "VerifierSlash", "CompensationClaim",
]

# Bump on any change to the tables: an index of another version is rebuilt from the chain.
SCHEMA_VERSION = 6

WEI = String(78)
ADDRESS = String(42)
HASH = String(66)


class Base(DeclarativeBase):
    """Declarative base of the index tables."""


class IndexMeta(Base):
    """The schema version the index was built with."""

    __tablename__ = "index_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schema_version: Mapped[int] = mapped_column(Integer)


class SyncState(Base):
    """Where the indexer stands: which deployment, last applied block and its hash."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    market: Mapped[str] = mapped_column(ADDRESS)
    start_block: Mapped[int] = mapped_column(BigInteger)
    last_block: Mapped[int] = mapped_column(BigInteger)  # start_block - 1 before any batch
    last_block_hash: Mapped[str | None] = mapped_column(HASH, nullable=True)
    chain_head: Mapped[int] = mapped_column(BigInteger, default=0)
    # (epoch, revision) names the index's content: a fresh epoch per rebuild, a new revision
    # per commit that changed rows. The API caches responses under it.
    epoch: Mapped[str] = mapped_column(String(32), default="")
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class AppliedLog(Base):
    """Every decoded log applied once; its key makes re-processing a no-op."""

    __tablename__ = "applied_logs"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tx_hash: Mapped[str] = mapped_column(HASH)
    contract: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(60), index=True)
    args: Mapped[str] = mapped_column(Text)  # JSON, for audits and the activity feed


class Project(Base):
    """A posted project; parameters from ``ProjectPosted`` and the project view at that block."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner: Mapped[str] = mapped_column(ADDRESS, index=True)
    aggregator: Mapped[str] = mapped_column(ADDRESS, index=True)
    status: Mapped[str] = mapped_column(String(16), default="created")
    budget: Mapped[str] = mapped_column(WEI)
    rounds: Mapped[int] = mapped_column(BigInteger)
    current_round: Mapped[int] = mapped_column(BigInteger, default=0)
    model_spec_cid: Mapped[str] = mapped_column(Text)
    initial_weights_cid: Mapped[str] = mapped_column(Text)
    aggregator_bond: Mapped[str | None] = mapped_column(WEI, nullable=True)
    min_trainers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_trainers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verifier_quorum: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    committee_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verifier_fee_bps: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    min_reputation: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    scoring_method: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trainer_count: Mapped[int] = mapped_column(BigInteger, default=0)
    escrow_returned: Mapped[str] = mapped_column(WEI, default="0")
    bond_slashed: Mapped[str] = mapped_column(WEI, default="0")
    posted_block: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The spec's task and model (market_api.indexer.spec); None when the spec was unreadable.
    task_model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    task_input_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    task_input_shape: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_num_classes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    task_num_params: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    task_lora_rank: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    task_base_params: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Membership(Base):
    """A trainer of a project (``Joined`` / ``Left``; ``SeatReleased`` for a no-show)."""

    __tablename__ = "memberships"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))
    joined_block: Mapped[int] = mapped_column(BigInteger)
    left_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Set when anyone released the seat of a trainer that did not commit (it cannot rejoin).
    released_round: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    release_penalty: Mapped[str | None] = mapped_column(WEI, nullable=True)


class Round(Base):
    """One round of a project, from start to finalization, refund or dispute."""

    __tablename__ = "rounds"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    pool: Mapped[str] = mapped_column(WEI, default="0")
    commit_deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    reveal_deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    result_deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    verify_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_block: Mapped[int] = mapped_column(BigInteger, default=0)
    commits: Mapped[int] = mapped_column(BigInteger, default=0)
    reveals: Mapped[int] = mapped_column(BigInteger, default=0)
    agrees: Mapped[int] = mapped_column(BigInteger, default=0)
    disagrees: Mapped[int] = mapped_column(BigInteger, default=0)
    # The committee: min(committeeSize, verifier pool when the round started) seats.
    verifier_pool: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    committee_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fee: Mapped[str] = mapped_column(WEI, default="0")  # verifier fee of the round (of the pool)
    # VotesSettled: agree | disagree | none (tie or below quorum); None until settled.
    verdict: Mapped[str | None] = mapped_column(String(10), nullable=True)
    winners: Mapped[int] = mapped_column(BigInteger, default=0)
    verifiers_paid: Mapped[str] = mapped_column(WEI, default="0")  # fee + slashed stakes
    verifiers_slashed: Mapped[str] = mapped_column(WEI, default="0")
    model_cid: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_cid: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_hash: Mapped[str | None] = mapped_column(HASH, nullable=True)
    rewards_root: Mapped[str | None] = mapped_column(HASH, nullable=True)
    # Paid to trainers: the posted total once finalized, "0" for a refunded or disputed round.
    total_rewarded: Mapped[str] = mapped_column(WEI, default="0")
    posted_total: Mapped[str | None] = mapped_column(WEI, nullable=True)  # as posted
    posted_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # pending (no result yet) | fetched | missing (not in the store yet) | invalid
    result_status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    result_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    rule: Mapped[str | None] = mapped_column(String(60), nullable=True)
    scorer: Mapped[str | None] = mapped_column(String(60), nullable=True)
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    proof_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    funded_root: Mapped[str | None] = mapped_column(HASH, nullable=True)
    funded_total: Mapped[str | None] = mapped_column(WEI, nullable=True)
    claim_expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unclaimed_returned: Mapped[str | None] = mapped_column(WEI, nullable=True)  # after expiry
    # A slashed aggregator's bond, shared by the round's revealed trainers (CompensationOpened).
    compensation_per_trainer: Mapped[str | None] = mapped_column(WEI, nullable=True)
    compensation_total: Mapped[str | None] = mapped_column(WEI, nullable=True)
    compensation_expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    compensation_claimed: Mapped[str] = mapped_column(WEI, default="0")
    compensation_burned: Mapped[str | None] = mapped_column(WEI, nullable=True)
    closed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Submission(Base):
    """A trainer's commitment and, once revealed, its update CID."""

    __tablename__ = "submissions"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trainer: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    commitment: Mapped[str | None] = mapped_column(HASH, nullable=True)
    committed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cid: Mapped[str | None] = mapped_column(Text, nullable=True)
    revealed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Verdict(Base):
    """A trainer's line of the round result JSON: verdict, scores, reward."""

    __tablename__ = "verdicts"
    # A trainer's rewards read its verdicts in (project, round) order: one range scan.
    __table_args__ = (Index("ix_verdicts_trainer_project_round", "trainer", "project_id",
                            "round"),)

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trainer: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    update_cid: Mapped[str] = mapped_column(Text)
    samples: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    robustness: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    contribution: Mapped[int] = mapped_column(BigInteger, default=0)  # micro-units
    reward: Mapped[str] = mapped_column(WEI, default="0")
    # The leaf's Merkle proof (JSON list of 0x hex), computed once by the indexer when the
    # rebuilt tree's root equals the posted root; None for no leaf or a root that differs.
    proof: Mapped[str | None] = mapped_column(Text, nullable=True)


class Attestation(Base):
    """A verifier's vote on a posted round result."""

    __tablename__ = "attestations"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    verifier: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    agree: Mapped[bool] = mapped_column(Boolean)
    report_cid: Mapped[str] = mapped_column(Text)
    block: Mapped[int] = mapped_column(BigInteger)


class Claim(Base):
    """A settled reward leaf (``RewardClaimed``)."""

    __tablename__ = "claims"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trainer: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    amount: Mapped[str] = mapped_column(WEI)
    block: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)


class Stake(Base):
    """A registry stake of one kind (trainer / verifier)."""

    __tablename__ = "stakes"

    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    amount: Mapped[str] = mapped_column(WEI, default="0")
    registered: Mapped[bool] = mapped_column(Boolean, default=True)
    bindings: Mapped[int] = mapped_column(BigInteger, default=0)


class Reputation(Base):
    """A trainer's finalized rounds, accepted and rejected (``ReputationRecorded``)."""

    __tablename__ = "reputation"

    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)


class VerifierSlash(Base):
    """A committee member on the losing side lost stake (``VerifierSlashed``)."""

    __tablename__ = "verifier_slashes"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    verifier: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    amount: Mapped[str] = mapped_column(WEI)
    block: Mapped[int] = mapped_column(BigInteger)


class CompensationClaim(Base):
    """A revealed trainer's share of a slashed bond (``CompensationClaimed``)."""

    __tablename__ = "compensation_claims"

    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trainer: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    amount: Mapped[str] = mapped_column(WEI)
    block: Mapped[int] = mapped_column(BigInteger)


class Credit(Base):
    """Ether the market credited to an account.

    Escrow or bond back, verification fee, compensation, unclaimed rewards; ``round`` is set
    for the round-scoped reasons (the last three).
    """

    __tablename__ = "credits"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account: Mapped[str] = mapped_column(ADDRESS, index=True)
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[str] = mapped_column(WEI)
    reason: Mapped[str] = mapped_column(String(20))
    round: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
