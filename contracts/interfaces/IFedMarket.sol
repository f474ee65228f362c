// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "../libraries/Ids.sol";

/// @title Projects, escrow and commit–reveal training rounds of fedmarket.
/// @notice Round protocol: Commit -> Reveal -> Aggregate -> Verify -> Finalized, each phase
/// with a deadline of at least the deployment's `minPhaseDuration`. Trainers join before a
/// round starts to take part in it. Each round is judged by a committee of `committeeSize`
/// verifiers drawn from the registry's whole verifier pool with the round's seed, which the
/// trainers' committed salts fix once reveals are over (before any result exists); only
/// verifiers registered before the round started sit, never the owner, the aggregator or a
/// trainer of the project. The committee's majority decides at the verify deadline (or as soon
/// as more than half of the seats agree): the winning side shares the round's verifier fee
/// and the stakes slashed from the losing side; a tie or a majority below `verifierQuorum`
/// refunds the round. A disputing majority aborts the project and slashes the aggregator's
/// bond, which compensates the round's revealed trainers (as does a silent aggregator's); the
/// owner gets back only the escrow it is owed. Refunded rewards stay in the project's escrow,
/// which returns to the owner when the project ends. See contracts/README.md for the
/// adversary argument.
interface IFedMarket {
    enum ProjectStatus {
        None,
        Created, // posted, escrow held; waits for the aggregator's bond
        Running, // rounds in progress
        Finished, // all rounds closed; escrow and bond credited back
        Cancelled, // the owner withdrew before the aggregator bonded
        Aborted // the aggregator was slashed; escrow credited to the owner
    }

    enum RoundStatus {
        None,
        Open, // commit and reveal
        Posted, // result posted, verifiers attesting
        Finalized,
        Disputed,
        Refunded
    }

    /// @notice The phase of a round at the current block time (see `roundPhase`).
    enum RoundPhase {
        NotStarted,
        Commit,
        Reveal,
        Aggregate,
        Verify,
        Finalized,
        Disputed,
        Refunded,
        Expired // a deadline passed: `advance` (or `finalize`) closes the round now
    }

    enum RefundReason {
        NotEnoughTrainers,
        AggregatorSilent,
        NoVerifierQuorum,
        Disputed,
        Contested // agrees and disagrees present, no side with a majority of at least quorum
    }

    enum Membership {
        None,
        Trainer
    }

    enum SubmissionStatus {
        None,
        Committed,
        Revealed
    }

    enum CreditReason {
        EscrowReturned,
        BondReturned,
        BondSlashed, // unused since bonds compensate trainers (kept for event decoding)
        VerificationFee, // a committee member on the winning side: fee share + slashed stakes
        Compensation, // a revealed trainer of a round whose aggregator was slashed
        UnclaimedRewards // a funded round's leaves not claimed within the claim window
    }

    /// @notice What an owner sets when posting a project; durations are in seconds.
    struct ProjectParams {
        string modelSpecCid;
        string initialWeightsCid;
        address aggregator;
        uint128 aggregatorBond;
        uint16 rounds;
        uint32 minTrainers;
        uint32 maxTrainers;
        uint32 verifierQuorum; // smallest winning side that settles a round
        uint32 committeeSize; // verifiers drawn per round from the registry (1..MAX_COMMITTEE)
        uint16 verifierFeeBps; // share of each round's pool paid to the winning verifiers
        int64 minReputation;
        uint16 scoringMethod;
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 aggregateDuration;
        uint32 verifyDuration;
    }

    struct Project {
        ProjectParams params;
        address owner;
        ProjectStatus status;
        uint128 budget;
        uint128 escrow; // still held for this project (unallocated + the open round's pool)
        uint16 currentRound; // 1-based; 0 before the aggregator bonds
        uint16 lastFinalizedRound; // whose modelCid is the current global model (0: initial)
        uint32 trainerCount;
        bool bondHeld;
    }

    /// @notice The aggregator's result of one round.
    /// @dev `proofClaim` binds the round's payout proof to this result:
    /// `keccak256(abi.encode(uint256 measurementsRoot, uint256 params))` of the proof the
    /// aggregator stands behind, or zero when it offers none. A claimed round finalizes only
    /// once RoundProofs recorded its proof; unproven at the verify deadline, it is disputed.
    struct RoundResult {
        string modelCid;
        string resultCid;
        bytes32 resultHash;
        bytes32 rewardsRoot;
        uint256 totalRewarded;
        bytes32 proofClaim;
    }

    /// @notice What a payout proof (RoundProofs) is checked against, read in one call.
    struct RoundProofState {
        bytes32 claim; // the posted result's proofClaim (0: no proof offered)
        RoundStatus status;
        uint32 reveals; // the proof's nActive and the payout's slot count
        uint128 trainerPool; // pool - fee: the proof's pool
        uint128 totalRewarded;
        bytes32 rewardsRoot;
        uint64 verifyDeadline; // proofs are accepted until then (meaningful once posted)
    }

    /// @dev Packed so that commit and reveal touch one slot of the round.
    struct Round {
        RoundStatus status;
        bool commitsClosed; // set by an early reveal once every eligible trainer committed
        uint40 start;
        uint32 commits;
        uint32 reveals;
        uint32 eligible; // trainers who may commit: the project's members when it started
        uint96 seedMix; // running mix of the revealed salts; the seed once reveals are over
        uint40 postedAt;
        uint16 agrees; // committee seats that voted agree
        uint16 disagrees;
        uint32 verifierPool; // registered verifiers when the round started (draw range)
        uint128 pool;
        uint128 totalRewarded;
        uint128 fee; // verifier fee of the round, out of the pool
        bytes32 resultHash;
        bytes32 rewardsRoot;
        string modelCid;
        string resultCid;
    }

    struct Deadlines {
        uint64 commit;
        uint64 reveal;
        uint64 result;
        uint64 verify; // 0 until the result is posted
    }

    error FedMarketInvalidParams(string reason);
    error FedMarketUnknownProject(ProjectId project);
    error FedMarketWrongProjectStatus(ProjectId project, ProjectStatus status, ProjectStatus expected);
    error FedMarketNotOwner(ProjectId project, address account, address owner);
    error FedMarketNotAggregator(ProjectId project, address account, address aggregator);
    error FedMarketWrongBond(ProjectId project, uint256 sent, uint256 bond);
    error FedMarketAlreadyJoined(ProjectId project, address account, Membership membership);
    error FedMarketProjectFull(ProjectId project, uint256 maxTrainers);
    error FedMarketReputationTooLow(ProjectId project, address trainer, int256 score, int256 minimum);
    error FedMarketConflictOfInterest(ProjectId project, address account);
    error FedMarketNotMember(ProjectId project, address account);
    error FedMarketProjectActive(ProjectId project, ProjectStatus status);
    error FedMarketNotTrainer(ProjectId project, address account);
    error FedMarketNotCurrentRound(ProjectId project, uint256 round, uint256 currentRound);
    error FedMarketInvalidCommitment(bytes32 commitment);
    error FedMarketCommitClosed(ProjectId project, uint256 round, uint256 deadline, uint256 time);
    error FedMarketAlreadyCommitted(ProjectId project, uint256 round, address trainer);
    error FedMarketRevealNotOpen(ProjectId project, uint256 round, RoundPhase phase);
    error FedMarketRevealLate(ProjectId project, uint256 round, uint256 deadline, uint256 time);
    error FedMarketNoCommitment(ProjectId project, uint256 round, address trainer);
    error FedMarketAlreadyRevealed(ProjectId project, uint256 round, address trainer);
    error FedMarketRevealMismatch(ProjectId project, uint256 round, address trainer,
        bytes32 committed, bytes32 revealed);
    error FedMarketResultNotOpen(ProjectId project, uint256 round, RoundPhase phase);
    error FedMarketResultLate(ProjectId project, uint256 round, uint256 deadline, uint256 time);
    error FedMarketTooFewReveals(ProjectId project, uint256 round, uint256 reveals, uint256 minimum);
    error FedMarketRewardExceedsPool(ProjectId project, uint256 round, uint256 total, uint256 pool);
    error FedMarketEmptyRewardsRoot(ProjectId project, uint256 round, uint256 totalRewarded);
    error FedMarketAttestNotOpen(ProjectId project, uint256 round, RoundPhase phase);
    error FedMarketAlreadyAttested(ProjectId project, uint256 round, address verifier);
    error FedMarketNotFinalizable(ProjectId project, uint256 round, RoundPhase phase,
        uint256 agrees, uint256 quorum);
    error FedMarketNothingToAdvance(ProjectId project, uint256 round, RoundPhase phase);
    error FedMarketRoundsRemain(ProjectId project, uint256 currentRound, uint256 rounds,
        RoundPhase phase);
    error FedMarketNothingToWithdraw(address account);
    error FedMarketTransferFailed(address to, uint256 amount);
    error FedMarketPhaseTooShort(uint256 duration, uint256 minimum);
    error FedMarketTooFewVerifiers(uint256 registered, uint256 committeeSize);
    error FedMarketNotOnCommittee(ProjectId project, uint256 round, address account);
    error FedMarketJoinedTooLate(ProjectId project, uint256 round, address trainer,
        uint256 firstRound);
    error FedMarketSeatNotReleasable(ProjectId project, address trainer, RoundPhase phase);
    error FedMarketWasReleased(ProjectId project, address trainer);
    error FedMarketNoCompensation(ProjectId project, uint256 round, address account);
    error FedMarketCompensationExpired(ProjectId project, uint256 round, uint256 expiredAt);
    error FedMarketCompensationOpen(ProjectId project, uint256 round, uint256 expiresAt);
    error FedMarketUnexpectedEther(address sender, uint256 amount);
    error FedMarketNotDistributor(address caller);
    /// @notice The result claimed a proof that is not recorded yet; it may be until `deadline`.
    error FedMarketRoundUnproven(ProjectId project, uint256 round, uint256 deadline);
    /// @notice The verify window closed without the claimed proof: `advance` disputes the round.
    error FedMarketProofMissing(ProjectId project, uint256 round);

    event ProjectPosted(ProjectId indexed project, address indexed owner,
        address indexed aggregator, uint256 budget, uint256 rounds, string modelSpecCid,
        string initialWeightsCid);
    event ProjectStarted(ProjectId indexed project, uint256 bond);
    event ProjectCancelled(ProjectId indexed project);
    event ProjectFinished(ProjectId indexed project, uint256 escrowReturned);
    event ProjectAborted(ProjectId indexed project, uint256 round, uint256 escrowReturned);
    event Joined(ProjectId indexed project, address indexed account, Membership membership);
    event Left(ProjectId indexed project, address indexed account, Membership membership);
    event RoundStarted(ProjectId indexed project, uint256 indexed round, uint256 pool,
        uint64 commitDeadline, uint64 revealDeadline, uint64 resultDeadline);
    event UpdateCommitted(ProjectId indexed project, uint256 indexed round,
        address indexed trainer, bytes32 commitment);
    event UpdateRevealed(ProjectId indexed project, uint256 indexed round,
        address indexed trainer, string cid);
    event ResultSubmitted(ProjectId indexed project, uint256 indexed round, string modelCid,
        string resultCid, bytes32 resultHash, bytes32 rewardsRoot, uint256 totalRewarded,
        uint64 verifyDeadline);
    event Attested(ProjectId indexed project, uint256 indexed round, address indexed verifier,
        bool agree, string reportCid, uint256 agrees, uint256 disagrees);
    event RoundFinalized(ProjectId indexed project, uint256 indexed round, uint256 totalRewarded);
    event RoundDisputed(ProjectId indexed project, uint256 indexed round, uint256 disagrees);
    event RoundRefunded(ProjectId indexed project, uint256 indexed round, RefundReason reason,
        uint256 pool);
    event AggregatorSlashed(ProjectId indexed project, address indexed aggregator, uint256 bond);
    event VerifierSlashed(ProjectId indexed project, uint256 indexed round,
        address indexed verifier, uint256 amount);
    event VotesSettled(ProjectId indexed project, uint256 indexed round, uint8 verdict,
        uint256 winners, uint256 paid);
    event SeatReleased(ProjectId indexed project, uint256 indexed round, address indexed trainer,
        uint256 penalty);
    event CompensationOpened(ProjectId indexed project, uint256 indexed round,
        uint256 perTrainer, uint256 total, uint64 expiresAt);
    event CompensationClaimed(ProjectId indexed project, uint256 indexed round,
        address indexed trainer, uint256 amount);
    event CompensationBurned(ProjectId indexed project, uint256 indexed round, uint256 amount);
    event UnclaimedReturned(ProjectId indexed project, uint256 indexed round, uint256 amount);
    event Credited(address indexed account, ProjectId indexed project, uint256 amount,
        CreditReason reason);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Post a project; the ether sent is its whole reward budget, escrowed until the end.
    function postProject(ProjectParams calldata params) external payable returns (ProjectId);

    /// @notice The aggregator accepts the project by bonding exactly its bond; round 1 starts.
    function startProject(ProjectId project) external payable;

    /// @notice The owner cancels a project the aggregator has not started; escrow is credited.
    function cancelProject(ProjectId project) external;

    /// @notice Join as a trainer: needs a registered trainer stake and the minimum reputation.
    /// A trainer takes part from the next round that starts after it joined.
    function joinAsTrainer(ProjectId project) external;

    /// @notice Leave a project that is not running (so the registry stake unlocks).
    function leave(ProjectId project) external;

    /// @notice Anyone: release the seat of `trainer`, who could commit in the current round and
    /// did not before commits closed. Its stake pays a no-show penalty (a tenth of the minimum
    /// trainer stake) into the project's escrow and it cannot rejoin the project.
    function release(ProjectId project, address trainer) external;

    /// @notice Commit to an update: `commitment = commitmentFor(cid, salt, you, project, round)`.
    function commit(ProjectId project, uint256 round, bytes32 commitment) external;

    /// @notice Reveal the committed update's CID and salt.
    function reveal(ProjectId project, uint256 round, string calldata cid, bytes32 salt) external;

    /// @notice The aggregator posts the round's result (total rewarded at most the round pool).
    function submitResult(ProjectId project, uint256 round, RoundResult calldata result) external;

    /// @notice A member of the round's committee attests that the posted resultHash is (not)
    /// reproducible; its verifier stake stays bound until the round's votes are settled.
    function attest(ProjectId project, uint256 round, bool agree, string calldata reportCid)
        external;

    /// @notice Finalize the current round once its committee's agreeing majority is final
    /// and, when its result claimed a proof, that proof is recorded.
    function finalize(ProjectId project) external;

    /// @notice Close the current round whose deadline passed (anyone; see the contract doc). A
    /// result that claimed a proof still unproven at its verify deadline is disputed, whatever
    /// the votes (the aggregator failed its claim); before that deadline it cannot be closed
    /// unless the committee's verdict is disagree.
    function advance(ProjectId project) external;

    /// @notice After the last round closed: credit the escrow left to the owner, the bond back.
    function finish(ProjectId project) external;

    /// @notice A revealed trainer of a round whose aggregator was slashed claims its equal
    /// share of the bond (within the claim window).
    function claimCompensation(ProjectId project, uint256 round) external;

    /// @notice Anyone, after the claim window: burn the compensation nobody claimed (no party
    /// may profit from another's not claiming).
    function burnExpiredCompensation(ProjectId project, uint256 round) external;

    /// @notice The reward distributor returns a round's unclaimed remainder after its claim
    /// window; it is credited to the project's owner (the difference goes back to the escrow).
    function returnUnclaimed(ProjectId project, uint256 round) external payable;

    /// @notice The reward distributor settles `trainer`'s leaf of a round: marked in the
    /// trainer's own commitment slot, which a reveal left non-zero (a fresh slot per leaf would
    /// cost a trainer 17k more gas per round).
    /// @return outcome 0 settled now, 1 settled before, 2 `trainer` did not reveal in the round
    /// (nothing is marked then; the distributor reverts with its own error).
    function settleLeaf(ProjectId project, uint256 round, address trainer)
        external
        returns (uint8 outcome);

    /// @notice Whether `trainer`'s reward leaf of a round was settled.
    function leafSettled(ProjectId project, uint256 round, address trainer)
        external
        view
        returns (bool);

    /// @notice Withdraw everything credited to the caller (refunds, bonds, fees, compensation).
    function withdraw() external;

    /// @notice The commitment a trainer posts for update `cid` with secret `salt`.
    function commitmentFor(string calldata cid, bytes32 salt, address trainer, ProjectId project,
        uint256 round) external pure returns (bytes32);

    /// @notice Number of projects posted (ids run from 1).
    function projectCount() external view returns (uint256);

    /// @notice A project's parameters and state.
    function getProject(ProjectId project) external view returns (Project memory);

    /// @notice One round's state.
    function getRound(ProjectId project, uint256 round) external view returns (Round memory);

    /// @notice What a payout proof of the round is checked against (its claim, pool, reveals,
    /// rewards root and total, verify deadline).
    function getRoundProof(ProjectId project, uint256 round)
        external view returns (RoundProofState memory);

    /// @notice One round's deadlines (unix seconds).
    function roundDeadlines(ProjectId project, uint256 round)
        external view returns (Deadlines memory);

    /// @notice One round's phase at the current block time.
    function roundPhase(ProjectId project, uint256 round) external view returns (RoundPhase);

    /// @notice The CID of the current global model (the initial weights before any finalized round).
    function currentModelCid(ProjectId project) external view returns (string memory);

    /// @notice How `account` takes part in `project`.
    function membershipOf(ProjectId project, address account) external view returns (Membership);

    /// @notice Whether `trainer` committed / revealed in a round.
    function submissionOf(ProjectId project, uint256 round, address trainer)
        external view returns (SubmissionStatus);

    /// @notice Whether `account` holds a seat on the round's committee (final once reveals are
    /// over). The committee is the draw `fedmarket.chain.committee` reproduces from
    /// `roundSeed`, `Round.verifierPool` and the registry's pool.
    function isOnCommittee(ProjectId project, uint256 round, address account)
        external view returns (bool);

    /// @notice The round's seed (sketches, committee): final once reveals are over.
    function roundSeed(ProjectId project, uint256 round) external view returns (uint256);

    /// @notice The first round `trainer` may commit in, and whether its seat was released.
    function trainerStatus(ProjectId project, address trainer)
        external view returns (uint256 firstRound, bool released);

    /// @notice A slashed bond's compensation: per revealed trainer, what is left, when it ends.
    function compensationOf(ProjectId project, uint256 round)
        external view returns (uint256 perTrainer, uint256 left, uint64 expiresAt);

    /// @notice `verifier`'s attestation: 0 none, 1 agree, 2 disagree.
    function attestationOf(ProjectId project, uint256 round, address verifier)
        external view returns (uint8);

    /// @notice Ether credited to `account`, waiting for `withdraw`.
    function creditOf(address account) external view returns (uint256);

    /// @notice Everything this contract owes (escrow + bonds + compensation + credits): equals
    /// its balance.
    function totalOwed() external view returns (uint256);
}
