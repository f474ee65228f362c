// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {ProjectId} from "./libraries/Ids.sol";
import {RewardLeaf} from "./libraries/RewardLeaf.sol";

/// @title RewardDistributor
/// @notice Holds finalized rounds' rewards and pays them out against Merkle proofs.
/// @dev Balance invariant: `address(this).balance == totalOwed`, where totalOwed is the sum over
/// funded rounds of `total - claimed`. A leaf is marked settled before any ether moves, and a
/// round's claimed sum can never pass its total (which the market capped by the round's pool),
/// so even a wrong root cannot pay out more than the round was funded with; a leaf settles only
/// for a trainer the market says revealed in that round, and an expired round's remainder goes
/// back to the market, so no ether stays here for ever.
contract RewardDistributor is IRewardDistributor, AccessControl, ReentrancyGuard {
    /// @notice Role of the market contract: funds finalized rounds.
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");

    /// @notice Where settled leaves are counted into trainers' reputation.
    IParticipantRegistry public immutable registry;
    /// @notice The market whose rounds this contract pays (asked who revealed in a round).
    IFedMarket public immutable market;
    /// @inheritdoc IRewardDistributor
    uint256 public immutable claimWindow;

    mapping(ProjectId project => mapping(uint256 round => RoundFunds)) private _funds;

    /// @inheritdoc IRewardDistributor
    uint256 public totalOwed;

    /// @param admin Account allowed to grant FUNDER_ROLE (the deployer, renounced after wiring).
    /// @param registry_ The participant registry (this contract needs its REPUTATION_ROLE).
    /// @param market_ The market (deployed next: its address is known in advance).
    /// @param claimWindow_ Seconds a funded round's leaves may be settled.
    constructor(address admin, IParticipantRegistry registry_, IFedMarket market_,
        uint256 claimWindow_)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        registry = registry_;
        market = market_;
        claimWindow = claimWindow_;
    }

    /// @inheritdoc IRewardDistributor
    function fundRound(ProjectId project, uint256 round, bytes32 root, uint256 total)
        external
        payable
        onlyRole(FUNDER_ROLE)
    {
        RoundFunds storage funds = _funds[project][round];
        if (funds.root != bytes32(0)) revert DistributorRoundAlreadyFunded(project, round);
        if (root == bytes32(0)) revert DistributorEmptyRoot(project, round);
        if (msg.value != total) revert DistributorFundingMismatch(project, round, msg.value, total);
        funds.root = root;
        funds.total = uint96(total);
        funds.fundedAt = uint64(block.timestamp);
        totalOwed += total;
        emit RoundFunded(project, round, root, total);
    }

    /// @inheritdoc IRewardDistributor
    function claim(
        ProjectId project,
        uint256 round,
        address trainer,
        uint256 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        _settle(project, round, trainer, amount, proof);
        _pay(trainer, amount);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(address trainer, ClaimRequest[] calldata requests) external nonReentrant {
        if (requests.length == 0) revert DistributorEmptyClaim();
        uint256 sum;
        // Bounded by the caller's own list of leaves, never by the number of trainers.
        for (uint256 i = 0; i < requests.length; ++i) {
            ClaimRequest calldata r = requests[i];
            _settle(r.project, r.round, trainer, r.amount, r.proof);
            sum += r.amount;
        }
        _pay(trainer, sum);
    }

    /// @inheritdoc IRewardDistributor
    function reclaimExpired(ProjectId project, uint256 round) external nonReentrant {
        RoundFunds storage funds = _funds[project][round];
        if (funds.root == bytes32(0)) revert DistributorRoundNotFunded(project, round);
        uint256 expiresAt = uint256(funds.fundedAt) + claimWindow;
        if (block.timestamp <= expiresAt) {
            revert DistributorClaimWindowOpen(project, round, expiresAt);
        }
        uint256 amount = uint256(funds.total) - funds.claimed;
        if (amount == 0) revert DistributorNothingToReclaim(project, round);
        funds.claimed = funds.total;
        totalOwed -= amount;
        emit RoundExpired(project, round, amount);
        market.returnUnclaimed{value: amount}(project, round);
    }

    /// @inheritdoc IRewardDistributor
    function roundFunds(ProjectId project, uint256 round) external view returns (RoundFunds memory) {
        return _funds[project][round];
    }

    /// @inheritdoc IRewardDistributor
    function isClaimed(ProjectId project, uint256 round, address trainer)
        external
        view
        returns (bool)
    {
        return market.leafSettled(project, round, trainer);
    }

    /// @dev Checks and effects of one leaf: proof, no repeat, round cap; then reputation.
    function _settle(
        ProjectId project,
        uint256 round,
        address trainer,
        uint256 amount,
        bytes32[] calldata proof
    ) private {
        RoundFunds storage funds = _funds[project][round];
        if (funds.root == bytes32(0)) revert DistributorRoundNotFunded(project, round);
        uint256 expiresAt = uint256(funds.fundedAt) + claimWindow;
        if (block.timestamp > expiresAt) revert DistributorClaimExpired(project, round, expiresAt);
        bytes32 leaf = RewardLeaf.hash(project, round, trainer, amount);
        if (!MerkleProof.verifyCalldata(proof, funds.root, leaf)) {
            revert DistributorInvalidProof(project, round, trainer, amount);
        }
        // A leaf pays only a trainer of the round, once: the market marks it settled in the
        // trainer's commitment slot (no payout or reputation for outsiders).
        uint8 outcome = market.settleLeaf(project, round, trainer);
        if (outcome == 1) revert DistributorAlreadyClaimed(project, round, trainer);
        if (outcome == 2) revert DistributorNotARoundTrainer(project, round, trainer);
        uint256 claimed = funds.claimed;
        if (claimed + amount > funds.total) {
            revert DistributorRoundOverclaimed(project, round, claimed, amount, funds.total);
        }
        funds.claimed = uint96(claimed + amount);
        totalOwed -= amount;
        emit RewardClaimed(project, round, trainer, amount);
        // A trusted contract (set at deployment): counts the round once per leaf.
        registry.recordOutcome(trainer, amount > 0);
    }

    /// @dev The interaction, last: send what the settled leaves were worth.
    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert DistributorTransferFailed(to, amount);
    }
}
