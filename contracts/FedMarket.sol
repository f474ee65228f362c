// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {IRoundProofs} from "./interfaces/IRoundProofs.sol";
import {ProjectId} from "./libraries/Ids.sol";
import {RoundClock} from "./libraries/RoundClock.sol";

/// @title FedMarket
/// @notice Escrowed training projects and their commit–reveal rounds (see IFedMarket).
/// @dev Balance invariant: `address(this).balance == totalEscrow + totalBonds +
/// totalCompensation + totalCredits`. Ether enters through posting, bonding, slashed registry
/// stakes and the distributor's unclaimed remainders (each credited in the same transaction);
/// it leaves only through `withdraw` (pull, nonReentrant, zeroed before sending),
/// `_finalizeRound` (a round's posted total to the distributor) and the burn of expired
/// compensation. No function loops over trainers: every per-trainer action is that trainer's
/// own transaction; settlement loops over the round's voters, at most MAX_COMMITTEE.
contract FedMarket is IFedMarket, ReentrancyGuard {
    using RoundClock for ProjectParams;
    using RoundClock for Round;

    /// @dev Stored in place of a commitment once it is revealed (refused as a commitment).
    bytes32 private constant REVEALED = bytes32(type(uint256).max);
    /// @dev Stored in place of REVEALED once the trainer took its compensation.
    bytes32 private constant COMPENSATED = bytes32(type(uint256).max - 1);
    /// @dev Stored in place of REVEALED once the trainer's reward leaf was settled.
    bytes32 private constant CLAIMED = bytes32(type(uint256).max - 2);
    /// @notice Largest committee a project may ask for (bounds the settlement loop).
    uint256 public constant MAX_COMMITTEE = 15;
    /// @notice Largest verifier fee, in basis points of a round's pool.
    uint256 public constant MAX_FEE_BPS = 5_000;
    /// @dev Votes as stored: 0 none, 1 agree, 2 disagree.
    uint8 private constant AGREE = 1;
    uint8 private constant DISAGREE = 2;
    /// @dev Where expired compensation goes: an address nobody holds a key for.
    address private constant BURN = 0x000000000000000000000000000000000000dEaD;
    /// @dev BN254 scalar field: the round seed stays below it (aggregation and audit tools
    /// derive field elements from it).
    uint256 private constant SNARK_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Where trainer and verifier stakes live (this contract holds its MARKET_ROLE).
    IParticipantRegistry public immutable registry;
    /// @notice Where finalized rounds' rewards go (this contract holds its FUNDER_ROLE).
    IRewardDistributor public immutable distributor;
    /// @notice Shortest phase a project may set, in seconds (5 blocks of 12 s by default), so
    /// that every party can act in every phase.
    uint256 public immutable minPhaseDuration;
    /// @notice How long a slashed bond's compensation may be claimed, in seconds.
    uint256 public immutable claimWindow;
    /// @notice Where payout proofs are recorded (a claimed round finalizes only once proven).
    IRoundProofs public immutable proofs;

    /// @dev A project member: its role, the first round it may commit in, and whether its seat
    /// was released for not committing (a released trainer may not rejoin).
    struct Member {
        Membership role;
        uint16 firstRound;
        bool released;
    }

    /// @dev A slashed bond shared among the round's revealed trainers.
    struct Compensation {
        uint128 perTrainer;
        uint128 left;
        uint64 expiresAt;
    }

    uint256 private _projectCount;
    mapping(ProjectId project => Project) private _projects;
    mapping(ProjectId project => mapping(uint256 round => Round)) private _rounds;
    mapping(ProjectId project => mapping(address account => Member)) private _members;
    mapping(ProjectId project => mapping(uint256 round => mapping(address trainer => bytes32)))
        private _commitments;
    mapping(ProjectId project => mapping(uint256 round => mapping(address verifier => uint8)))
        private _attestations;
    mapping(ProjectId project => mapping(uint256 round => address[])) private _voters;
    mapping(ProjectId project => mapping(uint256 round => Compensation)) private _compensation;
    mapping(address account => uint256) private _credits;
    mapping(ProjectId project => mapping(uint256 round => bytes32)) private _proofClaims;

    /// @notice Ether held as escrow of created and running projects.
    uint256 public totalEscrow;
    /// @notice Ether held as aggregator bonds of running projects.
    uint256 public totalBonds;
    /// @notice Ether credited to accounts and not yet withdrawn.
    uint256 public totalCredits;
    /// @notice Slashed bonds waiting for the harmed trainers to claim them.
    uint256 public totalCompensation;

    /// @param registry_ The participant registry.
    /// @param distributor_ The reward distributor.
    /// @param minPhaseDuration_ Shortest phase in seconds (60 on a chain with 12-second blocks).
    /// @param claimWindow_ Seconds a slashed bond's compensation may be claimed.
    /// @param proofs_ The RoundProofs contract of this market (asked only about rounds whose
    /// result claimed a proof).
    constructor(IParticipantRegistry registry_, IRewardDistributor distributor_,
        uint256 minPhaseDuration_, uint256 claimWindow_, IRoundProofs proofs_)
    {
        proofs = proofs_;
        registry = registry_;
        distributor = distributor_;
        minPhaseDuration = minPhaseDuration_ == 0 ? 1 : minPhaseDuration_;
        claimWindow = claimWindow_;
    }

    /// @notice Only slashed registry stakes may be sent here directly (credited at once).
    receive() external payable {
        if (msg.sender != address(registry)) revert FedMarketUnexpectedEther(msg.sender, msg.value);
    }

    // ------------------------------------------------------------------ projects

    /// @inheritdoc IFedMarket
    function postProject(ProjectParams calldata params) external payable returns (ProjectId id) {
        _checkParams(params);
        id = ProjectId.wrap(++_projectCount);
        Project storage p = _projects[id];
        p.params = params;
        p.owner = msg.sender;
        p.status = ProjectStatus.Created;
        p.budget = uint128(msg.value);
        p.escrow = uint128(msg.value);
        totalEscrow += msg.value;
        emit ProjectPosted(id, msg.sender, params.aggregator, msg.value, params.rounds,
            params.modelSpecCid, params.initialWeightsCid);
    }

    /// @inheritdoc IFedMarket
    function startProject(ProjectId project) external payable {
        Project storage p = _projectIn(project, ProjectStatus.Created);
        if (msg.sender != p.params.aggregator) {
            revert FedMarketNotAggregator(project, msg.sender, p.params.aggregator);
        }
        if (msg.value != p.params.aggregatorBond) {
            revert FedMarketWrongBond(project, msg.value, p.params.aggregatorBond);
        }
        p.status = ProjectStatus.Running;
        p.bondHeld = true;
        totalBonds += msg.value;
        emit ProjectStarted(project, msg.value);
        _startRound(project, p, 1);
    }

    /// @inheritdoc IFedMarket
    function cancelProject(ProjectId project) external {
        Project storage p = _projectIn(project, ProjectStatus.Created);
        if (msg.sender != p.owner) revert FedMarketNotOwner(project, msg.sender, p.owner);
        p.status = ProjectStatus.Cancelled;
        emit ProjectCancelled(project);
        _returnEscrow(project, p);
    }

    /// @inheritdoc IFedMarket
    function joinAsTrainer(ProjectId project) external {
        Project storage p = _joinable(project);
        if (msg.sender == p.params.aggregator) revert FedMarketConflictOfInterest(project, msg.sender);
        if (p.trainerCount >= p.params.maxTrainers) {
            revert FedMarketProjectFull(project, p.params.maxTrainers);
        }
        int256 score = registry.score(msg.sender);
        if (score < p.params.minReputation) {
            revert FedMarketReputationTooLow(project, msg.sender, score, p.params.minReputation);
        }
        // A member takes part from the next round that starts: the set that may commit in a
        // round is fixed when it starts, so an early reveal can never be copied by a newcomer.
        _members[project][msg.sender] = Member(Membership.Trainer, p.currentRound + 1, false);
        p.trainerCount += 1;
        emit Joined(project, msg.sender, Membership.Trainer);
        registry.bind(IParticipantRegistry.Kind.Trainer, msg.sender);
    }

    /// @inheritdoc IFedMarket
    function leave(ProjectId project) external {
        Project storage p = _project(project);
        if (p.status == ProjectStatus.Running) revert FedMarketProjectActive(project, p.status);
        Member storage m = _members[project][msg.sender];
        if (m.role == Membership.None) revert FedMarketNotMember(project, msg.sender);
        m.role = Membership.None; // `released` stays: a released trainer cannot come back
        p.trainerCount -= 1;
        emit Left(project, msg.sender, Membership.Trainer);
        registry.unbind(IParticipantRegistry.Kind.Trainer, msg.sender);
    }

    /// @inheritdoc IFedMarket
    function release(ProjectId project, address trainer) external {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        Round storage r = _rounds[project][round];
        Member storage m = _members[project][trainer];
        if (m.role != Membership.Trainer) revert FedMarketNotTrainer(project, trainer);
        // Only a trainer who was expected in this round, whose chance to commit is over and who
        // did not commit, holds a seat for nothing.
        RoundPhase phase = p.params.phase(r);
        if (m.firstRound > round || _commitments[project][round][trainer] != bytes32(0)
            || !r.commitsOver(p.params.deadlines(r)) || r.status != RoundStatus.Open)
        {
            revert FedMarketSeatNotReleasable(project, trainer, phase);
        }
        m.role = Membership.None;
        m.released = true;
        p.trainerCount -= 1;
        uint256 stake = registry.stakeOf(trainer, IParticipantRegistry.Kind.Trainer);
        uint256 penalty = registry.minStake(IParticipantRegistry.Kind.Trainer) / 10;
        if (penalty > stake) penalty = stake;
        emit SeatReleased(project, round, trainer, penalty);
        emit Left(project, trainer, Membership.Trainer);
        // The empty seat harmed the project: the penalty joins its escrow (the owner's budget).
        if (penalty > 0) {
            p.escrow += uint128(penalty);
            totalEscrow += penalty;
            registry.slash(IParticipantRegistry.Kind.Trainer, trainer, penalty);
        }
        registry.unbind(IParticipantRegistry.Kind.Trainer, trainer);
    }

    // ------------------------------------------------------------------ rounds

    /// @inheritdoc IFedMarket
    function commit(ProjectId project, uint256 round, bytes32 commitment) external {
        (Project storage p, Round storage r) = _currentRound(project, round);
        Member storage m = _members[project][msg.sender];
        if (m.role != Membership.Trainer) revert FedMarketNotTrainer(project, msg.sender);
        if (m.firstRound > round) {
            revert FedMarketJoinedTooLate(project, round, msg.sender, m.firstRound);
        }
        if (commitment == bytes32(0) || uint256(commitment) >= uint256(CLAIMED)) {
            revert FedMarketInvalidCommitment(commitment);
        }
        if (_commitments[project][round][msg.sender] != bytes32(0)) {
            revert FedMarketAlreadyCommitted(project, round, msg.sender);
        }
        RoundPhase phase = p.params.phase(r);
        if (phase != RoundPhase.Commit) {
            revert FedMarketCommitClosed(project, round, p.params.deadlines(r).commit,
                block.timestamp);
        }
        _commitments[project][round][msg.sender] = commitment;
        r.commits += 1;
        emit UpdateCommitted(project, round, msg.sender, commitment);
    }

    /// @inheritdoc IFedMarket
    function reveal(ProjectId project, uint256 round, string calldata cid, bytes32 salt)
        external
    {
        (Project storage p, Round storage r) = _currentRound(project, round);
        Deadlines memory d = p.params.deadlines(r);
        if (r.status != RoundStatus.Open) {
            revert FedMarketRevealNotOpen(project, round, p.params.phase(r));
        }
        if (block.timestamp > d.reveal) {
            revert FedMarketRevealLate(project, round, d.reveal, block.timestamp);
        }
        if (!r.commitsOver(d)) {
            revert FedMarketRevealNotOpen(project, round, RoundPhase.Commit);
        }
        bytes32 committed = _commitments[project][round][msg.sender];
        if (committed == bytes32(0)) revert FedMarketNoCommitment(project, round, msg.sender);
        if (committed == REVEALED) revert FedMarketAlreadyRevealed(project, round, msg.sender);
        bytes32 computed = _commitment(cid, salt, msg.sender, project, round);
        if (computed != committed) {
            revert FedMarketRevealMismatch(project, round, msg.sender, committed, computed);
        }
        // Revealing before the commit deadline is only possible because every eligible trainer
        // committed; nobody else may commit in this round, and commits close for good.
        if (!r.commitsClosed && block.timestamp <= d.commit) r.commitsClosed = true;
        _commitments[project][round][msg.sender] = REVEALED;
        // The round's seed mixes every revealed salt, each fixed by a commitment made before
        // any salt was known, with the block randomness of the first reveal: nobody can choose
        // it (the last revealer can only withhold its own reveal, losing its reward).
        uint96 mix = uint96(uint256(keccak256(abi.encode(salt, msg.sender))));
        if (r.reveals == 0) mix ^= uint96(uint256(keccak256(abi.encode(block.prevrandao))));
        r.seedMix ^= mix;
        r.reveals += 1;
        emit UpdateRevealed(project, round, msg.sender, cid);
    }

    /// @inheritdoc IFedMarket
    function submitResult(ProjectId project, uint256 round, RoundResult calldata result) external {
        (Project storage p, Round storage r) = _currentRound(project, round);
        if (msg.sender != p.params.aggregator) {
            revert FedMarketNotAggregator(project, msg.sender, p.params.aggregator);
        }
        RoundPhase phase = p.params.phase(r);
        if (phase != RoundPhase.Aggregate) {
            Deadlines memory d = p.params.deadlines(r);
            if (r.status == RoundStatus.Open && block.timestamp > d.result) {
                revert FedMarketResultLate(project, round, d.result, block.timestamp);
            }
            if (phase == RoundPhase.Expired && r.status == RoundStatus.Open) {
                revert FedMarketTooFewReveals(project, round, r.reveals, p.params.minReveals());
            }
            revert FedMarketResultNotOpen(project, round, phase);
        }
        // A zero root means "nobody is paid" and is only consistent with a zero total.
        if (result.rewardsRoot == bytes32(0) && result.totalRewarded != 0) {
            revert FedMarketEmptyRewardsRoot(project, round, result.totalRewarded);
        }
        // The verifier fee is the committee's: trainers share the rest of the pool.
        uint256 trainerPool = r.pool - r.fee;
        if (result.totalRewarded > trainerPool) {
            revert FedMarketRewardExceedsPool(project, round, result.totalRewarded, trainerPool);
        }
        r.status = RoundStatus.Posted;
        r.postedAt = uint40(block.timestamp);
        r.totalRewarded = uint128(result.totalRewarded);
        r.resultHash = result.resultHash;
        r.rewardsRoot = result.rewardsRoot;
        r.modelCid = result.modelCid;
        r.resultCid = result.resultCid;
        if (result.proofClaim != bytes32(0)) _proofClaims[project][round] = result.proofClaim;
        emit ResultSubmitted(project, round, result.modelCid, result.resultCid, result.resultHash,
            result.rewardsRoot, result.totalRewarded, r.postedAt + p.params.verifyDuration);
    }

    /// @inheritdoc IFedMarket
    function attest(ProjectId project, uint256 round, bool agree, string calldata reportCid)
        external
    {
        (Project storage p, Round storage r) = _currentRound(project, round);
        RoundPhase phase = p.params.phase(r);
        if (phase != RoundPhase.Verify) revert FedMarketAttestNotOpen(project, round, phase);
        if (!_onCommittee(project, round, p, r, msg.sender)) {
            revert FedMarketNotOnCommittee(project, round, msg.sender);
        }
        if (_attestations[project][round][msg.sender] != 0) {
            revert FedMarketAlreadyAttested(project, round, msg.sender);
        }
        _attestations[project][round][msg.sender] = agree ? AGREE : DISAGREE;
        _voters[project][round].push(msg.sender);
        if (agree) r.agrees += 1;
        else r.disagrees += 1;
        emit Attested(project, round, msg.sender, agree, reportCid, r.agrees, r.disagrees);
        // The vote is backed by the stake until the round settles (then paid or slashed).
        registry.bind(IParticipantRegistry.Kind.Verifier, msg.sender);
    }

    /// @inheritdoc IFedMarket
    function finalize(ProjectId project) external nonReentrant {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        Round storage r = _rounds[project][round];
        RoundPhase phase = p.params.phase(r);
        if (phase != RoundPhase.Expired || r.status != RoundStatus.Posted
            || _verdict(p, r) != AGREE)
        {
            revert FedMarketNotFinalizable(project, round, phase, r.agrees, p.params.verifierQuorum);
        }
        if (_unproven(project, p, r, round)) revert FedMarketProofMissing(project, round);
        _settleVotes(project, r, round, AGREE);
        _finalizeRound(project, p, r, round);
    }

    /// @inheritdoc IFedMarket
    function advance(ProjectId project) external nonReentrant {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        Round storage r = _rounds[project][round];
        RoundPhase phase = p.params.phase(r);
        if (phase != RoundPhase.Expired) revert FedMarketNothingToAdvance(project, round, phase);
        if (r.status == RoundStatus.Posted) {
            uint8 verdict = _verdict(p, r);
            // The committee's work is paid on its own verdict; a missing claimed proof then
            // disputes the round: the aggregator failed what it claimed.
            bool failed = verdict != DISAGREE && _unproven(project, p, r, round);
            _settleVotes(project, r, round, verdict);
            if (verdict == DISAGREE || failed) {
                _disputeRound(project, p, r, round);
            } else if (verdict == AGREE) {
                _finalizeRound(project, p, r, round);
            } else {
                _refundRound(project, p, r, round, r.agrees > 0 && r.disagrees > 0
                    ? RefundReason.Contested : RefundReason.NoVerifierQuorum);
            }
        } else if (r.reveals < p.params.minReveals()) {
            _refundRound(project, p, r, round, RefundReason.NotEnoughTrainers);
        } else {
            // Enough updates were revealed and the result deadline passed: the aggregator failed.
            r.status = RoundStatus.Refunded;
            emit RoundRefunded(project, round, RefundReason.AggregatorSilent, r.pool);
            _abort(project, p, round);
        }
    }

    /// @inheritdoc IFedMarket
    function finish(ProjectId project) external {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        RoundStatus status = _rounds[project][round].status;
        if (round < p.params.rounds
            || (status != RoundStatus.Finalized && status != RoundStatus.Refunded))
        {
            revert FedMarketRoundsRemain(project, round, p.params.rounds,
                p.params.phase(_rounds[project][round]));
        }
        p.status = ProjectStatus.Finished;
        emit ProjectFinished(project, p.escrow);
        _returnEscrow(project, p);
        if (p.bondHeld) {
            uint256 bond = p.params.aggregatorBond;
            p.bondHeld = false;
            totalBonds -= bond;
            _credit(p.params.aggregator, project, bond, CreditReason.BondReturned);
        }
    }

    /// @inheritdoc IFedMarket
    function claimCompensation(ProjectId project, uint256 round) external {
        Compensation storage c = _compensation[project][round];
        if (_commitments[project][round][msg.sender] != REVEALED || c.expiresAt == 0) {
            revert FedMarketNoCompensation(project, round, msg.sender);
        }
        if (block.timestamp > c.expiresAt) {
            revert FedMarketCompensationExpired(project, round, c.expiresAt);
        }
        uint256 amount = c.perTrainer;
        _commitments[project][round][msg.sender] = COMPENSATED;
        c.left -= uint128(amount);
        totalCompensation -= amount;
        emit CompensationClaimed(project, round, msg.sender, amount);
        _credit(msg.sender, project, amount, CreditReason.Compensation);
    }

    /// @inheritdoc IFedMarket
    function burnExpiredCompensation(ProjectId project, uint256 round) external nonReentrant {
        Compensation storage c = _compensation[project][round];
        if (c.expiresAt == 0 || c.left == 0) {
            revert FedMarketNoCompensation(project, round, msg.sender);
        }
        if (block.timestamp <= c.expiresAt) {
            revert FedMarketCompensationOpen(project, round, c.expiresAt);
        }
        uint256 amount = c.left;
        c.left = 0;
        totalCompensation -= amount;
        emit CompensationBurned(project, round, amount);
        (bool ok,) = BURN.call{value: amount}("");
        if (!ok) revert FedMarketTransferFailed(BURN, amount);
    }

    /// @inheritdoc IFedMarket
    function returnUnclaimed(ProjectId project, uint256 round) external payable {
        if (msg.sender != address(distributor)) {
            revert FedMarketUnexpectedEther(msg.sender, msg.value);
        }
        Project storage p = _project(project);
        emit UnclaimedReturned(project, round, msg.value);
        _credit(p.owner, project, msg.value, CreditReason.UnclaimedRewards);
    }

    /// @inheritdoc IFedMarket
    function settleLeaf(ProjectId project, uint256 round, address trainer)
        external
        returns (uint8 outcome)
    {
        if (msg.sender != address(distributor)) revert FedMarketNotDistributor(msg.sender);
        bytes32 c = _commitments[project][round][trainer];
        if (c == CLAIMED) return 1;
        if (c != REVEALED) return 2;
        _commitments[project][round][trainer] = CLAIMED;
    }

    /// @inheritdoc IFedMarket
    function leafSettled(ProjectId project, uint256 round, address trainer)
        external
        view
        returns (bool)
    {
        return _commitments[project][round][trainer] == CLAIMED;
    }

    /// @inheritdoc IFedMarket
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert FedMarketNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert FedMarketTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IFedMarket
    function commitmentFor(string calldata cid, bytes32 salt, address trainer, ProjectId project,
        uint256 round) external pure returns (bytes32)
    {
        return _commitment(cid, salt, trainer, project, round);
    }

    /// @inheritdoc IFedMarket
    function projectCount() external view returns (uint256) {
        return _projectCount;
    }

    /// @inheritdoc IFedMarket
    function getProject(ProjectId project) external view returns (Project memory) {
        return _project(project);
    }

    /// @inheritdoc IFedMarket
    function getRound(ProjectId project, uint256 round) external view returns (Round memory) {
        return _rounds[project][round];
    }

    /// @inheritdoc IFedMarket
    function getRoundProof(ProjectId project, uint256 round)
        external
        view
        returns (RoundProofState memory)
    {
        Round storage r = _rounds[project][round];
        return RoundProofState(_proofClaims[project][round], r.status, r.reveals,
            r.pool - r.fee, r.totalRewarded, r.rewardsRoot,
            _verifyDeadline(_projects[project], r));
    }

    /// @inheritdoc IFedMarket
    function roundDeadlines(ProjectId project, uint256 round)
        external
        view
        returns (Deadlines memory)
    {
        Round storage r = _rounds[project][round];
        if (r.status == RoundStatus.None) return Deadlines(0, 0, 0, 0);
        return _project(project).params.deadlines(r);
    }

    /// @inheritdoc IFedMarket
    function roundPhase(ProjectId project, uint256 round) external view returns (RoundPhase) {
        Project storage p = _project(project);
        return p.params.phase(_rounds[project][round]);
    }

    /// @inheritdoc IFedMarket
    function isOnCommittee(ProjectId project, uint256 round, address account)
        external
        view
        returns (bool)
    {
        Project storage p = _project(project);
        Round storage r = _rounds[project][round];
        if (r.status == RoundStatus.None) return false;
        return _onCommittee(project, round, p, r, account);
    }

    /// @inheritdoc IFedMarket
    function roundSeed(ProjectId project, uint256 round) external view returns (uint256) {
        return _seed(project, round, _rounds[project][round]);
    }

    /// @inheritdoc IFedMarket
    function trainerStatus(ProjectId project, address trainer)
        external
        view
        returns (uint256 firstRound, bool released)
    {
        Member storage m = _members[project][trainer];
        return (m.firstRound, m.released);
    }

    /// @inheritdoc IFedMarket
    function compensationOf(ProjectId project, uint256 round)
        external
        view
        returns (uint256 perTrainer, uint256 left, uint64 expiresAt)
    {
        Compensation storage c = _compensation[project][round];
        return (c.perTrainer, c.left, c.expiresAt);
    }

    /// @inheritdoc IFedMarket
    function currentModelCid(ProjectId project) external view returns (string memory) {
        Project storage p = _project(project);
        if (p.lastFinalizedRound == 0) return p.params.initialWeightsCid;
        return _rounds[project][p.lastFinalizedRound].modelCid;
    }

    /// @inheritdoc IFedMarket
    function membershipOf(ProjectId project, address account) external view returns (Membership) {
        return _members[project][account].role;
    }

    /// @inheritdoc IFedMarket
    function submissionOf(ProjectId project, uint256 round, address trainer)
        external
        view
        returns (SubmissionStatus)
    {
        bytes32 c = _commitments[project][round][trainer];
        if (c == bytes32(0)) return SubmissionStatus.None;
        return uint256(c) >= uint256(CLAIMED) ? SubmissionStatus.Revealed
            : SubmissionStatus.Committed;
    }

    /// @inheritdoc IFedMarket
    function attestationOf(ProjectId project, uint256 round, address verifier)
        external
        view
        returns (uint8)
    {
        return _attestations[project][round][verifier];
    }

    /// @inheritdoc IFedMarket
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IFedMarket
    function totalOwed() external view returns (uint256) {
        return totalEscrow + totalBonds + totalCompensation + totalCredits;
    }

    // ------------------------------------------------------------------ internals

    function _checkParams(ProjectParams calldata params) private view {
        if (msg.value == 0) revert FedMarketInvalidParams("budget must be positive");
        if (params.rounds == 0) revert FedMarketInvalidParams("rounds must be positive");
        if (params.aggregator == address(0)) revert FedMarketInvalidParams("aggregator is zero");
        if (params.aggregator == msg.sender) {
            revert FedMarketInvalidParams("aggregator must not be the owner");
        }
        if (params.maxTrainers == 0 || params.maxTrainers < params.minTrainers) {
            revert FedMarketInvalidParams("need 0 < maxTrainers and minTrainers <= maxTrainers");
        }
        if (params.committeeSize == 0 || params.committeeSize > MAX_COMMITTEE) {
            revert FedMarketInvalidParams("committeeSize must be between 1 and 15");
        }
        if (params.verifierQuorum == 0 || params.verifierQuorum > params.committeeSize) {
            revert FedMarketInvalidParams("need 0 < verifierQuorum <= committeeSize");
        }
        if (params.verifierFeeBps > MAX_FEE_BPS) {
            revert FedMarketInvalidParams("verifierFeeBps above 5000 (half the pool)");
        }
        uint256 shortest = _min(_min(params.commitDuration, params.revealDuration),
            _min(params.aggregateDuration, params.verifyDuration));
        if (shortest < minPhaseDuration) revert FedMarketPhaseTooShort(shortest, minPhaseDuration);
        uint256 pool = registry.verifierCount();
        if (pool < params.committeeSize) revert FedMarketTooFewVerifiers(pool, params.committeeSize);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    function _project(ProjectId project) private view returns (Project storage p) {
        p = _projects[project];
        if (p.status == ProjectStatus.None) revert FedMarketUnknownProject(project);
    }

    function _projectIn(ProjectId project, ProjectStatus expected)
        private
        view
        returns (Project storage p)
    {
        p = _project(project);
        if (p.status != expected) revert FedMarketWrongProjectStatus(project, p.status, expected);
    }

    function _joinable(ProjectId project) private view returns (Project storage p) {
        p = _project(project);
        if (p.status != ProjectStatus.Created && p.status != ProjectStatus.Running) {
            revert FedMarketWrongProjectStatus(project, p.status, ProjectStatus.Running);
        }
        Member storage m = _members[project][msg.sender];
        if (m.role != Membership.None) revert FedMarketAlreadyJoined(project, msg.sender, m.role);
        if (m.released) revert FedMarketWasReleased(project, msg.sender);
    }

    function _currentRound(ProjectId project, uint256 round)
        private
        view
        returns (Project storage p, Round storage r)
    {
        p = _projectIn(project, ProjectStatus.Running);
        if (round != p.currentRound) revert FedMarketNotCurrentRound(project, round, p.currentRound);
        r = _rounds[project][round];
    }

    function _commitment(string calldata cid, bytes32 salt, address trainer, ProjectId project,
        uint256 round) private pure returns (bytes32)
    {
        return keccak256(abi.encode(cid, salt, trainer, project, round));
    }

    function _startRound(ProjectId project, Project storage p, uint256 round) private {
        Round storage r = _rounds[project][round];
        r.status = RoundStatus.Open;
        r.start = uint40(block.timestamp);
        r.eligible = p.trainerCount;
        r.verifierPool = uint32(registry.verifierCount());
        uint256 pool = RoundClock.pool(p.budget, p.params.rounds, round);
        r.pool = uint128(pool);
        r.fee = uint128(pool * p.params.verifierFeeBps / 10_000);
        p.currentRound = uint16(round);
        Deadlines memory d = p.params.deadlines(r);
        emit RoundStarted(project, round, r.pool, d.commit, d.reveal, d.result);
    }

    /// @dev Close a round that did not pay: its pool simply stays in the project's escrow.
    function _refundRound(ProjectId project, Project storage p, Round storage r, uint256 round,
        RefundReason reason) private
    {
        r.status = RoundStatus.Refunded;
        emit RoundRefunded(project, round, reason, r.pool);
        _next(project, p, round);
    }

    function _finalizeRound(ProjectId project, Project storage p, Round storage r, uint256 round)
        private
    {
        uint256 total = r.totalRewarded;
        r.status = RoundStatus.Finalized;
        p.escrow -= uint128(total);
        p.lastFinalizedRound = uint16(round);
        totalEscrow -= total;
        emit RoundFinalized(project, round, total);
        _next(project, p, round);
        // Trusted distributor set at deployment; state is final before the ether moves. A zero
        // root has no leaf to settle (and a zero total), so there is nothing to fund.
        if (r.rewardsRoot != bytes32(0)) {
            distributor.fundRound{value: total}(project, round, r.rewardsRoot, total);
        }
    }

    function _disputeRound(ProjectId project, Project storage p, Round storage r, uint256 round)
        private
    {
        r.status = RoundStatus.Disputed;
        emit RoundDisputed(project, round, r.disagrees);
        _abort(project, p, round);
    }

    /// @dev AGREE / DISAGREE when that side outnumbers the other and reaches the quorum, else 0.
    function _verdict(Project storage p, Round storage r) private view returns (uint8) {
        uint256 quorum = p.params.verifierQuorum;
        if (r.agrees > r.disagrees && r.agrees >= quorum) return AGREE;
        if (r.disagrees > r.agrees && r.disagrees >= quorum) return DISAGREE;
        return 0;
    }

    /// @dev Release every voter's stake; with a verdict, slash the losing side (half the minimum
    /// verifier stake each) and share the round's fee and those stakes equally among the
    /// winning side. Without one (tie, no quorum) nobody is paid or slashed and the fee stays
    /// in the escrow. Loops over the voters only: at most MAX_COMMITTEE.
    function _settleVotes(ProjectId project, Round storage r, uint256 round, uint8 verdict)
        private
    {
        (uint256 pot, uint256 winners) = _releaseVoters(project, round, verdict);
        if (verdict == 0) {
            emit VotesSettled(project, round, verdict, 0, 0);
            return;
        }
        uint256 fee = r.fee;
        Project storage p = _projects[project];
        p.escrow -= uint128(fee);
        totalEscrow -= fee;
        pot += fee;
        emit VotesSettled(project, round, verdict, winners, pot);
        _payWinners(project, round, verdict, pot, winners);
    }

    /// @dev Unbind every voter; slash each loser. Returns the slashed sum and the winners.
    function _releaseVoters(ProjectId project, uint256 round, uint8 verdict)
        private
        returns (uint256 pot, uint256 winners)
    {
        address[] storage voters = _voters[project][round];
        IParticipantRegistry.Kind kind = IParticipantRegistry.Kind.Verifier;
        uint256 penalty = registry.minStake(kind) / 2;
        for (uint256 i = 0; i < voters.length; ++i) {
            address v = voters[i];
            uint8 vote = _attestations[project][round][v];
            if (verdict != 0 && vote == verdict) {
                winners += 1;
            } else if (verdict != 0) {
                uint256 stake = registry.stakeOf(v, kind);
                uint256 amount = penalty < stake ? penalty : stake;
                if (amount > 0) {
                    pot += amount;
                    emit VerifierSlashed(project, round, v, amount);
                    registry.slash(kind, v, amount);
                }
            }
            registry.unbind(kind, v);
        }
    }

    /// @dev Equal shares of `pot` to the winning voters; the rounding remainder to the first.
    function _payWinners(ProjectId project, uint256 round, uint8 verdict, uint256 pot,
        uint256 winners) private
    {
        address[] storage voters = _voters[project][round];
        uint256 share = pot / winners;
        uint256 amount = pot - share * (winners - 1);
        for (uint256 i = 0; i < voters.length; ++i) {
            address v = voters[i];
            if (_attestations[project][round][v] != verdict) continue;
            _credit(v, project, amount, CreditReason.VerificationFee);
            amount = share;
        }
    }

    /// @dev The round's committee: `k` distinct indices into the pool of `n` verifiers, drawn
    /// from `seed` with Floyd's algorithm (k iterations, no rejection loop).
    function _draw(uint256 seed, uint256 n, uint256 k) private pure returns (uint256[] memory out) {
        out = new uint256[](k);
        uint256 filled;
        for (uint256 j = n - k; j < n; ++j) {
            uint256 t = uint256(keccak256(abi.encode(seed, j))) % (j + 1);
            bool taken;
            for (uint256 i = 0; i < filled; ++i) {
                if (out[i] == t) {
                    taken = true;
                    break;
                }
            }
            out[filled++] = taken ? j : t;
        }
    }

    /// @dev Whether `account` may sit on the round's committee: registered by the time the round
    /// started (nobody can register after seeing who would be drawn) and no party to it.
    function _maySit(ProjectId project, Project storage p, Round storage r, address account,
        uint64 since) private view returns (bool)
    {
        return since <= r.start && account != p.owner && account != p.params.aggregator
            && _members[project][account].role == Membership.None;
    }

    function _onCommittee(ProjectId project, uint256 round, Project storage p, Round storage r,
        address account) private view returns (bool)
    {
        if (!p.params.revealsOver(r)) return false;
        (bool listed, uint256 index, uint64 since) = registry.verifierIndexOf(account);
        if (!listed || index >= r.verifierPool || !_maySit(project, p, r, account, since)) {
            return false;
        }
        uint256[] memory draw = _draw(_seed(project, round, r),
            r.verifierPool, p.params.seats(r));
        for (uint256 i = 0; i < draw.length; ++i) {
            if (draw[i] == index) return true;
        }
        return false;
    }

    function _seed(ProjectId project, uint256 round, Round storage r)
        private
        view
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(r.seedMix, project, round))) % SNARK_FIELD;
    }

    /// @dev True when the result claimed a proof and none was recorded by the verify deadline;
    /// reverts before that deadline, while the proof may still come.
    function _unproven(ProjectId project, Project storage p, Round storage r, uint256 round)
        private
        view
        returns (bool)
    {
        if (_proofClaims[project][round] == bytes32(0) || proofs.isVerified(project, round)) {
            return false;
        }
        uint64 deadline = _verifyDeadline(p, r);
        if (block.timestamp <= deadline) revert FedMarketRoundUnproven(project, round, deadline);
        return true;
    }

    /// @dev RoundClock's `verify` deadline of a posted round, without the other three.
    function _verifyDeadline(Project storage p, Round storage r) private view returns (uint64) {
        return uint64(r.postedAt) + p.params.verifyDuration;
    }

    function _next(ProjectId project, Project storage p, uint256 round) private {
        if (round < p.params.rounds) _startRound(project, p, round + 1);
    }

    /// @dev The aggregator failed (silent or disputed): the project ends, the owner gets its
    /// escrow back and the bond compensates the round's revealed trainers, whose work went
    /// unpaid — never the owner, who would otherwise gain from every dispute it can provoke.
    function _abort(ProjectId project, Project storage p, uint256 round) private {
        p.status = ProjectStatus.Aborted;
        emit ProjectAborted(project, round, p.escrow);
        if (p.bondHeld) {
            uint256 bond = p.params.aggregatorBond;
            p.bondHeld = false;
            totalBonds -= bond;
            emit AggregatorSlashed(project, p.params.aggregator, bond);
            uint256 reveals = _rounds[project][round].reveals;
            if (bond > 0 && reveals > 0) {
                uint128 perTrainer = uint128(bond / reveals);
                uint64 expiresAt = uint64(block.timestamp + claimWindow);
                _compensation[project][round] = Compensation(perTrainer, uint128(bond), expiresAt);
                totalCompensation += bond;
                emit CompensationOpened(project, round, perTrainer, bond, expiresAt);
            } else {
                // No trainer was harmed (none revealed): the bond returns to the escrow.
                p.escrow += uint128(bond);
                totalEscrow += bond;
            }
        }
        _returnEscrow(project, p);
    }

    function _returnEscrow(ProjectId project, Project storage p) private {
        uint256 amount = p.escrow;
        p.escrow = 0;
        totalEscrow -= amount;
        _credit(p.owner, project, amount, CreditReason.EscrowReturned);
    }

    function _credit(address account, ProjectId project, uint256 amount, CreditReason reason)
        private
    {
        if (amount == 0) return;
        _credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, project, amount, reason);
    }
}
