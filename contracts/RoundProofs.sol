// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IRoundProofs} from "./interfaces/IRoundProofs.sol";
import {ProjectId} from "./libraries/Ids.sol";
import {IRoundProofVerifier} from "./zk/IRoundProofVerifier.sol";

/// @title RoundProofs
/// @notice Checks round proofs against the market's state and records the valid ones.
/// @dev Holds no ether and no roles; every public input but the four the proof carries comes
/// from the market, so a proof can only be about the round as posted.
contract RoundProofs is IRoundProofs {
    /// @dev Gas handed to the proof verifier (it needs ~229k and returns false, not revert,
    /// when the pairing precompile runs dry, so it must never get less than this).
    uint256 private constant PROOF_GAS = 300_000;
    /// @dev BN254 base field modulus: every proof coordinate must be below it.
    uint256 private constant Q =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// @notice The market whose rounds are proven.
    IFedMarket public immutable market;
    /// @notice Generated Groth16 verifier of round proofs (address(0): proofs unsupported).
    IRoundProofVerifier public immutable verifier;

    mapping(ProjectId project => mapping(uint256 round => bool)) private _verified;

    /// @param market_ The market.
    /// @param verifier_ A round proof verifier, or address(0) for none.
    constructor(IFedMarket market_, IRoundProofVerifier verifier_) {
        market = market_;
        verifier = verifier_;
    }

    /// @inheritdoc IRoundProofs
    function submitProof(ProjectId project, uint256 round, RoundProof calldata proof) external {
        if (address(verifier) == address(0)) revert ProofsNoVerifier();
        if (_verified[project][round]) revert ProofsAlreadyVerified(project, round);
        IFedMarket.Round memory r = market.getRound(project, round);
        if (r.postedAt == 0) revert ProofsRoundNotPosted(project, round);
        IFedMarket.RoundProofState memory s = market.getRoundProof(project, round);
        if (s.claim == bytes32(0)) revert ProofsNoClaim(project, round);
        bytes32 given = keccak256(abi.encode(proof.sketchRoot, proof.decisionsRoot, proof.f,
            proof.m));
        if (given != s.claim) revert ProofsClaimMismatch(project, round, s.claim, given);
        // Canonical coordinates only: a malleated copy (y + q ...) of a genuine proof must not
        // be recordable before the genuine one, or the audit (py-ecc) would fail the round.
        if (!_canonical(proof)) revert ProofsNonCanonical(project, round);
        uint256[7] memory inputs = [proof.sketchRoot, proof.decisionsRoot,
            uint256(r.pool - r.fee), uint256(r.reveals), proof.f, proof.m, s.seed];
        // A call gets at most 63/64 of what is left: make sure that is the full allowance.
        uint256 needed = PROOF_GAS + PROOF_GAS / 63 + 5_000;
        if (gasleft() < needed) revert ProofsGasTooLow(gasleft(), needed);
        if (!verifier.verifyProof{gas: PROOF_GAS}(proof.pA, proof.pB, proof.pC, inputs)) {
            revert ProofsRejected(project, round);
        }
        _verified[project][round] = true;
        emit RoundProofVerified(project, round, msg.sender, proof);
    }

    /// @dev Whether every coordinate of the proof's three points is below q.
    function _canonical(RoundProof calldata proof) private pure returns (bool) {
        return proof.pA[0] < Q && proof.pA[1] < Q && proof.pC[0] < Q && proof.pC[1] < Q
            && proof.pB[0][0] < Q && proof.pB[0][1] < Q && proof.pB[1][0] < Q
            && proof.pB[1][1] < Q;
    }

    /// @inheritdoc IRoundProofs
    function isVerified(ProjectId project, uint256 round) external view returns (bool) {
        return _verified[project][round];
    }
}
