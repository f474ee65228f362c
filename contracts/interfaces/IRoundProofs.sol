// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "../libraries/Ids.sol";

/// @title Groth16 proofs of posted fedmarket rounds, checked and recorded.
/// @notice Kept apart from the market so that the market stays under the EVM's code-size
/// limit; it reads the round's pool, reveals, seed and posted proof claim from the market.
/// Anyone may submit; the first valid proof of a round is recorded.
interface IRoundProofs {
    /// @notice A Groth16 round proof and the public inputs the market cannot derive itself.
    /// @dev pool (the trainers' part: pool minus the verifier fee), nActive (the round's
    /// reveals) and seed come from the market's state; the four fields below must hash to the
    /// round's posted `proofClaim`.
    struct RoundProof {
        uint256[2] pA;
        uint256[2][2] pB; // G2 in the EVM's order: [[x.c1, x.c0], [y.c1, y.c0]]
        uint256[2] pC;
        uint256 sketchRoot;
        uint256 decisionsRoot;
        uint256 f;
        uint256 m;
    }

    /// @notice This deployment has no proof verifier.
    error ProofsNoVerifier();
    /// @notice The proof does not verify for the round's public inputs.
    error ProofsRejected(ProjectId project, uint256 round);
    /// @notice The round has no posted result yet.
    error ProofsRoundNotPosted(ProjectId project, uint256 round);
    /// @notice A proof of the round was already recorded.
    error ProofsAlreadyVerified(ProjectId project, uint256 round);
    /// @notice The round's result offered no proof (its proofClaim is zero).
    error ProofsNoClaim(ProjectId project, uint256 round);
    /// @notice The proof's roots, f and m do not hash to the posted proofClaim.
    error ProofsClaimMismatch(ProjectId project, uint256 round, bytes32 claimed, bytes32 given);
    /// @notice A proof coordinate is not below the base field modulus q: such an encoding
    /// could pass the generated verifier (it reduces some coordinates mod q) while the off-chain
    /// verifier refuses it, so only the canonical encoding of each point is accepted.
    error ProofsNonCanonical(ProjectId project, uint256 round);
    /// @notice Too little gas was sent for the verifier's fixed allowance.
    error ProofsGasTooLow(uint256 gasLeft, uint256 needed);

    /// @notice A valid proof of the round was recorded.
    event RoundProofVerified(ProjectId indexed project, uint256 indexed round,
        address indexed prover, RoundProof proof);

    /// @notice Anyone: check a Groth16 proof of a posted round with the deployment's verifier
    /// (public inputs `[sketchRoot, decisionsRoot, pool - fee, reveals, f, m, seed]`) and record
    /// it. Send at least ~360k gas: the verifier gets a fixed allowance and false means invalid.
    function submitProof(ProjectId project, uint256 round, RoundProof calldata proof) external;

    /// @notice True once a valid proof of the round was recorded.
    function isVerified(ProjectId project, uint256 round) external view returns (bool);
}
