"""Typed values that cross the contract boundary: enums, parameters, views.

Each mirrors a Solidity type of ``contracts/interfaces/`` field for field, so the bindings in
:mod:`fedmarket.chain.market` convert once (``to_abi`` / ``from_abi``) and callers never handle
raw tuples. Amounts are wei (``int``); times are unix seconds of the chain's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3

__all__ = [
    "ParticipantKind", "ProjectStatus", "RoundStatus", "RoundPhase", "RefundReason",
    "Membership", "SubmissionStatus", "Attestation", "ProjectParams", "ProjectInfo",
    "Deadlines", "RoundInfo", "RoundResult", "Reputation", "RewardClaim", "RevealedUpdate",
    "RoundProof", "RoundPayout", "RoundProofState", "VerifiedProof", "commitment_for",
    "proof_claim_for", "NO_PROOF_CLAIM",
]

#: ``RoundResult.proof_claim`` of a result that offers no zero-knowledge proof.
NO_PROOF_CLAIM = b"\x00" * 32


class ParticipantKind(IntEnum):
    """Registry stake kinds (``IParticipantRegistry.Kind``)."""

    TRAINER = 0
    VERIFIER = 1


class ProjectStatus(IntEnum):
    """``IFedMarket.ProjectStatus``."""

    NONE = 0
    CREATED = 1
    RUNNING = 2
    FINISHED = 3
    CANCELLED = 4
    ABORTED = 5


class RoundStatus(IntEnum):
    """``IFedMarket.RoundStatus``: what is stored; see :class:`RoundPhase` for what it means now."""

    NONE = 0
    OPEN = 1
    POSTED = 2
    FINALIZED = 3
    DISPUTED = 4
    REFUNDED = 5


class RoundPhase(IntEnum):
    """``IFedMarket.RoundPhase``: the round's phase at the chain's current time.

    ``EXPIRED`` means a deadline passed and ``advance`` (anyone) closes the round now.
    """

    NOT_STARTED = 0
    COMMIT = 1
    REVEAL = 2
    AGGREGATE = 3
    VERIFY = 4
    FINALIZED = 5
    DISPUTED = 6
    REFUNDED = 7
    EXPIRED = 8


# Mirrors of FedMarket's constants: checked before a project is posted.
MAX_COMMITTEE = 15  # largest per-round verifier committee (bounds the settlement loop)
MAX_FEE_BPS = 5_000  # largest verifier fee, in basis points of a round's pool


class RefundReason(IntEnum):
    """Why a round paid nothing (``IFedMarket.RefundReason``)."""

    NOT_ENOUGH_TRAINERS = 0
    AGGREGATOR_SILENT = 1
    NO_VERIFIER_QUORUM = 2
    DISPUTED = 3
    CONTESTED = 4  # agrees and disagrees, no side with a majority of at least the quorum


class Membership(IntEnum):
    """How an account takes part in a project."""

    NONE = 0
    TRAINER = 1


class SubmissionStatus(IntEnum):
    """A trainer's update in one round: nothing, committed, revealed."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2


class Attestation(IntEnum):
    """A verifier's vote on a posted result."""

    NONE = 0
    AGREE = 1
    DISAGREE = 2


@dataclass(frozen=True)
class ProjectParams:
    """What an owner sets when posting a project (``IFedMarket.ProjectParams``)."""

    model_spec_cid: str
    initial_weights_cid: str
    aggregator: str
    aggregator_bond_wei: int = 0
    rounds: int = 1
    min_trainers: int = 1
    max_trainers: int = 64
    verifier_quorum: int = 2  # smallest winning side of the committee that settles a round
    committee_size: int = 3  # verifiers drawn per round from the registry's whole pool
    verifier_fee_bps: int = 500  # share of each round's pool paid to the winning verifiers
    min_reputation: int = 0  # accepted minus rejected rounds; 0 admits newcomers
    scoring_method: int = 0  # id of the aggregator's contribution-scoring method
    commit_duration: int = 600  # seconds; at least the deployment's minPhaseDuration
    reveal_duration: int = 300
    aggregate_duration: int = 600
    verify_duration: int = 600

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as the ABI encoder wants it (field order of the Solidity struct)."""
        return (self.model_spec_cid, self.initial_weights_cid,
                Web3.to_checksum_address(self.aggregator), self.aggregator_bond_wei,
                self.rounds, self.min_trainers, self.max_trainers, self.verifier_quorum,
                self.committee_size, self.verifier_fee_bps, self.min_reputation,
                self.scoring_method, self.commit_duration, self.reveal_duration,
                self.aggregate_duration, self.verify_duration)

    @classmethod
    def from_abi(cls, raw: Any) -> ProjectParams:
        """Build from the decoded struct tuple."""
        return cls(str(raw[0]), str(raw[1]), str(raw[2]), *(int(v) for v in raw[3:16]))


@dataclass(frozen=True)
class ProjectInfo:
    """A project's parameters and state (``IFedMarket.Project``)."""

    id: int
    params: ProjectParams
    owner: str
    status: ProjectStatus
    budget_wei: int
    escrow_wei: int
    current_round: int
    last_finalized_round: int
    trainer_count: int
    bond_held: bool

    @classmethod
    def from_abi(cls, project: int, raw: Any) -> ProjectInfo:
        """Build from the decoded struct tuple."""
        return cls(project, ProjectParams.from_abi(raw[0]), str(raw[1]), ProjectStatus(raw[2]),
                   int(raw[3]), int(raw[4]), int(raw[5]), int(raw[6]), int(raw[7]),
                   bool(raw[8]))


@dataclass(frozen=True)
class Deadlines:
    """A round's deadlines in unix seconds; ``verify`` is 0 until a result is posted."""

    commit: int
    reveal: int
    result: int
    verify: int


@dataclass(frozen=True)
class RoundInfo:
    """One round's stored state plus its deadlines and current phase."""

    project: int
    round: int
    status: RoundStatus
    phase: RoundPhase
    deadlines: Deadlines
    commits_closed: bool
    proof_verified: bool  # from the RoundProofs contract (False where none is deployed)
    start: int
    posted_at: int
    commits: int
    reveals: int
    eligible: int  # trainers who may commit: the project's members when the round started
    agrees: int  # committee seats that voted agree
    disagrees: int
    verifier_pool: int  # registered verifiers when the round started (the draw's range)
    pool_wei: int
    total_rewarded_wei: int
    fee_wei: int  # the committee's part of the pool; trainers share pool_wei - fee_wei
    result_hash: bytes
    rewards_root: bytes
    model_cid: str
    result_cid: str

    @property
    def trainer_pool_wei(self) -> int:
        """What the round's trainers may be paid in all: the pool less the verifier fee."""
        return self.pool_wei - self.fee_wei

    @classmethod
    def from_abi(cls, project: int, round_: int, raw: Any, phase: int,
                 deadlines: Any, proof_verified: bool = False) -> RoundInfo:
        """Build from the decoded ``getRound``, ``roundPhase`` and ``roundDeadlines``."""
        return cls(
            project=project, round=round_, status=RoundStatus(raw[0]), phase=RoundPhase(phase),
            deadlines=Deadlines(*(int(v) for v in deadlines)), commits_closed=bool(raw[1]),
            proof_verified=proof_verified, start=int(raw[2]), commits=int(raw[3]),
            reveals=int(raw[4]), eligible=int(raw[5]), posted_at=int(raw[7]),
            agrees=int(raw[8]), disagrees=int(raw[9]), verifier_pool=int(raw[10]),
            pool_wei=int(raw[11]), total_rewarded_wei=int(raw[12]), fee_wei=int(raw[13]),
            result_hash=bytes(raw[14]), rewards_root=bytes(raw[15]), model_cid=str(raw[16]),
            result_cid=str(raw[17]))


@dataclass(frozen=True)
class RoundResult:
    """What the aggregator posts for a round (``IFedMarket.RoundResult``)."""

    model_cid: str
    result_cid: str
    result_hash: bytes
    rewards_root: bytes
    total_rewarded_wei: int
    # proof_claim_for(...) of the round proof the aggregator stands behind; zero: none offered.
    proof_claim: bytes = NO_PROOF_CLAIM

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as the ABI encoder wants it."""
        return (self.model_cid, self.result_cid, self.result_hash, self.rewards_root,
                self.total_rewarded_wei, self.proof_claim)


def proof_claim_for(measurements_root: int, params: int) -> bytes:
    """``keccak256(abi.encode(uint256 measurementsRoot, uint256 params))``, the ``proofClaim``.

    A result posts it for the payout proof the aggregator stands behind.
    """
    return bytes(keccak(abi_encode(["uint256", "uint256"], [measurements_root, params])))


@dataclass(frozen=True)
class RoundProof:
    """A Groth16 payout proof as ``submitProof`` takes it (``IRoundProofs.RoundProof``).

    ``a``, ``b``, ``c`` are the verifier contract's ``(pA, pB, pC)`` (G2 in the EVM's
    ``(c1, c0)`` order, as ``Groth16Proof.solidity_args`` gives them); ``size`` is the circuit
    size N the proof was made for (it picks ``RoundPayoutVerifier{N}``).
    """

    a: tuple[int, int]
    b: tuple[tuple[int, int], tuple[int, int]]
    c: tuple[int, int]
    measurements_root: int
    params: int
    size: int

    @property
    def claim(self) -> bytes:
        """The ``proofClaim`` these public inputs hash to."""
        return proof_claim_for(self.measurements_root, self.params)

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as the ABI encoder wants it."""
        return (list(self.a), [list(self.b[0]), list(self.b[1])], list(self.c),
                self.measurements_root, self.params, self.size)

    @classmethod
    def from_abi(cls, raw: Any) -> RoundProof:
        """Build from the decoded struct (a tuple, or a dict as event logs give it)."""
        if isinstance(raw, Mapping):
            raw = (raw["pA"], raw["pB"], raw["pC"], raw["measurementsRoot"], raw["params"],
                   raw["size"])
        a, b, c = raw[0], raw[1], raw[2]
        return cls((int(a[0]), int(a[1])),
                   ((int(b[0][0]), int(b[0][1])), (int(b[1][0]), int(b[1][1]))),
                   (int(c[0]), int(c[1])), *(int(v) for v in raw[3:6]))


@dataclass(frozen=True)
class VerifiedProof:
    """What ``RoundProofVerified`` carries: the proof, its prover and the payout binding."""

    proof: RoundProof
    prover: str
    challenge: int  # r
    binding: int  # h
    block: int

    def __getattr__(self, name: str) -> Any:
        """The proof's own fields (``a``, ``measurements_root``, ``size``...) read through."""
        if name in RoundProof.__dataclass_fields__:
            return getattr(self.proof, name)
        raise AttributeError(name)


@dataclass(frozen=True)
class RoundPayout:
    """A round's payout slot by slot, as ``submitProof`` checks it (``IRoundProofs.Payout``).

    Slots are the round's revealed trainers in strictly ascending address order (the order
    the payout proof's witness uses); a slot has a rewards leaf when it is paid or rejected
    (``fedmarket.round_result.payout_leaves``).
    """

    trainers: tuple[str, ...]
    amounts: tuple[int, ...]
    accepted: tuple[bool, ...]

    def __post_init__(self) -> None:
        if not len(self.trainers) == len(self.amounts) == len(self.accepted):
            raise ValueError("trainers, amounts and accepted must have the same length")
        keys = [int(t, 16) for t in self.trainers]
        if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
            raise ValueError("payout slots must be in strictly ascending trainer order")
        if any(not 0 <= a < 2**96 for a in self.amounts):
            raise ValueError("payout amounts must be in [0, 2**96)")

    @classmethod
    def from_result(cls, result: Any) -> RoundPayout:
        """Slots from a ``fedmarket.round_result.RoundResult``'s trainers, in its order."""
        return cls(tuple(Web3.to_checksum_address(t.address) for t in result.trainers),
                   tuple(int(t.reward) for t in result.trainers),
                   tuple(bool(t.accepted) for t in result.trainers))

    @property
    def accepted_bits(self) -> int:
        """Bit ``i`` set when slot ``i`` was accepted."""
        return sum(1 << i for i, ok in enumerate(self.accepted) if ok)

    def has_leaf(self, i: int) -> bool:
        """Whether slot ``i`` has a rewards leaf: paid, or rejected (a zero leaf)."""
        return self.amounts[i] > 0 or not self.accepted[i]

    def tree_order(self, project: int, round_: int) -> bytes:
        """The slots with a leaf, one byte each, sorted by leaf hash (the tree's leaf order)."""
        from fedmarket.merkle import REWARD_LEAF_ENCODING, leaf_hash

        leaves = [(leaf_hash((project, round_, self.trainers[i], self.amounts[i]),
                             REWARD_LEAF_ENCODING), i)
                  for i in range(len(self.trainers)) if self.has_leaf(i)]
        return bytes(i for _, i in sorted(leaves))

    def slots(self) -> list[int]:
        """``trainer << 96 | amount`` per slot, as the contract takes them."""
        return [(int(t, 16) << 96) | a for t, a in zip(self.trainers, self.amounts, strict=True)]

    def challenge(self, project: int, round_: int, measurements_root: int) -> tuple[int, int]:
        """``(r, h)`` the contract computes (``fedmarket.zk.binding``, the one Python source)."""
        from fedmarket.zk.binding import payout_challenge  # lazy: fedmarket.zk imports this

        return payout_challenge(project, round_, measurements_root, self.trainers,
                                self.amounts, self.accepted)

    def to_abi(self, project: int, round_: int) -> tuple[Any, ...]:
        """The struct as the ABI encoder wants it (the tree order depends on the round)."""
        return (self.slots(), self.accepted_bits, self.tree_order(project, round_))


@dataclass(frozen=True)
class RoundProofState:
    """What a payout proof of a round is checked against (``getRoundProof``)."""

    claim: bytes
    status: RoundStatus
    reveals: int
    trainer_pool_wei: int
    total_rewarded_wei: int
    rewards_root: bytes
    verify_deadline: int

    @property
    def claimed(self) -> bool:
        """True when the posted result offers a proof."""
        return self.claim != NO_PROOF_CLAIM

    @classmethod
    def from_abi(cls, raw: Any) -> RoundProofState:
        """Build from the decoded struct."""
        return cls(bytes(raw[0]), RoundStatus(raw[1]), int(raw[2]), int(raw[3]), int(raw[4]),
                   bytes(raw[5]), int(raw[6]))


@dataclass(frozen=True)
class Reputation:
    """A trainer's finalized rounds, accepted and rejected."""

    accepted: int
    rejected: int

    @property
    def score(self) -> int:
        """What a project's ``min_reputation`` is compared against."""
        return self.accepted - self.rejected


@dataclass(frozen=True)
class RewardClaim:
    """One leaf of a trainer to settle (``IRewardDistributor.ClaimRequest``)."""

    project: int
    round: int
    amount_wei: int
    proof: list[bytes]

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as the ABI encoder wants it."""
        return (self.project, self.round, self.amount_wei, list(self.proof))


@dataclass(frozen=True)
class RevealedUpdate:
    """A trainer's revealed update CID, from the ``UpdateRevealed`` event."""

    project: int
    round: int
    trainer: str
    cid: str
    block: int


def commitment_for(cid: str, salt: bytes, trainer: str, project: int, round_: int) -> bytes:
    """``keccak256(abi.encode(cid, salt, trainer, project, round))``, as the contract checks.

    Binding the trainer, project and round into the hash stops a copycat from re-posting
    someone else's commitment as its own, or replaying it in another round.
    """
    if len(salt) != 32:
        raise ValueError(f"salt must be 32 bytes, got {len(salt)}")
    encoded = abi_encode(["string", "bytes32", "address", "uint256", "uint256"],
                         [cid, salt, Web3.to_checksum_address(trainer), project, round_])
    return bytes(keccak(encoded))
