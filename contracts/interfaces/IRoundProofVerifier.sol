// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "../libraries/Ids.sol";

/// @title Extension point for a zero-knowledge check of a posted round result.
/// @notice A generated Groth16 (BN254) verifier is wrapped behind this interface and given to
/// the market at deployment. The proof covers the integer part of the round (robustness
/// distances on committed sketches, outlier selection, reward split) and is bound to the
/// posted `resultHash` and `rewardsRoot`.
interface IRoundProofVerifier {
    /// @notice True when `proof` proves the round whose result hash and rewards root are given.
    function verifyRoundProof(
        ProjectId project,
        uint256 round,
        bytes32 resultHash,
        bytes32 rewardsRoot,
        bytes calldata proof
    ) external view returns (bool);
}
