// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {ProjectId} from "./libraries/Ids.sol";
import {RoundClock} from "./libraries/RoundClock.sol";
import {IRoundProofVerifier} from "./zk/IRoundProofVerifier.sol";

/// @title FedMarket
/// @notice Escrowed training projects and their commit–reveal rounds (see IFedMarket).
/// @dev Balance invariant: `address(this).balance == totalEscrow + totalBonds + totalCredits`.
/// Ether leaves only through `withdraw` (pull, nonReentrant, zeroed before sending) and through
/// `_finalizeRound`, which moves a round's posted total from escrow to the distributor. No
/// function loops over trainers: every per-trainer action is that trainer's own transaction.
contract FedMarket is IFedMarket, ReentrancyGuard {
    using RoundClock for ProjectParams;
    using RoundClock for Round;

    /// @dev Stored in place of a commitment once it is revealed (refused as a commitment).
    bytes32 private constant REVEALED = bytes32(type(uint256).max);
    /// @dev BN254 scalar field: the sketch seed is a public input of the proof, so below it.
    uint256 private constant SNARK_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Gas handed to the proof verifier (it needs ~229k and returns false, not revert,
    /// when the pairing precompile runs dry, so it must never get less than this).
    uint256 private constant PROOF_GAS = 300_000;

    /// @notice Where trainer and verifier stakes live (this contract holds its MARKET_ROLE).
    IParticipantRegistry public immutable registry;
    /// @notice Where finalized rounds' rewards go (this contract holds its FUNDER_ROLE).
    IRewardDistributor public immutable distributor;
    /// @notice Generated Groth16 verifier of round proofs (address(0): proofs unsupported).
    IRoundProofVerifier public immutable proofVerifier;

    uint256 private _projectCount;
    mapping(ProjectId project => Project) private _projects;
    mapping(ProjectId project => mapping(uint256 round => Round)) private _rounds;
    mapping(ProjectId project => mapping(address account => Membership)) private _members;
    mapping(ProjectId project => mapping(uint256 round => mapping(address trainer => bytes32)))
        private _commitments;
    mapping(ProjectId project => mapping(uint256 round => mapping(address verifier => uint8)))
        private _attestations;
    mapping(address account => uint256) private _credits;
    mapping(ProjectId project => mapping(uint256 round => RoundProofState)) private _proofStates;

    /// @notice Ether held as escrow of created and running projects.
    uint256 public totalEscrow;
    /// @notice Ether held as aggregator bonds of running projects.
    uint256 public totalBonds;
    /// @notice Ether credited to accounts and not yet withdrawn.
    uint256 public totalCredits;

    /// @param registry_ The participant registry.
    /// @param distributor_ The reward distributor.
    /// @param proofVerifier_ A round proof verifier, or address(0) for none.
    constructor(IParticipantRegistry registry_, IRewardDistributor distributor_,
        IRoundProofVerifier proofVerifier_)
    {
        registry = registry_;
        distributor = distributor_;
        proofVerifier = proofVerifier_;
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
        _members[project][msg.sender] = Membership.Trainer;
        p.trainerCount += 1;
        emit Joined(project, msg.sender, Membership.Trainer);
        registry.bind(IParticipantRegistry.Kind.Trainer, msg.sender);
    }

    /// @inheritdoc IFedMarket
    function joinAsVerifier(ProjectId project) external {
        Project storage p = _joinable(project);
        // The owner gains from disputes and the aggregator from agreement: neither may judge.
        if (msg.sender == p.params.aggregator || msg.sender == p.owner) {
            revert FedMarketConflictOfInterest(project, msg.sender);
        }
        _members[project][msg.sender] = Membership.Verifier;
        p.verifierCount += 1;
        emit Joined(project, msg.sender, Membership.Verifier);
        registry.bind(IParticipantRegistry.Kind.Verifier, msg.sender);
    }

    /// @inheritdoc IFedMarket
    function leave(ProjectId project) external {
        Project storage p = _project(project);
        if (p.status == ProjectStatus.Running) revert FedMarketProjectActive(project, p.status);
        Membership m = _members[project][msg.sender];
        if (m == Membership.None) revert FedMarketNotMember(project, msg.sender);
        delete _members[project][msg.sender];
        if (m == Membership.Trainer) p.trainerCount -= 1;
        else p.verifierCount -= 1;
        emit Left(project, msg.sender, m);
        registry.unbind(
            m == Membership.Trainer ? IParticipantRegistry.Kind.Trainer
                : IParticipantRegistry.Kind.Verifier,
            msg.sender
        );
    }

    // ------------------------------------------------------------------ rounds

    /// @inheritdoc IFedMarket
    function commit(ProjectId project, uint256 round, bytes32 commitment) external {
        (Project storage p, Round storage r) = _currentRound(project, round);
        if (_members[project][msg.sender] != Membership.Trainer) {
            revert FedMarketNotTrainer(project, msg.sender);
        }
        if (commitment == bytes32(0) || commitment == REVEALED) {
            revert FedMarketInvalidCommitment(commitment);
        }
        if (_commitments[project][round][msg.sender] != bytes32(0)) {
            revert FedMarketAlreadyCommitted(project, round, msg.sender);
        }
        RoundPhase phase = p.params.phase(r, p.trainerCount);
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
            revert FedMarketRevealNotOpen(project, round, p.params.phase(r, p.trainerCount));
        }
        if (block.timestamp > d.reveal) {
            revert FedMarketRevealLate(project, round, d.reveal, block.timestamp);
        }
        if (!r.commitsOver(d, p.trainerCount)) {
            revert FedMarketRevealNotOpen(project, round, RoundPhase.Commit);
        }
        bytes32 committed = _commitments[project][round][msg.sender];
        if (committed == bytes32(0)) revert FedMarketNoCommitment(project, round, msg.sender);
        if (committed == REVEALED) revert FedMarketAlreadyRevealed(project, round, msg.sender);
        bytes32 computed = _commitment(cid, salt, msg.sender, project, round);
        if (computed != committed) {
            revert FedMarketRevealMismatch(project, round, msg.sender, committed, computed);
        }
        // Revealing before the commit deadline is only possible because everyone committed;
        // close commits so a trainer who joins now cannot copy a revealed CID.
        if (!r.commitsClosed && block.timestamp <= d.commit) r.commitsClosed = true;
        _commitments[project][round][msg.sender] = REVEALED;
        // Commits are over, so the seed of the round's sketches is fixed now, from a block hash
        // nobody knew when committing: no trainer can aim an update at the projection.
        if (r.reveals == 0) {
            uint256 seed = uint256(keccak256(abi.encode(blockhash(block.number - 1), project,
                round))) % SNARK_FIELD;
            _proofStates[project][round].seed = seed;
            emit RoundSeedFixed(project, round, seed);
        }
        r.reveals += 1;
        emit UpdateRevealed(project, round, msg.sender, cid);
    }

    /// @inheritdoc IFedMarket
    function submitResult(ProjectId project, uint256 round, RoundResult calldata result) external {
        (Project storage p, Round storage r) = _currentRound(project, round);
        if (msg.sender != p.params.aggregator) {
            revert FedMarketNotAggregator(project, msg.sender, p.params.aggregator);
        }
        RoundPhase phase = p.params.phase(r, p.trainerCount);
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
        if (result.totalRewarded > r.pool) {
            revert FedMarketRewardExceedsPool(project, round, result.totalRewarded, r.pool);
        }
        r.status = RoundStatus.Posted;
        r.postedAt = uint64(block.timestamp);
        r.totalRewarded = uint128(result.totalRewarded);
        r.resultHash = result.resultHash;
        r.rewardsRoot = result.rewardsRoot;
        r.modelCid = result.modelCid;
        r.resultCid = result.resultCid;
        if (result.proofClaim != bytes32(0)) _proofStates[project][round].claim = result.proofClaim;
        emit ResultSubmitted(project, round, result.modelCid, result.resultCid, result.resultHash,
            result.rewardsRoot, result.totalRewarded, r.postedAt + p.params.verifyDuration);
    }

    /// @inheritdoc IFedMarket
    function attest(ProjectId project, uint256 round, bool agree, string calldata reportCid)
        external
    {
        (Project storage p, Round storage r) = _currentRound(project, round);
        if (_members[project][msg.sender] != Membership.Verifier) {
            revert FedMarketNotVerifier(project, msg.sender);
        }
        RoundPhase phase = p.params.phase(r, p.trainerCount);
        if (phase != RoundPhase.Verify) revert FedMarketAttestNotOpen(project, round, phase);
        if (_attestations[project][round][msg.sender] != 0) {
            revert FedMarketAlreadyAttested(project, round, msg.sender);
        }
        _attestations[project][round][msg.sender] = agree ? 1 : 2;
        if (agree) r.agrees += 1;
        else r.disagrees += 1;
        emit Attested(project, round, msg.sender, agree, reportCid, r.agrees, r.disagrees);
        if (r.disagrees >= p.params.verifierQuorum) _disputeRound(project, p, r, round);
    }

    /// @inheritdoc IFedMarket
    function finalize(ProjectId project) external nonReentrant {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        Round storage r = _rounds[project][round];
        RoundPhase phase = p.params.phase(r, p.trainerCount);
        if (phase != RoundPhase.Expired || r.status != RoundStatus.Posted
            || r.agrees < p.params.verifierQuorum)
        {
            revert FedMarketNotFinalizable(project, round, phase, r.agrees, p.params.verifierQuorum);
        }
        _finalizeRound(project, p, r, round);
    }

    /// @inheritdoc IFedMarket
    function advance(ProjectId project) external nonReentrant {
        Project storage p = _projectIn(project, ProjectStatus.Running);
        uint256 round = p.currentRound;
        Round storage r = _rounds[project][round];
        RoundPhase phase = p.params.phase(r, p.trainerCount);
        if (phase != RoundPhase.Expired) revert FedMarketNothingToAdvance(project, round, phase);
        if (r.status == RoundStatus.Posted) {
            if (r.agrees >= p.params.verifierQuorum) {
                _finalizeRound(project, p, r, round);
            } else {
                _refundRound(project, p, r, round, RefundReason.NoVerifierQuorum);
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
                p.params.phase(_rounds[project][round], p.trainerCount));
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
    function submitProof(ProjectId project, uint256 round, RoundProof calldata proof) external {
        if (address(proofVerifier) == address(0)) revert FedMarketNoProofVerifier();
        _project(project);
        Round storage r = _rounds[project][round];
        if (r.postedAt == 0) revert FedMarketRoundNotPosted(project, round, r.status);
        if (r.proofVerified) revert FedMarketProofAlreadyVerified(project, round);
        RoundProofState storage s = _proofStates[project][round];
        if (s.claim == bytes32(0)) revert FedMarketNoProofClaimed(project, round);
        bytes32 given = keccak256(abi.encode(proof.sketchRoot, proof.decisionsRoot, proof.f,
            proof.m));
        if (given != s.claim) revert FedMarketProofClaimMismatch(project, round, s.claim, given);
        uint256[7] memory inputs = [proof.sketchRoot, proof.decisionsRoot, uint256(r.pool),
            uint256(r.reveals), proof.f, proof.m, s.seed];
        // A call gets at most 63/64 of what is left: make sure that is the full allowance.
        uint256 needed = PROOF_GAS + PROOF_GAS / 63 + 5_000;
        if (gasleft() < needed) revert FedMarketProofGasTooLow(gasleft(), needed);
        if (!proofVerifier.verifyProof{gas: PROOF_GAS}(proof.pA, proof.pB, proof.pC, inputs)) {
            revert FedMarketProofRejected(project, round);
        }
        r.proofVerified = true;
        emit RoundProofVerified(project, round, msg.sender, proof);
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
        return _proofStates[project][round];
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
        return p.params.phase(_rounds[project][round], p.trainerCount);
    }

    /// @inheritdoc IFedMarket
    function currentModelCid(ProjectId project) external view returns (string memory) {
        Project storage p = _project(project);
        if (p.lastFinalizedRound == 0) return p.params.initialWeightsCid;
        return _rounds[project][p.lastFinalizedRound].modelCid;
    }

    /// @inheritdoc IFedMarket
    function membershipOf(ProjectId project, address account) external view returns (Membership) {
        return _members[project][account];
    }

    /// @inheritdoc IFedMarket
    function submissionOf(ProjectId project, uint256 round, address trainer)
        external
        view
        returns (SubmissionStatus)
    {
        bytes32 c = _commitments[project][round][trainer];
        if (c == bytes32(0)) return SubmissionStatus.None;
        return c == REVEALED ? SubmissionStatus.Revealed : SubmissionStatus.Committed;
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
        return totalEscrow + totalBonds + totalCredits;
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
        if (params.verifierQuorum == 0) revert FedMarketInvalidParams("verifierQuorum is zero");
        if (params.commitDuration == 0 || params.revealDuration == 0
            || params.aggregateDuration == 0 || params.verifyDuration == 0)
        {
            revert FedMarketInvalidParams("every phase needs a positive duration");
        }
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
        Membership m = _members[project][msg.sender];
        if (m != Membership.None) revert FedMarketAlreadyJoined(project, msg.sender, m);
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
        r.start = uint64(block.timestamp);
        r.pool = uint128(RoundClock.pool(p.budget, p.params.rounds, round));
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

    function _next(ProjectId project, Project storage p, uint256 round) private {
        if (round < p.params.rounds) _startRound(project, p, round + 1);
    }

    /// @dev The aggregator failed (silent or disputed): its bond and the escrow go to the owner.
    function _abort(ProjectId project, Project storage p, uint256 round) private {
        p.status = ProjectStatus.Aborted;
        emit ProjectAborted(project, round, p.escrow);
        if (p.bondHeld) {
            uint256 bond = p.params.aggregatorBond;
            p.bondHeld = false;
            totalBonds -= bond;
            emit AggregatorSlashed(project, p.params.aggregator, bond);
            _credit(p.owner, project, bond, CreditReason.BondSlashed);
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
