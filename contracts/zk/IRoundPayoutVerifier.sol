// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Groth16 verifier of one fedmarket payout proof
/// @notice A proof states that every trainer's amount and acceptance bit of a round follow
/// from the per-trainer measurements committed to by `measurementsRoot` under the scoring
/// parameters `params` (circuits/round_payout.circom, `RoundPayout(N)`). Implemented by the
/// generated RoundPayoutVerifier{8,16,32,64} (scripts/zk-setup), one per circuit size N; all
/// take the same six public inputs.
interface IRoundPayoutVerifier {
    /// @param _pA proof point A (G1: x, y)
    /// @param _pB proof point B (G2: [[x.c1, x.c0], [y.c1, y.c0]], the EVM's order)
    /// @param _pC proof point C (G1: x, y)
    /// @param _pubSignals [measurementsRoot, params, pool, nActive, r, h], each below the BN254
    /// scalar field modulus; r and h bind the payout (fedmarket/zk/binding.py)
    /// @return true iff the proof is valid for these public inputs; never reverts on bad input.
    /// It also returns false when the precompiles run out of gas: a caller must forward enough
    /// gas and must not read false under a gas cap as "invalid".
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[6] calldata _pubSignals
    ) external view returns (bool);
}
