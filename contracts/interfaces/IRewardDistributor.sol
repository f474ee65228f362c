// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "../libraries/Ids.sol";

/// @title Merkle pull payments of finalized rounds.
/// @notice The market funds a round with its posted total and rewards root when the round
/// finalizes. Each leaf `(project, round, trainer, amount)` of the OpenZeppelin standard Merkle
/// tree can be settled once: it pays `amount` to `trainer` and records the round in the
/// trainer's reputation (accepted when `amount > 0`, rejected when `amount == 0`). Only a
/// trainer who revealed an update in that project and round has a leaf that settles, so a root
/// can neither pay an outsider nor move an outsider's reputation. Anyone may settle a leaf; the
/// ether always goes to the leaf's trainer. Leaves not settled within the claim window (a
/// trainer that never claims or refuses ether, or a posted total above the leaves' sum) expire:
/// `reclaimExpired` returns what is left to the market, which credits the project's owner.
interface IRewardDistributor {
    /// @notice What is known of one funded round.
    struct RoundFunds {
        bytes32 root;
        uint96 total;
        uint96 claimed;
        uint64 fundedAt;
    }

    /// @notice One leaf to settle in a multi-round claim of a single trainer.
    struct ClaimRequest {
        ProjectId project;
        uint256 round;
        uint256 amount;
        bytes32[] proof;
    }

    /// @notice The round was already funded.
    error DistributorRoundAlreadyFunded(ProjectId project, uint256 round);
    /// @notice Ether sent (`sent`) differs from the round's posted total.
    error DistributorFundingMismatch(ProjectId project, uint256 round, uint256 sent, uint256 total);
    /// @notice A round cannot be funded under the zero root (it would read as unfunded).
    error DistributorEmptyRoot(ProjectId project, uint256 round);
    /// @notice Nothing was funded for this round (not finalized, or refunded).
    error DistributorRoundNotFunded(ProjectId project, uint256 round);
    /// @notice The proof does not place `(project, round, trainer, amount)` under the root.
    error DistributorInvalidProof(ProjectId project, uint256 round, address trainer, uint256 amount);
    /// @notice The leaf of `trainer` in this round was already settled.
    error DistributorAlreadyClaimed(ProjectId project, uint256 round, address trainer);
    /// @notice Paying `amount` would take the round's claims past its posted `total`.
    error DistributorRoundOverclaimed(ProjectId project, uint256 round, uint256 claimed,
        uint256 amount, uint256 total);
    /// @notice A multi-round claim with no requests.
    error DistributorEmptyClaim();
    /// @notice Sending `amount` wei to `to` failed.
    error DistributorTransferFailed(address to, uint256 amount);
    /// @notice `trainer` revealed no update in this project and round: it has no reward leaf.
    error DistributorNotARoundTrainer(ProjectId project, uint256 round, address trainer);
    /// @notice The round's claim window ended at `expiredAt`.
    error DistributorClaimExpired(ProjectId project, uint256 round, uint256 expiredAt);
    /// @notice The round's claim window is open until `expiresAt`; nothing can be reclaimed yet.
    error DistributorClaimWindowOpen(ProjectId project, uint256 round, uint256 expiresAt);
    /// @notice Nothing of the round is left to reclaim.
    error DistributorNothingToReclaim(ProjectId project, uint256 round);

    /// @notice A finalized round's rewards arrived: `total` wei claimable under `root`.
    event RoundFunded(ProjectId indexed project, uint256 indexed round, bytes32 root, uint256 total);
    /// @notice `trainer`'s leaf of this round was settled, paying `amount` wei.
    event RewardClaimed(ProjectId indexed project, uint256 indexed round, address indexed trainer,
        uint256 amount);
    /// @notice The round's claim window ended; `amount` wei went back to the market's owner.
    event RoundExpired(ProjectId indexed project, uint256 indexed round, uint256 amount);

    /// @notice Record a finalized round's root and take its `total` in ether (funder role only).
    function fundRound(ProjectId project, uint256 round, bytes32 root, uint256 total)
        external payable;

    /// @notice Settle `trainer`'s leaf of one round: pay `amount` and record the outcome.
    function claim(ProjectId project, uint256 round, address trainer, uint256 amount,
        bytes32[] calldata proof) external;

    /// @notice Settle several leaves of `trainer` (any projects and rounds) with one payment.
    function claimMany(address trainer, ClaimRequest[] calldata requests) external;

    /// @notice Anyone, after the round's claim window: return its unclaimed remainder to the
    /// market (credited to the project's owner); the round's leaves then no longer settle.
    function reclaimExpired(ProjectId project, uint256 round) external;

    /// @notice Seconds after funding during which a round's leaves may be settled.
    function claimWindow() external view returns (uint256);

    /// @notice The funded root, total and claimed sum of one round (zeros when not funded).
    function roundFunds(ProjectId project, uint256 round) external view returns (RoundFunds memory);

    /// @notice True once `trainer`'s leaf of the round has been settled.
    function isClaimed(ProjectId project, uint256 round, address trainer)
        external view returns (bool);

    /// @notice Ether still owed to trainers over all rounds: equals the contract's balance.
    function totalOwed() external view returns (uint256);
}
